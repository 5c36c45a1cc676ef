"""The crosswalk on a real SQLite file and on the local PostgreSQL server, with real concurrent processes."""

from __future__ import annotations

import math
import multiprocessing
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, inspect
from sqlalchemy.exc import OperationalError

from stsync_dagster.sync.crosswalk import (
    CHUNK,
    CONFIRMED,
    PENDING,
    Crosswalk,
    Entry,
    Issue,
    RecordCounts,
    Write,
    database_url,
)
from stsync_dagster_tests import pg

KIND = "materials"
SPAWN = multiprocessing.get_context("spawn")  # no engine or pooled connection inherited through fork


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A crosswalk location nobody else uses: a plain file path (not a URL), or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield str(tmp_path / "state" / "stsync.sqlite3")
    else:
        with pg.fresh_schema() as url:
            yield url


@pytest.fixture
def cw(db_url) -> Crosswalk:
    with Crosswalk(db_url) as crosswalk:
        yield crosswalk


def _wait_for_clock_to_pass(moment: datetime) -> None:
    while datetime.now(UTC) <= moment:
        time.sleep(0.001)


# -- worker processes (module level, so that spawned children can import them) --------------------------------


def _worker(url, op, batches, run_id, claimed_before, barrier, results):
    try:
        with Crosswalk(url) as crosswalk:
            if op == "schema":
                barrier.wait(timeout=60)
                crosswalk.ensure_schema()
                got = crosswalk.claim(KIND, batches[0], run_id)
            else:
                crosswalk.ensure_schema()
                barrier.wait(timeout=60)
                got = set()
                for batch in batches:
                    if op == "claim":
                        got |= crosswalk.claim(KIND, batch, run_id)
                    else:
                        got |= crosswalk.take_over(KIND, batch, run_id, claimed_before)
        results.put((run_id, sorted(got), None))
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put((run_id, [], repr(exc)))


def _race(url: str, op: str, plans: dict[str, list[list[int]]], claimed_before=None) -> dict[str, set[int]]:
    """Start one process per plan, all released at the same moment; return what each one got."""
    barrier = SPAWN.Barrier(len(plans))
    results = SPAWN.Queue()
    processes = [
        SPAWN.Process(target=_worker, args=(url, op, batches, run_id, claimed_before, barrier, results))
        for run_id, batches in plans.items()
    ]
    for process in processes:
        process.start()
    got: dict[str, set[int]] = {}
    errors = []
    for _ in processes:
        run_id, ids, error = results.get(timeout=120)
        got[run_id] = set(ids)
        if error:
            errors.append(f"{run_id}: {error}")
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert not errors, errors
    return got


def _overlapping_plans(ids: list[int], batch: int = 100) -> dict[str, list[list[int]]]:
    """Three processes over one id range: upwards from the low end, downwards from the high end, and all of it
    in a scrambled order, so that they meet on every id."""
    third = len(ids) // 4
    low, high = ids[: 3 * third], ids[third:]
    up = [low[i : i + batch] for i in range(0, len(low), batch)]
    down = [high[i : i + batch] for i in range(0, len(high), batch)][::-1]
    scrambled = ids[1::2] + ids[0::2]
    everything = [scrambled[i : i + batch] for i in range(0, len(scrambled), batch)]
    return {"run-up": up, "run-down": down, "run-all": everything}


def _assert_partition(got: dict[str, set[int]], whole: set[int]) -> None:
    runs = list(got)
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            assert not got[a] & got[b], f"{a} and {b} both got {sorted(got[a] & got[b])[:10]}"
    assert set().union(*got.values()) == whole


# -- locations: paths and URLs ---------------------------------------------------------------------------------


def test_database_url_turns_paths_into_sqlite_urls_and_leaves_urls_alone(tmp_path):
    assert database_url("stsync.sqlite3") == "sqlite:///stsync.sqlite3"
    assert database_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path}/x.db"
    assert database_url("~/x.db") == f"sqlite:///{Path.home()}/x.db"
    assert database_url("  data/x.db \n") == "sqlite:///data/x.db"
    assert database_url("sqlite:////var/lib/x.db") == "sqlite:////var/lib/x.db"
    assert database_url("postgresql://u:p@db:5432/st") == "postgresql+psycopg://u:p@db:5432/st"
    assert database_url("postgres://u@db/st") == "postgresql+psycopg://u@db/st"
    assert database_url("postgresql+psycopg://u@db/st") == "postgresql+psycopg://u@db/st"
    assert database_url("mysql+pymysql://u@db/st") == "mysql+pymysql://u@db/st"
    with pytest.raises(ValueError, match="STSYNC_DB"):
        database_url("  ")


def test_the_default_is_one_place_per_user_and_a_relative_path_is_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        with Crosswalk.from_env({}) as crosswalk:
            assert crosswalk.claim(KIND, [1], "r") == ({1} if folder == "a" else set())
    assert (tmp_path / "data" / "stsync" / "crosswalk.sqlite3").is_file()
    assert not (tmp_path / "a" / "stsync.sqlite3").exists()
    with Crosswalk.from_env({"STSYNC_DB": "nested/dirs/xw.db"}) as crosswalk:
        assert crosswalk.claim(KIND, [1], "r") == {1}
    assert (tmp_path / "b" / "nested" / "dirs" / "xw.db").is_file()


def test_an_unsupported_database_is_refused_by_name():
    with pytest.raises(ValueError, match="STSYNC_DB.*mysql") as refused:
        Crosswalk("mysql://user:s3cr3t-pw@db/stsync")
    assert "s3cr3t-pw" not in str(refused.value)


def test_the_database_password_is_never_shown():
    crosswalk = Crosswalk("postgresql://stsync:s3cr3t-pw@127.0.0.1:1/stsync")  # connects on first use only
    try:
        assert crosswalk.url == "postgresql+psycopg://stsync:***@127.0.0.1:1/stsync"
        assert "s3cr3t-pw" not in repr(crosswalk)
    finally:
        crosswalk.close()


def test_postgresql_urls_use_psycopg_3():
    with pg.fresh_schema() as url, Crosswalk(url) as crosswalk:
        assert url.startswith("postgresql://")
        assert crosswalk.engine.dialect.driver == "psycopg"
        assert crosswalk.claim(KIND, [5], "r") == {5}


# -- SQLite specifics ------------------------------------------------------------------------------------------


def test_sqlite_file_is_in_wal_mode_with_a_busy_timeout(tmp_path):
    path = tmp_path / "deep" / "er" / "xw.sqlite3"
    with Crosswalk(str(path)) as crosswalk:
        crosswalk.claim(KIND, [1], "r")
        with crosswalk.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persisted in the file itself
    finally:
        raw.close()


def test_sqlite_writer_waits_for_a_lock_instead_of_failing(tmp_path):
    path = tmp_path / "xw.sqlite3"
    with Crosswalk(str(path)) as crosswalk:
        crosswalk.ensure_schema()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    release = threading.Timer(1.0, lambda: other.execute("COMMIT"))
    try:
        other.execute("BEGIN IMMEDIATE")  # someone else's write transaction holds the lock
        with Crosswalk(str(path), busy_timeout_s=0.2) as impatient, pytest.raises(OperationalError, match="locked"):
            impatient.claim(KIND, [1], "r-impatient")
        release.start()
        with Crosswalk(str(path)) as patient:
            assert patient.claim(KIND, [1], "r-patient") == {1}
    finally:
        if release.is_alive():
            release.join()
        other.close()


def test_sqlite_queries_search_indexes_instead_of_scanning(tmp_path):
    """With a million rows a scan of one kind costs 100 ms where an index search costs 3: every query of a sync
    must be an index search. (SQLite's planner needs help with pending rows; see the partial indexes.)"""
    with Crosswalk(str(tmp_path / "xw.sqlite3")) as crosswalk:
        crosswalk.record(KIND, {p: p + 1000 for p in range(1, 200)}, "reconcile")
        cutoff = datetime.now(UTC)
        statements = []

        def capture(_conn, _cursor, sql, params, _context, executemany):
            statements.append((sql, params[0] if executemany else params))

        event.listen(crosswalk.engine, "before_cursor_execute", capture)
        crosswalk.claim(KIND, [300, 301, 302], "run-a")
        crosswalk.lookup(KIND, [1, 300])
        crosswalk.int_ids(KIND, [1, 300])
        crosswalk.find_by_int_id(KIND, [1001])
        crosswalk.stale_claims(KIND, cutoff)
        crosswalk.mark_sent(KIND, [300, 301], "run-a")
        crosswalk.take_over(KIND, [300], "run-b", cutoff)
        crosswalk.take_over(KIND, list(crosswalk.lookup(KIND, [302]).values()), "run-b", cutoff)
        crosswalk.confirm(KIND, {300: 1300}, "run-a", history=[Write("run-a", KIND, 300, 1300, "created")])
        crosswalk.history(KIND, 300)
        crosswalk.run_writes("run-a", KIND)
        crosswalk.release(KIND, [301], "run-a")
        crosswalk.record(KIND, {302: 1302}, "recovered")
        crosswalk.set_issues(KIND, {5: ("blocked", "r", None)}, "run-a")
        crosswalk.issues(kind=KIND, prod_ids=[5])
        crosswalk.clear_issues(KIND, [5])
        event.remove(crosswalk.engine, "before_cursor_execute", capture)

        checked = 0
        with crosswalk.engine.connect() as conn:
            for sql, params in statements:
                if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                    continue
                plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, tuple(params))]
                scans = [
                    step
                    for step in plan
                    if (step.startswith("SCAN") and "CONSTANT ROW" not in step) or step.endswith("(kind=?)")
                ]
                assert not scans, (sql, plan)
                checked += 1
        assert checked >= 12


# -- schema ----------------------------------------------------------------------------------------------------


def test_schema_is_created_once_and_reused(db_url):
    with Crosswalk(db_url) as first:
        first.ensure_schema()
        first.ensure_schema()
        assert first.claim(KIND, [1, 2], "r1") == {1, 2}
        tables = set(inspect(first.engine).get_table_names())
        assert {"id_map", "sync_issue", "sync_run", "stsync_schema_version"} <= tables and "sync_cursor" not in tables
        columns = {c["name"] for c in inspect(first.engine).get_columns("id_map")}
        assert {
            "kind",
            "prod_id",
            "int_id",
            "created_at",
            "state",
            "run_id",
            "partition",
            "claimed_at",
            "updated_at",
            "source",
        } <= columns
        indexes = {tuple(i["column_names"]) for i in inspect(first.engine).get_indexes("id_map")}
        assert {("kind", "int_id"), ("kind", "state")} <= indexes
    with Crosswalk(db_url) as second:
        second.ensure_schema()
        assert set(second.lookup(KIND, [1, 2, 3])) == {1, 2}


def test_processes_creating_the_schema_at_once_all_succeed(db_url):
    got = _race(db_url, "schema", {f"run-{n}": [[n]] for n in range(4)})
    assert got == {f"run-{n}": {n} for n in range(4)}
    with Crosswalk(db_url) as crosswalk:
        assert crosswalk.counts() == {(KIND, PENDING): 4}


# -- claim, confirm, release -----------------------------------------------------------------------------------


def test_claim_then_confirm(cw):
    before = datetime.now(UTC)
    assert cw.claim(KIND, [3, 1, 2, 2], "run-a", partition="2024-05-01") == {1, 2, 3}
    assert cw.claim(KIND, [2, 3, 4], "run-b") == {4}  # rows already there are not claimed again
    assert cw.claim("vendors", [1], "run-b") == {1}  # kinds are separate

    entries = cw.lookup(KIND, [1, 2, 3, 4, 5])
    assert set(entries) == {1, 2, 3, 4}
    one = entries[1]
    assert (one.prod_id, one.int_id, one.state, one.run_id, one.source) == (1, None, PENDING, "run-a", "sync")
    assert one.claimed_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= one.claimed_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert entries[4].run_id == "run-b"
    assert cw.int_ids(KIND, [1, 2, 3, 4]) == {}  # pending is not a mapping

    assert cw.confirm(KIND, {1: 101, 2: 102, 9: 909}, "run-a") == {1, 2}  # 9 was never claimed
    assert cw.int_ids(KIND, [1, 2, 3, 4, 9]) == {1: 101, 2: 102}
    assert cw.lookup(KIND, [9]) == {}
    confirmed = cw.lookup(KIND, [1])[1]
    assert (confirmed.state, confirmed.int_id, confirmed.claimed_at) == (CONFIRMED, 101, one.claimed_at)

    # The Integration id beats the claim: confirming another run's pending row works...
    assert cw.confirm(KIND, {4: 104}, "run-a") == {4}
    # ...but a confirmed mapping is never overwritten by a confirm; the same pair again is fine.
    assert cw.confirm(KIND, {1: 999, 2: 102}, "run-c") == {2}
    assert cw.int_ids(KIND, [1, 2, 4]) == {1: 101, 2: 102, 4: 104}
    assert [e for e in cw.lookup(KIND, [1, 2, 3, 4]).values() if e.state == PENDING and e.run_id == "run-a"] == [
        cw.lookup(KIND, [3])[3]
    ]
    assert cw.counts() == {(KIND, CONFIRMED): 3, (KIND, PENDING): 1, ("vendors", PENDING): 1}
    assert cw.counts(KIND) == {(KIND, CONFIRMED): 3, (KIND, PENDING): 1}


def test_claims_are_exclusive_across_processes(db_url):
    whole = list(range(1, 4001))
    got = _race(db_url, "claim", _overlapping_plans(whole))
    _assert_partition(got, set(whole))
    with Crosswalk(db_url) as crosswalk:
        entries = crosswalk.lookup(KIND, whole)
    assert {e.state for e in entries.values()} == {PENDING}
    for run_id, ids in got.items():
        assert {e.prod_id for e in entries.values() if e.run_id == run_id} == ids


def test_release_deletes_only_the_callers_pending_rows(cw):
    cw.claim(KIND, [1, 2, 3], "run-a")
    cw.claim(KIND, [4], "run-b")
    cw.confirm(KIND, {3: 303}, "run-a")
    assert cw.release(KIND, [1, 2, 3, 4], "run-b") == {4}
    assert cw.release(KIND, [1, 2, 3, 4], "run-a") == {1, 2}  # 3 is confirmed: it stays
    assert set(cw.lookup(KIND, [1, 2, 3, 4])) == {3}
    assert cw.claim(KIND, [1, 2, 3, 4], "run-c") == {1, 2, 4}  # the next run retries them


def test_large_batches_in_one_call(cw):
    ids = list(range(10_000, 12_500))
    assert cw.claim(KIND, ids, "run-a") == set(ids)
    assert cw.claim(KIND, range(12_000, 13_000), "run-b") == set(range(12_500, 13_000))
    assert cw.confirm(KIND, {p: p * 10 for p in ids}, "run-a") == set(ids)
    assert cw.release(KIND, range(12_000, 13_000), "run-b") == set(range(12_500, 13_000))
    assert cw.counts(KIND) == {(KIND, CONFIRMED): 2_500}


# -- stale claims and take-over --------------------------------------------------------------------------------


def test_take_over_reassigns_only_stale_pending_claims(cw):
    cw.claim(KIND, [1, 2, 3, 4], "crashed-run", partition="2024-05-01")
    cw.confirm(KIND, {4: 404}, "crashed-run")
    cutoff = datetime.now(UTC)
    _wait_for_clock_to_pass(cutoff)
    cw.claim(KIND, [5], "live-run")

    stale = cw.stale_claims(KIND, cutoff)
    assert [e.prod_id for e in stale] == [1, 2, 3]
    assert {e.run_id for e in stale} == {"crashed-run"}
    assert [e.prod_id for e in cw.stale_claims(KIND, cutoff, limit=2)] == [1, 2]
    assert cw.stale_claims("vendors", cutoff) == []

    assert cw.take_over(KIND, [1, 2, 4, 5, 6], "rescuer", cutoff) == {1, 2}  # 4 confirmed, 5 fresh, 6 absent
    assert cw.take_over(KIND, [1, 2, 3], "second-rescuer", cutoff) == {3}  # 1 and 2 are no longer stale
    assert [e.prod_id for e in cw.stale_claims(KIND, cutoff)] == []
    assert [p for p, e in cw.lookup(KIND, range(1, 7)).items() if e.state == PENDING and e.run_id == "rescuer"] == [
        1,
        2,
    ]
    taken = cw.lookup(KIND, [1])[1]
    assert taken.claimed_at > cutoff and taken.run_id == "rescuer" and taken.state == PENDING
    assert [e for e in cw.lookup(KIND, range(1, 7)).values() if e.run_id == "crashed-run" and e.state == PENDING] == []


@pytest.mark.parametrize("given", ["ids with a past cutoff", "entries with a future cutoff"])
def test_take_over_is_exclusive_across_processes(db_url, given):
    whole = list(range(1, 3001))
    with Crosswalk(db_url) as crosswalk:
        assert crosswalk.claim(KIND, whole, "crashed-run") == set(whole)
        entries = crosswalk.lookup(KIND, whole)
    cutoff = datetime.now(UTC)
    _wait_for_clock_to_pass(cutoff)
    if given == "ids with a past cutoff":
        plans = _overlapping_plans(whole)
    else:  # a cutoff that protects nothing: only the entries' run_id and claimed_at keep the callers apart
        cutoff += timedelta(hours=1)
        plans = _overlapping_plans([entries[p] for p in whole])
    got = _race(db_url, "take_over", plans, claimed_before=cutoff)
    _assert_partition(got, set(whole))
    with Crosswalk(db_url) as crosswalk:
        entries = crosswalk.lookup(KIND, whole)
    for run_id, ids in got.items():
        assert {e.prod_id for e in entries.values() if e.run_id == run_id} == ids


def test_take_over_of_entries_takes_only_claims_still_as_seen(cw):
    cw.claim(KIND, [1, 2, 3], "crashed-run")
    seen = cw.lookup(KIND, [1, 2, 3])
    cw.confirm(KIND, {3: 303}, "crashed-run")  # finished after all
    future = datetime.now(UTC) + timedelta(hours=1)

    assert cw.take_over(KIND, list(seen.values()), "rescuer-1", future) == {1, 2}
    # A second rescuer acting on the same stale view gets nothing, whatever the cutoff...
    assert cw.take_over(KIND, [seen[1], seen[2], seen[3]], "rescuer-2", future) == set()
    assert {e.run_id for e in cw.lookup(KIND, [1, 2]).values()} == {"rescuer-1"}
    # ...whereas bare ids are judged by the cutoff alone: a future one takes any pending claim.
    assert cw.take_over(KIND, [1], "rescuer-3", future) == {1}
    # Entries and ids mix; an Entry of a claim that is gone is ignored.
    fresh = cw.lookup(KIND, [2])[2]
    assert cw.take_over(KIND, [fresh, 1, Entry(9, None, PENDING, "x", fresh.claimed_at, "sync")], "r4", future) == {
        1,
        2,
    }


def test_naive_datetimes_are_refused(cw):
    with pytest.raises(ValueError, match="naive"):
        cw.stale_claims(KIND, datetime.now())
    with pytest.raises(ValueError, match="naive"):
        cw.take_over(KIND, [1], "r", datetime.now())


# -- mappings recorded from master data, reconcile, recovery ---------------------------------------------------


def test_record_reports_inserted_updated_unchanged(cw):
    first = cw.record("vendors", {1: 10, 2: 20}, "masterdata")
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    assert first.inserted_ids == {1, 2}

    cw.claim("vendors", [4], "run-a")  # a pending claim that recovery resolves
    second = cw.record("vendors", {1: 10, 2: 21, 3: 30, 4: 40}, "reconcile", run_id="reconcile-1")
    assert second == RecordCounts(
        inserted=1, updated=2, unchanged=1, inserted_ids=frozenset({3}), updated_ids=frozenset({2, 4})
    )
    assert cw.int_ids("vendors", [1, 2, 3, 4]) == {1: 10, 2: 21, 3: 30, 4: 40}
    entries = cw.lookup("vendors", [1, 2, 4])
    assert entries[1].source == "masterdata"  # unchanged rows keep their origin
    assert (entries[2].source, entries[2].run_id) == ("reconcile", "reconcile-1")
    assert entries[4].state == CONFIRMED

    again = cw.record("vendors", {1: 10, 2: 21, 3: 30, 4: 40}, "recovered")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    assert cw.find_by_int_id("vendors", [10, 21, 30, 40, 99]) == {10: 1, 21: 2, 30: 3, 40: 4}
    assert cw.find_by_int_id(KIND, [10]) == {}
    with pytest.raises(ValueError, match="source"):
        cw.record("vendors", {5: 50}, "guess")


def test_lookup_of_ten_thousand_ids_is_one_call_in_a_few_statements(cw):
    ids = list(range(1_000_000, 1_010_000))
    assert cw.record(KIND, {p: p + 7 for p in ids}, "reconcile").inserted == 10_000
    cw.claim(KIND, [5], "run-a")
    statements = []
    event.listen(cw.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    wanted = ids + [5, 6]
    entries = cw.lookup(KIND, wanted)
    lookup_statements = len(statements)
    mapped = cw.int_ids(KIND, wanted)

    assert len(entries) == 10_001 and 6 not in entries
    assert all(entries[p].int_id == p + 7 and entries[p].state == CONFIRMED for p in ids)
    assert entries[5].state == PENDING
    assert mapped == {p: p + 7 for p in ids}
    chunks = math.ceil(len(wanted) / CHUNK)
    assert lookup_statements <= chunks + 1  # the SELECTs, and the BEGIN that SQLite is sent explicitly


# -- issues and cursors ----------------------------------------------------------------------------------------


def test_issues_round_trip(cw):
    cw.set_issues("purchase-orders", {7: ("blocked", "vendor 3 has no Integration counterpart", None)}, "run-a")
    cw.set_issues(KIND, {1: ("failed", "code: required", '{"code": ["required"]}')}, "run-a")
    [first] = cw.issues(kind="purchase-orders")
    assert isinstance(first, Issue)
    assert (first.prod_id, first.status, first.reason, first.detail, first.run_id) == (
        7,
        "blocked",
        "vendor 3 has no Integration counterpart",
        None,
        "run-a",
    )
    assert first.first_seen == first.last_seen and first.first_seen.utcoffset() == timedelta(0)

    _wait_for_clock_to_pass(first.last_seen)
    cw.set_issues("purchase-orders", {7: ("failed", "still missing", "detail"), 8: ("blocked", "x", None)}, "b")
    seven = cw.issues(kind="purchase-orders", prod_ids=[7])[0]
    assert (seven.status, seven.reason, seven.detail, seven.run_id) == ("failed", "still missing", "detail", "b")
    assert seven.first_seen == first.first_seen and seven.last_seen > first.last_seen

    assert [(i.kind, i.prod_id) for i in cw.issues()] == [(KIND, 1), ("purchase-orders", 7), ("purchase-orders", 8)]
    assert [i.prod_id for i in cw.issues(status="blocked")] == [8]
    assert [i.prod_id for i in cw.issues(first_seen_before=seven.last_seen)] == [1, 7]
    assert cw.issues(kind=KIND, prod_ids=[]) == []
    with pytest.raises(ValueError, match="status"):
        cw.set_issues(KIND, {2: ("oops", "r", None)}, "run-a")

    assert cw.clear_issues("purchase-orders", [7, 8, 9]) == 2
    assert cw.clear_issues("purchase-orders", [7]) == 0
    assert [(i.kind, i.prod_id) for i in cw.issues()] == [(KIND, 1)]


def test_an_issue_is_due_by_its_time_its_reference_or_another_config(cw):
    from stsync_dagster.sync.crosswalk.issues import Retry

    issues = {
        1: ("failed", "name: required", "name"),
        2: ("blocked", "vendor 9 …", "vendorId"),
        3: ("deferred", "d", "(claim)"),
    }
    retry = {1: Retry(backoff=True), 2: Retry(backoff=True, waits_on="vendors:9")}
    cw.set_issues("pos", issues, "run-a", retry=retry, config_print="c1")
    now, left = cw.now(), {i.prod_id: i for i in cw.issues(kind="pos")}
    assert [left[p].attempts for p in (1, 2, 3)] == [1, 1, 1] and left[3].retry_after is None
    assert now + timedelta(hours=23) < left[1].retry_after <= now + timedelta(days=1)
    assert left[2].waits_on == "vendors:9"
    assert [i.prod_id for i in cw.due_issues("pos", "c1")] == [3]  # 1 and 2 wait
    assert [i.prod_id for i in cw.due_issues("pos", "c2")] == [1, 2, 3]  # judged with another config
    cw.record("vendors", {9: 900}, source="masterdata")
    assert [i.prod_id for i in cw.due_issues("pos", "c1")] == [2, 3]  # its vendor has a counterpart now
    cw.set_issues("pos", {1: issues[1]}, "run-b", retry={1: Retry(backoff=True)}, config_print="c1")
    [again] = cw.issues(kind="pos", prod_ids=[1])
    assert again.attempts == 2 and again.retry_after > now + timedelta(days=1, hours=23)  # 1 day, then 2
    for attempts in range(3, 10):
        cw.set_issues("pos", {1: issues[1]}, "run-c", retry={1: Retry(backoff=True)}, config_print="c1")
    [capped] = cw.issues(kind="pos", prod_ids=[1])
    assert capped.attempts == 9 and capped.retry_after <= cw.now() + timedelta(days=30)


def test_a_crosswalk_of_revision_0004_gains_the_history_and_keeps_its_rows(db_url):
    from alembic import command
    from sqlalchemy import text

    from stsync_dagster.sync.crosswalk import migrations

    with Crosswalk(db_url) as old, old.engine.begin() as conn:
        command.upgrade(migrations._config(conn), "0004")  # the schema before the history
        conn.execute(
            text(
                "INSERT INTO id_map (kind, prod_id, int_id, created_at, state, updated_at, source) "
                "VALUES ('items', 7, 70, CURRENT_TIMESTAMP, 'confirmed', CURRENT_TIMESTAMP, 'sync')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO id_map (kind, prod_id, state, run_id, claimed_at, updated_at, source) "
                "VALUES ('items', 9, 'pending', 'old-run', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'sync')"
            )
        )
    with Crosswalk(db_url) as crosswalk:
        assert crosswalk.int_ids("items", [7]) == {7: 70}
        [pending] = crosswalk.lookup("items", [9]).values()
        assert pending.sent_at == pending.claimed_at  # a claim from before 0007 is taken as sent: it waits
        assert "sync_history" in inspect(crosswalk.engine).get_table_names()
        crosswalk.claim("items", [8], "run")
        crosswalk.confirm("items", {8: 80}, "run", history=[Write("run", "items", 8, 80, "created")])
        assert [(w.kind, w.prod_id, w.int_id, w.action) for w in crosswalk.history("items", 8)] == [
            ("items", 8, 80, "created")
        ]
        with crosswalk.engine.connect() as conn:
            assert (
                conn.execute(text(f"SELECT version_num FROM {migrations.VERSION_TABLE}")).scalar() == migrations.head()
            )
