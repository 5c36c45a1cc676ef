"""The config's reference policies for "no Integration counterpart": block, drop, default; validated on load.

Real Dagster runs against the simulator on a loopback port, its deliberate gaps (a vendor and a technician
Integration does not have) as the missing references; the CLI as a subprocess for a config error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from stsync_dagster.config import load_config
from stsync_dagster.defs.assets import master_assets, sync_assets
from stsync_dagster.defs.resources import build_resources
from stsync_dagster.errors import ConfigError
from stsync_dagster.simulator.data import DELIBERATE_GAPS
from stsync_dagster_tests.sync_helpers import counts, lines, pointed_at, sync, sync_env, text

REPO = Path(__file__).resolve().parents[1]
STSYNC = Path(sys.executable).parent / "stsync"
GAP_VENDOR = DELIBERATE_GAPS["missing"]["vendors"][0]
GAP_TECHNICIAN = DELIBERATE_GAPS["missing"]["technicians"][0]


def _config(tmp_path: Path, references: dict) -> Path:
    config = json.loads((REPO / "stsync.config.json").read_text())
    config["references"] = references
    path = tmp_path / "stsync.config.json"
    path.write_text(json.dumps(config))
    return path


# -- validation -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "references, expected",
    [
        ({"widgets": {"vendorId": "drop"}}, "$.references.widgets: unknown entity"),
        ({"pos": {"vendor": "drop"}}, "$.references.pos.vendor: not a reference of pos"),
        (
            {"pos": {"vendorId": "drop"}},
            "$.references.pos.vendorId: the Integration API requires it, so it cannot be dropped",
        ),
        (
            {"pos": {"items.skuId": {"default": "PIPE-1"}}},
            "$.references.pos.items.skuId: a default must be master data",
        ),
        ({"jobs": {"campaignId": "skip"}}, "'skip' is not a policy"),
        ({"jobs": {"campaignId": {"default": ""}}}, "references.jobs.campaignId"),
    ],
)
def test_a_bad_policy_is_a_config_error_naming_its_path(tmp_path, references, expected):
    with pytest.raises(ConfigError) as error:
        load_config(_config(tmp_path, references))
    assert expected in str(error.value) and str(tmp_path) in str(error.value)


def test_the_repo_config_spells_out_the_defaults():
    config = load_config(REPO / "stsync.config.json")
    assert config.references["pos"]["vendorId"] == "block" and config.references["pos"]["technicianId"] == "drop"
    assert config.references["items"]["primaryVendor.vendorId"] == "drop"
    assert config.references["jobs"]["appointments.technicianIds"] == "drop"


def test_the_command_line_stops_on_a_bad_policy_before_any_request(make_simulator, tmp_path):
    sim = make_simulator(seed=5, scale=0.05)
    env = {**sync_env(sim, tmp_path), "STSYNC_CONFIG": str(_config(tmp_path, {"pos": {"typeId": "drop"}}))}
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_", "DAGSTER_HOME"))}
    done = subprocess.run(
        [str(STSYNC), "sync", "pos"], env={**base, **env}, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert "$.references.pos.typeId" in done.stderr
    assert sim.stats("int")["requests"] == 0


# -- behaviour ----------------------------------------------------------------------------------------------
@pytest.fixture
def sim(make_simulator):
    return make_simulator(seed=41, scale=0.15)  # one each: a copy made by one test would be adopted by the next


def _gap_jobs(sim) -> set[int]:
    """Production jobs with an appointment assigned to the technician Integration does not have."""
    technician = next(t["id"] for t in sim.records("prod", "technicians") if t["name"] == GAP_TECHNICIAN)
    return {a["jobId"] for a in sim.records("prod", "appointment-assignments") if a["technicianId"] == technician}


def test_drop_copies_the_job_without_the_technician_and_lists_it(sim, tmp_path):
    env = sync_env(sim, tmp_path)
    report = sync(env, entities=["jobs"])
    gap_jobs = _gap_jobs(sim)
    assert gap_jobs
    jobs = report["jobs"]
    assert jobs["dropped_references"] >= 1
    assert "appointments[0].technicianIds" in text(jobs["dropped"]) and "drop" in text(jobs["dropped"])
    groups = jobs["dropped_groups"]
    assert any(g["field"] == "appointments.technicianIds" and set(g["examples"]) <= gap_jobs for g in groups)
    assert not any("technicianIds" in line for line in lines(jobs["issues"]))  # not blocked


def test_block_keeps_the_job_back_and_a_default_fills_the_po_vendor(sim, tmp_path):
    other_vendor = next(v["name"] for v in sim.records("int", "vendors") if v["active"])
    config = _config(
        tmp_path,
        {"jobs": {"appointments.technicianIds": "block"}, "pos": {"vendorId": {"default": other_vendor.upper()}}},
    )
    env = {**sync_env(sim, tmp_path), "STSYNC_CONFIG": str(config)}
    report = sync(env, entities=["jobs", "pos"])
    blocked = [line for line in lines(report["jobs"]["issues"]) if "technicianIds" in line]
    assert blocked and all("blocked" in line for line in blocked)
    assert report["jobs"]["dropped_references"] == 0 or "technicianIds" not in text(report["jobs"]["dropped"])
    # The PO on the vendor Integration lacks: created with the default vendor (matched by name, any case).
    assert counts(report["pos"])["failed"] == 0
    gap = next(v["id"] for v in sim.records("prod", "vendors") if v["name"] == GAP_VENDOR)
    gap_pos = {p["id"] for p in sim.records("prod", "purchase-orders") if p["vendorId"] == gap}
    defaulted = [g for g in report["pos"]["dropped_groups"] if g["field"] == "vendorId"]
    assert defaulted and defaulted[0]["policy"] == f"default {other_vendor.upper()}"
    assert set(defaulted[0]["examples"]) <= gap_pos
    int_vendor = next(v["id"] for v in sim.records("int", "vendors") if v["name"] == other_vendor)
    marked = [
        p
        for p in sim.records("int", "purchase-orders")
        if any(f"[stsync prod-po {pid}]" in (p["summary"] or "") for pid in gap_pos)
    ]
    assert marked and all(p["vendorId"] == int_vendor for p in marked)


def test_a_default_that_matches_nothing_blocks_with_the_reason(sim, tmp_path):
    config = _config(tmp_path, {"pos": {"vendorId": {"default": "No Such Vendor"}}})
    env = {**sync_env(sim, tmp_path), "STSYNC_CONFIG": str(config)}
    report = sync(env, entities=["pos"])
    assert "its default 'No Such Vendor': no Integration vendors with that key" in text(report["pos"]["issues"])


@pytest.mark.parametrize("entity", ["jobs", "items"])
def test_a_sync_step_before_master_data_matches_what_it_needs_first(sim, tmp_path, entity):
    """Materialized alone, before `master_data`: the step matches the master data its records reference first,
    so no record is written with a reference left out for want of it (it was: materials without their vendors
    and categories, green)."""
    env = sync_env(sim, tmp_path)
    with pointed_at(env):
        config = {"since": env["STSYNC_START_DATE"], "limit": 0}
        result = dg.materialize(
            [*master_assets, *sync_assets],
            selection=[dg.AssetKey(entity)],
            resources=build_resources(),
            partition_key="2026-11-01",
            run_config={"ops": {entity: {"config": config}}},
        )
    assert result.success
    (event,) = result.asset_materializations_for_node(entity)
    assert event.metadata["created"].value > 0
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "master_data_matched"]
    assert check.passed, check.description
    texts = text(event.metadata["issues"]) + text(event.metadata["dropped"])
    assert "never matched" not in texts and "materialize master_data first" not in texts, texts
    if entity == "items":
        copies = sim.records("int", "materials")
        assert copies and sum(1 for m in copies if m.get("primaryVendor")) > len(copies) // 2
        assert sum(1 for m in copies if m.get("categories")) > len(copies) // 2


def test_the_command_line_report_lists_dropped_references(sim, tmp_path):
    env = sync_env(sim, tmp_path)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_", "DAGSTER_HOME"))}
    done = subprocess.run(
        [str(STSYNC), "sync", "jobs"],
        env={**base, **env, "COLUMNS": "250"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Copied by jobs without a reference" in done.stdout
    rows = [line for line in done.stdout.splitlines() if "appointments.technicianIds" in line]
    assert rows and all(" drop " in row for row in rows), done.stdout


def test_a_dry_run_from_the_command_line_says_so_and_counts_what_it_lists(sim, tmp_path):
    env = sync_env(sim, tmp_path)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_", "DAGSTER_HOME"))}
    done = subprocess.run([str(STSYNC), "sync", "jobs", "--dry-run"], env={**base, **env, "COLUMNS": "250"},
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.lstrip().splitlines()
    assert lines[0] == "A dry run: nothing was written; the counts say what a real run would do."
    assert lines[1].strip() == "STSync dry run"
    title = next(line for line in done.stdout.splitlines() if "without a reference (" in line)
    assert title.lstrip().startswith("Would be copied by jobs"), title
    listed = sum(int(line.strip("│ ").split("│")[0]) for line in done.stdout.splitlines()
                 if "appointments.technicianIds" in line)  # fmt: skip
    assert listed > 0 and f"without a reference ({listed};" in title, done.stdout
    assert not sim.records("int", "jobs")


def test_a_dry_run_lists_the_references_it_would_drop_and_writes_nothing(sim, tmp_path):
    env = sync_env(sim, tmp_path)
    plan = sync(env, entities=["jobs"], dry_run=True)
    assert any(r["reference"].endswith("].technicianIds") and r["policy"] == "drop" for r in plan["jobs"]["dropped"])
    assert not sim.records("int", "jobs")


def test_a_reason_names_one_record_of_a_kind_in_the_singular():
    from stsync_dagster.sync.references import _singular

    assert [_singular(k) for k in ("categories", "vendors", "business_units", "pos", "equipment")] == [
        "category", "vendor", "business unit", "po", "equipment"
    ]  # fmt: skip


def test_the_master_data_check_fails_a_run_that_wrote_records_before_their_master_data_was_matched():
    from stsync_dagster.sync.checks import master_data_matched
    from stsync_dagster.sync.outcome import DroppedReference, Outcome, SyncReport
    from stsync_dagster.sync.references import NEVER_MATCHED

    report = SyncReport("items")
    report.add(Outcome.CREATED, 101)
    report.dropped.append(
        DroppedReference("items", 101, "categories", "drop", "category 7: no Integration counterpart")
    )
    assert master_data_matched(report).passed  # a counterpart missing: the policy's business, not this check's
    report.dropped.append(
        DroppedReference("items", 101, "primaryVendor.vendorId", "drop", f"vendor 3: no vendors {NEVER_MATCHED}: …")
    )
    failed = master_data_matched(report)
    assert not failed.passed and "primaryVendor.vendorId" in failed.description and "master_data" in failed.description
