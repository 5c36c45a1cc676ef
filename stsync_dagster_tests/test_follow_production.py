"""Following Production after the first copy: field changes, deactivations, statuses, conflicts, the backlog
of blocked records, and faults during updates and status changes. Real syncs against the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stsync_dagster.settings import DEFAULT_EXTERNAL_DATA_GUID as GUID
from stsync_dagster.simulator import DELIBERATE_GAPS
from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster_tests.conftest import REPO_ROOT
from stsync_dagster_tests.sync_helpers import sync, sync_env

ENTITIES = ("items", "jobs", "pos")
WRITES = ("POST", "PATCH", "PUT")


def _writes(sim) -> int:
    return sum(n for route, n in sim.stats("int")["by_route"].items() if route.startswith(WRITES))


def _copies(sim, entity: str, env) -> dict[int, dict]:
    """Production id → its Integration copy, through the crosswalk."""
    kind = {"items": "materials", "jobs": "jobs", "pos": "purchase-orders"}[entity]
    by_id = {r["id"]: r for r in sim.records("int", kind)}
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        return {p: by_id[i] for p, (i, _) in crosswalk.mapped(entity).items() if i in by_id}


def _mismatches(sim, env) -> dict[str, list]:
    """Fields and statuses where an Integration copy does not look like its Production record."""
    out = {"fields": [], "statuses": []}
    prod = {k: {r["id"]: r for r in sim.records("prod", k)} for k in ("materials", "jobs", "purchase-orders")}
    for prod_id, copy in _copies(sim, "items", env).items():
        source = prod["materials"][prod_id]
        for name in ("price", "cost", "description", "active"):
            if copy[name] != source[name]:
                out["fields"].append(("items", prod_id, name, source[name], copy[name]))
    followed = ("Canceled", "Hold", "Completed")
    for prod_id, copy in _copies(sim, "jobs", env).items():
        want = prod["jobs"][prod_id]["jobStatus"]
        if (want if want in followed else "Open") != (copy["jobStatus"] if copy["jobStatus"] in followed else "Open"):
            out["statuses"].append(("jobs", prod_id, want, copy["jobStatus"]))
    for prod_id, copy in _copies(sim, "pos", env).items():
        if (prod["purchase-orders"][prod_id]["status"] == "Canceled") != (copy["status"] == "Canceled"):
            out["statuses"].append(("pos", prod_id, prod["purchase-orders"][prod_id]["status"], copy["status"]))
    return out


def _change_production(sim, env) -> int:
    """What a busy Production does after a first copy: 20 materials repriced and redescribed, 10 deactivated,
    10 jobs and 10 POs canceled. Returns how many records changed."""
    prod = {r["id"]: r for r in sim.records("prod", "materials")}
    materials = [p for p in sorted(_copies(sim, "items", env)) if prod[p]["active"]]
    for prod_id in materials[:20]:
        record = prod[prod_id]
        sim.change(
            "prod",
            "materials",
            prod_id,
            price=round(record["price"] + 10.5, 2),
            description=record["description"] + " (new)",
        )
    for prod_id in materials[20:30]:
        sim.change("prod", "materials", prod_id, active=False)
    jobs = [p for p, c in sorted(_copies(sim, "jobs", env).items()) if c["jobStatus"] == "Scheduled"][:10]
    for prod_id in jobs:
        sim.change("prod", "jobs", prod_id, jobStatus="Canceled")
    pos = [p for p, c in sorted(_copies(sim, "pos", env).items()) if c["status"] == "Pending"][:10]
    for prod_id in pos:
        sim.change("prod", "purchase-orders", prod_id, status="Canceled")
    assert len(jobs) == 10 and len(pos) == 10
    return 30 + len(jobs) + len(pos)


@pytest.fixture
def copied(make_simulator, tmp_path):
    sim = make_simulator(seed=11, scale=0.5)
    env = sync_env(sim, tmp_path, ST_PAGE_SIZE="5000")  # the default: one page per window here
    first = sync(env, ENTITIES)
    assert sum(m["status_changes"] for m in first.values()) > 0  # canceled, held, completed ones moved on create
    return sim, env, first


def test_production_changes_and_statuses_are_followed_at_one_request_each(copied):
    sim, env, _ = copied
    assert _mismatches(sim, env) == {"fields": [], "statuses": []}
    sim.reset_stats()
    quiet = sync(env, ENTITIES)
    assert _writes(sim) == 0 and sum(m["updated"] + m["status_changed"] for m in quiet.values()) == 0
    assert sum(m["compared"] for m in quiet.values()) == 0  # unchanged fingerprints: not even read back
    baseline = sim.stats("int")["requests"]
    changed = _change_production(sim, env)
    sim.reset_stats()
    report = sync(env, ENTITIES)
    assert _mismatches(sim, env) == {"fields": [], "statuses": []}
    assert report["items"]["updated"] == 30 and report["jobs"]["status_changed"] == 10
    assert report["pos"]["status_changed"] == 10 and report["items"]["compared"] == 30
    extra = sim.stats("int")["requests"] - baseline
    assert extra <= 1.1 * changed, (extra, changed)
    # Stamps survive the updates (no externalData is sent with a patch: ours stays as it was).
    for copy in _copies(sim, "items", env).values():
        assert str(GUID) in copy["externalData"]
    sim.reset_stats()
    sync(env, ENTITIES)
    assert _writes(sim) == 0
    print(f"\n{changed} records changed in Production: {extra} extra requests ({extra / changed:.2f} per record)")


def test_a_rescheduled_visit_is_rescheduled_in_integration(copied):
    sim, env, _ = copied
    prod_id, copy = next((p, c) for p, c in sorted(_copies(sim, "jobs", env).items()) if c["jobStatus"] == "Scheduled")
    visit = next(a for a in sim.records("prod", "appointments") if a["jobId"] == prod_id and a["active"])
    moved = {
        "start": "2026-11-20T15:00:00Z",
        "end": "2026-11-20T17:00:00Z",
        "arrivalWindowStart": "2026-11-20T15:00:00Z",
        "arrivalWindowEnd": "2026-11-20T19:00:00Z",
    }
    sim.change("prod", "appointments", visit["id"], **{k: v.replace("Z", ".000Z") for k, v in moved.items()})
    sim.change("prod", "jobs", prod_id)  # the job moves into today's window with its visit
    sim.reset_stats()
    report = sync(env, ("jobs",))
    assert (
        report["jobs"]["status_changed"] == 1
        and sim.stats("int")["by_route"]["PATCH appointments/{id}/reschedule"] == 1
    )
    held = next(
        a
        for a in sim.records("int", "appointments")
        if a["jobId"] == copy["id"] and a["id"] == copy["firstAppointmentId"]
    )
    assert held["start"].startswith("2026-11-20T15:00:00") and held["end"].startswith("2026-11-20T17:00:00")
    sim.reset_stats()
    assert sync(env, ("jobs",))["jobs"]["status_changed"] == 0 and not sim.stats("int")["by_route"].get(
        "PATCH appointments/{id}/reschedule"
    )


def test_a_dry_run_shows_the_updates_before_and_after_and_writes_nothing(copied):
    sim, env, _ = copied
    _change_production(sim, env)
    sim.reset_stats()
    plan = sync(env, ENTITIES, dry_run=True)
    assert _writes(sim) == 0
    assert plan["items"]["updated"] == 30 and plan["jobs"]["status_changed"] == 10
    diff = plan["items"]["sample_diffs"][0]
    assert {"before", "after"} <= set(next(iter(diff["fields"].values())))
    assert any(d["status"] == ["cancel"] for d in plan["jobs"]["sample_diffs"])


def test_a_record_edited_in_integration_is_a_conflict_left_alone_unless_told(copied, tmp_path):
    sim, env, _ = copied
    prod_id, copy = sorted(_copies(sim, "items", env).items())[0]
    sim.change("int", "materials", copy["id"], price=1234.5)  # a tester's edit
    sim.change("prod", "materials", prod_id, description="Changed in Production")
    report = sync(env, ("items",))
    assert report["items"]["conflict"] == 1
    held = next(r for r in sim.records("int", "materials") if r["id"] == copy["id"])
    assert held["price"] == 1234.5 and held["description"] != "Changed in Production"
    config = json.loads((REPO_ROOT / "stsync.config.json").read_text())
    config["updates"] = {"conflicts": "overwrite"}
    path = Path(tmp_path) / "overwrite.json"
    path.write_text(json.dumps(config))
    again = sync({**env, "STSYNC_CONFIG": str(path)}, ("items",))
    assert again["items"]["updated"] == 1
    held = next(r for r in sim.records("int", "materials") if r["id"] == copy["id"])
    assert held["description"] == "Changed in Production"


def test_a_record_blocked_on_day_d_is_copied_by_the_run_of_day_d_plus_1(copied):
    sim, env, first = copied
    vendor = DELIBERATE_GAPS["missing"]["vendors"][0]  # a PO's vendor is required: its POs are blocked
    blocked = [g for g in first["pos"]["issue_groups"] if vendor.casefold() in g["reason"]]
    assert blocked and blocked[0]["outcome"] == "blocked"
    source = next(r for r in sim.records("prod", "vendors") if r["name"] == vendor)
    sim.add_records("int", "vendors", [{k: v for k, v in source.items() if k not in ("id", "externalData")}])
    latest = max(r["modifiedOn"][:10] for r in sim.records("prod", "purchase-orders"))
    day_after = sync(env, ("pos",), since=latest, partition=latest)  # a window without those records
    assert day_after["pos"]["created"] > 0
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:  # each was tried again: copied, or blocked by something else
        assert not [i for i in crosswalk.issues(kind="pos") if vendor.casefold() in i.reason]


def test_lost_answers_and_5xx_during_updates_leave_nothing_half_done_after_one_rerun(copied):
    sim, env, _ = copied
    _change_production(sim, env)
    sim.set_faults(drop_post_rate=0.3, error_rate=0.1, seed=5)
    with_faults = sync(env, ENTITIES)
    assert sim.stats("int")["dropped_posts"] > 0
    sim.set_faults(drop_post_rate=0.0, error_rate=0.0)
    rerun = sync({**env, "ST_SERVER_TIMEOUT": "1"}, ENTITIES)
    assert _mismatches(sim, env) == {"fields": [], "statuses": []}
    # A status change sent twice would have been refused ("cannot be canceled: it is Canceled").
    for report in (with_faults, rerun):
        assert not [g for m in report.values() for g in m["issue_groups"] if "cannot be" in g["reason"]]
