"""Choosing what to copy (issue 23): filters by the API's names or by a reference's name, samples by a hash of the
id, the closure of what the kept records need, shown before anything is written. Real HTTP and real Dagster runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from stsync_dagster.commands.report import step_errors
from stsync_dagster.config import load_config
from stsync_dagster.errors import ConfigError
from stsync_dagster.settings import DEFAULT_EXTERNAL_DATA_GUID as GUID
from stsync_dagster.simulator import Simulator
from stsync_dagster.simulator.filters import ENUMS, TYPES
from stsync_dagster.sync.entities import HANDLERS
from stsync_dagster.sync.select import Selection, SelectionError, Selector, check, parse_sample, parse_where
from stsync_dagster.sync.select.resolve import Resolved, resolve
from stsync_dagster.sync.select.selector import rank
from stsync_dagster_tests.sync_helpers import copied_ids, pointed_at, sync, sync_env
from stsync_dagster_tests.test_simulator_filters import documented

REPO = Path(__file__).resolve().parents[1]
RESOURCE = {"items": "materials", "equipment": "equipment", "pos": "purchase-orders", "jobs": "jobs"}
DOMAIN = {"items": "pricebook", "pos": "inventory", "jobs": "jpm"}  # equipment: not in the cut-down documents
TYPE_OF = {"id": ("i64", "i32"), "bool": ("bool", "ActiveRequestArg"), "after": ("dt",), "before": ("dt",),
           "text": ("str",)}  # fmt: skip


# == the filters each kind offers are the API's ==============================================================
def _agrees(spec, doc_type: str) -> bool:
    if spec.type == "enum":
        return doc_type in ENUMS and set(ENUMS[doc_type]) == set(spec.values)
    return doc_type in TYPE_OF[spec.type]


@pytest.mark.parametrize("kind", sorted(DOMAIN))
def test_the_filters_sent_to_the_api_are_documented_for_the_kind(kind, openapi_dir):
    params = documented(openapi_dir, DOMAIN[kind], RESOURCE[kind])
    for spec in HANDLERS[kind].filters:
        if spec.param:
            assert spec.name in params, f"{kind}: {spec.name} is not a documented filter of the list"
            doc = params[spec.name]["_type"]
            doc = "PurchaseOrderStatus" if spec.name == "status" and kind == "pos" else doc
            doc = "JobPriority" if spec.name == "priority" and kind == "jobs" else doc
            assert _agrees(spec, doc), f"{kind}.{spec.name}: {spec.type} but documented {doc}"
        else:
            assert spec.name not in params, f"{kind}: {spec.name} is a list filter: send it (param=True)"


def test_the_equipment_filters_are_the_ones_the_simulator_serves():
    served = TYPES["equipment"]
    for spec in HANDLERS["equipment"].filters:
        assert (spec.name in served) == spec.param
        if spec.param:
            assert _agrees(spec, served[spec.name])


# == fast: the rules of a selection ===========================================================================
def test_a_filter_the_kind_does_not_have_names_its_path_and_the_filters_it_has():
    with pytest.raises(SelectionError) as caught:
        check(Selection(where={"vendor": "Acme"}), HANDLERS["jobs"], "$.entities.jobs.select")
    said = str(caught.value)
    assert said.startswith("$.entities.jobs.select.where.vendor: jobs have no filter 'vendor'")
    assert "businessUnit" in said and "jobStatus" in said
    with pytest.raises(SelectionError, match=r"run config: pos: where.status: 'Open' is not one of Pending"):
        check(Selection(where={"status": "Open"}), HANDLERS["pos"], "run config: pos")
    with pytest.raises(SelectionError, match=r"sample.per: items cannot be sampled per 'code'"):
        check(Selection(sample={"per": ["code"], "count": 2}), HANDLERS["items"], "$.x")
    with pytest.raises(SelectionError, match="takes one value"):
        check(Selection(where={"technician": ["A", "B"]}), HANDLERS["jobs"], "$.x")


def test_the_command_line_spelling():
    assert parse_where(['jobType="Water Heater Install"', "jobStatus=Completed", "jobStatus=Hold"]) == {
        "jobType": "Water Heater Install",
        "jobStatus": ["Completed", "Hold"],
    }
    sample = parse_sample("jobTypeId,jobStatus:5", None, None)
    assert (sample.per, sample.count, sample.share) == (["jobTypeId", "jobStatus"], 5, None)
    assert parse_sample(None, None, 0.1).share == 0.1
    for bad in ("jobTypeId,jobStatus", ":5", "jobTypeId:five"):
        with pytest.raises(ValueError, match="--sample-per"):
            parse_sample(bad, None, None)
    with pytest.raises(ValueError, match="key=value"):
        parse_where(["jobStatus"])


def _records(n: int) -> list[dict]:
    return [{"id": 1000 + i, "jobTypeId": 1 + i % 3, "jobStatus": ("Completed", "Hold")[i % 2]} for i in range(n)]


def _kept(selection: Selection, records: list[dict], pages: int = 1) -> list[int]:
    selector = Selector(resolve(selection, HANDLERS["jobs"], None, None, "$"))
    size = max(1, len(records) // pages)
    chunks = [records[i : i + size] for i in range(0, len(records), size)]
    from stsync_dagster.servicetitan.reading import Page

    return [
        r["id"]
        for page in selector.pages(Page(c, n, n < len(chunks)) for n, c in enumerate(chunks, 1))
        for r in page.records
    ]


def test_a_sample_per_combination_keeps_the_smallest_hashes_whatever_the_order_of_the_pages():
    records = _records(60)
    selection = Selection(sample={"per": ["jobTypeId", "jobStatus"], "count": 2})
    kept = _kept(selection, records, pages=7)
    assert sorted(kept) == sorted(_kept(selection, list(reversed(records)), pages=3))
    by_combination: dict[tuple, list[int]] = {}
    for r in records:
        by_combination.setdefault((r["jobTypeId"], r["jobStatus"]), []).append(r["id"])
    expected = {i for ids in by_combination.values() for i in sorted(ids, key=rank)[:2]}
    assert set(kept) == expected and len(kept) == 2 * len(by_combination)


def test_a_share_keeps_the_ids_below_its_hash_and_grows_with_the_window_only():
    selection = Selection(sample={"share": 0.25})
    small, large = _records(40), _records(400)
    kept_small, kept_large = set(_kept(selection, small, 4)), set(_kept(selection, large, 9))
    assert kept_small == kept_large & {r["id"] for r in small}  # more records: the ones kept before stay kept
    assert 60 <= len(kept_large) <= 140


def test_filters_are_checked_on_every_record_read_whatever_the_api_did():
    resolved = resolve(Selection(where={"jobStatus": ["Completed", "Hold"], "jobTypeId": 2}), HANDLERS["jobs"], None,
                       None, "$")  # fmt: skip
    assert resolved.api_params == {"jobTypeId": "2"}  # a list is STSync's to apply
    records = _records(30)
    assert _kept(Selection(where={"jobStatus": ["Completed", "Hold"], "jobTypeId": 2}), records) == [
        r["id"] for r in records if r["jobTypeId"] == 2
    ]
    assert isinstance(resolved, Resolved)


# == real runs on the simulator ===============================================================================
@pytest.fixture
def sim(make_simulator):
    """A simulator of each test's own: what one test copies is no other's Integration."""
    return make_simulator(seed=7, scale=0.25)


def _selecting(sim, tmp_path, kind: str, select: dict) -> dict:
    """The environment of a sync whose config file gives `kind` this `select`."""
    config = json.loads((REPO / "stsync.config.json").read_text())
    config["entities"][kind]["select"] = select
    path = tmp_path / "select.json"
    path.write_text(json.dumps(config))
    return {**sync_env(sim, tmp_path), "STSYNC_CONFIG": str(path)}


def _copies(env: dict, jobs: list[dict]) -> dict[tuple, set[int]]:
    """The jobs the crosswalk maps, by (job type, status) as `jobs` has them."""
    from stsync_dagster.sync.crosswalk import Crosswalk

    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        mapped = set(crosswalk.mapped("jobs"))
    out: dict[tuple, set[int]] = {}
    for job in jobs:
        if job["id"] in mapped:
            out.setdefault((job["jobTypeId"], job["jobStatus"]), set()).add(job["id"])
    return out


def _business_unit_of_most_jobs(sim) -> tuple[int, str]:
    jobs = sim.records("prod", "jobs")
    unit = Counter(j["businessUnitId"] for j in jobs).most_common(1)[0][0]
    return unit, next(b["name"] for b in sim.records("prod", "business-units") if b["id"] == unit)


def test_a_filter_by_business_unit_name_copies_exactly_its_jobs_then_their_pos_with_what_they_need(tmp_path):
    with Simulator(seed=7, scale=0.25).start() as sim:
        env = sync_env(sim, tmp_path)
        unit, name = _business_unit_of_most_jobs(sim)
        jobs = {j["id"]: j for j in sim.records("prod", "jobs")}
        of_unit = {i for i, j in jobs.items() if j["businessUnitId"] == unit}
        before = copied_ids(sim, GUID)["jobs"]

        report = sync(env, ("jobs",), select={"where": {"businessUnit": name}})["jobs"]
        assert report["selection_api_filters"] == {"businessUnitId": str(unit)}
        assert (report["selection_read"], report["selection_kept"]) == (len(of_unit), len(of_unit))
        copied = copied_ids(sim, GUID)["jobs"] - before
        origins = {(jobs[i].get("jobGeneratedLeadSource") or {}).get("jobId") for i in of_unit} - {None}
        assert copied - of_unit <= origins  # nothing else, but the jobs they came from (pulled in)
        assert report["pulled_in"] == len(copied - of_unit)
        left = report["blocked"] + report["failed"] + report["deferred"] + report["adopted"] + report["skipped"]
        assert len(copied & of_unit) + left >= len(of_unit) - len(of_unit & before)

        pos = [p for p in sim.records("prod", "purchase-orders") if p.get("businessUnitId") == unit]
        report = sync(env, ("pos",), select={"where": {"businessUnit": name}})["pos"]
        assert report["selection_api_filters"] == {}  # the PO list has no such filter: STSync applies it
        assert report["selection_kept"] == len(pos)
        marked = copied_ids(sim, GUID)
        assert marked["purchase-orders"] <= {p["id"] for p in pos}
        assert report["created"] > 0 and marked["purchase-orders"]
        for po in pos:
            if po["id"] in marked["purchase-orders"]:
                skus = {line["skuId"] for line in po["items"] if line.get("skuType", "Material") == "Material"}
                assert skus <= marked["materials"], f"PO {po['id']}: its materials were pulled in"
                assert po.get("jobId") is None or po["jobId"] in marked["jobs"]


def test_a_sample_per_job_type_and_status_copies_two_of_each_the_same_on_a_second_run(sim, tmp_path):
    env = sync_env(sim, tmp_path)
    select = {"sample_per": ["jobTypeId", "jobStatus"], "sample_count": 2}
    plan = sync(env, ("jobs",), dry_run=True, select=select)["jobs"]
    present = Counter((j["jobTypeId"], j["jobStatus"]) for j in sim.records("prod", "jobs"))
    rows = plan["selection_combinations"]
    assert len(rows) == len(present)
    assert sorted((r["kept"], r["present"]) for r in rows) == sorted((min(2, n), n) for n in present.values())
    assert all("(" in r["combination"] for r in rows)  # job types said by name
    assert plan["selection_kept"] == sum(min(2, n) for n in present.values())

    first = sync(env, ("jobs",), select=select)["jobs"]
    assert first["selection_kept"] == plan["selection_kept"]
    second = sync(env, ("jobs",), select=select)["jobs"]
    assert second["created"] == 0 and second["pulled_in"] == 0
    assert second["selection_combinations"] == first["selection_combinations"]


def test_a_po_sample_pulls_in_its_materials_and_job(sim, tmp_path):
    env = sync_env(sim, tmp_path)
    before = copied_ids(sim, GUID)
    report = sync(env, ("pos",), select={"sample_count": 3})["pos"]
    assert report["selection_kept"] == 3
    after = copied_ids(sim, GUID)
    new_pos = after["purchase-orders"] - before["purchase-orders"]
    assert 0 < len(new_pos) <= 3
    prod = {p["id"]: p for p in sim.records("prod", "purchase-orders")}
    for po_id in new_pos:
        po = prod[po_id]
        assert {line["skuId"] for line in po["items"] if line.get("skuType", "Material") == "Material"} <= after[
            "materials"
        ]
        assert po.get("jobId") is None or po["jobId"] in after["jobs"]
    assert report["pulled_in"] > 0  # materials or jobs that were not in Integration came with them


def test_copy_keeps_only_the_ids_the_selection_keeps(sim, tmp_path):
    from stsync_dagster.defs.materialize import copy_in_process, copy_report

    env = sync_env(sim, tmp_path)
    jobs = sim.records("prod", "jobs")[:12]
    completed = {j["id"] for j in jobs if j["jobStatus"] == "Completed"}
    assert 0 < len(completed) < len(jobs)
    before = copied_ids(sim, GUID)["jobs"]
    with pointed_at(env):
        result = copy_in_process("jobs", [j["id"] for j in jobs], select={"where": {"jobStatus": "Completed"}})
    metadata = copy_report(result)
    assert metadata["selection_kept"].value == len(completed)
    assert metadata["failed"].value == 0  # the others are left out, not missing
    new = copied_ids(sim, GUID)["jobs"] - before
    origins = {(j.get("jobGeneratedLeadSource") or {}).get("jobId") for j in jobs if j["id"] in completed}
    assert new and new - completed <= origins  # no job the selection left out, but the origins pulled in


def test_copy_of_given_ids_is_not_narrowed_by_the_config_files_selection(sim, tmp_path):
    from stsync_dagster.defs.materialize import copy_in_process, copy_report

    env = _selecting(sim, tmp_path, "jobs", {"where": {"jobStatus": "Completed"}})
    scheduled = next(j for j in sim.records("prod", "jobs") if j["jobStatus"] == "Scheduled")
    with pointed_at(env):
        metadata = copy_report(copy_in_process("jobs", [scheduled["id"]], dry_run=True))
    assert "selection" not in metadata
    assert metadata["created"].value + metadata["adopted"].value + metadata["blocked"].value == 1


def test_a_bad_selection_is_refused_in_the_config_file_the_run_config_and_the_command_line(sim, tmp_path):
    config = json.loads((REPO / "stsync.config.json").read_text())
    config["entities"]["jobs"]["select"] = {"where": {"vendor": "Acme"}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=r"\$\.entities\.jobs\.select\.where\.vendor: jobs have no filter 'vendor'"):
        load_config(path)

    env = sync_env(sim, tmp_path)
    from stsync_dagster.defs.materialize import materialize_sync

    with pointed_at(env):
        result = materialize_sync(["jobs"], since=None, select={"where": {"businessUnit": "No Such Unit"}})
    failures = step_errors(result)
    assert any("run config: jobs: where.businessUnit: no business unit in Production is named 'No Such Unit'" in m
               for m in failures), failures  # fmt: skip

    done = subprocess.run(
        [sys.executable, "-m", "stsync_dagster.cli", "sync", "pos", "--where", "jobType=Install", "--dry-run"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "command line: where.jobType: pos have no filter 'jobType'" in done.stderr


def test_the_config_files_selection_applies_to_every_run_and_the_run_config_replaces_it(sim, tmp_path):
    env = _selecting(sim, tmp_path, "jobs", {"where": {"jobStatus": "Completed"}})
    completed = sum(j["jobStatus"] == "Completed" for j in sim.records("prod", "jobs"))
    plan = sync(env, ("jobs",), dry_run=True)["jobs"]
    assert plan["selection_kept"] == completed and plan["selection_api_filters"] == {"jobStatus": "Completed"}
    assert plan["selection_passed"] == completed
    plan = sync(env, ("jobs",), dry_run=True, select={"where": {"jobStatus": "Hold"}, "sample_count": 1})["jobs"]
    assert plan["selection_passed"] == sum(j["jobStatus"] == "Hold" for j in sim.records("prod", "jobs"))
    assert plan["selection_kept"] == 1 and "passed the filters" in plan["selection"]
    assert plan["selection_api_filters"] == {"jobStatus": "Hold"}


def test_the_documented_filters_are_the_kinds_filters():
    """docs/selection.md's table names every filter of each kind, and nothing else."""
    import re

    rows = {}
    for line in (REPO / "docs" / "selection.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 2 and cells[0] in HANDLERS:
            rows[cells[0]] = set(re.findall(r"`([A-Za-z]+)`", cells[1]))
    assert set(rows) == set(HANDLERS)
    for kind, handler in HANDLERS.items():
        assert rows[kind] == {key for spec in handler.filters for key in spec.keys}, kind


def test_what_is_sent_to_the_api_is_spelled_as_the_list_takes_it():
    items = resolve(Selection(where={"active": "false", "isOtherDirectCost": True}), HANDLERS["items"], None, None, "$")
    assert items.api_params == {"active": "False", "isOtherDirectCost": "True"}
    jobs = resolve(Selection(where={"completedOnOrAfter": "2026-11-01"}), HANDLERS["jobs"], None, None, "$")
    assert jobs.api_params == {"completedOnOrAfter": "2026-11-01T00:00:00Z"}
    assert jobs.passes({"id": 1, "completedOn": "2026-11-01T00:00:00Z"})
    assert not jobs.passes({"id": 2, "completedOn": "2026-10-31T23:59:59Z"})
    assert not jobs.passes({"id": 3, "completedOn": None})


def test_diff_counts_what_the_selection_leaves_out_apart_from_what_is_missing(sim, tmp_path):
    from stsync_dagster_tests.test_diff import _diff

    env = _selecting(sim, tmp_path, "items", {"sample": {"share": 0.3}})
    report = sync(env, ("items",))["items"]
    counts = _diff(env, "items").counts()
    materials = len(sim.records("prod", "materials"))
    assert counts["missing"] == 0 and counts["differs"] == 0
    assert counts["not_selected"] + counts["in_sync"] + counts["blocked"] == materials
    # the kept ones, and the variations of kept configurable materials, pulled in with them
    assert counts["in_sync"] + counts["blocked"] >= report["selection_kept"] and counts["not_selected"] > 0


def test_a_sample_counts_the_copies_first_so_a_copy_that_changes_combination_adds_one_record_at_most(sim, tmp_path):
    """Kept jobs whose status changes leave their combination: it gets one new record only where it has fewer
    copies than the count; where it still has them (or gains one), nothing is created."""
    env = sync_env(sim, tmp_path)
    select = {"sample_per": ["jobTypeId", "jobStatus"], "sample_count": 1}
    sync(env, ("jobs",), select=select)
    assert sync(env, ("jobs",), select=select)["jobs"]["created"] == 0

    def copies() -> dict[tuple, set[int]]:
        return _copies(env, sim.records("prod", "jobs"))

    moved = sorted({i for ids in copies().values() for i in ids})[:5]
    for prod_id in moved:  # to a status that has copies of that job type already, or not: either way
        job = next(j for j in sim.records("prod", "jobs") if j["id"] == prod_id)
        sim.change("prod", "jobs", prod_id, jobStatus="Hold" if job["jobStatus"] != "Hold" else "Completed")
    before = copies()
    third = sync(env, ("jobs",), select=select)["jobs"]
    after = copies()
    new = {i for ids in after.values() for i in ids} - {i for ids in before.values() for i in ids}
    for combination, ids in after.items():
        if ids & new:
            assert not before.get(combination), f"{combination} had a copy: nothing new was due there"
    assert third["created"] <= len(moved)
    assert sync(env, ("jobs",), select=select)["jobs"]["created"] == 0


def test_a_bad_selection_in_the_launchpad_fails_the_run_before_any_step_writes(sim, tmp_path):
    from stsync_dagster.defs.materialize import copy_in_process, materialize_sync

    env = sync_env(sim, tmp_path)
    with pointed_at(env):
        result = materialize_sync(["items", "pos"], since=None, select={"where": {"active": "true"}})
    assert not result.success
    assert any("run config: pos: where.active: pos have no filter 'active'" in e for e in step_errors(result))
    assert not result.asset_materializations_for_node("items")
    with pointed_at(env):
        result = copy_in_process("jobs", [1], select={"where": {"vendor": "Acme"}})
    assert [e for e in step_errors(result) if "run config: jobs: where.vendor: jobs have no filter" in e]


def test_names_are_matched_as_natural_keys_are_and_a_search_text_within_the_apis_bounds(sim, tmp_path):
    from stsync_dagster.config import load_config as load
    from stsync_dagster.servicetitan import ProductionClient
    from stsync_dagster.settings import load_settings

    unit, name = _business_unit_of_most_jobs(sim)
    env = sync_env(sim, tmp_path)
    with pointed_at(env), ProductionClient.from_settings(load_settings(dotenv_path=None)) as prod:
        config = load(env["STSYNC_CONFIG"])
        for spelled in (f"  {name} ", name.upper(), name.replace(" ", "\xa0"), name.replace(" ", "  ")):
            resolved = resolve(Selection(where={"businessUnit": spelled}), HANDLERS["jobs"], prod, config, "$")
            assert resolved.api_params == {"businessUnitId": str(unit)}, spelled
        with pytest.raises(SelectionError, match="Production has, among others"):
            resolve(Selection(where={"businessUnit": "No Such Unit"}), HANDLERS["jobs"], prod, config, "$")
    with pytest.raises(SelectionError, match=r"where.searchText: give 2 to 200 characters"):
        check(Selection(where={"searchText": "a"}), HANDLERS["items"], "$")
    with pytest.raises(ValueError, match="leave out --sample"):
        parse_sample("jobTypeId:5", 3, None)


def test_when_the_window_grows_a_combination_that_has_its_copies_gets_no_new_record(sim, tmp_path):
    """The later half of the data first, then all of it: the smallest hash of a combination may now be in the
    earlier half, but a combination already holding `count` copies is not given another."""
    env = sync_env(sim, tmp_path)
    jobs = sim.records("prod", "jobs")
    middle = sorted(j["modifiedOn"][:10] for j in jobs)[len(jobs) // 2]
    select = {"sample_per": ["jobTypeId", "jobStatus"], "sample_count": 1}
    sync(env, ("jobs",), since=middle, select=select)

    def copies() -> dict[tuple, set[int]]:
        return _copies(env, jobs)

    first = copies()
    report = sync(env, ("jobs",), since=env["STSYNC_START_DATE"], select=select)["jobs"]
    grown = copies()
    assert report["created"] > 0  # combinations of the earlier half only got their record
    for combination, ids in first.items():
        assert grown[combination] == ids, f"{combination} had its copy and got {grown[combination] - ids}"
