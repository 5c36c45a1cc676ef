"""Materials created through the bulk pricebook endpoint: one request per batch, invalid records isolated by
splitting, lost answers recovered by stamps, an API without the endpoint falling back to single creates."""

from __future__ import annotations

from stsync_dagster.settings import DEFAULT_EXTERNAL_DATA_GUID as GUID
from stsync_dagster.simulator import DELIBERATE_GAPS
from stsync_dagster_tests.sync_helpers import stamp_duplicates, sync, sync_env


def test_materials_are_created_in_bulk_batches(make_simulator, tmp_path):
    sim = make_simulator(seed=21, counts={"materials": 400})
    report = sync(sync_env(sim, tmp_path, ST_PAGE_SIZE="5000", ST_BULK_SIZE="100"), ("items",))["items"]
    routes = sim.stats("int")["by_route"]
    assert report["created"] == len(sim.records("int", "materials")) > 300
    # Batches of 50 (the first is a fifth: the creates start soon), 250 and 100, in requests of at most 100
    # (1 + 3 + 1), and per batch one for the variations of its configurable materials, copied ahead of them.
    assert routes.get("POST materials", 0) == 0 and routes["POST pricebook"] <= 5 + 3
    assert not stamp_duplicates(sim, GUID)


def test_a_refused_batch_is_split_until_the_invalid_records_stand_alone(make_simulator, tmp_path):
    sim = make_simulator(seed=21, counts={"materials": 200})
    taken = sim.records("prod", "materials")[:3]  # their codes already used in Integration: refused, one by one
    sim.add_records(
        "int", "materials", [{"code": m["code"], "description": "in the way", "active": True} for m in taken]
    )
    before = len(sim.records("int", "materials"))
    report = sync(
        sync_env(sim, tmp_path, ST_PAGE_SIZE="5000", ST_BULK_SIZE="50", STSYNC_DB=str(tmp_path / "x.db")), ("items",)
    )["items"]
    # Adopted by code before any create: Integration already held them.
    assert report["adopted"] == 3 and report["failed"] == 0
    assert len(sim.records("int", "materials")) == before + report["created"]


def test_invalid_records_in_a_batch_fail_alone_with_their_field(make_simulator, tmp_path):
    sim = make_simulator(seed=21, counts={"materials": 200})
    # Production data the API refuses but nothing before it can tell: a code that differs only in case.
    gap = DELIBERATE_GAPS["missing"]["vendors"][0]
    copyable = [
        m
        for m in sim.records("prod", "materials")
        if m["active"] and m["description"] and gap not in str([m.get("primaryVendor"), m.get("otherVendors")])
    ]
    twin = {k: v for k, v in copyable[0].items() if k not in ("id", "externalData")}
    (added,) = sim.add_records("prod", "materials", [{**twin, "code": twin["code"].swapcase()}])
    report = sync(sync_env(sim, tmp_path, ST_PAGE_SIZE="5000", ST_BULK_SIZE="50"), ("items",))["items"]
    failed = [g for g in report["issue_groups"] if g["outcome"] == "failed"]
    assert report["failed"] == 1 and failed[0]["fields"] == ["code"], failed
    assert sim.stats("int")["by_route"]["POST pricebook"] > 5  # the refused batch was split down to the record
    assert report["created"] == len(sim.records("int", "materials")) == 201 - 1 - report["blocked"]


def test_lost_bulk_answers_are_recovered_by_stamps(make_simulator, tmp_path):
    sim = make_simulator(seed=21, counts={"materials": 300})
    sim.set_faults(drop_post_rate=0.5, seed=2)
    report = sync(sync_env(sim, tmp_path, ST_PAGE_SIZE="5000", ST_BULK_SIZE="50", ST_SERVER_TIMEOUT="1"), ("items",))[
        "items"
    ]
    assert sim.stats("int")["dropped_posts"] > 0
    assert not stamp_duplicates(sim, GUID)
    assert report["created"] == len(sim.records("int", "materials"))


def test_an_api_without_the_bulk_endpoint_falls_back_to_single_creates(make_simulator, tmp_path):
    sim = make_simulator(seed=21, counts={"materials": 120}, bulk={"enabled": False})
    report = sync(sync_env(sim, tmp_path, ST_PAGE_SIZE="5000"), ("items",))["items"]
    routes = sim.stats("int")["by_route"]
    assert report["created"] == len(sim.records("int", "materials")) > 0
    assert routes["POST materials"] >= report["created"] and routes.get("POST pricebook", 0) >= 1
