"""The engine's rules, fast: `run_entity` built directly (no Dagster, no subprocess, no socket) against the real
clients over the simulator in process (inprocess.py, held to the loopback simulator by
test_inprocess_contract.py) and the real Crosswalk on a SQLite file in memory-backed storage
(/dev/shm: an in-memory SQLite would be one connection shared by the engine's threads, whose transactions
would interleave).

Each case is a fresh small simulator (seeds vary the data) and a crosswalk copied from one whose master data
was matched once per seed. Run: `uv run pytest stsync_dagster_tests/test_engine_fast.py -q`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from stsync_dagster.config import MASTER_KINDS, SyncConfig, load_config
from stsync_dagster.simulator.constants import DEFAULT_EXTERNAL_DATA_GUID as GUID
from stsync_dagster.simulator.data import DELIBERATE_GAPS, Refresh
from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster.sync.engine import SyncOptions
from stsync_dagster.sync.outcome import Outcome, SyncReport
from stsync_dagster.sync.runner import run_entity, run_master
from stsync_dagster.sync.stamps import marked_prod_id, stamped_prod_id
from stsync_dagster.sync.window import Window
from stsync_dagster_tests.inprocess import InProcessSimulator

REPO = Path(__file__).resolve().parents[1]
KIND_OF = {"items": "materials", "equipment": "equipment", "pos": "purchase-orders", "jobs": "jobs"}
ENTITIES = tuple(KIND_OF)
SEEDS = (3, 5, 7)
GAP_SEEDS = (3, 7, 11)  # seeds with POs on the vendor Integration lacks that block on nothing else
SCALE = 0.05
EVERYTHING = Window(None, None)
_SCRATCH = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
_TEMPLATES: dict[tuple, Path] = {}


def _config(references: dict | None = None, conflicts: str | None = None) -> SyncConfig:
    raw = json.loads((REPO / "stsync.config.json").read_text())
    for entity, fields in (references or {}).items():
        raw["references"].setdefault(entity, {}).update(fields)
    if conflicts:
        raw["updates"]["conflicts"] = conflicts
    return SyncConfig.model_validate(raw)


CONFIG = load_config(REPO / "stsync.config.json")


class Rig:
    """One simulator in process, its two clients, a crosswalk with the master data matched, and the engine."""

    def __init__(
        self,
        folder: Path,
        seed: int = 7,
        scale: float = SCALE,
        config: SyncConfig = CONFIG,
        timeout: float = 10.0,
        **sim_options,
    ) -> None:
        self.folder, self.config = folder, config
        self.sim = InProcessSimulator(seed=seed, scale=scale, rate_limit=None, **sim_options).start()
        self.prod, self.intc = self.sim.clients(timeout=timeout)
        self.db = folder / "crosswalk.sqlite3"
        # the data's options only: faults change no master data
        key = (seed, scale, repr(sorted((k, v) for k, v in sim_options.items() if k != "faults")))
        if key not in _TEMPLATES:  # master data matched once per simulator: a copy of it per case
            template = Path(tempfile.mkdtemp(dir=_SCRATCH, prefix="stsync-fast-")) / "crosswalk.sqlite3"
            with Crosswalk(str(template)) as crosswalk:
                for kind in MASTER_KINDS:
                    run_master(kind, prod=self.prod, intc=self.intc, crosswalk=crosswalk, config=config, dry_run=False)
            _TEMPLATES[key] = template
        self._template = _TEMPLATES[key]
        shutil.copy(self._template, self.db)
        self.crosswalk = Crosswalk(str(self.db))

    def close(self) -> None:
        self.crosswalk.close()
        self.prod.close()
        self.intc.close()
        self.sim.stop()

    def run(
        self, entity: str, *, window: Window = EVERYTHING, config: SyncConfig | None = None, **options
    ) -> SyncReport:
        options = {"server_timeout": timedelta(seconds=0.3), **options}
        return run_entity(
            entity,
            window,
            prod=self.prod,
            intc=self.intc,
            crosswalk=self.crosswalk,
            config=config or self.config,
            guid=GUID,
            options=SyncOptions(run_id=f"fast-{uuid.uuid4().hex[:12]}", **options),
        )

    def lose_crosswalk(self) -> None:
        """The crosswalk lost: back to one that knows the master data only."""
        self.crosswalk.close()
        for path in self.db.parent.glob(self.db.name + "*"):
            path.unlink()
        shutil.copy(self._template, self.db)
        self.crosswalk = Crosswalk(str(self.db))

    def prod_records(self, entity: str) -> list[dict]:
        return self.sim.records("prod", KIND_OF[entity])

    def int_records(self, entity: str) -> list[dict]:
        return self.sim.records("int", KIND_OF[entity])

    def copies(self, entity: str) -> Counter:
        """Production id → how many Integration records carry STSync's mark for it."""
        if entity == "pos":
            marks = [marked_prod_id(r.get("summary")) for r in self.int_records(entity)]
        else:
            marks = [
                stamped_prod_id({"externalData": (r.get("externalData") or {}).get(GUID, [])}, GUID)
                for r in self.int_records(entity)
            ]
        return Counter(m for m in marks if m is not None)

    def writes(self) -> int:
        by_route = self.sim.stats("int")["by_route"]
        return sum(n for route, n in by_route.items() if not route.startswith("GET"))


@pytest.fixture(scope="module", autouse=True)
def _templates():
    yield
    for template in _TEMPLATES.values():
        shutil.rmtree(template.parent, ignore_errors=True)
    _TEMPLATES.clear()


@pytest.fixture
def rig(tmp_path):
    made: list[Rig] = []

    def make(**kwargs) -> Rig:
        folder = tmp_path / f"rig{len(made)}"
        folder.mkdir()
        made.append(Rig(folder, **kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def no_duplicates(rig: Rig, entity: str) -> None:
    twice = {pid: n for pid, n in rig.copies(entity).items() if n > 1}
    assert not twice, f"{entity}: Production ids copied more than once: {twice}"


def accounted(report: SyncReport) -> int:
    return sum(report.counts.values())


# -- creates exactly once ----------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("entity", ENTITIES)
def test_a_rerun_creates_nothing_and_copies_are_single(rig, entity, seed):
    r = rig(seed=seed)
    first = r.run(entity)
    assert first.count(Outcome.CREATED) > 0
    copies = r.copies(entity)
    assert first.count(Outcome.CREATED) == len(copies)
    writes = r.writes()
    second = r.run(entity)
    assert second.count(Outcome.CREATED) == 0 and second.count(Outcome.ADOPTED) == 0
    assert second.count(Outcome.UNCHANGED) == first.count(Outcome.CREATED)
    assert r.copies(entity) == copies and r.writes() == writes  # the re-run wrote nothing
    no_duplicates(r, entity)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("entity", ["items", "equipment"])
def test_every_record_of_the_window_ends_somewhere(rig, entity, seed):
    r = rig(seed=seed)
    report = r.run(entity)
    assert r.prod._map is None and r.intc._map is None  # the run's pool carried their reads; it is gone
    assert accounted(report) == len(r.prod_records(entity))
    assert set(r.copies(entity)) == {p["id"] for p in r.prod_records(entity)}


# -- adoption before every create ------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS[:2])
@pytest.mark.parametrize("entity", ENTITIES)
def test_a_lost_crosswalk_is_rebuilt_by_adoption_by_mark(rig, entity, seed):
    r = rig(seed=seed)
    created = r.run(entity).count(Outcome.CREATED)
    copies = r.copies(entity)
    r.lose_crosswalk()
    again = r.run(entity)
    assert again.count(Outcome.CREATED) == 0
    assert again.count(Outcome.ADOPTED) == created
    assert r.copies(entity) == copies
    assert rules(r, entity) == {"stamp": created}


@pytest.mark.parametrize("keep_ids", [True, False], ids=["same-id", "natural-key"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("entity", ["items", "equipment"])
def test_a_refreshed_tenant_is_adopted_not_copied(rig, entity, seed, keep_ids):
    probe = InProcessSimulator(seed=seed, scale=SCALE, rate_limit=None)
    as_of = max(r["createdOn"] for r in probe.records("prod", KIND_OF[entity]))
    r = rig(seed=seed, refresh=Refresh(as_of=_instant(as_of) + timedelta(seconds=1), keep_ids=keep_ids))
    held = len(r.int_records(entity))
    assert held == len(r.prod_records(entity))
    report = r.run(entity)
    assert report.count(Outcome.CREATED) == 0
    assert report.count(Outcome.ADOPTED) == held
    assert len(r.int_records(entity)) == held
    assert rules(r, entity) == {"same-id" if keep_ids else "natural-key": held}
    if keep_ids:
        assert all(p == i for p, (i, _) in r.crosswalk.mapped(entity).items())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("handmade", [1, 3])
def test_materials_made_by_hand_with_production_codes_are_adopted(rig, seed, handmade):
    r = rig(seed=seed, handmade_materials=handmade)
    report = r.run("items")
    assert report.count(Outcome.ADOPTED) == handmade
    assert report.count(Outcome.CREATED) == len(r.prod_records("items")) - handmade
    codes = Counter(m["code"].strip().lower() for m in r.int_records("items"))
    assert max(codes.values()) == 1  # no code twice: the hand-made ones were not copied again


@pytest.mark.parametrize("seed", SEEDS)
def test_a_natural_key_held_twice_blocks_with_both_ids_never_guessed(rig, seed):
    r = rig(seed=seed)
    target = r.prod_records("items")[0]
    twins = r.sim.add_records(
        "int",
        "materials",
        [
            {**_material_like(target), "code": target["code"]},
            {**_material_like(target), "code": target["code"].upper()},
        ],
    )
    report = r.run("items")
    blocked = [i for i in report.issues if i.prod_id == target["id"]]
    assert [i.outcome for i in blocked] == [Outcome.BLOCKED]
    assert all(str(t["id"]) in blocked[0].reason for t in twins), blocked[0].reason
    assert target["id"] not in r.copies("items")
    assert report.count(Outcome.CREATED) == len(r.prod_records("items")) - 1


# -- adoption reads only what could match ----------------------------------------------------------------
NARROWED = {"items": True, "jobs": True, "equipment": False, "pos": False}  # equipment, POs: no filter to narrow by


def _half_copied(rig, entity: str, keep_ids: bool) -> tuple[Rig, list[int]]:
    """A refreshed tenant whose newer half was synced (the crosswalk knows the kind), two of its mappings lost."""
    probe = InProcessSimulator(seed=5, scale=0.2, rate_limit=None)
    created = sorted(r["createdOn"] for r in probe.records("prod", KIND_OF[entity]))
    as_of = _instant(created[len(created) // 2])
    r = rig(seed=5, scale=0.2, refresh=Refresh(as_of=as_of, keep_ids=keep_ids))
    r.run(entity, window=Window(as_of, None))
    made = sorted(p for p, (_, source) in r.crosswalk.mapped(entity).items() if source == "sync")
    assert len(made) >= 2
    r.crosswalk.forget(entity, made[:2])
    return r, made[:2]


@pytest.mark.parametrize("keep_ids", [True, False], ids=["same-id", "natural-key"])
@pytest.mark.parametrize("entity", ENTITIES)
def test_once_the_crosswalk_knows_a_kind_adoption_reads_only_the_candidates_and_misses_none(
    rig, entity, keep_ids, monkeypatch
):
    """The same run with adoption's reads narrowed and with Integration's list read whole adopts the same
    records by the same rules and creates the same ones; narrowed, no whole list of the kind is read where the
    API can filter it (where it cannot, it is read once and only the candidates are kept)."""
    from stsync_dagster.sync.plan import index as index_module

    narrow, lost = _half_copied(rig, entity, keep_ids)
    whole, _ = _half_copied(rig, entity, keep_ids)
    reports = {}
    for name, r in (("narrow", narrow), ("whole", whole)):
        if name == "whole":
            monkeypatch.setattr(index_module, "FULL_READ_AFTER", 0)
        r.sim.reset_stats()
        reports[name] = r.run(entity)
        no_duplicates(r, entity)
    assert reports["narrow"].counts == reports["whole"].counts
    assert _rules_by_id(narrow, entity) == _rules_by_id(whole, entity)
    assert sorted(narrow.copies(entity)) == sorted(whole.copies(entity))
    adopted = Counter(rule for p, rule in _rules_by_id(narrow, entity).items() if rule)
    assert adopted["stamp"] >= len(lost) and adopted["same-id" if keep_ids else "natural-key"] > 0
    if NARROWED[entity]:  # copies found by key through a narrowed read, not only by their marks
        assert reports["narrow"].count(Outcome.ADOPTED) > len(lost)
    read_whole = narrow.sim.stats("int")["whole_lists"].get(KIND_OF[entity], 0)
    assert read_whole == (0 if NARROWED[entity] else 1)
    assert whole.sim.stats("int")["whole_lists"].get(KIND_OF[entity], 0) >= 1


def _rules_by_id(r: Rig, entity: str) -> dict[int, str | None]:
    from sqlalchemy import select

    from stsync_dagster.sync.crosswalk.schema import id_map

    with r.crosswalk.engine.connect() as conn:
        query = select(id_map.c.prod_id, id_map.c.rule).where(id_map.c.kind == entity)
        return dict(conn.execute(query).all())


# -- references without a counterpart: their policy ---------------------------------------------------------
def _gap_pos(r: Rig) -> set[int]:
    gap = next(
        v["id"] for v in r.sim.records("prod", "vendors") if v["name"] == DELIBERATE_GAPS["missing"]["vendors"][0]
    )
    return {p["id"] for p in r.prod_records("pos") if p["vendorId"] == gap}


@pytest.mark.parametrize("seed", SEEDS)
def test_block_keeps_back_exactly_the_pos_on_a_missing_vendor(rig, seed):
    r = rig(seed=seed)
    gap = _gap_pos(r)
    report = r.run("pos")
    vendor_blocked = {i.prod_id for i in report.issues if i.outcome is Outcome.BLOCKED and i.field == "vendorId"}
    assert vendor_blocked == gap
    assert not gap & set(r.copies("pos"))


@pytest.mark.parametrize("seed", GAP_SEEDS)
def test_a_blocked_po_is_copied_by_the_next_run_once_its_vendor_exists(rig, seed):
    r = rig(seed=seed)
    gap = _gap_pos(r)
    r.run("pos")
    assert not gap & set(r.copies("pos"))
    name = DELIBERATE_GAPS["missing"]["vendors"][0]
    r.sim.add_records("int", "vendors", [{"name": name, "active": True}])
    run_master("vendors", prod=r.prod, intc=r.intc, crosswalk=r.crosswalk, config=r.config, dry_run=False)
    # A window none of them is in (a day after the data): the backlog is tried first, whatever the window.
    after = r.sim.until + timedelta(days=1)
    healed = r.run("pos", window=Window(after, after + timedelta(days=1)))
    vendor_blocked = {i.prod_id for i in healed.issues if i.field == "vendorId"}
    assert not vendor_blocked
    assert gap - {i.prod_id for i in healed.issues} <= set(r.copies("pos"))
    assert gap & set(r.copies("pos"))
    no_duplicates(r, "pos")


@pytest.mark.parametrize("seed", GAP_SEEDS)
def test_a_default_fills_the_missing_vendor(rig, seed):
    r = rig(seed=seed)
    gap = _gap_pos(r)
    assert gap, "no PO on the missing vendor in this data"
    name = next(v["name"] for v in r.sim.records("int", "vendors") if v["active"])
    int_vendor = next(v["id"] for v in r.sim.records("int", "vendors") if v["name"] == name)
    report = r.run("pos", config=_config({"pos": {"vendorId": {"default": name.upper()}}}))
    assert not any(i.field == "vendorId" for i in report.issues)
    copied = {marked_prod_id(p.get("summary")): p for p in r.int_records("pos")}
    assert gap & set(copied)  # (a PO may still be blocked by another of its references)
    assert all(copied[pid]["vendorId"] == int_vendor for pid in gap & set(copied))
    defaulted = {d.prod_id for d in report.dropped if d.field == "vendorId"}
    assert defaulted == gap & set(copied)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_default_that_matches_nothing_blocks_with_the_reason(rig, seed):
    r = rig(seed=seed)
    gap = _gap_pos(r)
    report = r.run("pos", config=_config({"pos": {"vendorId": {"default": "No Such Vendor"}}}))
    reasons = {i.prod_id: i.reason for i in report.issues if i.field == "vendorId"}
    assert set(reasons) == gap
    assert all("No Such Vendor" in why for why in reasons.values())


@pytest.mark.parametrize("policy", ["drop", "block"])
@pytest.mark.parametrize("seed", SEEDS)
def test_a_job_on_a_missing_technician_follows_its_policy(rig, seed, policy):
    r = rig(seed=seed)
    technician = next(
        t["id"]
        for t in r.sim.records("prod", "technicians")
        if t["name"] == DELIBERATE_GAPS["missing"]["technicians"][0]
    )
    gap_jobs = {a["jobId"] for a in r.sim.records("prod", "appointment-assignments") if a["technicianId"] == technician}
    report = r.run("jobs", config=_config({"jobs": {"appointments.technicianIds": policy}}))
    on_technician = {i.prod_id for i in report.issues if "technicianIds" in i.field}
    dropped = {d.prod_id for d in report.dropped if "technicianIds" in d.field}
    if policy == "drop":
        assert not on_technician
        copied = set(r.copies("jobs"))
        assert dropped and dropped <= gap_jobs and dropped <= copied
    else:
        assert not dropped
        assert on_technician and on_technician <= gap_jobs
        assert not on_technician & set(r.copies("jobs"))


# -- an invalid Production record fails alone --------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("entity", ["items", "jobs", "pos"])
def test_an_invalid_production_record_fails_alone(rig, entity, seed):
    r = rig(seed=seed, scale=0.1, invalid_fraction=0.2)
    bad = {pid for (kind, pid) in r.sim.corruptions if kind == KIND_OF[entity]}
    assert bad, f"no corrupted {entity} in this data"
    report = r.run(entity)
    failed = {i.prod_id for i in report.issues if i.outcome is Outcome.FAILED}
    assert failed == bad & {p["id"] for p in r.prod_records(entity)} - _blocked(report)
    assert not bad & set(r.copies(entity))
    assert report.count(Outcome.CREATED) > 0


def _blocked(report: SyncReport) -> set[int]:
    return {i.prod_id for i in report.issues if i.outcome is not Outcome.FAILED}


# -- lost answers -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "entity, bulk", [("items", 4), ("items", 0), ("jobs", 0), ("pos", 0)], ids=["items-bulk", "items", "jobs", "pos"]
)
def test_creates_whose_answers_were_dropped_are_found_not_made_again(rig, entity, seed, bulk):
    # Every write's answer dropped after it committed: each create is found by its mark, none made twice.
    r = rig(seed=seed, faults=_faults(drop_post_rate=1.0, seed=seed))
    report = r.run(entity, bulk_size=bulk, server_timeout=timedelta(seconds=0.05))
    assert r.sim.stats("int").get("dropped_posts", 0) > 0
    no_duplicates(r, entity)
    r.sim.set_faults(drop_post_rate=0.0)
    again = r.run(entity)
    no_duplicates(r, entity)
    assert again.count(Outcome.CREATED) + report.count(Outcome.CREATED) == len(r.copies(entity))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("entity", ["items", "jobs"])
def test_a_create_committed_after_the_client_gave_up_is_not_made_twice(rig, entity, seed):
    # Every create held past the client's timeout, then committed: found by its mark once the server is done.
    r = rig(seed=seed, timeout=0.1, faults=_faults(late_commit_rate=1.0, late_commit_seconds=0.2, seed=seed))
    report = r.run(entity, bulk_size=0, server_timeout=timedelta(seconds=0.35))
    assert r.sim.stats("int").get("late_commits", 0) > 0
    no_duplicates(r, entity)
    assert report.count(Outcome.CREATED) == len(r.copies(entity))
    assert report.count(Outcome.FAILED) == 0


# -- following Production ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("changed", [1, 4])
def test_a_price_changed_in_production_is_followed(rig, seed, changed):
    r = rig(seed=seed)
    r.run("items")
    mapped = r.crosswalk.mapped("items")
    chosen = [p for p in r.prod_records("items") if p["active"]][:changed]
    for record in chosen:
        r.sim.change("prod", "materials", record["id"], price=round(record["price"] + 3.5, 2))
    report = r.run("items")
    assert report.count(Outcome.UPDATED) == changed and report.count(Outcome.CREATED) == 0
    held = {m["id"]: m for m in r.int_records("items")}
    for record in chosen:
        assert held[mapped[record["id"]][0]]["price"] == round(record["price"] + 3.5, 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_material_deactivated_in_production_is_deactivated(rig, seed):
    r = rig(seed=seed)
    r.run("items")
    record = next(p for p in r.prod_records("items") if p["active"])
    r.sim.change("prod", "materials", record["id"], active=False)
    report = r.run("items")
    assert report.count(Outcome.UPDATED) + report.count(Outcome.STATUS_CHANGED) == 1
    int_id = r.crosswalk.mapped("items")[record["id"]][0]
    assert next(m for m in r.int_records("items") if m["id"] == int_id)["active"] is False


@pytest.mark.parametrize("conflicts", ["skip", "overwrite"])
@pytest.mark.parametrize("seed", SEEDS)
def test_an_edit_made_in_integration_is_a_conflict_unless_overwrite(rig, seed, conflicts):
    r = rig(seed=seed)
    r.run("items")
    record = next(p for p in r.prod_records("items") if p["active"])
    int_id = r.crosswalk.mapped("items")[record["id"]][0]
    advance_clock(r.sim, 10)  # a tester's edit, a while after the copy (the slow suite waits for real)
    r.intc.patch("/pricebook/v2/tenant/{tenant}/materials", int_id, {"price": round(record["price"] + 7.25, 2)})
    r.sim.change("prod", "materials", record["id"], price=round(record["price"] + 1.0, 2))
    report = r.run("items", config=_config(conflicts=conflicts))
    held = next(m for m in r.int_records("items") if m["id"] == int_id)["price"]
    if conflicts == "skip":
        assert report.count(Outcome.CONFLICT) == 1 and report.count(Outcome.UPDATED) == 0
        assert held == round(record["price"] + 7.25, 2)
        (issue,) = [i for i in report.issues if i.outcome is Outcome.CONFLICT]
        assert issue.prod_id == record["id"] and "price" in issue.field + issue.reason
    else:
        assert report.count(Outcome.CONFLICT) == 0 and report.count(Outcome.UPDATED) == 1
        assert held == round(record["price"] + 1.0, 2)


# -- a dry run writes nothing ------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("entity", ENTITIES)
def test_a_dry_run_writes_nothing_and_plans_what_the_run_does(rig, entity, seed):
    r = rig(seed=seed)
    before = {kind: r.crosswalk.counts(kind) for kind in ENTITIES}
    plan = r.run(entity, dry_run=True)
    assert r.writes() == 0 and not r.int_records(entity)
    assert {kind: r.crosswalk.counts(kind) for kind in ENTITIES} == before
    real = r.run(entity)
    assert plan.count(Outcome.CREATED) == real.count(Outcome.CREATED) > 0


# -- the run limit ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("entity, limit", [("items", 1), ("items", 5), ("pos", 3)])
def test_a_run_limit_caps_creates_and_the_next_run_goes_on(rig, entity, seed, limit):
    r = rig(seed=seed)
    capped = r.run(entity, limit=limit)
    created = sum(r.copies(kind).total() for kind in ENTITIES)
    assert 0 < created <= limit
    assert capped.count(Outcome.CREATED) <= limit
    rest = r.run(entity)
    assert rest.count(Outcome.CREATED) > 0
    no_duplicates(r, entity)


# -- helpers ------------------------------------------------------------------------------------------------
def rules(r: Rig, entity: str) -> Counter:
    """How many mappings of the kind each adoption rule made (None: not adopted)."""
    from sqlalchemy import select

    from stsync_dagster.sync.crosswalk.schema import id_map

    with r.crosswalk.engine.connect() as conn:
        return Counter(conn.execute(select(id_map.c.rule).where(id_map.c.kind == entity)).scalars())


def advance_clock(sim: InProcessSimulator, seconds: float) -> None:
    """The simulator's clock (both tenants share one) moved `seconds` ahead: what happens next happens later."""
    sim.state.tenants["int"].clock._offset += timedelta(seconds=seconds)


def _faults(**fields):
    from stsync_dagster.simulator.faults import Faults

    return Faults(**fields)


def _instant(text: str):
    from stsync_dagster.simulator.clock import parse_instant

    return parse_instant(text)


def _material_like(record: dict) -> dict:
    keep = ("displayName", "description", "cost", "price", "memberPrice", "addOnPrice", "active", "taxable")
    return {k: record[k] for k in keep if k in record}


# -- a status Integration cannot take ---------------------------------------------------------------------
COMPLETE = "PUT jobs/{id}/complete"


def test_a_status_the_api_answers_404_to_is_not_replayable_and_not_sent_again_until_production_moves(rig):
    r = rig(seed=7, faults=_faults(refused=(f"404 {COMPLETE}",)))
    completed = {j["id"] for j in r.prod_records("jobs") if j["jobStatus"] == "Completed"}
    first = r.run("jobs")
    unmovable = {i.prod_id for i in first.issues if i.outcome is Outcome.NOT_REPLAYABLE}
    assert unmovable and unmovable == completed & set(r.copies("jobs"))  # copied all the same
    assert all("complete" in i.reason and "404" in i.reason for i in first.issues if i.prod_id in unmovable)
    assert not [i for i in first.issues if i.outcome is Outcome.FAILED and i.field == "(status)"]
    assert not {issue.prod_id for issue in r.crosswalk.issues(kind="jobs")} & unmovable  # no backlog of them
    sent = r.sim.stats("int")["by_route"][COMPLETE]
    assert sent >= len(unmovable)

    second = r.run("jobs")
    assert second.count(Outcome.NOT_REPLAYABLE) == 0 and second.count(Outcome.FAILED) == first.count(Outcome.FAILED)
    assert r.sim.stats("int")["by_route"][COMPLETE] == sent  # not sent again while Production stays as it is

    moved = min(unmovable)
    r.sim.change("prod", "jobs", moved, jobStatus="Canceled")
    third = r.run("jobs")
    assert third.count(Outcome.STATUS_CHANGED) == 1
    copy = {j["id"]: j for j in r.int_records("jobs")}[r.crosswalk.int_ids("jobs", [moved])[moved]]
    assert copy["jobStatus"] == "Canceled"


# -- an endpoint the app may not use ------------------------------------------------------------------------
def _on_equipment(po: dict) -> bool:
    return any(str(line.get("skuType") or "").casefold() == "equipment" for line in po["items"])


def test_an_endpoint_refused_costs_its_kind_only(rig):
    # An app not granted the equipment scope: equipment answers 403 in both tenants.
    r = rig(seed=3, faults=_faults(refused=("403 GET equipment",)))
    equipment = r.run("equipment")
    assert equipment.unavailable and "403" in equipment.unavailable and "/equipment" in equipment.unavailable
    assert equipment.count(Outcome.FAILED) == 0 and not r.crosswalk.issues(kind="equipment")
    assert "unavailable" in equipment.summary()

    pos = r.run("pos")
    on_equipment = {po["id"] for po in r.prod_records("pos") if _on_equipment(po)}
    assert on_equipment and pos.unavailable is None
    said = {i.prod_id: i for i in pos.issues}
    assert all(said[p].outcome is Outcome.BLOCKED for p in on_equipment)  # the first reason found is said
    assert any("equipment unavailable (GET /pricebook/v2/" in said[p].reason for p in on_equipment)
    copied = set(r.copies("pos"))
    assert copied and not copied & on_equipment
    # every other PO is copied, or left for a reason of its own (the simulator's deliberate gaps)
    others = {po["id"] for po in r.prod_records("pos")} - on_equipment
    assert copied | {p for p in others if p in said and "unavailable" not in said[p].reason} == others


# -- a record left behind costs nothing until something could heal it ----------------------------------------
def _later(r: Rig) -> Window:
    """A day none of the records is in: only the backlog can bring them back."""
    after = r.sim.until + timedelta(days=1)
    return Window(after, after + timedelta(days=1))


def _issues(r: Rig, kind: str) -> dict:
    return {issue.prod_id: issue for issue in r.crosswalk.issues(kind=kind)}


def test_a_record_refused_as_it_is_waits_for_its_backoff_and_retry_all_forces_it(rig):
    r = rig(seed=5, invalid_fraction=0.2)
    first = r.run("items")
    refused = {i.prod_id for i in first.issues if i.outcome is Outcome.FAILED and i.field != "(request)"}
    assert refused and {kind for kind, _ in r.sim.corruptions} >= {"materials"}
    issues = _issues(r, "items")
    now = r.crosswalk.now()
    assert all(issues[p].attempts == 1 and issues[p].retry_after > now + timedelta(hours=23) for p in refused)

    quiet = r.run("items", window=_later(r))
    assert quiet.count(Outcome.FAILED) == 0  # not read again: nothing could have healed them
    forced = r.run("items", window=_later(r), retry_all=True)
    assert {i.prod_id for i in forced.issues if i.outcome is Outcome.FAILED} == refused
    assert forced.requests > quiet.requests
    issues = _issues(r, "items")
    assert all(issues[p].attempts == 2 and issues[p].retry_after > now + timedelta(days=1, hours=23) for p in refused)

    _due_now(r, "items", refused)  # their backoff is over
    due = r.run("items", window=_later(r))
    assert {i.prod_id for i in due.issues if i.outcome is Outcome.FAILED} == refused
    assert all(issue.attempts == 3 for p, issue in _issues(r, "items").items() if p in refused)


def _due_now(r: Rig, kind: str, prod_ids: set[int]) -> None:
    from sqlalchemy import update

    from stsync_dagster.sync.crosswalk.schema import sync_issue

    past = r.crosswalk.now() - timedelta(minutes=1)
    query = update(sync_issue).where(sync_issue.c.kind == kind, sync_issue.c.prod_id.in_(sorted(prod_ids)))
    r.crosswalk._run(lambda conn: conn.execute(query.values(retry_after=past)), write=True)


def test_a_blocked_record_is_read_again_once_its_reference_can_be_matched_not_before(rig):
    r = rig(seed=GAP_SEEDS[0])
    gap = _gap_pos(r)
    r.run("pos")
    waits = {p: issue.waits_on for p, issue in _issues(r, "pos").items() if p in gap}
    assert set(waits) == gap and all(w.startswith("vendors:") for w in waits.values())

    quiet = r.run("pos", window=_later(r))
    assert quiet.count(Outcome.BLOCKED) == 0  # its vendor still has no counterpart: not read again
    name = DELIBERATE_GAPS["missing"]["vendors"][0]
    r.sim.add_records("int", "vendors", [{"name": name, "active": True}])
    run_master("vendors", prod=r.prod, intc=r.intc, crosswalk=r.crosswalk, config=r.config, dry_run=False)
    healed = r.run("pos", window=_later(r))
    assert not [i for i in healed.issues if i.field == "vendorId"]
    assert gap & set(r.copies("pos"))


def test_another_config_tries_again_what_the_last_one_left(rig):
    r = rig(seed=GAP_SEEDS[0])
    gap = _gap_pos(r)
    r.run("pos")
    assert r.run("pos", window=_later(r)).count(Outcome.BLOCKED) == 0
    other = _config({"pos": {"vendorId": {"default": next(v["name"] for v in r.sim.records("int", "vendors"))}}})
    retried = r.run("pos", window=_later(r), config=other)
    assert gap & set(r.copies("pos"))  # the new policy heals them: they were read again
    assert not [i for i in retried.issues if i.field == "vendorId"]


# -- what a crash left ----------------------------------------------------------------------------------------
def test_young_claims_of_a_run_that_is_gone_are_waited_for_and_finished_not_left_deferred(rig):
    from stsync_dagster.sync.runs import HOST

    r = rig(seed=7)
    crashed = sorted(p["id"] for p in r.prod_records("items"))[:5]
    r.crosswalk.register_process("crashed-run", HOST, 2**22 + 4321)  # beyond any pid: that process is gone
    assert r.crosswalk.claim("items", crashed, "crashed-run") == set(crashed)
    r.crosswalk.mark_sent("items", crashed, "crashed-run")  # killed while their creates were out
    report = r.run("items", server_timeout=timedelta(seconds=2))
    assert report.count(Outcome.DEFERRED) == 0, [i for i in report.issues if i.outcome is Outcome.DEFERRED]
    assert set(crashed) <= set(r.copies("items"))
    assert all(e.state == "confirmed" for e in r.crosswalk.lookup("items", crashed).values())
    no_duplicates(r, "items")


def test_claims_a_run_that_is_gone_never_sent_are_retaken_at_once(rig):
    from stsync_dagster.sync.runs import HOST

    r = rig(seed=7)
    crashed = sorted(p["id"] for p in r.prod_records("items"))[:5]
    r.crosswalk.register_process("crashed-run", HOST, 2**22 + 4321)
    r.crosswalk.claim("items", crashed, "crashed-run")  # killed between the claim and the send
    assert all(e.sent_at is None for e in r.crosswalk.lookup("items", crashed).values())
    report = r.run("items", server_timeout=timedelta(seconds=60))
    assert report.count(Outcome.DEFERRED) == 0 and set(crashed) <= set(r.copies("items"))
    assert report.seconds < 30  # not the server timeout waited out: they were never sent
    no_duplicates(r, "items")


def test_a_code_a_text_search_may_not_find_as_keys_compare_it_reads_the_whole_list():
    """Keys compare codes NFKC-normalised and casefolded, and read an ISO-looking code as an instant; the API's
    search is a case-insensitive substring match of unknown collation: such codes are not searched for."""
    from stsync_dagster.sync.entities.candidates import search_reads

    assert search_reads({}, "searchText", ["AB-12 X", "ab-12 y"]) == [{"searchText": "AB-12"}]
    for code in ("Ｍ100", "ﬁlter-1", "Straße-1", "Café-1", "2024-01-02", "x"):
        assert search_reads({}, "searchText", ["AB-12", code]) is None, code
