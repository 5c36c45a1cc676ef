"""Never a duplicate, whatever Integration already holds: a refreshed tenant (ids kept or new), hand-made
materials, a crosswalk lost, old, moved or from the original script, late commits, forged markers, a crash
with a lost WAL, runs in other PID namespaces, stale claims of any window, mappings that no longer hold.

Every scenario ends with the same count: each Production record is represented in Integration exactly once
(by its mark, or by the record a refresh or a tester made), or is reported as not copied."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from stsync_dagster.config import load_config
from stsync_dagster.servicetitan import IntegrationClient
from stsync_dagster.settings import load_settings
from stsync_dagster.simulator import Faults, Refresh
from stsync_dagster.sync.checks import crosswalk_integrity
from stsync_dagster.sync.entities import HANDLERS
from stsync_dagster.sync.adoption import key_part
from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster.sync.runs import HOST, RunRegistry
from stsync_dagster.sync.stamps import marked_prod_id, stamped_prod_id
from stsync_dagster_tests import pg
from stsync_dagster_tests.sync_helpers import KIND_OF, _stamp_view, sync, sync_env

ENTITIES = ("items", "jobs", "pos")
KEYS = {  # what survives a refresh, as the test (not STSync) sees it
    "materials": lambda r: (r.get("code") or "").strip().casefold(),
    "jobs": lambda r: (r.get("jobNumber"), key_part(r.get("createdOn"))),
    "purchase-orders": lambda r: (r.get("number"), key_part(r.get("createdOn"))),
}
REFRESHED_AT = datetime(2026, 10, 1, tzinfo=UTC)


def _mark(kind: str, record: dict, guid: str) -> int | None:
    if kind == "purchase-orders":
        return marked_prod_id(record.get("summary"))
    return stamped_prod_id(_stamp_view(record, guid), guid)


def tally(sim, before: dict[str, set[int]], reports: list[dict], entities=ENTITIES) -> dict[str, int]:
    """created, adopted, duplicates and lost over every kind. A Production record is represented by an
    Integration record carrying its mark, or by one that Integration held before STSync ran and has its key."""
    guid = sim.env()["ST_EXTERNAL_DATA_GUID"]
    out = Counter()
    not_copied = {(i["kind"], i["prod_id"]) for r in reports for e in r.values() for i in _issues(e)}
    for entity in entities:
        kind = KIND_OF[entity]
        ints = sim.records("int", kind)
        old_by_key = Counter(KEYS[kind](r) for r in ints if r["id"] in before[kind])
        marks = Counter(_mark(kind, r, guid) for r in ints if r["id"] not in before[kind])
        for record in sim.records("prod", kind):
            copies = marks[record["id"]] + old_by_key[KEYS[kind](record)]
            if copies > 1:
                out["duplicates"] += copies - 1
            elif copies == 0 and (entity, record["id"]) not in not_copied:
                out["lost"] += 1
    for report in reports:
        for entity, meta in report.items():
            out["created"] += meta["created"]
            out["adopted"] += meta["adopted"]
    return {k: out[k] for k in ("created", "adopted", "duplicates", "lost")}


def _issues(meta: dict) -> list[dict]:
    rows = []
    for group in meta.get("issue_groups") or []:
        rows += [{"kind": group["kind"], "prod_id": pid} for pid in group["examples"]]
    return rows


def _held(sim) -> dict[str, set[int]]:
    return {kind: {r["id"] for r in sim.records("int", kind)} for kind in KIND_OF.values()}


@pytest.fixture
def not_copied_all(monkeypatch):
    """Issue groups list at most 5 examples: list them all, so `lost` only counts what was really lost."""
    import stsync_dagster.sync.outcome as outcome

    original = outcome.SyncReport.grouped_issues
    monkeypatch.setattr(outcome.SyncReport, "grouped_issues", lambda self, examples=10**6: original(self, examples))


pytestmark = pytest.mark.usefixtures("not_copied_all")


@pytest.mark.parametrize("keep_ids", [True, False], ids=["ids-kept", "new-ids"])
def test_a_refreshed_tenant_synced_from_an_empty_crosswalk_adopts_what_it_holds(make_simulator, tmp_path, keep_ids):
    sim = make_simulator(seed=7, scale=0.25, refresh=Refresh(REFRESHED_AT, keep_ids=keep_ids), handmade_materials=3)
    env = sync_env(sim, tmp_path)
    before = _held(sim)
    first = sync(env, ENTITIES)
    figures = tally(sim, before, [first])
    assert figures["duplicates"] == 0 and figures["lost"] == 0, figures
    # Everything created before the refresh (and the hand-made materials) is adopted, the rest created.
    assert first["items"]["adopted"] >= len(before["materials"]) and first["jobs"]["adopted"] == len(before["jobs"])
    assert first["pos"]["adopted"] == len(before["purchase-orders"]) and figures["created"] > 0
    assert not any("already exists" in str(g["reason"]) for r in first.values() for g in r["issue_groups"])
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        rules = Counter(
            row.rule
            for row in crosswalk.engine.connect().execute(text("SELECT rule FROM id_map WHERE source = 'adopted'"))
        )
    assert rules["same-id" if keep_ids else "natural-key"] > 0, rules
    handmade = [r for r in sim.records("int", "materials") if str(r["description"]).startswith("Made by hand")]
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        mapped_to = {i for i, _ in crosswalk.mapped("items").values()}
    assert len(handmade) == 3 and all(r["id"] in mapped_to for r in handmade)  # adopted, never a 409
    # Adopted materials and jobs now carry the stamp, next to the other application's data.
    guid = env["ST_EXTERNAL_DATA_GUID"]
    stamped = [
        r for r in sim.records("int", "materials") if r["id"] in before["materials"] and guid in r["externalData"]
    ]
    assert len(stamped) == len(before["materials"])
    # The hand-made materials differ (description, vendor), and so may a copy the refresh made whose Production
    # record moved on since (a visit rescheduled): who wrote their values is unknown, so they are conflicts, left
    # alone, in the run that adopts them and in every run after, until a person decides (updates.conflicts).
    conflicts = lambda report: sorted(
        (k, r["prod_id"]) for k, m in report.items() for r in m["issues"] if r["outcome"] == "conflict"
    )
    assert first["items"]["conflict"] == 3 and sum(m["updated"] + m["status_changed"] for m in first.values()) == 0
    again = sync(env, ENTITIES)
    assert sum(m["created"] + m["adopted"] for m in again.values()) == 0
    third = sync(env, ENTITIES)
    for report in (again, third):
        assert sum(m["updated"] + m["status_changed"] + m["created"] for m in report.values()) == 0
        assert conflicts(report) == conflicts(first)
    assert {r["id"]: r["description"] for r in handmade} == {
        r["id"]: r["description"] for r in sim.records("int", "materials") if r["id"] in {h["id"] for h in handmade}
    }
    print(f"\nrefreshed tenant ({'ids kept' if keep_ids else 'new ids'}), empty crosswalk: {figures}")


def test_a_lost_an_old_and_another_folders_crosswalk_create_nothing_twice(simulator, tmp_path):
    env = sync_env(simulator, tmp_path)
    before = _held(simulator)
    # An old copy: taken after half of the history was synced.
    half = sorted(r["modifiedOn"][:10] for r in simulator.records("prod", "jobs"))[
        len(simulator.records("prod", "jobs")) // 2
    ]
    reports = [sync(env, ENTITIES, since=half)]
    db = Path(env["STSYNC_DB"])
    shutil.copy(db, tmp_path / "old.sqlite3")
    reports.append(sync(env, ENTITIES))
    rows = {}
    for name, prepare in {
        "crosswalk deleted": lambda: [p.unlink() for p in db.parent.glob(db.name + "*")],
        "crosswalk replaced by an old copy": lambda: shutil.copy(tmp_path / "old.sqlite3", db),
        "crosswalk of another folder": lambda: None,
    }.items():
        prepare()
        run_env = dict(env, STSYNC_DB=str(tmp_path / "elsewhere" / "x.sqlite3")) if "folder" in name else env
        report = sync(run_env, ENTITIES)
        figures = tally(simulator, before, [*reports, report])
        rows[name] = {**tally(simulator, before, [report]), **{k: figures[k] for k in ("duplicates", "lost")}}
        assert rows[name]["created"] == 0 and figures["duplicates"] == 0 and figures["lost"] == 0, (name, rows[name])
        reports.append(report)
    print("\n" + "\n".join(f"{name}: {row}" for name, row in rows.items()))


def test_the_original_scripts_crosswalk_is_upgraded_and_honoured(simulator, tmp_path):
    env = sync_env(simulator, tmp_path)
    before = _held(simulator)
    first = sync(dict(env, STSYNC_DB=str(tmp_path / "made-by-stsync.sqlite3")), ENTITIES)
    with Crosswalk(str(tmp_path / "made-by-stsync.sqlite3")) as crosswalk:
        pairs = [(k, p, i) for k in ENTITIES for p, (i, _) in sorted(crosswalk.mapped(k).items())][:100]
    assert len(pairs) == 100
    original = sqlite3.connect(env["STSYNC_DB"])
    original.execute(
        "CREATE TABLE id_map (kind TEXT NOT NULL, prod_id TEXT NOT NULL, int_id TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (kind, prod_id))"
    )
    original.executemany(
        "INSERT INTO id_map VALUES (?, ?, ?, ?)", [(k, str(p), str(i), "2025-03-01T12:00:00") for k, p, i in pairs]
    )
    original.commit()
    original.close()
    second = sync(env, ENTITIES)
    figures = tally(simulator, before, [first, second])
    assert sum(m["created"] for m in second.values()) == 0 and figures["duplicates"] == 0 and figures["lost"] == 0
    assert sum(m["unchanged"] for m in second.values()) >= 100  # the original's rows are confirmed mappings
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        legacy = (
            crosswalk.engine.connect()
            .execute(text("SELECT count(*) FROM id_map WHERE source = 'legacy' AND state = 'confirmed'"))
            .scalar()
        )
    assert legacy == 100
    print(f"\noriginal script's crosswalk, 100 rows: {tally(simulator, before, [second])}")


def test_a_crosswalk_made_by_a_newer_stsync_is_refused(tmp_path):
    path = str(tmp_path / "newer.sqlite3")
    with Crosswalk(path) as crosswalk:
        crosswalk.ensure_schema()
        with crosswalk.engine.begin() as conn:
            conn.execute(text("UPDATE stsync_schema_version SET version_num = '9999'"))
    with Crosswalk(path) as crosswalk, pytest.raises(Exception, match="newer STSync.*9999"):
        crosswalk.lookup("items", [1])


def test_creates_committed_after_the_client_gave_up_are_not_created_again(make_simulator, tmp_path):
    sim = make_simulator(seed=7, scale=0.25, faults=Faults(late_commit_rate=0.1, late_commit_seconds=4, seed=3))
    env = sync_env(sim, tmp_path, ST_HTTP_TIMEOUT="2", ST_SERVER_TIMEOUT="6", ST_BULK_SIZE="0")  # a create per POST
    before = _held(sim)
    report = sync(env, ("items", "jobs"))
    assert sim.stats("int")["late_commits"] >= 5
    figures = tally(sim, before, [report], ("items", "jobs"))
    assert figures["duplicates"] == 0 and figures["lost"] == 0, figures
    created_in_int = sum(len(sim.records("int", KIND_OF[e])) - len(before[KIND_OF[e]]) for e in ("items", "jobs"))
    assert figures["created"] == created_in_int  # nothing counted created that is not there, nothing twice
    print(f"\nlate commits ({sim.stats('int')['late_commits']} of the creates): {figures}")


def test_a_marker_in_a_production_memo_cannot_pass_for_another_po(simulator, tmp_path):
    env = sync_env(simulator, tmp_path)
    before = _held(simulator)
    first = sync(env, ENTITIES)
    copied = {marked_prod_id(r["summary"]) for r in simulator.records("int", "purchase-orders")} - {None}
    template, victim = [r for r in simulator.records("prod", "purchase-orders") if r["id"] in copied][:2]
    forged = {k: v for k, v in template.items() if k not in ("id", "modifiedOn")}
    forged.update(number="F-1", summary=f"Looks like a copy\n[stsync prod-po {victim['id']}]")
    (added,) = simulator.add_records("prod", "purchase-orders", [forged])
    second = sync(env, ("pos",))
    assert second["pos"]["created"] == 1
    copies = [r for r in simulator.records("int", "purchase-orders") if r["id"] not in before["purchase-orders"]]
    marks = Counter(marked_prod_id(r["summary"]) for r in copies)
    assert marks[added["id"]] == 1 and set(marks.values()) == {1}
    (copy,) = [r for r in copies if marked_prod_id(r["summary"]) == added["id"]]
    assert f"(stsync prod-po {victim['id']}]" in copy["summary"]  # the forged text, defused
    Path(env["STSYNC_DB"]).unlink()  # recovery by markers must tell them apart too
    third = sync(env, ENTITIES)
    figures = tally(simulator, before, [first, second, third])
    assert sum(m["created"] for m in third.values()) == 0 and figures["duplicates"] == 0 and figures["lost"] == 0
    print(
        f"\nforged marker, then crosswalk deleted: {tally(simulator, before, [third])} (duplicates and lost over all runs: {figures['duplicates']}, {figures['lost']})"
    )


def test_mappings_that_no_longer_hold_fail_the_check_and_are_adopted_or_created_again(simulator, tmp_path):
    env = sync_env(simulator, tmp_path)
    before = _held(simulator)
    first = sync(env, ("items", "jobs"))
    copied = [r["id"] for r in simulator.records("int", "jobs") if r["id"] not in before["jobs"]]
    assert simulator.remove_records("int", "jobs", copied) == len(copied)  # gone, as after a refresh
    settings = load_settings(environ=env, dotenv_path=None)
    handler = HANDLERS["jobs"](load_config(env["STSYNC_CONFIG"]), env["ST_EXTERNAL_DATA_GUID"])
    with IntegrationClient.from_settings(settings) as intc, Crosswalk(env["STSYNC_DB"]) as crosswalk:
        outcome = crosswalk_integrity(handler, intc, crosswalk)
    assert not outcome.passed and "stsync sync jobs" in outcome.description
    second = sync(env, ("items", "jobs"))
    assert second["jobs"]["created"] == first["jobs"]["created"]
    assert tally(simulator, before, [second], ("items", "jobs"))["duplicates"] == 0


def test_claims_left_by_a_dead_run_are_swept_whatever_the_window(simulator, tmp_path):
    env = sync_env(simulator, tmp_path)
    jobs = sorted(simulator.records("prod", "jobs"), key=lambda r: r["modifiedOn"])
    old = jobs[0]
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        assert crosswalk.claim("jobs", [old["id"]], "crashed-run") == {old["id"]}
        with crosswalk.engine.begin() as conn:
            conn.execute(
                text("UPDATE id_map SET claimed_at = :t"),
                {"t": (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None)},
            )
    sync(env, ("jobs",), since=jobs[-1]["modifiedOn"][:10])  # a window that does not hold the old job
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        entry = crosswalk.lookup("jobs", [old["id"]]).get(old["id"])
        # Copied, or not copyable and then let go with its reason recorded: never left pending.
        assert (entry is not None and entry.state == "confirmed") or crosswalk.issues(kind="jobs", prod_ids=[old["id"]])


def test_a_stale_claim_taken_over_keeps_its_claim_while_its_lost_answer_is_settled(simulator, tmp_path):
    """A dead run's claims are taken over by the sweep; their creates' answers are lost. Later batches of the run
    must not let those claims go (another run could then create the records again): they are settled by stamp."""
    env = sync_env(simulator, tmp_path, ST_SERVER_TIMEOUT="1")
    jobs = sorted(simulator.records("prod", "jobs"), key=lambda r: r["id"])[:20]
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        assert crosswalk.claim("jobs", [j["id"] for j in jobs], "crashed-run") == {j["id"] for j in jobs}
        with crosswalk.engine.begin() as conn:
            conn.execute(
                text("UPDATE id_map SET claimed_at = :t"),
                {"t": (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None)},
            )
    simulator.set_faults(drop_post_rate=1.0)  # every create commits, and its answer is lost
    report = sync(env, ("jobs",))["jobs"]
    assert report["recovered"] > 0
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        entries = crosswalk.lookup("jobs", [j["id"] for j in jobs])
        issues = {i.prod_id: i for i in crosswalk.issues(kind="jobs", prod_ids=[j["id"] for j in jobs])}
    guid = env["ST_EXTERNAL_DATA_GUID"]
    held = {stamped_prod_id(_stamp_view(r, guid), guid) for r in simulator.records("int", "jobs")}
    for job in jobs:
        if job["id"] in held:  # created: mapped, and not reported as written twice
            entry = entries.get(job["id"])
            assert entry is not None and entry.state == "confirmed", (job["id"], entry, issues.get(job["id"]))
        else:  # not copyable: let go with its reason
            assert job["id"] not in entries and job["id"] in issues


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_fresh_heartbeat_is_live_whatever_its_pid_says(tmp_path, backend):
    """Containers with host networking share the host name, not the PID namespace: a PID means nothing there."""

    def check(url):
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()  # a PID that names no process here, as another namespace's would
        other_namespace = HOST.split("/")[0] + "/pid:[1]"  # the same host name, another PID namespace
        with Crosswalk(url) as crosswalk:
            crosswalk.register_process("other-run", other_namespace, dead.pid)
            assert RunRegistry(crosswalk, "this-run").is_live("other-run") is True
            crosswalk.mark_process("other-run", other_namespace, dead.pid, finished=True)
            assert RunRegistry(crosswalk, "this-run").is_live("other-run") is False
            # In this namespace the PID does tell: a process that is gone is dead at once, heartbeat or not.
            crosswalk.register_process("killed-run", HOST, dead.pid)
            assert RunRegistry(crosswalk, "this-run").is_live("killed-run") is False

    if backend == "sqlite":
        check(str(tmp_path / "xw.sqlite3"))
    else:
        with pg.fresh_schema() as url:
            check(url)


def _stsync(env: dict, *args, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "stsync_dagster.cli", *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        **popen,
    )


def test_sigkill_and_a_lost_wal_then_a_sync_duplicates_nothing(make_simulator, tmp_path):
    sim = make_simulator(seed=7, scale=0.25, faults=Faults(latency_ms=30))
    env = sync_env(sim, tmp_path)
    before = _held(sim)
    proc = _stsync(env, "sync", "jobs")
    deadline = time.monotonic() + 120
    while len(sim.records("int", "jobs")) < len(before["jobs"]) + 10:
        assert proc.poll() is None and time.monotonic() < deadline, "the sync ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for leftover in Path(env["STSYNC_DB"]).parent.glob("crosswalk.sqlite3-*"):
        leftover.unlink()  # the -wal (and -shm) lost
    report = sync(env, ("jobs",))
    figures = tally(sim, before, [report], ("jobs",))
    assert figures["duplicates"] == 0 and figures["lost"] == 0, figures
    print(
        f"\nSIGKILL after {len(sim.records('int', 'jobs')) - len(before['jobs']) - figures['created']} jobs, WAL lost, sync again: {figures}"
    )


def test_two_runs_on_one_host_name_in_separate_pid_namespaces_duplicate_nothing(make_simulator, tmp_path):
    if subprocess.run(["unshare", "--pid", "--fork", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare --pid is not permitted here")
    sim = make_simulator(seed=7, scale=0.25, faults=Faults(latency_ms=20))
    with pg.fresh_schema() as url:
        env = sync_env(sim, tmp_path, STSYNC_DB=url)
        before = _held(sim)
        runs = [
            subprocess.Popen(
                ["unshare", "--pid", "--fork", sys.executable, "-m", "stsync_dagster.cli", "sync", "jobs"],
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        for run in runs:
            run.wait(timeout=300)
        figures = tally(sim, before, [], ("jobs",))
    assert figures["duplicates"] == 0
    assert len(sim.records("int", "jobs")) > len(before["jobs"])
    print(
        f"\ntwo runs, one host name, separate PID namespaces: {len(sim.records('int', 'jobs')) - len(before['jobs'])} "
        f"jobs created, duplicates {figures['duplicates']}"
    )


def test_reconcile_adopts_what_a_refreshed_tenant_holds_before_any_sync(make_simulator, tmp_path):
    sim = make_simulator(seed=7, scale=0.25, refresh=Refresh(REFRESHED_AT, keep_ids=False))
    env = sync_env(sim, tmp_path)
    before = _held(sim)
    done = subprocess.run(
        [sys.executable, "-m", "stsync_dagster.cli", "reconcile"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "adopted by natural key" in done.stdout
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        adopted = {k: len(crosswalk.mapped(k)) for k in ENTITIES}
    assert adopted["jobs"] == len(before["jobs"]) and adopted["pos"] == len(before["purchase-orders"])
    assert len(sim.records("int", "jobs")) == len(before["jobs"])  # reconcile creates nothing
    report = sync(env, ENTITIES)
    assert sum(m["adopted"] for m in report.values()) == 0
    assert tally(sim, before, [report])["duplicates"] == 0


def test_a_failed_heartbeat_is_logged_and_retried(tmp_path, caplog):
    path = str(tmp_path / "xw.sqlite3")
    with Crosswalk(path, busy_timeout_s=0.1) as crosswalk:
        registry = RunRegistry(crosswalk, "beating", heartbeat_every=0.2)
        with registry:
            blocker = sqlite3.connect(path, timeout=0)
            blocker.execute("BEGIN EXCLUSIVE")  # every write fails "database is locked" meanwhile
            deadline = time.monotonic() + 30
            while registry.failed_beats == 0:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            blocker.rollback()
            blocker.close()
            with crosswalk.engine.connect() as conn:
                first = conn.execute(text("SELECT heartbeat_at FROM sync_run")).scalar()
            while True:  # beating again once the database answers
                with crosswalk.engine.connect() as conn:
                    if conn.execute(text("SELECT heartbeat_at FROM sync_run")).scalar() != first:
                        break
                assert time.monotonic() < deadline
                time.sleep(0.05)
    assert any("heartbeat of run beating failed" in r.getMessage() for r in caplog.records)


def test_a_sqlite_file_of_something_else_is_not_taken_for_a_crosswalk(tmp_path):
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with Crosswalk(str(path)) as crosswalk, pytest.raises(Exception, match="other tables.*invoices"):
        crosswalk.lookup("items", [1])
    with sqlite3.connect(path) as other:
        assert [r[0] for r in other.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["invoices"]


def test_the_crosswalk_keeps_its_schema_version_apart_from_dagsters(tmp_path):
    """A deployment puts the crosswalk in Dagster's PostgreSQL database, whose alembic_version is Dagster's."""
    with pg.fresh_schema() as url:
        with Crosswalk(url) as crosswalk, crosswalk.engine.begin() as conn:
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
            conn.execute(text("INSERT INTO alembic_version VALUES ('5771160a95ad')"))  # one of Dagster's
        with Crosswalk(url) as crosswalk:
            assert crosswalk.claim("items", [1], "run") == {1}
            with crosswalk.engine.connect() as conn:
                assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "5771160a95ad"
