"""The UI tells the truth, driven for real through `dg dev`'s GraphQL: bad run config fails at once with one
line, a dry run (the `sync_plan` job) leaves the partition unmaterialized and the plots untouched, failed
records fail a check, blocked ones warn, and the run log carries them at their level.

One simulator with invalid Production records (they fail) and the usual master-data gaps (what references
them is blocked: a material's vendors too, by the config's reference policy), one `dg dev`, several runs.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from stsync_dagster.simulator import Simulator
from stsync_dagster_tests.sync_helpers import sync_env
from stsync_dagster_tests.test_ui_graphql import (
    ASSET_JOB,
    CONFIG,
    DagsterDev,
    check_evaluations,
    metadata_value,
    stsync_env,
)

ASSET_STATE = """
query AssetState($assetKey: AssetKeyInput!, $partitions: [String!]) {
  assetNodeOrError(assetKey: $assetKey) {
    __typename
    ... on AssetNode {
      partitionStats { numMaterialized numFailed }
      latestMaterializationByPartition(partitions: $partitions) { partition }
      internalFreshnessPolicy {
        __typename
        ... on TimeWindowFreshnessPolicy { failWindowSeconds warnWindowSeconds }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui_truth")
    sim = Simulator(seed=31, scale=0.2, invalid_fraction=0.08).start()
    try:
        first_day = sync_env(sim, tmp)["STSYNC_START_DATE"]  # (some corrupted records lack modifiedOn)
        last_day = sim.until.strftime("%Y-%m-%d")  # the data ends yesterday
        # A material whose vendor has no counterpart is blocked here, not copied without it (the default).
        config = json.loads(CONFIG.read_text())
        config["references"]["items"].update({"primaryVendor.vendorId": "block", "otherVendors.vendorId": "block"})
        (tmp / "stsync.config.json").write_text(json.dumps(config))
        env = {**stsync_env(sim, tmp, first_day), "STSYNC_CONFIG": str(tmp / "stsync.config.json")}
        with DagsterDev(env, tmp / "dagster_home") as dagster:
            yield sim, dagster, first_day, last_day
    finally:
        sim.stop()


def _traffic(sim) -> tuple[int, ...]:
    return tuple(sim.stats(env)[key] for env in ("prod", "int") for key in ("requests", "token_requests"))


def _asset_state(dagster: DagsterDev, asset: str, partition: str) -> dict:
    node = dagster.graphql(ASSET_STATE, assetKey={"path": [asset]}, partitions=[partition])["assetNodeOrError"]
    assert node["__typename"] == "AssetNode", node
    return node


def _run(dagster: DagsterDev, run_id: str) -> tuple[str, list[dict]]:
    status = dagster.wait_for_run(run_id, timeout=180)
    return status, dagster.run_events(run_id)


def test_dagster_refuses_wrong_types_and_unknown_keys_at_launch(ui):
    sim, dagster, _, last_day = ui
    before = _traffic(sim)
    answer = dagster.try_launch(
        ASSET_JOB, last_day, {"ops": {"items": {"config": {"limit": "five", "dry_run": True}}}}, assets=["items"]
    )
    assert answer["__typename"] == "RunConfigValidationInvalid", answer
    text = " ".join(e["message"] for e in answer["errors"])
    assert "limit" in text and "dry_run" in text, text  # a dry run is the sync_plan job, not a key
    assert _traffic(sim) == before


def test_bad_run_config_fails_at_once_with_one_line_naming_every_bad_key(ui):
    sim, dagster, _, last_day = ui
    before = _traffic(sim)
    config = {"ops": {"items": {"config": {"limit": -5, "since": "not-a-date"}}}}
    status, events = _run(dagster, dagster.launch_assets(["vendors", "items"], last_day, config))
    assert status == "FAILURE"
    failures = [e for e in events if e["__typename"] == "ExecutionStepFailureEvent"]
    assert [e["stepKey"] for e in failures] == ["master_data"]  # the first step, before anything was read
    message = failures[0]["error"]["message"].strip()
    assert len(message.splitlines()) == 1, message
    assert "items: limit must be a whole number, 0 or more (0 = no limit) (got -5)" in message, message
    assert "items: since must be an ISO date YYYY-MM-DD, or empty (got 'not-a-date')" in message, message
    assert "ValidationError" not in message and "pydantic" not in message
    assert _traffic(sim) == before  # no token, no request


def test_a_dry_run_is_observed_never_materialized(ui):
    sim, dagster, first_day, last_day = ui
    day = (sim.until - timedelta(days=1)).strftime("%Y-%m-%d")  # not the day the real run materializes
    held = len(sim.records("int", "materials"))
    before = _asset_state(dagster, "items", day)
    config = {"ops": {f"plan_{e}": {"config": {"since": first_day}} for e in ("items", "jobs", "pos")}}
    status, events = _run(dagster, dagster.launch_job("sync_plan", day, config))
    assert status == "SUCCESS", [e.get("error") for e in events if e.get("error")]
    assert not [e for e in events if e["__typename"] == "MaterializationEvent"]
    observed = {"/".join(e["assetKey"]["path"]): e for e in events if e["__typename"] == "ObservationEvent"}
    assert {"items", "jobs", "pos", "vendors", "customers"} <= set(observed)
    items = observed["items"]
    assert items["partition"] == day
    # Nothing numeric: the UI plots numbers of observations too, and a plan must not join the real runs' plots.
    assert not [m for m in items["metadataEntries"] if m["__typename"] in ("IntMetadataEntry", "FloatMetadataEntry")]
    plan = {m["label"]: metadata_value(m) for m in items["metadataEntries"]}
    # Labels of its own: the asset's overview shows the latest observation over a materialization's same label.
    assert not set(plan) & {"created", "issues", "window", "dry_run", "issue_groups"}, plan.keys()
    counts = {row["outcome"]: row["records"] for row in plan["plan_counts"]}
    assert counts["created"] > 0 and plan["sample_payloads"] and plan["plan"].startswith("A dry run")
    assert counts["blocked"] > 0 and any(row["outcome"] == "blocked" for row in plan["plan_issues"])
    # Nothing written, and the partition is as it was: not materialized.
    assert len(sim.records("int", "materials")) == held
    after = _asset_state(dagster, "items", day)
    assert after["partitionStats"] == before["partitionStats"]
    assert after["latestMaterializationByPartition"] == before["latestMaterializationByPartition"] == [None]


def test_failed_records_fail_a_check_blocked_ones_warn_and_the_log_says_so_at_their_level(ui):
    sim, dagster, first_day, last_day = ui
    config = {"ops": {"items": {"config": {"since": first_day}}}}
    status, events = _run(dagster, dagster.launch_assets(["vendors", "items"], last_day, config))
    assert status == "SUCCESS", [e.get("error") for e in events if e.get("error")]
    items = dagster.materializations_from(events)["items"]
    assert items["failed"] > 0 and items["blocked"] > 0 and items["created"] > 0
    checks = {("/".join(c["assetKey"]["path"]), c["checkName"]): c for c in check_evaluations(events)}

    failed = checks[("items", "failed_records")]
    assert failed["success"] is False and failed["severity"] == "ERROR"
    rows = [metadata_value(m) for m in failed["metadataEntries"] if m["label"] == "details"][0]
    assert len(rows) == items["failed"] and all(row["reason"] for row in rows)
    blocked = checks[("items", "blocked_records")]
    assert blocked["success"] is False and blocked["severity"] == "WARN"
    assert "no Integration counterpart" in blocked["description"]
    unmatched = checks[("vendors", "unmatched_keys")]
    assert unmatched["success"] is False and unmatched["severity"] == "WARN"
    assert checks[("items", "read_back_fidelity")]["success"] is True

    lines = [(e["level"], e["message"]) for e in events if e["__typename"] == "LogMessageEvent"]
    assert any(level == "ERROR" and " failed: " in text for level, text in lines)
    assert any(level == "WARNING" and " blocked: " in text for level, text in lines)
    assert not [text for level, text in lines if level == "INFO" and (" failed: " in text or " blocked: " in text)]
    assert any(level == "INFO" and text.startswith("items: reading ") for level, text in lines)  # the engine's own

    state = _asset_state(dagster, "items", last_day)
    assert [m["partition"] for m in state["latestMaterializationByPartition"]] == [last_day]
    policy = state["internalFreshnessPolicy"]
    assert (
        policy["__typename"] == "TimeWindowFreshnessPolicy"
        and policy["warnWindowSeconds"] < policy["failWindowSeconds"]
    )


def test_the_asset_state_query_matches_the_installed_schema():
    from dagster_graphql.schema import create_schema
    from graphql import parse, validate

    assert validate(create_schema().graphql_schema, parse(ASSET_STATE)) == []
