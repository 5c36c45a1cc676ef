"""A full copy on the simulator: everything copyable arrives once, references translated, nothing leaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from stsync_dagster.simulator import KINDS, Simulator
from stsync_dagster.simulator.corrupt import ints_in
from stsync_dagster.simulator.data import DELIBERATE_GAPS
from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster_tests.sync_helpers import KIND_OF, counts, duplicates, sync, sync_env, text

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def copied(tmp_path_factory):
    """One simulator, one full `sync all --since <start of its data>`, shared by the tests of this module."""
    with Simulator(seed=11, scale=0.3).start() as sim:
        env = sync_env(sim, tmp_path_factory.mktemp("copy"))
        first = sync(env, since=env["STSYNC_START_DATE"])
        yield sim, env, first, env["STSYNC_DB"]


def _by_id(records):
    return {r["id"]: r for r in records}


_SKU = {"Material": "materials", "Equipment": "equipment"}  # a PO line's skuType → the kind its skuId is


def test_every_copyable_record_arrives_exactly_once(copied):
    sim, _, report, _ = copied
    for entity, kind in KIND_OF.items():
        prod = sim.records("prod", kind)
        c = counts(report[entity])
        assert c["failed"] == 0, report[entity]["issues"]
        assert c["deferred"] == 0
        # Every Production record of the window ends as created (here or pulled in) or blocked.
        assert c["created"] + c["blocked"] + c["skipped"] == len(prod), (entity, c)
    materials = sim.records("int", "materials")
    assert not duplicates(materials, lambda r: r["code"])
    assert len(materials) == counts(report["items"])["created"] + report["pos"].get("pulled_in_items", 0)
    assert len(sim.records("int", "purchase-orders")) == counts(report["pos"])["created"]


def test_blocked_records_name_the_missing_master_data(copied):
    sim, _, report, _ = copied
    assert counts(report["jobs"])["blocked"] > 0
    assert counts(report["pos"])["blocked"] > 0
    issues = " ".join(f"{r['field']} {r['reason']}" for e in ("jobs", "pos", "items") for r in report[e]["issues"])
    gap_vendor = DELIBERATE_GAPS["missing"]["vendors"][0].casefold()
    assert gap_vendor in issues.casefold()  # the reason names the vendor that has no counterpart
    assert "customerId" in issues and "jobTypeId" in issues
    assert "campaignId" in issues and "matches 2 Integration records" in issues


def test_references_point_at_the_counterparts(copied):
    sim, env, _, db = copied
    prod = {k: _by_id(sim.records("prod", k)) for k in KINDS}
    integ = {k: _by_id(sim.records("int", k)) for k in prod}
    with Crosswalk(str(db)) as cw:
        job_pairs = cw.int_ids("jobs", list(prod["jobs"]))
        po_pairs = cw.int_ids("pos", list(prod["purchase-orders"]))
    assert job_pairs and po_pairs
    for prod_id, int_id in job_pairs.items():
        pj, ij = prod["jobs"][prod_id], integ["jobs"][int_id]
        assert integ["customers"][ij["customerId"]]["name"] == prod["customers"][pj["customerId"]]["name"]
        assert integ["locations"][ij["locationId"]]["name"] == prod["locations"][pj["locationId"]]["name"]
        assert integ["job-types"][ij["jobTypeId"]]["name"] == prod["job-types"][pj["jobTypeId"]]["name"]
        assert integ["campaigns"][ij["campaignId"]]["name"] == prod["campaigns"][pj["campaignId"]]["name"]
        assert (
            integ["business-units"][ij["businessUnitId"]]["name"]
            == prod["business-units"][pj["businessUnitId"]]["name"]
        )
        assert ij["priority"] == pj["priority"] and ij.get("summary") == pj.get("summary")
    for prod_id, int_id in po_pairs.items():
        pp, ip = prod["purchase-orders"][prod_id], integ["purchase-orders"][int_id]
        assert integ["vendors"][ip["vendorId"]]["name"] == prod["vendors"][pp["vendorId"]]["name"]
        assert integ["purchase-order-types"][ip["typeId"]]["name"] == prod["purchase-order-types"][pp["typeId"]]["name"]
        assert [(integ[_SKU[line["skuType"]]][line["skuId"]]["code"], line["skuType"]) for line in ip["items"]] == [
            (prod[_SKU[line["skuType"]]][line["skuId"]]["code"], line["skuType"]) for line in pp["items"]
        ]
        assert [(l["quantity"], l["cost"]) for l in ip["items"]] == [(l["quantity"], l["cost"]) for l in pp["items"]]
        assert f"[stsync prod-po {prod_id}]" in ip["summary"]


def test_po_lines_on_equipment_and_on_inactive_materials_are_copied(copied):
    """Lines on equipment, and lines on materials deactivated since: the POs are copied (none failed), and
    Integration ends as Production is: those materials inactive, no claim left behind."""
    sim, _, report, db = copied
    assert counts(report["pos"])["failed"] == 0, report["pos"]["issues"]
    prod_materials = _by_id(sim.records("prod", "materials"))
    int_materials = {r["code"]: r for r in sim.records("int", "materials")}
    int_pos = _by_id(sim.records("int", "purchase-orders"))
    with Crosswalk(str(db)) as cw:
        po_pairs = cw.int_ids("pos", [r["id"] for r in sim.records("prod", "purchase-orders")])
        left = {kind: cw.held_actions(kind) for kind in ("items", "equipment")}
    on_equipment = on_inactive = 0
    for po in sim.records("prod", "purchase-orders"):
        types = {line["skuType"] for line in po["items"]}
        inactive = [
            line
            for line in po["items"]
            if line["skuType"] == "Material" and not prod_materials[line["skuId"]]["active"]
        ]
        if po["id"] not in po_pairs:
            continue
        copy = int_pos[po_pairs[po["id"]]]
        on_equipment += "Equipment" in types
        assert [line["skuType"] for line in copy["items"]] == [line["skuType"] for line in po["items"]]
        for line in inactive:
            on_inactive += 1
            assert int_materials[prod_materials[line["skuId"]]["code"]]["active"] is False
    assert on_equipment > 0 and on_inactive > 0
    assert left == {"items": {}, "equipment": {}}
    for code, material in int_materials.items():
        prod = next((m for m in prod_materials.values() if m["code"] == code), None)
        assert prod is None or material["active"] == prod["active"], code


def test_equipment_is_copied_with_its_fields_and_stamp(copied):
    sim, _, report, _ = copied
    from stsync_dagster.settings import DEFAULT_EXTERNAL_DATA_GUID as GUID

    integ = {r["code"]: r for r in sim.records("int", "equipment")}
    prod = sim.records("prod", "equipment")
    assert counts(report["equipment"])["created"] == len(integ) > 0
    for equipment in prod:
        copy = integ.get(equipment["code"])
        if copy is None:
            continue
        for field in ("description", "displayName", "manufacturer", "model", "cost", "price", "active", "account"):
            assert copy[field] == equipment[field], (equipment["code"], field)
        assert copy["externalData"][GUID] == [{"key": "stsync.prodId", "value": str(equipment["id"])}]


def test_material_fields_are_copied(copied):
    sim, _, report, db = copied
    prod = _by_id(sim.records("prod", "materials"))
    integ = {r["code"]: r for r in sim.records("int", "materials")}
    vendors_p = _by_id(sim.records("prod", "vendors"))
    vendors_i = _by_id(sim.records("int", "vendors"))
    compared = dropped = 0
    for material in prod.values():
        copy = integ.get(material["code"])
        if copy is None:
            continue
        compared += 1
        for field in ("displayName", "description", "cost", "price", "unitOfMeasure", "active"):
            assert copy.get(field) == material.get(field), (material["id"], field)
        if material.get("primaryVendor"):
            name = vendors_p[material["primaryVendor"]["vendorId"]]["name"]
            if name in DELIBERATE_GAPS["missing"]["vendors"]:  # no counterpart: dropped (the default policy)
                assert copy["primaryVendor"] is None
                dropped += 1
                continue
            assert vendors_i[copy["primaryVendor"]["vendorId"]]["name"] == name
    assert compared > 50
    assert dropped > 0 and report["items"]["dropped_references"] >= dropped
    assert "primaryVendor.vendorId" in text(report["items"]["dropped"])


def test_no_production_id_reaches_integration(copied):
    sim, _, _, _ = copied
    prod_ids = {r["id"] for kind in KINDS if kind != "appointment-assignments" for r in sim.records("prod", kind)}

    for kind in ("materials", "equipment", "purchase-orders", "jobs", "appointments", "appointment-assignments"):
        for record in sim.records("int", kind):
            leaked = {i for i in ints_in({k: v for k, v in record.items() if k != "externalData"}) if i in prod_ids}
            assert not leaked, (kind, record["id"], leaked)


def test_a_second_run_creates_nothing(copied):
    sim, env, first, _ = copied
    before = {k: len(sim.records("int", k)) for k in KIND_OF.values()}
    again = sync(env, since=env["STSYNC_START_DATE"])
    assert {k: len(sim.records("int", k)) for k in KIND_OF.values()} == before
    for entity in KIND_OF:
        c = counts(again[entity])
        assert c["created"] == 0
        # Copied before and unchanged in Production: looked at without a single write.
        assert c["unchanged"] == counts(first[entity])["created"] + counts(first[entity])["skipped"], (entity, c)
        assert c["updated"] == c["status_changed"] == c["conflict"] == 0 and again[entity]["status_changes"] == 0
        assert c["blocked"] == counts(first[entity])["blocked"]
