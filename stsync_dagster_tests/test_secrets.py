"""No secret, in any encoding, reaches stdout, stderr, Dagster's storage or the UI's resource views.

The commands run as a user runs them (subprocesses), with good credentials, then with bad ones against a
token endpoint that echoes the request back. A command added later (`stsync copy`) joins COMMANDS.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
import zlib
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote, quote_plus

import dagster as dg
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql, infer_repository_selector
from sqlalchemy.engine import make_url

from stsync_dagster.simulator import APP_KEY, INT_CLIENT_ID, PROD_CLIENT_ID, Simulator
from stsync_dagster_tests import pg
from stsync_dagster_tests.sync_helpers import pointed_at, sync_env

REPO = Path(__file__).resolve().parents[1]
STSYNC = Path(sys.executable).parent / "stsync"

PROD_SECRET = "cs1+prod/Zq81x=="
INT_SECRET = "cs1+int/Wm44k="
WRONG_SECRET = "SECRET+XYZZY/123="
DB_PASSWORD = "pw+db/Hh27p="

COMMANDS = {
    "verify": ["verify"],
    "sync": ["sync", "all", "--verbose"],
    "dry run": ["sync", "all", "--dry-run", "--verbose"],
    "reconcile": ["reconcile"],
}

RESOURCES_QUERY = """
query Resources($selector: RepositorySelector!) {
  allTopLevelResourceDetailsOrError(repositorySelector: $selector) {
    __typename
    ... on ResourceDetailsList {
      results { name configuredValues { key value type } nestedResources { name } }
    }
  }
}
"""


def _b64(text: str) -> list[str]:
    std, url = base64.b64encode(text.encode()).decode(), base64.urlsafe_b64encode(text.encode()).decode()
    return [std, url, std.rstrip("="), url.rstrip("=")]


def spellings(secret: str, client_id: str | None = None) -> set[str]:
    """Every way the secret could be written down: independent of the module under test on purpose."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret, safe="").lower(),
             json.dumps(secret)[1:-1], *_b64(secret)}
    forms.add(quote(secret, safe="").replace("%2B", "%2b").replace("%2F", "%2f").replace("%3D", "%3d"))
    if client_id:
        forms |= {*_b64(f"{client_id}:{secret}"), *_b64(f"{quote_plus(client_id)}:{quote_plus(secret)}")}
    return forms


def _run(args, env, cwd, home):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_", "DAGSTER_HOME"))}
    done = subprocess.run([str(STSYNC), *args], env={**base, **env, "DAGSTER_HOME": str(home)}, cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    return done.stdout + done.stderr


def _stored(home: Path) -> str:
    """Every file of the Dagster home, with the zlib-compressed blobs of its SQLite files (run and job
    snapshots) expanded."""
    parts = []
    for path in home.rglob("*"):
        if not path.is_file():
            continue
        parts.append(path.read_bytes().decode("utf-8", "replace"))
        if path.suffix != ".db":
            continue
        with sqlite3.connect(path) as conn:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    for value in row:
                        if isinstance(value, bytes):
                            try:
                                value = zlib.decompress(value)
                            except zlib.error:
                                pass
                            value = value.decode("utf-8", "replace")
                        parts.append(str(value))
    return "\n".join(parts)


def _resource_views(env: dict[str, str], home: Path) -> str:
    with pointed_at(env), dg.DagsterInstance.from_config(str(home)) as instance:
        with define_out_of_process_context(str(REPO / "workspace.yaml"), None, instance) as context:
            answer = execute_dagster_graphql(context, RESOURCES_QUERY,
                                             {"selector": infer_repository_selector(context)})
    return json.dumps(answer.data)


def _database(stack, tmp_path: Path) -> tuple[str, str | None]:
    """A crosswalk on PostgreSQL with a password in its URL when there is a server, else a SQLite file."""
    if pg.unavailable() is not None:
        return str(tmp_path / "crosswalk.sqlite3"), None
    url = stack.enter_context(pg.fresh_schema())
    return make_url(url).set(password=DB_PASSWORD).render_as_string(hide_password=False), DB_PASSWORD


def test_no_secret_in_any_encoding_reaches_output_storage_or_the_ui(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    clients = {"prod": (PROD_CLIENT_ID, PROD_SECRET), "int": (INT_CLIENT_ID, INT_SECRET)}
    with ExitStack() as stack:
        db, db_password = _database(stack, tmp_path)
        sim = stack.enter_context(Simulator(seed=34, scale=0.05, token_lifetime=2, clients=clients).start())
        sim.set_faults(error_rate=0.05, drop_post_rate=0.05)
        env = sync_env(sim, tmp_path, STSYNC_DB=db)
        outputs = [_run(args, env, tmp_path, home) for args in COMMANDS.values()]
        assert sim.stats("int")["tokens_issued"] > 2  # tokens were renewed along the way: more chances to leak

        sim.set_faults(error_rate=0.0, drop_post_rate=0.0, echo_credentials=True)
        bad = {**env, "ST_CLIENT_SECRET_PROD": WRONG_SECRET, "ST_CLIENT_SECRET_INT": WRONG_SECRET}
        refused = [_run(args, bad, tmp_path, home) for args in COMMANDS.values()]
        echoed = sim.stats("prod")["token_requests"] - sim.stats("prod")["tokens_issued"]
        assert echoed > 0  # the echoing endpoint did refuse (and echo) requests
        views = _resource_views(env, home)

    text = "\n".join(outputs + refused)
    stored = _stored(home)
    assert "created" in text and "invalid_client" in text  # the outputs searched are the real ones
    assert "STSYNC_DB" in views and "ST_CLIENT_SECRET_PROD" in views  # the views name variables, not values
    assert len(stored) > 10_000  # the event logs were really written there
    secrets = {
        "Production client secret": spellings(PROD_SECRET, PROD_CLIENT_ID),
        "Integration client secret": spellings(INT_SECRET, INT_CLIENT_ID),
        "wrong client secret": spellings(WRONG_SECRET, PROD_CLIENT_ID) | spellings(WRONG_SECRET, INT_CLIENT_ID),
        "app key": spellings(APP_KEY),
    }
    if db_password:
        secrets["database password"] = spellings(DB_PASSWORD)
    for what, forms in secrets.items():
        for form in forms:
            for where, haystack in (("output", text), ("Dagster storage", stored), ("resource views", views)):
                assert form not in haystack, f"{what} as {form!r} in the {where}"
    # Access tokens are JWTs: none may be printed or stored either.
    assert "eyJhbGciOi" not in text and "eyJhbGciOi" not in stored
