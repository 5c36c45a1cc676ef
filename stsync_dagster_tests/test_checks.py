"""Asset checks: read-back fidelity, failed and blocked records, crosswalk integrity, records blocked for too
long, and the master data's unmatched and ambiguous keys."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest

from stsync_dagster.config import load_config
from stsync_dagster.defs.assets import master_assets, sync_assets
from stsync_dagster.defs.checks import sync_checks
from stsync_dagster.defs.resources import build_resources
from stsync_dagster.servicetitan import IntegrationClient, ProductionClient
from stsync_dagster.settings import load_settings
from stsync_dagster.settings import DEFAULT_EXTERNAL_DATA_GUID as GUID
from stsync_dagster.sync.checks import crosswalk_integrity, read_back
from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster.sync.entities import HANDLERS
from stsync_dagster.sync.outcome import SyncReport
from stsync_dagster_tests.sync_helpers import pointed_at, sync_env


def sim_last_day() -> str:
    """The simulator's data ends yesterday (UTC): that partition, `since` the first day, takes it all."""
    return (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%d")


@pytest.fixture
def env(make_simulator, tmp_path):
    sim = make_simulator(seed=51, scale=0.1)
    return sim, sync_env(sim, tmp_path)


def _materialize(env, **extra_env):
    with pointed_at({**env, **extra_env}):
        config = {"since": env["STSYNC_START_DATE"], "limit": 0}
        result = dg.materialize(
            [*master_assets, *sync_assets, *sync_checks],
            resources=build_resources(),
            partition_key=sim_last_day(),
            run_config={"ops": {name: {"config": config} for name in ("items", "equipment", "jobs", "pos")}},
        )
    assert result.success
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


SYNC_CHECKS = (
    "read_back_fidelity",
    "failed_records",
    "blocked_records",
    "blocked_too_long",
    "deferred_records",
    "crosswalk_integrity",
)
MASTER_CHECKS = ("unmatched_keys", "ambiguous_keys")


def test_every_asset_reports_its_checks_that_tell_what_went_wrong(env):
    _, env = env
    checks = _materialize(env, STSYNC_BLOCKED_WARN_DAYS="30")
    sync = {(a, c) for a in ("items", "jobs", "pos") for c in SYNC_CHECKS}
    master = {(k, c) for k in ("vendors", "customers", "campaigns", "technicians") for c in MASTER_CHECKS}
    assert sync | master <= set(checks)
    for key in ("read_back_fidelity", "crosswalk_integrity", "blocked_too_long", "failed_records"):
        for asset in ("items", "jobs", "pos"):
            evaluation = checks[(asset, key)]
            assert evaluation.passed, (asset, key, evaluation.description, evaluation.metadata)
    assert checks[("items", "read_back_fidelity")].metadata["checked"].value > 10
    assert checks[("pos", "crosswalk_integrity")].metadata["checked"].value > 5
    # The simulator's Integration lacks some master data on purpose: what references it is blocked, a warning.
    blocked = checks[("jobs", "blocked_records")]
    assert not blocked.passed and blocked.severity == dg.AssetCheckSeverity.WARN
    rows = [r.data for r in blocked.metadata["details"].records]
    assert rows and all(r["reason"] for r in rows) and blocked.metadata["checked"].value == len(rows)
    # …and the master data says which keys: unmatched and ambiguous, as warnings with the records.
    assert not checks[("customers", "unmatched_keys")].passed
    assert not checks[("campaigns", "ambiguous_keys")].passed
    for key in (("customers", "unmatched_keys"), ("campaigns", "ambiguous_keys")):
        assert checks[key].severity == dg.AssetCheckSeverity.WARN
        assert checks[key].metadata["details"].records
    assert checks[("vendors", "ambiguous_keys")].passed


def test_blocked_records_older_than_the_limit_raise_a_warning(env):
    _, env = env
    checks = _materialize(env, STSYNC_BLOCKED_WARN_DAYS="0.000001")
    evaluation = checks[("jobs", "blocked_too_long")]
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert any(r.data["since"] and r.data["reason"] for r in evaluation.metadata["details"].records)


def test_read_back_finds_a_field_that_differs_and_integrity_a_vanished_record(env):
    sim, env = env
    _materialize(env)
    settings = load_settings(environ=env, dotenv_path=None)
    handler = HANDLERS["items"](load_config(env["STSYNC_CONFIG"]), GUID)
    material = next(m for m in sim.records("int", "materials") if m.get("cost"))
    prod_id = int(material["externalData"][GUID][0]["value"])
    sim.change("int", "materials", material["id"], cost=material["cost"] + 1.5)  # a tester's edit
    report = SyncReport("items")
    report.created(prod_id, material["id"], {})
    with (
        ProductionClient.from_settings(settings) as prod,
        IntegrationClient.from_settings(settings) as intc,
        Crosswalk(env["STSYNC_DB"]) as cw,
    ):
        outcome = read_back(handler, prod, intc, cw, report)
        assert not outcome.passed
        assert any(f"cost: Production {material['cost']!r}" in line for line in outcome.details), outcome.details
        cw.record("items", {123: 89_999_999}, source="reconcile")  # points at nothing in Integration
        integrity = crosswalk_integrity(handler, intc, cw, size=10_000)
        assert not integrity.passed
        assert integrity.details == ["items 123 → 89999999: not in Integration"]


def test_checks_run_alone_as_the_ui_executes_them(env):
    """A check executed alone (the Checks tab's "Execute") reports without materializing anything: the sync
    checks read the crosswalk and Integration, the master-data checks match in memory and write no crosswalk row."""
    sim, env = env
    _materialize(env)
    failed_items, unmatched = (
        dg.AssetCheckKey(dg.AssetKey("items"), "failed_records"),
        dg.AssetCheckKey(dg.AssetKey("customers"), "unmatched_keys"),
    )
    with pointed_at(env), Crosswalk(env["STSYNC_DB"]) as cw:
        rows_before = cw.counts()
        result = dg.materialize(
            [*master_assets, *sync_assets, *sync_checks],
            resources=build_resources(),
            selection=dg.AssetSelection.checks(failed_items, unmatched),
        )
        assert cw.counts() == rows_before
    assert result.success
    assert result.get_asset_materialization_events() == []
    evaluations = {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {("items", "failed_records"), ("customers", "unmatched_keys")}
    assert evaluations[("items", "failed_records")].passed
    assert not evaluations[("customers", "unmatched_keys")].passed
