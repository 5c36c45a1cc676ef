"""`stsync undo RUN_ID`: a run taken back as far as the API allows, against the simulator over HTTP, with SQLite and
PostgreSQL crosswalks: Integration as before the run for every record the API lets undo touch (the simulator's
state compared), the rest listed, a record edited since left alone unless forced, nothing written the second time,
and no duplicate made by a sync afterwards."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from stsync_dagster.servicetitan import IntegrationClient
from stsync_dagster.settings import DEFAULT_EXTERNAL_DATA_GUID as GUID
from stsync_dagster.settings import load_settings
from stsync_dagster.config import load_config
from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster.sync.entities import HANDLERS
from stsync_dagster.sync.reconcile import reconcile
from stsync_dagster.sync.undo import Result, undo
from stsync_dagster_tests import pg
from stsync_dagster_tests.sync_helpers import KIND_OF, stamp_duplicates, sync, sync_env

WRITES = ("POST", "PATCH", "PUT", "DELETE")
REPO_CONFIG = Path(__file__).resolve().parents[1] / "stsync.config.json"
STORED = ("materials", "equipment", "jobs", "purchase-orders", "appointments")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield str(tmp_path / "crosswalk.sqlite3")
    else:
        with pg.fresh_schema() as url:
            yield url


def writes(sim) -> int:
    return sum(n for route, n in sim.stats("int")["by_route"].items() if route.startswith(WRITES))


def state(sim) -> dict[str, dict[int, dict]]:
    """Integration's records by kind and id, without the times every write moves."""
    return {
        kind: {r["id"]: {k: v for k, v in r.items() if k != "modifiedOn"} for r in sim.records("int", kind)}
        for kind in STORED
    }


def history_rows(env) -> int:
    with Crosswalk(env["STSYNC_DB"]) as crosswalk, crosswalk.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM sync_history").scalar_one()


def run_of(env, kind: str, action: str) -> str:
    """The run of the latest write of that action to that kind."""
    with Crosswalk(env["STSYNC_DB"]) as crosswalk, crosswalk.engine.connect() as conn:
        query = text("SELECT run_id FROM sync_history WHERE kind = :k AND action = :a ORDER BY id DESC LIMIT 1")
        return conn.execute(query, {"k": kind, "a": action}).scalar_one()


def take_back(env, run_id: str, **options):
    settings = load_settings(env, dotenv_path=None)
    with IntegrationClient.from_settings(settings) as intc, Crosswalk(env["STSYNC_DB"]) as crosswalk:
        return undo(
            crosswalk, intc, load_config(env["STSYNC_CONFIG"]), settings.external_data_guid, run_id,
            undo_run_id=f"undo-test-{time.monotonic_ns()}", **options,
        )  # fmt: skip


def _follow_production(sim, env) -> dict[str, list[int]]:
    """Production moves on after the first copy: materials repriced, open jobs canceled. Returns the Integration
    ids of what changed."""
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        items = sorted((p, i) for p, (i, s) in crosswalk.mapped("items").items() if s == "sync")[:4]
        jobs = crosswalk.mapped("jobs")
    prod = {r["id"]: r for r in sim.records("prod", "materials")}
    for prod_id, _ in items:
        sim.change("prod", "materials", prod_id, price=round(prod[prod_id]["price"] + 7.5, 2), description="Moved on")
    held = {r["id"]: r for r in sim.records("int", "jobs")}
    open_jobs = sorted(p for p, (i, s) in jobs.items() if s == "sync" and held[i]["jobStatus"] == "Scheduled")[:3]
    for prod_id in open_jobs:
        sim.change("prod", "jobs", prod_id, jobStatus="Canceled")
    assert len(items) == 4 and len(open_jobs) == 3
    return {"materials": [i for _, i in items], "jobs": [jobs[p][0] for p in open_jobs]}


def test_a_run_that_created_updated_and_moved_statuses_is_taken_back(make_simulator, tmp_path, db_url):
    sim = make_simulator(seed=11, scale=0.25)
    env = sync_env(sim, tmp_path, ST_PAGE_SIZE="5000", STSYNC_DB=db_url)
    sync(env, ("items", "jobs"))
    changed = _follow_production(sim, env)
    before = state(sim)
    second = sync(env, ("items", "equipment", "jobs", "pos"))  # creates equipment and POs, updates, cancels
    assert second["items"]["updated"] == 4 and second["jobs"]["status_changed"] == 3
    assert second["pos"]["created"] > 0 and second["equipment"]["created"] > 0
    run_id = run_of(env, "pos", "created")

    rows, sent = history_rows(env), writes(sim)
    plan = take_back(env, run_id, dry_run=True)
    assert plan.items and {i.result for i in plan.items} <= {Result.PLANNED, Result.NOTHING, Result.NOT_POSSIBLE}
    assert writes(sim) == sent and history_rows(env) == rows
    report = take_back(env, run_id)
    assert not report.unfinished(), report.as_dict()
    after = state(sim)
    listed = {(i.kind, i.int_id) for i in report.partly()}
    entity = {kind: entity for entity, kind in KIND_OF.items()}
    created = {(entity[k], i) for k in KIND_OF.values() for i in set(after[k]) - set(before[k])}
    assert listed == created and {k for k, _ in created} >= {"equipment", "pos"}
    # What the API lets undo touch is as before the run: fields set back, jobs un-canceled (visits too).
    for kind in STORED:
        kept = {i: r for i, r in after[kind].items() if i in before[kind]}
        assert kept == before[kind], kind
    assert all(not after["equipment"][i]["active"] for k, i in created if k == "equipment")
    assert all(after["purchase-orders"][i]["status"] == "Canceled" for k, i in created if k == "pos")
    for int_id in changed["jobs"]:
        assert after["jobs"][int_id]["jobStatus"] == "Scheduled"
    # The second time: nothing written, not to Integration, not to the crosswalk.
    rows, sent = history_rows(env), writes(sim)
    again = take_back(env, run_id)
    assert writes(sim) == sent and history_rows(env) == rows
    assert {i.result for i in again.items} <= {Result.ALREADY, Result.NOTHING, Result.NOT_POSSIBLE}
    # A sync afterwards meets the records again knowingly: statuses and prices followed, no duplicate made.
    third = sync(env, ("items", "equipment", "jobs", "pos"))
    assert sum(third[k]["created"] for k in third) == 0 and stamp_duplicates(sim, GUID) == {}
    assert third["jobs"]["status_changed"] == 3 and third["items"]["updated"] == 4


def test_a_created_material_is_deleted_and_a_sync_afterwards_creates_it_once(make_simulator, tmp_path, db_url):
    sim = make_simulator(seed=11, scale=0.25)
    env = sync_env(sim, tmp_path, ST_PAGE_SIZE="5000", STSYNC_DB=db_url)
    before = state(sim)
    first = sync(env, ("items", "equipment", "jobs", "pos"))
    run_id = run_of(env, "items", "created")
    report = take_back(env, run_id)
    done = {(i.kind, i.result) for i in report.items}
    assert ("items", Result.DONE) in done and ("jobs", Result.DONE) in done and ("pos", Result.DONE) in done
    # A material on a line of a PO it created stays, inactive: the canceled PO copy stays too, its lines whole.
    kept = {i.int_id for i in report.items if i.kind == "items" and i.action == "deactivate"}
    lines = {
        line["skuId"] for r in sim.records("int", "purchase-orders") for line in r["items"] if line.get("active", True)
    }
    after = state(sim)
    assert kept and kept <= lines and all(not after["materials"][i]["active"] for i in kept)
    assert set(after["materials"]) == set(before["materials"]) | kept  # every other material it created is deleted
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        assert set(crosswalk.mapped("items")) == {i.prod_id for i in report.items if i.int_id in kept}
        deleted = [w for w in crosswalk.run_writes(report.undo_run_id, limit=100_000)[0] if w.action == "deleted"]
        assert deleted and all(w.undoes == run_id for w in deleted)
    rows, sent = history_rows(env), writes(sim)
    second = take_back(env, run_id)
    assert writes(sim) == sent and history_rows(env) == rows, [
        i.as_dict() for i in second.items if i.result is not Result.ALREADY
    ]
    again = sync(env, ("items", "equipment", "jobs", "pos"))
    made = first["items"]["created"] + first["pos"]["pulled_in"]
    assert again["items"]["created"] + again["pos"]["pulled_in"] == len(deleted) == made - len(kept)
    assert again["jobs"]["created"] == 0 and again["pos"]["created"] == 0 and again["pos"]["failed"] == 0
    assert stamp_duplicates(sim, GUID) == {}
    assert len(sim.records("int", "materials")) == len(before["materials"]) + made


def test_a_record_edited_after_the_run_is_left_alone_unless_forced(make_simulator, tmp_path, db_url):
    sim = make_simulator(seed=11, scale=0.25)
    env = sync_env(sim, tmp_path, ST_PAGE_SIZE="5000", STSYNC_DB=db_url)
    sync(env, ("items",))
    run_id = run_of(env, "items", "created")
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        prod_id, int_id = sorted((p, i) for p, (i, s) in crosswalk.mapped("items").items() if s == "sync")[0]
    time.sleep(2.1)  # past the clock slack: the tester's edit is after STSync's write
    sim.change("int", "materials", int_id, price=4321.0)  # a tester's edit
    report = take_back(env, run_id)
    (conflict,) = [i for i in report.items if i.result is Result.CONFLICT]
    assert (conflict.prod_id, conflict.int_id) == (prod_id, int_id) and "edited in Integration" in conflict.reason
    assert report.unfinished()
    held = {r["id"]: r for r in sim.records("int", "materials")}
    assert held[int_id]["price"] == 4321.0
    assert sum(1 for i in report.items if i.kind == "items" and i.result is Result.DONE) > 0
    forced = take_back(env, run_id, force=True)
    assert [(i.prod_id, i.result) for i in forced.items if i.result is not Result.ALREADY] == [(prod_id, Result.DONE)]
    assert int_id not in {r["id"] for r in sim.records("int", "materials")}


@pytest.fixture
def items_synced(make_simulator, tmp_path):
    """A first sync of the materials: the run to take back, on a SQLite crosswalk."""
    sim = make_simulator(seed=11, scale=0.25)
    env = sync_env(sim, tmp_path, ST_PAGE_SIZE="5000")
    first = sync(env, ("items",))
    return sim, env, first, run_of(env, "items", "created")


def test_the_command_shows_the_plan_writes_nothing_on_a_dry_run_and_undoes_the_run(items_synced, tmp_path):
    from stsync_dagster_tests.test_cli import run

    sim, env, first, run_id = items_synced
    rows, sent, held = history_rows(env), writes(sim), state(sim)
    plan = run(["undo", run_id[:8], "--dry-run", "--json"], env, tmp_path)
    assert plan.returncode == 0, plan.stderr
    body = json.loads(plan.stdout)
    assert body["run_id"] == run_id and body["dry_run"] and body["counts"]["planned"] == first["items"]["created"]
    assert {r["step"] for r in body["records"] if r["result"] == "planned"} == {"delete"}
    assert writes(sim) == sent and history_rows(env) == rows and state(sim) == held
    shown = run(["undo", run_id, "--dry-run"], env, tmp_path)
    assert shown.returncode == 0 and "would do" in shown.stdout and "dry run: nothing written" in shown.stdout
    done = run(["undo", run_id], env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{first['items']['created']} done" in done.stdout
    again = run(["undo", run_id, "--json"], env, tmp_path)
    assert again.returncode == 0 and json.loads(again.stdout)["counts"]["already_undone"] == len(body["records"])
    missing = run(["undo", "no-such-run"], env, tmp_path)
    assert missing.returncode == 2 and "no writes of that run" in missing.stderr


def test_the_undo_job_takes_a_run_back_from_the_ui(items_synced):
    import dagster as dg

    from stsync_dagster.defs.location import build_defs
    from stsync_dagster.defs.metadata import table_rows
    from stsync_dagster_tests.sync_helpers import pointed_at

    sim, env, first, run_id = items_synced
    outputs = {}
    with pointed_at(env), dg.DagsterInstance.ephemeral() as instance:
        job = build_defs().resolve_job_def("undo_run")
        for dry_run in (True, False):
            config = {"ops": {"undo": {"config": {"run_id": run_id, "dry_run": dry_run}}}}
            result = job.execute_in_process(run_config=config, instance=instance)
            assert result.success
            (output,) = [e for e in result.all_node_events if e.is_successful_output]
            outputs[dry_run] = {k: getattr(v, "value", v) for k, v in output.step_output_data.metadata.items()}
            if not dry_run:
                undo_run = result.run_id
    assert outputs[True]["planned"] == first["items"]["created"] == outputs[False]["done"]
    assert {r["step"] for r in table_rows(outputs[False]["records"])} >= {"delete"}
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        kept, total = crosswalk.run_writes(undo_run)
        assert total == first["items"]["created"] + first["items"]["adopted"]
        assert {w.undoes for w in kept} == {run_id}
    assert not {r["id"] for r in sim.records("int", "materials")} & {w.int_id for w in kept if w.action == "deleted"}


def test_the_values_before_an_update_are_kept_in_the_shape_the_patch_sent():
    """A PO's lines as the PATCH sends them (their ids; an inactive line left out), its shipTo's address as read
    back (the description as sent), its memo read back as summary; the status before a status move."""
    from stsync_dagster.sync.apply.before import before_values

    handler = HANDLERS["pos"](load_config(REPO_CONFIG), GUID)
    held = {
        "status": "Pending", "summary": "old memo", "shipTo": {"street": "1 Main", "city": "Austin", "extra": 1},
        "items": [{"id": 7, "skuId": 70, "description": "a", "vendorPartNumber": "", "quantity": 1, "cost": 2.0,
                   "active": True, "skuCode": "X"},
                  {"id": 8, "skuId": 80, "description": "b", "vendorPartNumber": "", "quantity": 3, "cost": 1.0,
                   "active": False, "skuCode": "Y"}],
    }  # fmt: skip
    patch = {
        "memo": "new memo",
        "shipTo": {"description": "Dock", "address": {"street": "2 Elm", "city": "Austin"}},
        "items": [{"id": 7, "skuId": 70, "description": "a2", "vendorPartNumber": "", "quantity": 2, "cost": 2.0},
                  {"skuId": 90, "description": "new", "vendorPartNumber": "", "quantity": 1, "cost": 5.0}],
    }  # fmt: skip
    before = before_values(handler, patch, held, status=True)
    assert before == {
        "status": "Open",
        "fields": {
            "memo": "old memo",
            "shipTo": {"description": "Dock", "address": {"street": "1 Main", "city": "Austin"}},
            "items": [{"id": 7, "skuId": 70, "description": "a", "vendorPartNumber": "", "quantity": 1, "cost": 2.0}],
        },
    }


def test_a_deleted_material_still_listed_by_the_api_is_not_adopted_again(items_synced):
    """ServiceTitan's exports carry deleted records, and its lists may too: a material an undo deleted that
    Integration still shows with STSync's mark is never taken again by adoption; the next sync creates a copy."""
    sim, env, _, run_id = items_synced
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        prod_id, int_id = sorted((p, i) for p, (i, s) in crosswalk.mapped("items").items() if s == "sync")[0]
    gone = next(r for r in sim.records("int", "materials") if r["id"] == int_id)
    report = take_back(env, run_id)
    assert (prod_id, Result.DONE) in {(i.prod_id, i.result) for i in report.items}
    # Shown again as a deleted record would be (its code freed: no natural-key match), with its mark.
    sim.add_records("int", "materials", [{**gone, "code": gone["code"] + " (deleted)", "active": False}])
    settings = load_settings(env, dotenv_path=None)
    handler = HANDLERS["items"](load_config(env["STSYNC_CONFIG"]), GUID)
    with IntegrationClient.from_settings(settings) as intc, Crosswalk(env["STSYNC_DB"]) as crosswalk:
        reconcile(handler, intc, crosswalk, "reconcile-test")  # nor by `stsync reconcile`
        assert prod_id not in crosswalk.int_ids("items", [prod_id])
    again = sync(env, ("items",))
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        assert crosswalk.int_ids("items", [prod_id])[prod_id] != int_id
    assert again["items"]["created"] == sum(1 for i in report.items if i.action == "delete")


def _entry(env, kind: str, prod_id: int):
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        return crosswalk.lookup(kind, [prod_id]).get(prod_id)


def test_a_copy_a_tester_canceled_and_edited_stays_theirs_through_the_undo_and_the_next_sync(make_simulator, tmp_path):
    """A job the run created that a tester canceled (and edited) since: a conflict, although already canceled; forced,
    nothing is sent and its crosswalk row stays as it was, so the next sync still sees the tester's edit as theirs."""
    sim = make_simulator(seed=11, scale=0.25)
    env = sync_env(sim, tmp_path, ST_PAGE_SIZE="5000")
    sync(env, ("items", "jobs"))
    run_id = run_of(env, "jobs", "created")
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        jobs = crosswalk.mapped("jobs")
    held = {r["id"]: r for r in sim.records("int", "jobs")}
    prod_id, int_id = next(
        (p, i) for p, (i, s) in sorted(jobs.items()) if s == "sync" and held[i]["jobStatus"] == "Scheduled"
    )
    sim.advance_clock(60)
    sim.change("int", "jobs", int_id, jobStatus="Canceled", summary="tester: keep this one canceled")
    row = _entry(env, "jobs", prod_id)
    report = take_back(env, run_id)
    (item,) = [i for i in report.items if i.prod_id == prod_id and i.kind == "jobs"]
    assert item.result is Result.CONFLICT and "edited in Integration" in item.reason
    sent = writes(sim)
    forced = take_back(env, run_id, force=True)
    (item,) = [i for i in forced.items if i.prod_id == prod_id and i.kind == "jobs"]
    assert item.result is Result.DONE and "already canceled" in item.reason and writes(sim) == sent
    kept = _entry(env, "jobs", prod_id)
    assert (kept.fingerprint, kept.written_at) == (row.fingerprint, row.written_at)  # the undo did not write it
    sim.advance_clock(60)
    sync(env, ("jobs",))
    now = next(r for r in sim.records("int", "jobs") if r["id"] == int_id)
    assert (now["jobStatus"], now["summary"]) == ("Canceled", "tester: keep this one canceled")


def _crashed_undo(env, run_id: str, monkeypatch) -> None:
    """An undo whose crosswalk fails when it notes what it sent (the process dies there): its API calls landed."""
    from stsync_dagster.sync.crosswalk.undos import Undos

    def lost(self, *args, **kwargs):
        raise RuntimeError("crosswalk write failed (connection lost)")

    with monkeypatch.context() as patched:
        patched.setattr(Undos, "took_back", lost)
        with pytest.raises(RuntimeError):
            take_back(env, run_id)


def test_an_undo_whose_notes_were_lost_is_finished_by_a_retry(make_simulator, tmp_path, monkeypatch, db_url):
    """Restores sent, then a crash before the crosswalk heard of them: the retry finds the fields as before the run,
    takes them as taken back (not as a tester's edit) and notes them; the undo after that writes nothing."""
    sim = make_simulator(seed=11, scale=0.25)
    env = sync_env(sim, tmp_path, ST_PAGE_SIZE="5000", STSYNC_DB=db_url)
    sync(env, ("items",))
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        items = sorted((p, i) for p, (i, s) in crosswalk.mapped("items").items() if s == "sync")[:3]
    prod = {r["id"]: r for r in sim.records("prod", "materials")}
    old = {i: next(r for r in sim.records("int", "materials") if r["id"] == i)["price"] for _, i in items}
    for prod_id, _ in items:
        sim.change("prod", "materials", prod_id, price=round(prod[prod_id]["price"] + 7.5, 2))
    assert sync(env, ("items",))["items"]["updated"] == 3
    run_id = run_of(env, "items", "updated")
    sim.advance_clock(10)
    _crashed_undo(env, run_id, monkeypatch)
    assert {r["id"]: r["price"] for r in sim.records("int", "materials") if r["id"] in old} == old
    sim.advance_clock(10)
    sent = writes(sim)
    again = take_back(env, run_id)
    assert not again.unfinished(), again.as_dict()
    assert {i.result for i in again.items} == {Result.ALREADY} and writes(sim) == sent
    rows = history_rows(env)
    third = take_back(env, run_id)
    assert writes(sim) == sent and history_rows(env) == rows
    assert all("earlier undo" in i.reason for i in third.items)


def test_a_material_deleted_before_a_crash_is_noted_as_deleted_by_the_retry(
    make_simulator, tmp_path, monkeypatch, db_url
):
    """Deletes sent, then a crash: the retry finds the materials gone and notes them deleted (never adopted again),
    not merely forgotten; the next sync creates each once."""
    sim = make_simulator(seed=11, scale=0.25)
    env = sync_env(sim, tmp_path, ST_PAGE_SIZE="5000", STSYNC_DB=db_url)
    first = sync(env, ("items",))
    run_id = run_of(env, "items", "created")
    _crashed_undo(env, run_id, monkeypatch)
    again = take_back(env, run_id)
    gone = [i for i in again.items if i.action == "delete"]
    assert gone and not again.unfinished()
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        assert crosswalk.deleted_int_ids("items", [i.int_id for i in gone]) == {i.int_id for i in gone}
        assert not set(crosswalk.mapped("items")) & {i.prod_id for i in gone}
    assert sync(env, ("items",))["items"]["created"] == len(gone) <= first["items"]["created"]
    assert stamp_duplicates(sim, GUID) == {}


def test_a_delete_the_api_refuses_makes_the_material_inactive_and_is_not_sent_again(make_simulator, tmp_path):
    """Materials of the run on lines of POs a later run created: their delete is refused, so they are made inactive
    (noted, mapping kept); a second undo sends nothing."""
    sim = make_simulator(seed=11, scale=0.25)
    env = sync_env(sim, tmp_path, ST_PAGE_SIZE="5000")
    sync(env, ("items",))
    run_id = run_of(env, "items", "created")
    sync(env, ("equipment", "jobs", "pos"))  # a later run: POs whose lines name the run's materials
    first = take_back(env, run_id)
    refused = [i for i in first.items if i.action == "deactivate" and i.result is Result.DONE]
    assert refused and all("refused by the API" in i.why() for i in refused)
    held = {r["id"]: r for r in sim.records("int", "materials")}
    assert all(held[i.int_id]["active"] is False for i in refused)
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        assert {i.prod_id for i in refused} <= set(crosswalk.mapped("items"))
    sent, rows = writes(sim), history_rows(env)
    second = take_back(env, run_id)
    assert writes(sim) == sent and history_rows(env) == rows, [
        i.as_dict() for i in second.items if i.result is not Result.ALREADY
    ]


def test_a_status_call_the_api_refuses_is_noted_and_not_sent_again(make_simulator, tmp_path):
    """A job the run canceled that a tester completed since: forced, its remove-cancellation is refused by the API;
    the refusal is noted (listed, with its reason), so a second forced undo sends nothing."""
    sim = make_simulator(seed=11, scale=0.25)
    env = sync_env(sim, tmp_path, ST_PAGE_SIZE="5000")
    sync(env, ("items", "jobs"))
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        jobs = crosswalk.mapped("jobs")
    held = {r["id"]: r for r in sim.records("int", "jobs")}
    prod_id, int_id = next(
        (p, i) for p, (i, s) in sorted(jobs.items()) if s == "sync" and held[i]["jobStatus"] == "Scheduled"
    )
    sim.change("prod", "jobs", prod_id, jobStatus="Canceled")
    assert sync(env, ("jobs",))["jobs"]["status_changed"] == 1
    run_id = run_of(env, "jobs", "status_changed")
    sim.advance_clock(60)
    sim.change("int", "jobs", int_id, jobStatus="Completed")  # a tester's
    first = take_back(env, run_id, force=True)
    (item,) = [i for i in first.items if i.prod_id == prod_id]
    assert item.result is Result.NOT_POSSIBLE and "refused by the API" in item.reason
    sent, rows = writes(sim), history_rows(env)
    second = take_back(env, run_id, force=True)
    assert writes(sim) == sent and history_rows(env) == rows
    assert [i.result for i in second.items] == [Result.ALREADY]


def test_a_second_undo_keeps_a_material_on_a_line_of_a_po_the_first_one_canceled(make_simulator, tmp_path):
    """The first undo cancels the run's POs and leaves a material a tester edited (a conflict); forced, the second
    makes it inactive, not deleted: it is on a line of a PO of the run, canceled before (read again)."""
    sim = make_simulator(seed=11, scale=0.25)
    env = sync_env(sim, tmp_path, ST_PAGE_SIZE="5000")
    sync(env, ("items", "equipment", "jobs", "pos"))
    run_id = run_of(env, "pos", "created")
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        pos = {i for i, s in crosswalk.mapped("pos").values() if s == "sync"}
        items = {i: p for p, (i, s) in crosswalk.mapped("items").items() if s == "sync"}
    lines = {line["skuId"] for r in sim.records("int", "purchase-orders") if r["id"] in pos for line in r["items"]}
    int_id = min(lines & set(items))
    sim.advance_clock(60)
    sim.change("int", "materials", int_id, price=4321.0)  # a tester's
    first = take_back(env, run_id)
    assert [i.result for i in first.items if i.int_id == int_id and i.kind == "items"] == [Result.CONFLICT]
    second = take_back(env, run_id, force=True)
    (item,) = [i for i in second.items if i.int_id == int_id and i.kind == "items"]
    assert (item.action, item.result) == ("deactivate", Result.DONE), item.as_dict()
    held = {r["id"]: r for r in sim.records("int", "materials")}
    assert int_id in held and held[int_id]["active"] is False


def test_an_undo_is_not_taken_back(items_synced, tmp_path):
    from stsync_dagster_tests.test_cli import run

    sim, env, _, run_id = items_synced
    report = take_back(env, run_id)
    for given in (report.undo_run_id, report.undo_run_id[:12]):
        refused = run(["undo", given], env, tmp_path)
        assert refused.returncode == 2 and f"is an undo (of run {run_id})" in refused.stderr, refused.stderr


def test_a_delete_whose_answer_was_lost_is_read_back_at_once(items_synced, monkeypatch):
    """The answers of the undo's DELETEs are lost (the server answered, the client did not hear it), and one never
    reached the server: read back at once, those that landed are done and noted deleted; the other fails, and the
    next undo deletes it."""
    from stsync_dagster.servicetitan import errors as st

    sim, env, _, run_id = items_synced
    real, calls, lock = IntegrationClient.delete, [], threading.Lock()

    def unheard(self, path, id):
        with lock:
            calls.append(id)
            first = len(calls) == 1
        if not first:
            real(self, path, id)
        raise st.AmbiguousWriteError("the connection dropped before the answer")

    monkeypatch.setattr(IntegrationClient, "delete", unheard)
    report = take_back(env, run_id)
    monkeypatch.undo()
    failed = [i for i in report.items if i.result is Result.FAILED]
    assert [i.int_id for i in failed] == calls[:1]
    deleted = [i for i in report.items if i.action == "delete" and i.result is Result.DONE]
    assert len(deleted) == len(calls) - 1 and all("landed" in i.reason for i in deleted)
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        assert crosswalk.deleted_int_ids("items", calls) == set(calls[1:])
        assert set(crosswalk.held_actions("items")) == {failed[0].prod_id}  # kept: it may have been sent
    again = take_back(env, run_id)
    assert [(i.int_id, i.result) for i in again.items if i.result is not Result.ALREADY] == [(calls[0], Result.DONE)]
    assert not {r["id"] for r in sim.records("int", "materials")} & set(calls)
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        assert crosswalk.held_actions("items") == {}


def test_a_cancel_sent_before_a_crash_is_taken_as_the_undos_own_by_the_retry(make_simulator, tmp_path, monkeypatch):
    """Jobs canceled, then a crash before the crosswalk heard of it: the claims the undo left say which records it
    may have written, so the retry takes those canceled jobs as canceled by it (not as a tester's edits), finishes
    the rest and leaves no claim behind; a job a tester canceled is still a conflict (the test above)."""
    sim = make_simulator(seed=11, scale=0.25)
    env = sync_env(sim, tmp_path, ST_PAGE_SIZE="5000")
    sync(env, ("items", "jobs"))
    run_id = run_of(env, "jobs", "created")
    sim.advance_clock(10)
    _crashed_undo(env, run_id, monkeypatch)
    canceled = {r["id"] for r in sim.records("int", "jobs") if r["jobStatus"] == "Canceled"}
    sim.advance_clock(10)
    again = take_back(env, run_id)
    assert not again.unfinished(), [i.as_dict() for i in again.items if i.result is Result.CONFLICT][:3]
    taken = {i.int_id for i in again.items if i.kind == "jobs" and "interrupted undo" in i.reason}
    assert taken and taken <= canceled
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        assert crosswalk.held_actions("jobs") == {}
