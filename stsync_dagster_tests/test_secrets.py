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
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        quote(secret, safe="").lower(),
        json.dumps(secret)[1:-1],
        *_b64(secret),
    }
    forms.add(quote(secret, safe="").replace("%2B", "%2b").replace("%2F", "%2f").replace("%3D", "%3d"))
    if client_id:
        forms |= {*_b64(f"{client_id}:{secret}"), *_b64(f"{quote_plus(client_id)}:{quote_plus(secret)}")}
    return forms


def _run(args, env, cwd, home):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_", "DAGSTER_HOME"))}
    done = subprocess.run(
        [str(STSYNC), *args],
        env={**base, **env, "DAGSTER_HOME": str(home)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
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
            answer = execute_dagster_graphql(context, RESOURCES_QUERY, {"selector": infer_repository_selector(context)})
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


# -- every credential form of a database URL: userinfo, and the query's password parameters ------------

QUERY_PASSWORD = "qp+db/Kk51v="
SSL_PASSWORD = "ssl+key/Jj62u="


def _with_query_secrets(url: str) -> str:
    """`url` with both passwords as libpq query parameters (percent-encoded, as a URL must carry them)."""
    return (
        make_url(url)
        .update_query_dict({"password": QUERY_PASSWORD, "sslpassword": SSL_PASSWORD})
        .render_as_string(hide_password=False)
    )


def _pg_rows(url: str) -> str:
    """Every row of every table of the test's schema (the crosswalk on PostgreSQL), as text."""
    import psycopg

    schema = make_url(url).query["options"].removeprefix("-csearch_path=")
    parts = []
    with psycopg.connect(pg.base_url()) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        ]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{schema}"."{table}"'):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


def _query_secrets_absent(where: str, haystack: str) -> None:
    for what, secret in (("password", QUERY_PASSWORD), ("sslpassword", SSL_PASSWORD)):
        for form in spellings(secret):
            assert form not in haystack, f"the {what} query parameter as {form!r} in {where}"


def test_a_password_in_the_query_of_an_unreachable_database_url_is_not_shown(simulator, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    db = _with_query_secrets("postgresql://stsync@127.0.0.1:1/stsync")
    env = sync_env(simulator, tmp_path, STSYNC_DB=db)
    for args in (["verify"], ["sync", "items"], ["history", "items", "1"]):
        out = _run(args, env, tmp_path, home)
        assert "STSYNC_DB" in out and "127.0.0.1:1" in out, out  # the real error, the URL named
        _query_secrets_absent(f"the output of stsync {' '.join(args)}", out)


def test_a_password_in_the_query_of_the_database_url_stays_out_of_output_storage_and_crosswalk(tmp_path):
    pg.require()
    home = tmp_path / "dagster_home"
    home.mkdir()
    with ExitStack() as stack:
        db = _with_query_secrets(stack.enter_context(pg.fresh_schema()))
        sim = stack.enter_context(Simulator(seed=34, scale=0.05).start())
        sim.set_faults(error_rate=0.05, drop_post_rate=0.05)
        env = sync_env(sim, tmp_path, STSYNC_DB=db)
        outputs = [_run(args, env, tmp_path, home) for args in (["verify"], ["sync", "items", "--verbose"])]
        prod_id = sim.records("prod", "materials")[0]["id"]
        outputs.append(_run(["history", "items", str(prod_id)], env, tmp_path, home))
        crosswalk = _pg_rows(db)
    text = "\n".join(outputs)
    assert "[ok] crosswalk" in text and "created" in text, text  # the outputs searched are the real ones
    assert len(crosswalk) > 1000
    _query_secrets_absent("the output", text)
    _query_secrets_absent("Dagster storage", _stored(home))
    _query_secrets_absent("the crosswalk", crosswalk)


def test_every_credential_form_of_a_url_is_masked_where_it_is_shown():
    from stsync_dagster.servicetitan.redact import Redactor, masked_url, url_secrets
    from stsync_dagster.sync.crosswalk import setting as database

    url = (
        "postgresql+psycopg://stsync:pw%2Bdb%2FHh27p%3D@db.example:5432/stsync?sslmode=require"
        f"&password={quote_plus(QUERY_PASSWORD)}&SSLPassword={quote(SSL_PASSWORD, safe='')}&Api-Key=k3y-V4lue"
        "&options=-csearch_path%3Dx"
    )
    shown = [database.display(url), masked_url(url)]
    for text in shown:
        assert "db.example:5432/stsync" in text and "sslmode=require" in text and "search_path" in text, text
        for secret in (DB_PASSWORD, QUERY_PASSWORD, SSL_PASSWORD, "k3y-V4lue"):
            for form in spellings(secret):
                assert form not in text, (form, text)
    mask = Redactor(url_secrets(url))
    echoed = f"could not connect with password {QUERY_PASSWORD} ({json.dumps(SSL_PASSWORD)}, {DB_PASSWORD})"
    assert mask(echoed) == 'could not connect with password *** ("***", ***)'
    assert masked_url("sqlite:///x.sqlite3") == "sqlite:///x.sqlite3" and url_secrets("/tmp/x.sqlite3") == []
