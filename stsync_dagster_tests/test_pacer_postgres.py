"""The pacer on PostgreSQL: one budget for processes that share nothing but the crosswalk's database."""

from __future__ import annotations

import os
import threading

import psycopg

from stsync_dagster.servicetitan import Pacer, ProductionClient
from stsync_dagster.settings import load_settings
from stsync_dagster_tests.pg import fresh_schema
from stsync_dagster_tests.test_client_pacer import _acquire_times, run_workers


def test_pacers_on_one_database_hand_out_evenly_spaced_slots(tmp_path):
    with fresh_schema() as url:
        # Two Pacer objects with different folders (as on two machines), two threads each.
        a = Pacer(100, key="pg1", database=url, directory=tmp_path / "a")
        b = Pacer(100, key="pg1", database=url, directory=tmp_path / "b")
        assert a.backend == b.backend == "postgresql" and a.shared_across_processes
        times = _acquire_times([a, a, b, b], per_thread=15)
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT key FROM stsync_pacer").fetchall()
        a.close(), b.close()
    assert rows == [("pg1",)]  # one row per tenant key
    assert len(times) == 60
    worst = max(sum(1 for t in times if s <= t < s + 0.1) for s in times)
    assert worst <= 13  # no burst: 10 slots per 100 ms (+ scheduling slack)


def test_the_next_slot_and_a_deferral_carry_between_pacers(tmp_path):
    waited: list[float] = []
    with fresh_schema() as url:
        a = Pacer(2, key="pg2", database=url, sleep=waited.append)  # records its waits instead of sleeping
        a.acquire()  # the first slot is now; the next free one is 0.5 s later, in the table
        b = Pacer(2, key="pg2", database=url)
        assert b.acquire() > 0.3
        b.defer(5.0)  # Retry-After seen by b holds a back too
        a.acquire()
        a.close(), b.close()
    assert len(waited) == 1 and waited[0] > 4.0


def test_processes_starting_at_once_all_create_or_find_the_table():
    with fresh_schema() as url:
        pacers, errors = [], []

        def start() -> None:
            try:
                pacers.append(Pacer(50, key="pg3", database=url))
            except Exception as exc:  # noqa: BLE001 - the test reports any
                errors.append(exc)

        threads = [threading.Thread(target=start) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and all(p.backend == "postgresql" for p in pacers)
        for p in pacers:
            p.close()


def test_an_unreachable_database_falls_back_to_the_machines_file(tmp_path):
    pacer = Pacer(50, key="pg4", database="postgresql://nobody@127.0.0.1:1/none", directory=tmp_path)
    assert pacer.backend == "file" and pacer.path.parent == tmp_path


def test_a_sqlite_crosswalk_keeps_the_file_pacer(tmp_path):
    pacer = Pacer(50, key="pg5", database=str(tmp_path / "stsync.sqlite3"), directory=tmp_path)
    assert pacer.backend == "file"


def test_the_clients_use_the_crosswalk_database(simulator, tmp_path, monkeypatch):
    monkeypatch.setenv("STSYNC_PACER_DIR", str(tmp_path))
    with fresh_schema() as url:
        settings = load_settings({**simulator.env(), "STSYNC_DB": url}, dotenv_path=None)
        with ProductionClient.from_settings(settings) as prod:
            assert prod._transport.pacer.backend == "postgresql"
            prod._transport.pacer.close()


def test_two_processes_with_their_own_folders_share_the_database_budget(make_simulator, tmp_path):
    sim = make_simulator(seed=3, scale=0.1, rate_limit=60)
    with fresh_schema() as url:
        run_workers(
            [
                {
                    **os.environ,
                    **sim.env(),
                    "ST_RATE_LIMIT": "50",
                    "STSYNC_DB": url,
                    "STSYNC_PACER_DIR": str(tmp_path / name),
                    "HOME": str(tmp_path / name),
                }
                for name in ("one", "two")
            ],
            150,
        )
    stats = sim.stats("prod")
    assert stats["by_route"]["GET business-units"] >= 300
    # Apart, two pacers at 50/s would send 100/s to a 60/s API: hundreds of 429s.
    assert stats["rate_limited"] <= 3
