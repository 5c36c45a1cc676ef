"""Every configuration problem stops the command before any request: exit 2, one line naming the variable
or the file and the reason, no traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster_tests.sync_helpers import sync_env

STSYNC = Path(sys.executable).parent / "stsync"


def _run(args, env, cwd):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_", "DAGSTER_HOME"))}
    return subprocess.run(
        [str(STSYNC), *args], env={**base, **env}, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def _assert_config_error(done, sim, *names: str) -> None:
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "Traceback" not in out, out
    assert len(done.stderr.strip().splitlines()) <= 1, done.stderr
    for name in names:
        assert name in out, (name, out)
    assert sim.stats("prod")["requests"] == 0 and sim.stats("int")["requests"] == 0
    assert sim.stats("prod")["token_requests"] == 0 and sim.stats("int")["token_requests"] == 0


def _not_sqlite(tmp: Path) -> str:
    (tmp / "notes.txt").write_text("not a database\n")
    return str(tmp / "notes.txt")


BAD_DATABASES = {
    "a directory": lambda tmp: str(tmp),
    "a file that is not SQLite": _not_sqlite,
    "under /proc": lambda tmp: "/proc/version",
    "a folder under /proc": lambda tmp: "/proc/stsync-none/crosswalk.sqlite3",
    "an unknown scheme": lambda tmp: "mysql://stsync@127.0.0.1/stsync",
    "a bad port": lambda tmp: "postgresql://stsync:pw@127.0.0.1:99999/stsync",
    "a port that is not a number": lambda tmp: "postgresql://stsync:pw@127.0.0.1:five/stsync",
    "a refused connection": lambda tmp: "postgresql://stsync:pw@127.0.0.1:1/stsync",
}


@pytest.mark.parametrize("make", BAD_DATABASES.values(), ids=BAD_DATABASES.keys())
def test_a_bad_crosswalk_database_stops_sync_before_any_request(make, simulator, tmp_path):
    env = sync_env(simulator, tmp_path, STSYNC_DB=make(tmp_path))
    done = _run(["sync", "all"], env, tmp_path)
    _assert_config_error(done, simulator, "STSYNC_DB")
    assert ":pw@" not in done.stdout + done.stderr


def test_verify_opens_the_crosswalk(simulator, tmp_path):
    done = _run(["verify"], sync_env(simulator, tmp_path, STSYNC_DB=_not_sqlite(tmp_path)), tmp_path)
    _assert_config_error(done, simulator, "STSYNC_DB", "not a SQLite database")


def test_verify_creates_no_crosswalk_file(simulator, tmp_path):
    env = sync_env(simulator, tmp_path)
    assert _run(["verify"], env, tmp_path).returncode == 0
    assert not Path(env["STSYNC_DB"]).exists()


def test_reconcile_on_a_corrupt_database_is_a_configuration_error(simulator, tmp_path):
    db = tmp_path / "crosswalk.sqlite3"
    with Crosswalk(str(db)) as crosswalk:
        crosswalk.counts()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
    data = bytearray(db.read_bytes())
    data[100:] = b"\xa5" * (len(data) - 100)  # the header survives, the pages do not
    db.write_bytes(bytes(data))
    done = _run(["reconcile"], sync_env(simulator, tmp_path, STSYNC_DB=str(db)), tmp_path)
    _assert_config_error(done, simulator, "STSYNC_DB", str(db))


def test_a_config_path_that_is_a_directory_is_named(simulator, tmp_path):
    done = _run(["sync", "all"], sync_env(simulator, tmp_path, STSYNC_CONFIG=str(tmp_path)), tmp_path)
    _assert_config_error(done, simulator, str(tmp_path), "directory")


def test_a_config_file_that_is_not_utf8_is_named(simulator, tmp_path):
    bad = tmp_path / "latin1.json"
    bad.write_bytes('{"entities": "caf\u00e9"}'.encode("latin-1"))
    for args in (["verify"], ["sync", "all"]):
        done = _run(args, sync_env(simulator, tmp_path, STSYNC_CONFIG=str(bad)), tmp_path)
        _assert_config_error(done, simulator, str(bad), "UTF-8")


@pytest.mark.parametrize(
    "value, reason",
    [
        ("2026-02-30", "ISO date"),
        ("soon", "ISO date"),
        ((datetime.now(timezone.utc) + timedelta(days=3)).strftime("%Y-%m-%d"), "later than today"),
    ],
)
def test_a_bad_start_date_is_named(value, reason, simulator, tmp_path):
    commands = (["verify"], ["sync", "all"]) if reason == "later than today" else (["verify"],)
    for args in commands:
        done = _run(args, sync_env(simulator, tmp_path, STSYNC_START_DATE=value), tmp_path)
        _assert_config_error(done, simulator, "STSYNC_START_DATE", reason)


def test_verbose_adds_the_traceback(simulator, tmp_path):
    done = _run(["sync", "all", "--verbose"], sync_env(simulator, tmp_path, STSYNC_DB=str(tmp_path)), tmp_path)
    assert done.returncode == 2 and "Traceback" in done.stderr and "STSYNC_DB" in done.stderr


def test_verify_refuses_a_config_path_that_climbs_to_production(simulator, tmp_path):
    """The issue's example: this path passed verify, then creates went to Production with Integration's token."""
    from stsync_dagster_tests.test_guard import write_config

    config = write_config(
        tmp_path, "entities", "items", "int_create_path", "/../prod/pricebook/v2/tenant/{tenant}/materials"
    )
    for args in (["verify"], ["sync", "items"]):
        done = _run(args, sync_env(simulator, tmp_path, STSYNC_CONFIG=str(config)), tmp_path)
        _assert_config_error(done, simulator, "entities.items.int_create_path", "dot segment")
        failures = [line for line in (done.stdout + done.stderr).splitlines() if "int_create_path" in line]
        assert len(failures) == 1, done.stdout + done.stderr


# -- numbers that cannot work: refused by every command before any request --------------------------


@pytest.mark.parametrize(
    "name, value, reasons",
    [
        ("ST_CONCURRENCY", "abc", ()),
        ("ST_CONCURRENCY", "0", ()),
        ("STSYNC_BLOCKED_WARN_DAYS", "-2", ()),
        ("ST_BATCH_SIZE", "0", ()),
        # numbers that cannot work, named with the range they must lie in
        ("ST_SERVER_TIMEOUT", "1e308", ("between",)),  # passed verify, then the sync died with OverflowError
        ("ST_HTTP_TIMEOUT", "1e308", ("between",)),
        ("ST_HTTP_TIMEOUT", "nan", ("between",)),
        ("ST_RATE_LIMIT", "1e-300", ("between",)),
        ("STSYNC_BLOCKED_WARN_DAYS", "1e308", ("between",)),
        ("ST_BULK_SIZE", "1e308", ("between",)),
    ],
)
def test_verify_checks_every_tuning_knob(name, value, reasons, simulator, tmp_path):
    done = _run(["verify"], sync_env(simulator, tmp_path, **{name: value}), tmp_path)
    _assert_config_error(done, simulator, name, *reasons)


@pytest.mark.parametrize(
    "args", [["sync", "items"], ["copy", "items", "1"], ["reconcile"]], ids=["sync", "copy", "reconcile"]
)
def test_every_command_refuses_an_unworkable_server_timeout_before_any_request(args, simulator, tmp_path):
    done = _run(args, sync_env(simulator, tmp_path, ST_SERVER_TIMEOUT="1e308"), tmp_path)
    _assert_config_error(done, simulator, "ST_SERVER_TIMEOUT", "between")
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "extra, env, name",
    [
        ([], {"STSYNC_BLOCKED_WARN_DAYS": "1e308"}, "STSYNC_BLOCKED_WARN_DAYS"),
        ([], {"ST_CONCURRENCY": "inf"}, "ST_CONCURRENCY"),
        (["--scale", "nan"], {}, "--scale"),
    ],
)
def test_the_demo_refuses_a_number_that_cannot_work_before_it_syncs(extra, env, name, tmp_path):
    done = _run(["demo", "--scale", "0.05", *extra], env, tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "Traceback" not in out and len(done.stderr.strip().splitlines()) == 1, out
    assert name in done.stderr, out
    assert "stsync sync all" not in out  # nothing was synced
