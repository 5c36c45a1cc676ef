"""Reading through the client, against the simulator over real HTTP: pages, exports, ids, single records."""

from __future__ import annotations

import pytest

from stsync_dagster.servicetitan import NotFoundError, ProductionClient
from stsync_dagster.settings import load_settings

MATERIALS = "/pricebook/v2/tenant/{tenant}/materials"
EXPORT_MATERIALS = "/pricebook/v2/tenant/{tenant}/export/materials"
APPOINTMENTS = "/jpm/v2/tenant/{tenant}/appointments"
ASSIGNMENTS = "/dispatch/v2/tenant/{tenant}/appointment-assignments"


@pytest.fixture(autouse=True)
def _pacer_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("STSYNC_PACER_DIR", str(tmp_path / "pacer"))


def prod_client(sim, **kw) -> ProductionClient:
    settings = load_settings(sim.env(), dotenv_path=None)
    kw.setdefault("page_size", settings.page_size)
    kw.setdefault("rate_limit", 200)  # these tests are about reading, not pacing; the simulator allows 60/s
    return ProductionClient(settings.prod, **kw)


@pytest.fixture
def big_sim(make_simulator):
    return make_simulator(seed=11, scale=0.25, counts={"materials": 1234}, rate_limit=None)


def test_pages_walked_to_the_end_nothing_missed_or_repeated(big_sim):
    expected = {r["id"] for r in big_sim.records("prod", "materials")}
    assert len(expected) == 1234
    with prod_client(big_sim, page_size=100) as prod:
        pages = prod.iter_pages(MATERIALS, {"active": "Any"})
        first = next(pages)
        assert prod.stats.requests == 1  # streamed: one page asked for, not all of them
        rest = list(pages)
    all_pages = [first, *rest]
    assert [p.page for p in all_pages] == list(range(1, 14))
    assert [p.has_more for p in all_pages] == [True] * 12 + [False]
    ids = [r["id"] for p in all_pages for r in p.records]
    assert len(ids) == len(set(ids)) == 1234  # nothing repeated
    assert set(ids) == expected  # nothing missed
    assert ids != sorted(ids)  # the server's order is not by id, and the walk does not depend on it
    assert big_sim.stats("prod")["by_route"]["GET materials"] == 13


def test_inactive_records_excluded_by_default_and_included_with_active_any(simulator):
    records = simulator.records("prod", "materials")
    active = {r["id"] for r in records if r["active"]}
    inactive = {r["id"] for r in records if not r["active"]}
    assert inactive, "the simulator should hold some inactive materials"
    with prod_client(simulator, page_size=40) as prod:
        default = {r["id"] for p in prod.iter_pages(MATERIALS) for r in p.records}
        everything = {r["id"] for p in prod.iter_pages(MATERIALS, {"active": "Any"}) for r in p.records}
    assert default == active
    assert everything == active | inactive


def test_export_walked_to_the_end_and_resumable(big_sim):
    big_sim.set_export_batch_size(300)
    expected = {r["id"] for r in big_sim.records("prod", "materials")}
    with prod_client(big_sim) as prod:
        batches = list(prod.iter_export(EXPORT_MATERIALS, from_="2000-01-01"))
        assert len(batches) >= 5
        assert all(b.has_more for b in batches[:-1]) and not batches[-1].has_more
        assert all(b.continue_from for b in batches)
        ids = [r["id"] for b in batches for r in b.records]
        assert set(ids) == expected  # inactive ones included: exports carry everything
        # Resume from the persisted token of the last batch: caught up, nothing new.
        again = list(prod.iter_export(EXPORT_MATERIALS, continue_from=batches[-1].continue_from))
        assert [r for b in again for r in b.records] == []
        # Resume from the middle: exactly the rest.
        middle = list(prod.iter_export(EXPORT_MATERIALS, continue_from=batches[1].continue_from))
        assert {r["id"] for b in middle for r in b.records} == {r["id"] for b in batches[2:] for r in b.records}


def test_export_needs_a_starting_point(simulator):
    with prod_client(simulator) as prod, pytest.raises(ValueError):
        next(prod.iter_export(EXPORT_MATERIALS))


def test_get_by_ids_asks_fifty_ids_per_request(big_sim):
    wanted = sorted(r["id"] for r in big_sim.records("prod", "materials"))[:120]
    big_sim.reset_stats()
    with prod_client(big_sim, page_size=500) as prod:
        records = prod.get_by_ids(MATERIALS, wanted + wanted[:10], params={"active": "Any"})
        assert prod.stats.requests == 3
    assert sorted(r["id"] for r in records) == wanted
    assert big_sim.stats("prod")["by_route"]["GET materials"] == 3


def test_get_by_ids_with_another_id_parameter_follows_pages(simulator):
    appointments = simulator.records("prod", "appointments")[:60]
    wanted = {a["id"] for a in appointments}
    expected = [r for r in simulator.records("prod", "appointment-assignments") if r["appointmentId"] in wanted]
    with prod_client(simulator, page_size=7) as prod:  # small pages: each batch of ids spans several
        got = prod.get_by_ids(ASSIGNMENTS, sorted(wanted), params={"active": "Any"}, id_param="appointmentIds")
        assert prod.stats.requests > 2
    assert expected
    assert sorted(r["id"] for r in got) == sorted(r["id"] for r in expected)


def test_get_one_record_and_not_found(simulator):
    material = simulator.records("prod", "materials")[0]
    with prod_client(simulator) as prod:
        assert prod.get(MATERIALS, material["id"])["code"] == material["code"]
        with pytest.raises(NotFoundError) as info:
            prod.get(MATERIALS, 999)
    assert info.value.status == 404 and "/materials/999" in str(info.value)
    assert prod.stats.errors == 1 and prod.stats.retries == 0  # a 404 is not retried
