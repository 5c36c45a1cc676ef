"""Run config and partitions: dry run, limit, since, partitioned runs, the schedule, pulled-in materials."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pytest

from stsync_dagster.defs.assets import master_assets, sync_assets
from stsync_dagster.defs.resources import build_resources
from stsync_dagster.defs.schedules import daily_sync_schedule
from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster_tests.sync_helpers import KIND_OF, counts, pointed_at, sync, sync_env

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(make_simulator, tmp_path):
    sim = make_simulator(seed=5, scale=0.15)
    return sim, sync_env(sim, tmp_path)


def _crosswalk_rows(db: str) -> int:
    if not Path(db).exists():
        return 0
    with Crosswalk(db) as cw:
        return sum(cw.counts().values())


def test_dry_run_writes_nothing_and_predicts_the_real_run(env):
    sim, env = env
    plan = sync(env, dry_run=True)
    assert all(len(sim.records("int", k)) == 0 for k in KIND_OF.values())
    assert _crosswalk_rows(env["STSYNC_DB"]) == 0
    assert sim.stats("int")["by_route"].get("POST materials", 0) == 0
    assert plan["items"]["sample_payloads"] and "externalData" in plan["items"]["sample_payloads"][0]["payload"]
    real = sync(env)
    for entity in KIND_OF:
        assert counts(plan[entity]) == counts(real[entity]), entity


def test_limit_caps_the_creates_of_a_run(env):
    sim, env = env
    first = sync(env, entities=["items"], limit=7)
    assert first["items"]["created"] == 7
    assert len(sim.records("int", "materials")) == 7
    assert first["items"]["deferred"] > 0
    second = sync(env, entities=["items"])
    assert second["items"]["unchanged"] == 7
    assert second["items"]["deferred"] == 0
    assert len(sim.records("int", "materials")) == 7 + second["items"]["created"]


def test_since_narrows_the_window(env):
    sim, env = env
    materials = sim.records("prod", "materials")
    days = sorted({m["modifiedOn"][:10] for m in materials})
    since = days[len(days) // 2]
    report = sync(env, entities=["items"], since=since)
    in_window = [m for m in materials if m["modifiedOn"][:10] >= since]
    # A configurable material's variations are copied with it, whenever they were modified.
    variations = {v for m in in_window if m["isConfigurableMaterial"] for v in m["variationsOrConfigurableMaterials"]}
    expected = in_window + [m for m in materials if m["id"] in variations and m not in in_window]
    assert report["items"]["created"] + report["items"]["blocked"] + report["items"]["failed"] == len(expected)
    created_codes = {m["code"] for m in sim.records("int", "materials")}
    assert created_codes <= {m["code"] for m in expected}


def test_a_partitioned_run_copies_that_day_only(env):
    sim, env = env
    materials = sim.records("prod", "materials")
    day = max(
        {m["modifiedOn"][:10] for m in materials}, key=lambda d: sum(m["modifiedOn"][:10] == d for m in materials)
    )
    on_day = {m["code"] for m in materials if m["modifiedOn"][:10] == day}
    with pointed_at(env):
        result = dg.materialize(
            [*master_assets, *sync_assets],
            selection=["vendors", "items"],
            resources=build_resources(),
            partition_key=day,
            run_config={"ops": {"items": {"config": {"since": "", "limit": 0}}}},
        )
    assert result.success
    (event,) = result.asset_materializations_for_node("items")
    assert event.partition == day
    created = {m["code"] for m in sim.records("int", "materials")}
    assert created and created <= on_day
    assert event.metadata["created"].value == len(created)


def test_a_bad_since_fails_the_step_with_its_reason(env):
    _, env = env
    with pointed_at(env):
        result = dg.materialize(
            [*master_assets, *sync_assets],
            selection=["items"],
            resources=build_resources(),
            partition_key="2026-07-01",
            run_config={"ops": {"items": {"config": {"since": "last tuesday"}}}},
            raise_on_error=False,
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "since must be an ISO date" in str(failure.step_failure_data.error.message) + str(
        failure.step_failure_data.user_failure_data
    )


def test_po_lines_pull_in_their_materials_first(env):
    sim, env = env
    report = sync(env, entities=["pos"])
    assert report["pos"]["created"] > 0
    assert report["pos"]["pulled_in_items"] > 0
    codes = {m["code"] for m in sim.records("int", "materials")}
    equipment = {m["code"] for m in sim.records("int", "equipment")}
    prod_materials = {m["id"]: m for m in sim.records("prod", "materials")}
    for po in sim.records("int", "purchase-orders"):
        for line in po["items"]:
            assert line["skuCode"] in (equipment if line["skuType"] == "Equipment" else codes)
    assert len(codes) == report["pos"]["pulled_in_items"]
    assert len(equipment) == report["pos"].get("pulled_in_equipment", 0)
    assert len(sim.records("int", "jobs")) == report["pos"].get("pulled_in_jobs", 0)
    assert len(codes) < len(prod_materials)


def test_the_schedules_yesterday_holds_the_simulators_data(simulator):
    """The simulator's dates move with today: tonight's tick asks for a day on which records were modified."""
    tonight = datetime.now(timezone.utc).replace(hour=2, minute=30, second=0, microsecond=0)
    request = daily_sync_schedule(dg.build_schedule_context(scheduled_execution_time=tonight))
    assert isinstance(request, dg.RunRequest)
    modified = {r["modifiedOn"][:10] for kind in KIND_OF.values() for r in simulator.records("prod", kind)}
    assert request.partition_key in modified


def test_the_schedule_asks_for_yesterday():
    when = datetime(2026, 9, 15, 2, 30, tzinfo=timezone.utc)
    context = dg.build_schedule_context(scheduled_execution_time=when)
    request = daily_sync_schedule(context)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2026-09-14"
    assert request.run_key == "daily-2026-09-14"


def test_the_schedule_skips_before_the_first_partition():
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2020, 1, 2, 2, 30, tzinfo=timezone.utc))
    assert isinstance(daily_sync_schedule(context), dg.SkipReason)


def test_the_asset_graph_has_the_real_dependencies():
    from stsync_dagster.definitions import defs

    graph = defs.resolve_asset_graph()
    deps = {key.path[-1]: {p.path[-1] for p in graph.get(key).parent_keys} for key in graph.get_all_asset_keys()}
    assert deps["items"] == {"vendors", "categories"}
    assert {"items", "jobs", "vendors", "po_types", "business_units", "warehouses"} <= deps["pos"]
    assert {"customers", "locations", "job_types", "campaigns", "business_units", "technicians"} <= deps["jobs"]


def test_master_data_is_nine_assets_in_one_step(env):
    from stsync_dagster.defs.assets import MASTER_DESCRIPTIONS
    from stsync_dagster.definitions import defs

    owners = {defs.resolve_assets_def(kind).node_def.name for kind in MASTER_DESCRIPTIONS}
    assert owners == {"master_data"}  # one op: the UI's run starts one process for all of them, not nine
    with pointed_at(env[1]):
        result = dg.materialize(master_assets, resources=build_resources())
    assert result.success
    assert [e.step_key for e in result.get_step_success_events()] == ["master_data"]
    assert {
        m.asset_key.path[-1]
        for m in result.get_asset_materialization_events()
        for m in [m.event_specific_data.materialization]
    } == set(MASTER_DESCRIPTIONS)


def test_blocked_records_are_copied_once_their_master_data_exists(env):
    from stsync_dagster.servicetitan import IntegrationClient
    from stsync_dagster.settings import load_settings
    from stsync_dagster.simulator.data import DELIBERATE_GAPS

    sim, env = env
    # A material's vendor is dropped by default (copied without it): this run blocks on it instead.
    config = json.loads((REPO / "stsync.config.json").read_text())
    config["references"]["items"] = {"primaryVendor.vendorId": "block", "otherVendors.vendorId": "block"}
    (Path(env["STSYNC_PACER_DIR"]).parent / "block.json").write_text(json.dumps(config))
    env = {**env, "STSYNC_CONFIG": str(Path(env["STSYNC_PACER_DIR"]).parent / "block.json")}
    first = sync(env, entities=["items"])
    gap = DELIBERATE_GAPS["missing"]["vendors"][0]
    assert first["items"]["blocked"] > 0 and any(
        gap.casefold() in r["reason"].casefold() for r in first["items"]["issues"]
    )
    created_before = len(sim.records("int", "materials"))
    # Someone adds the missing vendor to Integration; the next run matches it and copies what waited.
    settings = load_settings(environ=env, dotenv_path=None)
    prod_vendor = next(v for v in sim.records("prod", "vendors") if v["name"] == gap)
    address = {k: prod_vendor["address"].get(k) or "" for k in ("street", "unit", "city", "state", "zip", "country")}
    with IntegrationClient.from_settings(settings) as intc:
        intc.create(
            "/inventory/v2/tenant/{tenant}/vendors",
            {
                "name": gap,
                "active": True,
                "isTruckReplenishment": False,
                "taxRate": 0,
                "restrictedMobileCreation": False,
                "address": address,
            },
        )
    second = sync(env, entities=["items"])
    assert second["items"]["created"] == first["items"]["blocked"]
    assert second["items"]["blocked"] == 0
    assert len(sim.records("int", "materials")) == created_before + first["items"]["blocked"]
