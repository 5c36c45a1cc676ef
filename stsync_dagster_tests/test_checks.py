"""Asset checks: read-back fidelity, crosswalk integrity, records blocked for too long."""

from __future__ import annotations

import dagster as dg
import pytest

from stsync_dagster.config import load_config
from stsync_dagster.defs.assets import master_assets, sync_assets
from stsync_dagster.defs.resources import build_resources
from stsync_dagster.servicetitan import IntegrationClient, ProductionClient, load_settings
from stsync_dagster.servicetitan.settings import DEFAULT_EXTERNAL_DATA_GUID as GUID
from stsync_dagster.sync.checks import crosswalk_integrity, read_back
from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster.sync.entities import HANDLERS
from stsync_dagster.sync.outcome import SyncReport
from stsync_dagster_tests.sync_helpers import pointed_at, sync_env

@pytest.fixture
def env(make_simulator, tmp_path):
    sim = make_simulator(seed=51, scale=0.1)
    return sim, sync_env(sim, tmp_path)


def _materialize(env, **extra_env):
    with pointed_at({**env, **extra_env}):
        config = {"since": env["STSYNC_START_DATE"], "limit": 0, "dry_run": False}
        result = dg.materialize(
            [*master_assets, *sync_assets],
            resources=build_resources(),
            partition_key="2026-11-01",
            run_config={"ops": {name: {"config": config} for name in ("items", "equipment", "jobs", "pos")}},
        )
    assert result.success
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


def test_every_sync_asset_reports_three_checks_that_pass_on_a_clean_copy(env):
    _, env = env
    checks = _materialize(env, STSYNC_BLOCKED_WARN_DAYS="30")
    assert set(checks) == {(a, c) for a in ("items", "equipment", "jobs", "pos")
                           for c in ("read_back_fidelity", "crosswalk_integrity", "blocked_too_long")}  # fmt: skip
    for (asset, name), evaluation in checks.items():
        assert evaluation.passed, (asset, name, evaluation.description, evaluation.metadata)
    assert checks[("items", "read_back_fidelity")].metadata["checked"].value > 10
    assert checks[("pos", "crosswalk_integrity")].metadata["checked"].value > 5


def test_blocked_records_older_than_the_limit_raise_a_warning(env):
    _, env = env
    checks = _materialize(env, STSYNC_BLOCKED_WARN_DAYS="0.000001")
    evaluation = checks[("jobs", "blocked_too_long")]
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert "blocked since" in evaluation.metadata["details"].value


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
    with ProductionClient.from_settings(settings) as prod, IntegrationClient.from_settings(settings) as intc, \
            Crosswalk(env["STSYNC_DB"]) as cw:
        outcome = read_back(handler, prod, intc, cw, report)
        assert not outcome.passed
        assert any(f"cost: Production {material['cost']!r}" in line for line in outcome.details), outcome.details
        cw.record("items", {123: 89_999_999}, source="reconcile")  # points at nothing in Integration
        integrity = crosswalk_integrity(handler, intc, cw, size=10_000)
        assert not integrity.passed
        assert integrity.details == ["items 123 → 89999999: not in Integration"]
