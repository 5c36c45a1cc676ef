"""PO lines on materials inactive in Production: copied, and Integration ends as Production is, with no window
in which another run records a wrong state, and a crash inside the window finished by the next run.

Real Dagster runs against the simulator on a loopback port; a crash is the state it leaves behind (the SKU
active in Integration, the claim in the crosswalk, claimed an hour ago by a run that is gone).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from stsync_dagster.sync.apply.activation import OURS
from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster.sync.crosswalk.schema import sync_action
from stsync_dagster.settings import DEFAULT_EXTERNAL_DATA_GUID as GUID
from stsync_dagster_tests.sync_helpers import copied_ids, counts, lines, sync, sync_env, text


@pytest.fixture
def copied(make_simulator, tmp_path):
    sim = make_simulator(seed=31, scale=0.15)
    env = sync_env(sim, tmp_path)
    first = sync(env, since=env["STSYNC_START_DATE"])
    assert counts(first["pos"])["failed"] == 0, first["pos"]["issues"]
    return sim, env, first


def _inactive_materials_on_lines(sim) -> tuple[dict[int, dict], set[int]]:
    """Production's materials by id, and the ids of the inactive ones that a PO has a line on."""
    materials = {m["id"]: m for m in sim.records("prod", "materials")}
    on_lines = {
        line["skuId"]
        for po in sim.records("prod", "purchase-orders")
        for line in po["items"]
        if line["skuType"] == "Material" and not materials[line["skuId"]]["active"]
    }
    return materials, on_lines


def _inactive_on_a_line(sim, db: str) -> tuple[dict, int]:
    """A material inactive in Production that a copied PO has a line on, and its Integration id."""
    materials, on_lines = _inactive_materials_on_lines(sim)
    with Crosswalk(db) as cw:
        pairs = cw.int_ids("items", sorted(on_lines))
    assert pairs, "the data should have PO lines on inactive materials"
    prod_id = min(pairs)
    return materials[prod_id], pairs[prod_id]


def _held(db: str, prod_id: int, run_id: str, age: timedelta) -> None:
    """The claim a run holding the SKU active leaves in the crosswalk, claimed `age` ago."""
    with Crosswalk(db) as cw:
        assert cw.claim_actions("items", {prod_id: OURS}, run_id, cw.now()) == {prod_id}
        cw._run(
            lambda conn: conn.execute(
                update(sync_action).where(sync_action.c.prod_id == prod_id).values(claimed_at=datetime.now(UTC) - age)
            ),
            write=True,
        )


def _int_material(sim, int_id: int) -> dict:
    return next(m for m in sim.records("int", "materials") if m["id"] == int_id)


def test_a_crash_while_the_sku_was_active_is_finished_by_the_next_run(copied):
    sim, env, _ = copied
    material, int_id = _inactive_on_a_line(sim, env["STSYNC_DB"])
    assert _int_material(sim, int_id)["active"] is False  # the copy run left it as Production has it
    # What a run killed between making it active and inactive again leaves behind:
    sim.change("int", "materials", int_id, active=True)
    _held(env["STSYNC_DB"], material["id"], "a-run-that-crashed", timedelta(hours=1))

    report = sync(env, entities=["jobs"])  # any kind's run finishes it
    assert counts(report["jobs"])["failed"] == 0
    assert _int_material(sim, int_id)["active"] is False
    with Crosswalk(env["STSYNC_DB"]) as cw:
        assert cw.held_actions("items") == {}

    # Our own two patches do not read as an edit made in Integration: a Production change is followed.
    sim.change("prod", "materials", material["id"], price=material["price"] + 10)
    again = sync(env, entities=["items"])
    assert counts(again["items"])["conflict"] == 0 and counts(again["items"])["updated"] == 1
    assert _int_material(sim, int_id)["price"] == material["price"] + 10


def test_while_another_run_holds_the_sku_active_it_is_not_compared_or_recorded(copied):
    sim, env, _ = copied
    material, int_id = _inactive_on_a_line(sim, env["STSYNC_DB"])
    sim.change("int", "materials", int_id, active=True)  # inside another run's window
    _held(env["STSYNC_DB"], material["id"], "a-run-still-working", timedelta(seconds=0))
    with Crosswalk(env["STSYNC_DB"]) as cw:
        before = cw.lookup("items", [material["id"]])[material["id"]]
    sim.change("prod", "materials", material["id"], price=material["price"] + 5)

    report = sync({**env, "ST_SERVER_TIMEOUT": "600"}, entities=["items"])  # the claim is young for it
    deferred = [i for i in lines(report["items"]["issues"]) if str(material["id"]) in i]
    assert counts(report["items"])["deferred"] == 1 and "held active" in deferred[0]
    held = _int_material(sim, int_id)
    assert held["active"] is True and held["price"] == material["price"]  # neither patched nor "fixed"
    with Crosswalk(env["STSYNC_DB"]) as cw:
        after = cw.lookup("items", [material["id"]])[material["id"]]
        assert (after.fingerprint, after.written_at) == (before.fingerprint, before.written_at)
        assert set(cw.held_actions("items")) == {material["id"]}  # a young claim of a live run is not taken


def test_a_po_on_an_inactive_material_waits_while_another_run_holds_it(make_simulator, tmp_path):
    """Two runs needing the same SKU active: the second defers its PO (copied later), never toggles it."""
    sim = make_simulator(seed=31, scale=0.15)
    env = sync_env(sim, tmp_path / "second")
    sync(env, entities=["items"])
    materials, waiting = _inactive_materials_on_lines(sim)
    for prod_id in waiting:
        _held(env["STSYNC_DB"], prod_id, "another-live-run", timedelta(seconds=0))
    report = sync({**env, "ST_SERVER_TIMEOUT": "600"}, entities=["pos"])  # the claims are young for it
    assert counts(report["pos"])["failed"] == 0
    assert counts(report["pos"])["deferred"] > 0 and "held active by another run" in text(report["pos"]["issues"]), (
        report["pos"]["issues"]
    )
    with Crosswalk(env["STSYNC_DB"]) as cw:
        cw._run(lambda conn: conn.execute(sync_action.delete()), write=True)  # that run is done
    again = sync(env, entities=["pos"])
    assert counts(again["pos"])["failed"] == 0 and counts(again["pos"])["deferred"] == 0
    int_by_code = {m["code"]: m for m in sim.records("int", "materials")}
    copied = [int_by_code[materials[p]["code"]] for p in waiting if materials[p]["code"] in int_by_code]
    assert copied and all(m["active"] is False for m in copied)


def _deactivate_most_used_materials(sim, n: int) -> list[int]:
    """The n materials with the most PO lines, deactivated in Production since the POs were made: their ids."""
    lines_on = Counter(
        line["skuId"]
        for po in sim.records("prod", "purchase-orders")
        for line in po["items"]
        if line["skuType"] == "Material"
    )
    deactivated = [prod_id for prod_id, _ in lines_on.most_common(n)]
    for prod_id in deactivated:
        sim.change("prod", "materials", prod_id, active=False)
    return deactivated


def test_batches_back_to_back_on_the_same_inactive_skus_all_copy(make_simulator, tmp_path):
    """Batches of ten, so a batch's POs refused on an inactive SKU come back while the batch before still holds
    the same SKUs active for its own: one batch's SKUs are read, made active and inactive again at a time, so
    every PO is copied and every SKU ends as Production has it."""
    sim = make_simulator(seed=31, scale=0.6)
    _deactivate_most_used_materials(sim, 8)
    sim.set_faults(latency_ms=15)  # a batch's answers come back while the batch before is still sending again
    env = sync_env(sim, tmp_path, ST_BATCH_SIZE="10")
    report = sync(env, since=env["STSYNC_START_DATE"])["pos"]
    materials = {m["id"]: m for m in sim.records("prod", "materials")}
    on_inactive = [
        po
        for po in sim.records("prod", "purchase-orders")
        if any(line["skuType"] == "Material" and not materials[line["skuId"]]["active"] for line in po["items"])
    ]
    # Not one refused for good, nor left for a later run (the others are blocked on a job that is).
    assert counts(report)["failed"] == 0 and counts(report)["deferred"] == 0, report["issues"]
    copied = {po["id"] for po in on_inactive} & copied_ids(sim, GUID)["purchase-orders"]
    assert len(copied) >= 20, "POs of many batches on the same inactive materials"
    int_by_code = {m["code"]: m for m in sim.records("int", "materials")}
    inactive = {
        materials[line["skuId"]]["code"]
        for po in on_inactive
        for line in po["items"]
        if line["skuType"] == "Material" and not materials[line["skuId"]]["active"]
    }
    assert all(int_by_code[code]["active"] is False for code in inactive)
    with Crosswalk(env["STSYNC_DB"]) as cw:
        assert cw.held_actions("items") == {}


def test_a_material_a_po_pulled_in_keeps_following_production_after_being_active_for_a_moment(make_simulator, tmp_path):
    """POs copied before their materials: the materials they pull in are created (inactive where Production has
    them so) ahead of the POs, and the POs on them refused, then sent again with them active for a moment, once
    the batch's answers are in: seconds after those materials were created, more than the clock slack. Those two
    patches are STSync's own: a Production edit of the material is followed afterwards, not taken for an edit
    made in Integration."""
    sim = make_simulator(seed=31, scale=1.0)
    deactivated = _deactivate_most_used_materials(sim, 4)
    env = sync_env(sim, tmp_path)
    sync(env, entities=["jobs"])
    # One batch, its creates paced at 50/s: its answers are all in only seconds after its materials were copied.
    pos = sync({**env, "ST_BATCH_SIZE": "1000", "ST_RATE_LIMIT": "50"}, entities=["pos"])["pos"]
    assert counts(pos)["created"] >= 100 and counts(pos)["failed"] == 0
    with Crosswalk(env["STSYNC_DB"]) as cw:
        pulled = cw.int_ids("items", deactivated)
    assert len(pulled) == len(deactivated) and all(_int_material(sim, i)["active"] is False for i in pulled.values())

    for prod_id in deactivated:
        sim.change("prod", "materials", prod_id, description="changed in Production")
    items = sync(env, entities=["items"])["items"]
    assert counts(items)["conflict"] == 0, items["issues"]
    assert all(_int_material(sim, i)["description"].startswith("changed in Production") for i in pulled.values())
