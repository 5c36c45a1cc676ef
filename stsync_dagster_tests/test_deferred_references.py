"""A record whose reference is being created by another run at that moment is deferred, not blocked: the target
is claimed (pending) in the crosswalk by a live run, so it will have a counterpart soon, and a later run copies
the record. Real syncs (Dagster runs) against the simulator, a real SQLite crosswalk, another run registered live."""

from __future__ import annotations

from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster.sync.runs import RunRegistry
from stsync_dagster_tests.sync_helpers import sync, sync_env

OTHER = "other-run-creating-jobs"


def test_a_po_whose_job_another_live_run_is_creating_is_deferred_then_copied_by_a_later_run(simulator, tmp_path):
    env = sync_env(simulator, tmp_path)
    plan = sync(env, ("pos",), dry_run=True)["pos"]  # which POs copy as things are (some are blocked on purpose)
    not_copied = {row["prod_id"] for row in plan["issues"]}
    po = next(
        r
        for r in sorted(simulator.records("prod", "purchase-orders"), key=lambda r: r["id"])
        if r.get("jobId") and r["id"] not in not_copied
    )
    job = po["jobId"]
    on_job = {r["id"] for r in simulator.records("prod", "purchase-orders") if r.get("jobId") == job}
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        other = RunRegistry(crosswalk, OTHER, heartbeat_every=1.0)
        other.start()  # another run, live, that has claimed the job and is creating it
        try:
            assert crosswalk.claim("jobs", [job], OTHER) == {job}
            report = sync(env, ("pos",))["pos"]
            rows = {row["prod_id"]: row for row in report["issues"] if row["prod_id"] in on_job}
            assert rows.get(po["id"], {}).get("outcome") == "deferred", rows.get(po["id"])
            assert f"job {job} is being created by run {OTHER}" in rows[po["id"]]["reason"], rows[po["id"]]
            assert crosswalk.lookup("pos", [po["id"]]) == {}  # not created
            assert [i.status for i in crosswalk.issues(kind="pos", prod_ids=[po["id"]])] == ["deferred"]
            crosswalk.release("jobs", [job], OTHER)  # that run ends without the job (its create refused, say)
        finally:
            other.finish()
    latest = max(r["modifiedOn"][:10] for r in simulator.records("prod", "purchase-orders"))
    later = sync(env, ("pos",), since=latest, partition=latest)["pos"]  # a window without the PO: the backlog
    assert po["id"] not in {row["prod_id"] for row in later["issues"]}
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        entry = crosswalk.lookup("pos", [po["id"]])[po["id"]]
        job_copy = crosswalk.int_ids("jobs", [job])[job]
    assert entry.state == "confirmed"
    copy = next(r for r in simulator.records("int", "purchase-orders") if r["id"] == entry.int_id)
    assert copy["jobId"] == job_copy
