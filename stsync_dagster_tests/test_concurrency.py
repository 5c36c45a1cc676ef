"""Creates run concurrently, paced under the rate limit, and concurrency never duplicates."""

from __future__ import annotations

from stsync_dagster.settings import DEFAULT_EXTERNAL_DATA_GUID as GUID
from stsync_dagster_tests.sync_helpers import stamp_duplicates, sync, sync_env


def test_creates_are_concurrent_and_paced_under_the_exact_limit(make_simulator, tmp_path):
    sim = make_simulator(seed=41, counts={"materials": 600}, rate_limit=60)
    sim.set_faults(latency_ms=40)
    report = sync(
        sync_env(sim, tmp_path, ST_CONCURRENCY="8", ST_PAGE_SIZE="5000", ST_BULK_SIZE="0"), entities=["items"]
    )
    stats = sim.stats("int")
    assert report["items"]["created"] > 500
    assert stats["max_in_flight"] >= 2  # creates overlapped: 40 ms each at 55/s needs about 2-3 in flight
    assert stats["rate_limited"] <= 0.01 * stats["requests"]  # the pacer uses the limit without exceeding it
    assert len(sim.records("int", "materials")) == report["items"]["created"]
    # One POST per record, plus one more for each refused with a 429 (never processed, safe to resend).
    assert stats["by_route"]["POST materials"] - stats["rate_limited"] <= report["items"]["created"]
    assert not stamp_duplicates(sim, GUID)


def test_concurrency_one_sends_one_request_at_a_time(make_simulator, tmp_path):
    sim = make_simulator(seed=42, counts={"materials": 60})
    sync(sync_env(sim, tmp_path, ST_CONCURRENCY="1", ST_BULK_SIZE="0"), entities=["items"])
    assert sim.stats("int")["max_in_flight"] == 1


def test_a_no_change_rerun_costs_only_the_list_calls(make_simulator, tmp_path):
    sim = make_simulator(seed=43, counts={"materials": 700})
    env = sync_env(sim, tmp_path, ST_PAGE_SIZE="5000")
    first = sync(env, entities=["items"])
    sim.reset_stats()
    again = sync(env, entities=["items"])
    assert again["items"]["created"] == 0
    routes = {**sim.stats("prod")["by_route"], **{f"int {k}": v for k, v in sim.stats("int")["by_route"].items()}}
    # Every master list once per tenant, the materials window once (one 5000-record page), and the records
    # blocked last time read again by id (the backlog, 50 per call): nothing per record.
    assert routes.get("GET materials") == 1 + -(-first["items"]["blocked"] // 50)
    assert all(key.startswith(("GET ", "int GET ")) and "{id}" not in key for key in routes)
    # In Integration: the master lists; one lookup of 50 sampled mappings before the sync (refresh detection) and
    # one in the crosswalk_integrity check; and when records were blocked last time (they have no mapping and must
    # be proven absent before anything is created) one read of Integration's materials (one 5000-record page).
    assert routes.get("int GET materials") == 2 + (1 if first["items"]["blocked"] else 0), routes
