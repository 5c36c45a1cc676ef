"""The bulk pricebook endpoints: the simulator's (POST and PATCH /pricebook) and the client's methods, over HTTP."""

from __future__ import annotations

import httpx
import pytest

from stsync_dagster.servicetitan import (
    AmbiguousWriteError,
    BulkUnsupported,
    IntegrationClient,
    ValidationError,
)
from stsync_dagster.settings import load_settings

GUID = "5f0c1a52-57c3-4b9e-9a51-5757c0de0001"


@pytest.fixture
def sim(make_simulator):
    return make_simulator(seed=11, scale=0.05)


@pytest.fixture
def intc(sim):
    settings = load_settings(sim.env(), dotenv_path=None)
    with IntegrationClient.from_settings(settings) as client:
        yield client


def material(sim, n: int, **fields) -> dict:
    vendor = sim.records("int", "vendors")[0]["id"]
    return {
        "customId": f"prod-{n}",
        "code": f"BULK-{n}",
        "description": f"bulk material {n}",
        "price": 1.5 * n,
        "primaryVendor": {"vendorId": vendor, "cost": 1.0, "active": True},
        "externalData": {"applicationGuid": GUID, "externalData": [{"key": "stsync.prodId", "value": str(n)}]},
        **fields,
    }


def int_materials(sim) -> dict[str, dict]:
    return {m["code"]: m for m in sim.records("int", "materials")}


def test_one_request_creates_many_stamped_materials(sim, intc):
    before = sim.stats("int")["requests"]
    created = intc.bulk_create_materials([material(sim, n) for n in range(1, 51)])
    assert [c["customId"] for c in created] == [f"prod-{n}" for n in range(1, 51)]
    stats = sim.stats("int")
    assert stats["requests"] - before == 1 and stats["by_route"]["POST pricebook"] == 1  # one for the rate limit
    stored = int_materials(sim)
    for c in created:
        n = int(c["customId"].split("-")[1])
        record = stored[f"BULK-{n}"]
        assert record["id"] == c["id"] and record["price"] == 1.5 * n
        assert record["externalData"][GUID] == [{"key": "stsync.prodId", "value": str(n)}]


def test_one_invalid_item_refuses_the_whole_batch_naming_it(sim, intc):
    items = [
        material(sim, 1),
        material(sim, 2, primaryVendor={"vendorId": 999, "cost": 1.0, "active": True}),
        material(sim, 3, description=None),
    ]
    with pytest.raises(ValidationError) as caught:
        intc.bulk_create_materials(items)
    assert set(caught.value.errors) == {"materials[1].primaryVendor.vendorId", "materials[2].description"}
    assert int_materials(sim) == {}  # all or nothing


def test_duplicate_codes_are_refused_within_the_batch_and_against_the_tenant(sim, intc):
    intc.bulk_create_materials([material(sim, 1)])
    with pytest.raises(ValidationError) as caught:
        intc.bulk_create_materials([material(sim, 1), material(sim, 2), material(sim, 2)])
    assert set(caught.value.errors) == {"materials[0].code", "materials[2].code"}
    assert set(int_materials(sim)) == {"BULK-1"}


def test_in_partial_mode_the_valid_items_are_created(sim, intc):
    sim.set_bulk(all_or_nothing=False)
    items = [material(sim, 1), material(sim, 2, code=None), material(sim, 3)]
    created = intc.bulk_create_materials(items)
    assert [c["customId"] for c in created] == ["prod-1", "prod-3"]
    assert set(int_materials(sim)) == {"BULK-1", "BULK-3"}


def test_a_batch_over_the_limit_is_refused(sim, intc):
    sim.set_bulk(limit=2)
    with pytest.raises(ValidationError) as caught:
        intc.bulk_create_materials([material(sim, n) for n in range(3)])
    assert "materials" in caught.value.errors
    assert int_materials(sim) == {}


def test_an_api_without_the_endpoint_is_a_typed_error(sim, intc):
    sim.set_bulk(enabled=False)
    with pytest.raises(BulkUnsupported) as caught:
        intc.bulk_create_materials([material(sim, 1)])
    assert caught.value.status == 404
    with pytest.raises(BulkUnsupported):
        intc.bulk_update_materials([{"id": 1, "price": 2.0}])
    assert int_materials(sim) == {}


def test_a_lost_answer_is_ambiguous_and_the_materials_exist(sim, intc):
    sim.set_faults(drop_post_rate=1.0)
    with pytest.raises(AmbiguousWriteError):
        intc.bulk_create_materials([material(sim, 1), material(sim, 2)])
    assert set(int_materials(sim)) == {"BULK-1", "BULK-2"}  # committed: the stamps find them
    assert sim.stats("int")["by_route"]["POST pricebook"] == 1  # never blindly sent again


def test_bulk_update_changes_every_item_or_none(sim, intc):
    ids = {c["customId"]: c["id"] for c in intc.bulk_create_materials([material(sim, 1), material(sim, 2)])}
    assert (
        intc.bulk_update_materials([{"id": ids["prod-1"], "price": 9.0}, {"id": ids["prod-2"], "active": False}])
        is None
    )
    stored = int_materials(sim)
    assert stored["BULK-1"]["price"] == 9.0 and stored["BULK-2"]["active"] is False
    with pytest.raises(ValidationError) as caught:
        intc.bulk_update_materials([{"id": ids["prod-1"], "price": 1.0}, {"id": 424242, "price": 1.0}])
    assert "materials[1].id" in caught.value.errors
    assert int_materials(sim)["BULK-1"]["price"] == 9.0


def test_the_knobs_are_set_through_the_control_plane(sim, intc):
    answer = httpx.post(f"{sim.url}/_sim/config", json={"bulk": {"limit": 1, "all_or_nothing": False}}).json()
    assert answer["bulk"] == {"enabled": True, "limit": 1, "all_or_nothing": False}
    with pytest.raises(ValidationError):
        intc.bulk_create_materials([material(sim, 1), material(sim, 2)])
