"""STSync against both answers to each undocumented rule (simulator strict.py): an API that refuses a job on an
inactive campaign, a reversed arrival window, a negative PO quantity or a blank code fails just those records,
each naming its field, and copies the rest; once the API accepts them, the next run copies them (the backlog),
as Production has them. Real Dagster runs against the simulator on a loopback port."""

from __future__ import annotations

from stsync_dagster.simulator.data import DELIBERATE_GAPS, MERGED_CUSTOMER
from stsync_dagster.simulator.strict import Strictness
from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster_tests.sync_helpers import counts, sync, sync_env


def _clean(sim, kind: str, field: str, record: dict) -> bool:
    """Whether the record's reference in `field` is to master data Integration has exactly once."""
    gaps = {**DELIBERATE_GAPS["missing"], **DELIBERATE_GAPS["duplicated"]}
    name = next(r["name"] for r in sim.records("prod", kind) if r["id"] == record[field])
    return name not in gaps.get(kind, ()) and name != MERGED_CUSTOMER


def _awkward(sim) -> dict[str, int]:
    """Make one record of each undocumented case in Production; returns their ids by case."""
    jobs = [
        j
        for j in sim.records("prod", "jobs")
        if all(
            _clean(sim, kind, field, j)
            for kind, field in (("job-types", "jobTypeId"), ("customers", "customerId"), ("campaigns", "campaignId"))
        )
    ]
    radio = next(c for c in sim.records("prod", "campaigns") if not c["active"])  # inactive in both tenants
    on_campaign = next(j for j in jobs if j["jobStatus"] == "Scheduled" and j["appointmentCount"] == 1)
    sim.change("prod", "jobs", on_campaign["id"], campaignId=radio["id"])
    windowed = next(
        j for j in jobs if j["id"] != on_campaign["id"] and j["jobStatus"] == "Scheduled" and j["appointmentCount"] == 1
    )
    for appointment in sim.records("prod", "appointments"):
        if appointment["jobId"] == windowed["id"]:
            sim.change(
                "prod",
                "appointments",
                appointment["id"],
                arrivalWindowStart=appointment["end"],
                arrivalWindowEnd=appointment["start"],
            )
    sim.change("prod", "jobs", windowed["id"], summary="window reversed")  # modified: read by the window
    on_lines = {line["skuId"] for po in sim.records("prod", "purchase-orders") for line in po["items"]}
    material = next(
        m
        for m in sim.records("prod", "materials")
        if m["id"] not in on_lines and m["active"] and m["primaryVendor"] is None
    )
    sim.change("prod", "materials", material["id"], code="   ")
    po = next(
        p
        for p in sim.records("prod", "purchase-orders")
        if p["jobId"] is None
        and _clean(sim, "vendors", "vendorId", p)
        and len(p["items"]) > 1
        and all(line["skuType"] == "Material" for line in p["items"])
    )
    items = [dict(line) for line in po["items"]]
    items[1]["quantity"] = -3.0
    sim.change("prod", "purchase-orders", po["id"], items=items)
    return {"campaign": on_campaign["id"], "window": windowed["id"], "code": material["id"], "quantity": po["id"]}


def test_refused_records_fail_with_their_field_and_are_copied_once_accepted(make_simulator, tmp_path):
    sim = make_simulator(seed=17, scale=0.1)
    cases = _awkward(sim)
    env = sync_env(sim, tmp_path)
    first = sync(env, since=env["STSYNC_START_DATE"])
    failed = {
        (row["kind"], row["prod_id"]): f"{row['field']}: {row['reason']}"
        for entity in ("items", "jobs", "pos")
        for row in first[entity]["issues"]
        if row["outcome"] == "failed"
    }
    assert set(failed) == {
        ("jobs", cases["campaign"]),
        ("jobs", cases["window"]),
        ("items", cases["code"]),
        ("pos", cases["quantity"]),
    }, failed
    assert "campaignId" in failed[("jobs", cases["campaign"])] and "inactive" in failed[("jobs", cases["campaign"])]
    assert "appointments[0].arrivalWindowEnd" in failed[("jobs", cases["window"])]
    assert "items[1].quantity" in failed[("pos", cases["quantity"])]
    assert failed[("items", cases["code"])].startswith("code: ")

    sim.set_strict(**{rule: False for rule in Strictness.rules()})  # an API that accepts them
    again = sync(env, since=env["STSYNC_START_DATE"])
    assert all(counts(again[e])["failed"] == 0 for e in ("items", "jobs", "pos")), [again[e]["issues"] for e in again]
    with Crosswalk(env["STSYNC_DB"]) as cw:
        copied = {
            case: cw.int_ids(kind, [cases[case]]).get(cases[case])
            for kind, case in (("jobs", "campaign"), ("jobs", "window"), ("items", "code"), ("pos", "quantity"))
        }
    assert all(copied.values()), copied
    po = next(p for p in sim.records("int", "purchase-orders") if p["id"] == copied["quantity"])
    assert po["items"][1]["quantity"] == -3.0
