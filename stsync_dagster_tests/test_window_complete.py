"""Promise 8, sees the whole window: records edited while a past day is read, and a list API on a bad day.

Against the simulator over real HTTP: its `live_edits` knob edits records of a page already read while the
client asks for the next one (they leave the past day, and the records after them move up a page), and its
`page_fault` knob repeats a page, ignores `page`, answers `data: null`, lists an id twice or puts a string
where a record belongs. The client's walk, then real Dagster runs of one past partition, as the schedule and
backfills run them.
"""

from __future__ import annotations

import pytest
import dagster as dg

from stsync_dagster.defs.assets import master_assets, sync_assets
from stsync_dagster.defs.resources import build_resources
from stsync_dagster.servicetitan import PagingError, ProductionClient
from stsync_dagster.settings import load_settings
from stsync_dagster.simulator import DELIBERATE_GAPS
from stsync_dagster.sync.read import complete_pages
from stsync_dagster_tests.sync_helpers import copied_ids, pointed_at, sync_env
from stsync_dagster.settings import DEFAULT_EXTERNAL_DATA_GUID as GUID

MATERIALS = "/pricebook/v2/tenant/{tenant}/materials"
ADDED = 47  # with the day's own three: a window of 50


@pytest.fixture
def day_of_50(make_simulator):
    """A simulator whose busiest past day of materials holds 50 of them; (sim, day, their ids)."""
    sim = make_simulator(seed=5, scale=0.15, rate_limit=None)
    materials = sim.records("prod", "materials")
    day = max(
        sorted({m["modifiedOn"][:10] for m in materials}),
        key=lambda d: sum(m["modifiedOn"][:10] == d for m in materials),
    )
    missing = set(DELIBERATE_GAPS["missing"]["vendors"])
    template = next(
        m
        for m in materials
        if not m["isConfigurableMaterial"]
        and not m["variationsOrConfigurableMaterials"]
        and m["primaryVendor"]["vendorName"] not in missing
        and m["active"]
    )
    clones = []
    for i in range(ADDED):
        clone = {k: v for k, v in template.items() if k not in ("id", "externalData")}
        stamp = f"{day}T{1 + i // 60:02d}:{i % 60:02d}:00.000Z"
        clones.append({**clone, "code": f"LIVE-{i:03d}", "createdOn": stamp, "modifiedOn": stamp})
    sim.add_records("prod", "materials", clones)
    on_day = {m["id"] for m in sim.records("prod", "materials") if m["modifiedOn"][:10] == day}
    assert len(on_day) >= 50
    return sim, day, on_day


def _client(sim, page_size: int) -> ProductionClient:
    settings = load_settings(sim.env(), dotenv_path=None)
    return ProductionClient(settings.prod, page_size=page_size, rate_limit=500)


def _window(day: str) -> dict:
    return {"active": "Any", "modifiedOnOrAfter": f"{day}T00:00:00Z", "modifiedBefore": _next(day)}


def _next(day: str) -> str:
    from datetime import date, timedelta

    return f"{date.fromisoformat(day) + timedelta(days=1)}T00:00:00Z"


def _edited(sim) -> set[int]:
    return set(sim.state.live_edited.get("prod/materials", set()))


def test_a_walk_by_page_numbers_misses_records_that_slide_onto_a_page_already_read(day_of_50):
    """What the simulator's live Production does to a plain walk (the defect the window reader answers)."""
    sim, day, on_day = day_of_50
    sim.set_faults(live_edits=3, live_edit_lists=("prod/materials",))
    with _client(sim, 20) as prod:
        seen = {r["id"] for page in prod.iter_pages(MATERIALS, _window(day)) for r in page.records}
    untouched = on_day - _edited(sim)
    assert len(_edited(sim)) == 6
    assert len(untouched - seen) == 6  # the count: 6 of the 44 records nobody touched never read


@pytest.mark.parametrize("page_size", [5, 10, 20])
def test_the_window_reader_sees_every_record_nobody_edited(day_of_50, page_size):
    sim, day, on_day = day_of_50
    sim.set_faults(live_edits=3, live_edit_limit=12, live_edit_lists=("prod/materials",))
    with _client(sim, page_size) as prod:
        pages = list(complete_pages(prod, MATERIALS, _window(day)))
    ids = [r["id"] for page in pages for r in page.records]
    assert len(ids) == len(set(ids))  # each record handed on once, whatever the walk that met it
    assert _edited(sim)
    assert on_day - _edited(sim) <= set(ids)
    assert set(ids) <= on_day


def test_records_edited_within_a_window_that_ends_later_move_nothing_and_cost_no_second_walk(day_of_50):
    """From the day on, until now: an edited record stays in the window, so one walk is complete."""
    sim, day, on_day = day_of_50
    sim.set_faults(live_edits=3, live_edit_lists=("prod/materials",))
    window = {"active": "Any", "modifiedOnOrAfter": f"{day}T00:00:00Z"}
    with _client(sim, 10) as prod:
        pages = list(complete_pages(prod, MATERIALS, window))
    ids = {r["id"] for page in pages for r in page.records}
    assert _edited(sim) and on_day <= ids
    assert len(pages) == -(-pages[0].total_count // 10)  # each page asked for once


def test_a_window_that_never_stops_moving_is_an_error_naming_the_endpoint(day_of_50):
    sim, day, _ = day_of_50
    sim.set_faults(live_edits=2, live_edit_lists=("prod/materials",))  # no limit: every walk is moved
    with _client(sim, 10) as prod, pytest.raises(PagingError) as raised:
        list(complete_pages(prod, MATERIALS, _window(day), passes=3))
    message = str(raised.value)
    assert "/pricebook/v2/tenant/" in message and "materials" in message and "kept changing" in message
    assert "\n" not in message


@pytest.mark.parametrize("fault", ["repeat_page", "ignore_page", "data_null", "duplicate_ids"])
def test_a_list_on_a_bad_day_is_an_error_never_an_empty_or_endless_read(day_of_50, fault):
    sim, day, _ = day_of_50
    sim.set_faults(page_fault=fault, page_fault_lists=("prod/materials",))
    before = sim.stats("prod")["by_route"].get("GET materials", 0)
    with _client(sim, 10) as prod, pytest.raises(PagingError) as raised:
        list(complete_pages(prod, MATERIALS, _window(day)))
    asked = sim.stats("prod")["by_route"]["GET materials"] - before
    assert asked <= 4 * 6  # four walks of at most six pages: it ends
    assert "/pricebook/v2/tenant/" in str(raised.value) and "\n" not in str(raised.value)


def test_an_element_that_is_no_record_is_handed_on_alone(day_of_50):
    sim, day, on_day = day_of_50
    sim.set_faults(page_fault="non_object", page_fault_lists=("prod/materials",))
    with _client(sim, 10) as prod:
        records = [r for page in complete_pages(prod, MATERIALS, _window(day)) for r in page.records]
    assert records.count("unavailable") == 1
    assert len({r["id"] for r in records if isinstance(r, dict)}) == len(on_day) - 1


# -- real Dagster runs of one past partition ---------------------------------------------------------------------


def _materialize(env: dict, day: str):
    with pointed_at(env):
        return dg.materialize(
            [*master_assets, *sync_assets],
            selection=["vendors", "categories", "items"],
            resources=build_resources(),
            partition_key=day,
            run_config={"ops": {"items": {"config": {"since": "", "limit": 0}}}},
            raise_on_error=False,
        )


@pytest.mark.parametrize("page_size", [10, 5000])
def test_a_partition_read_while_production_is_edited_copies_every_record_nobody_edited(day_of_50, tmp_path, page_size):
    sim, day, on_day = day_of_50
    sim.set_faults(live_edits=3, live_edit_limit=12, live_edit_lists=("prod/materials",))
    result = _materialize(sync_env(sim, tmp_path, ST_PAGE_SIZE=str(page_size)), day)
    assert result.success
    (event,) = result.asset_materializations_for_node("items")
    copied = copied_ids(sim, GUID)["materials"]
    untouched = on_day - _edited(sim)
    assert untouched - copied == set()  # 0 skipped
    assert event.metadata["failed"].value == 0 and event.metadata["blocked"].value == 0
    if page_size == 10:
        assert _edited(sim), "the live edits happened"


@pytest.mark.parametrize("page_size", [10, 5000])
@pytest.mark.parametrize("fault", ["repeat_page", "ignore_page", "data_null", "duplicate_ids"])
def test_a_partition_read_from_a_faulty_list_fails_in_one_line_naming_the_endpoint(
    day_of_50, tmp_path, page_size, fault
):
    sim, day, on_day = day_of_50
    sim.set_faults(page_fault=fault, page_fault_lists=("prod/materials",))
    result = _materialize(sync_env(sim, tmp_path, ST_PAGE_SIZE=str(page_size)), day)
    if result.success:  # a fault that a window on one page never meets: then every record is copied
        assert fault in ("repeat_page", "duplicate_ids") and page_size == 5000
        assert on_day - copied_ids(sim, GUID)["materials"] == set()
        return
    assert not result.asset_materializations_for_node("items")
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.user_failure_data.description
    assert "/pricebook/v2/tenant/" in message and "materials" in message and "\n" not in message, message


def test_a_partition_with_an_element_that_is_no_record_fails_that_element_alone(day_of_50, tmp_path):
    sim, day, on_day = day_of_50
    sim.set_faults(page_fault="non_object", page_fault_lists=("prod/materials",))
    result = _materialize(sync_env(sim, tmp_path, ST_PAGE_SIZE="10"), day)
    assert result.success
    (event,) = result.asset_materializations_for_node("items")
    assert event.metadata["failed"].value == 1
    assert len(on_day - copied_ids(sim, GUID)["materials"]) == 1
