"""The per-tenant pacer: evenly spaced slots shared by threads, client objects and processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from stsync_dagster.servicetitan import Pacer, ProductionClient, shared_pacer
from stsync_dagster.settings import load_settings
from stsync_dagster.servicetitan.pacer import default_pacer_dir


def _acquire_times(pacers: list[Pacer], per_thread: int) -> list[float]:
    times: list[float] = []
    lock = threading.Lock()

    def run(p: Pacer) -> None:
        for _ in range(per_thread):
            p.acquire()
            with lock:
                times.append(time.monotonic())

    threads = [threading.Thread(target=run, args=(p,)) for p in pacers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(times)


def test_threads_sharing_a_file_pacer_are_evenly_spaced(tmp_path):
    # Two Pacer objects on one file (as two processes would have) and two threads on each.
    a = Pacer(100, key="t1", directory=tmp_path)
    b = Pacer(100, key="t1", directory=tmp_path)
    assert a.shared_across_processes and a.path == b.path
    times = _acquire_times([a, a, b, b], per_thread=15)
    assert len(times) == 60
    span = times[-1] - times[0]
    assert span >= 59 * 0.01 * 0.9  # 60 slots 10 ms apart
    # No burst: any 100 ms window holds at most ~10 slots (+ scheduling slack).
    worst = max(sum(1 for t in times if s <= t < s + 0.1) for s in times)
    assert worst <= 13


def test_the_file_carries_the_next_slot_between_objects(tmp_path):
    a = Pacer(2, key="t2", directory=tmp_path)
    a.acquire()  # takes now; the next free slot is 0.5 s later
    b = Pacer(2, key="t2", directory=tmp_path)
    waited = b.acquire()
    assert waited > 0.3


def test_falls_back_to_in_process_pacing_when_the_file_is_unusable(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    p = Pacer(50, key="t3", directory=blocker)
    assert not p.shared_across_processes
    start = time.monotonic()
    for _ in range(11):
        p.acquire()
    assert time.monotonic() - start >= 10 * 0.02 * 0.9


def test_defer_holds_every_caller_back(tmp_path):
    p = Pacer(1000, key="t4", directory=tmp_path)
    p.acquire()
    p.defer(0.3)
    assert p.acquire() > 0.2


def test_registry_shares_one_pacer_per_tenant(tmp_path, monkeypatch):
    monkeypatch.setenv("STSYNC_PACER_DIR", str(tmp_path))
    one = shared_pacer("int", 1, "app-key-1", 50)
    assert shared_pacer("INT", 1, "app-key-1", 50) is one
    assert shared_pacer("int", 2, "app-key-1", 50) is not one
    assert shared_pacer("prod", 1, "app-key-1", 50) is not one
    assert shared_pacer("int", 1, "app-key-2", 50) is not one
    assert shared_pacer("int", 1, "app-key-1", 20) is one and one.rate == 20  # the lowest rate wins
    assert "app-key-1" not in str(one.path) and one.path.parent == tmp_path


def test_the_key_is_the_tenant_not_the_spelling_of_the_url(simulator, tmp_path, monkeypatch):
    monkeypatch.setenv("STSYNC_PACER_DIR", str(tmp_path))
    settings = load_settings(simulator.env(), dotenv_path=None)
    alias = settings.prod.model_copy(update={"api_base": settings.prod.api_base.replace("127.0.0.1", "localhost")})
    with ProductionClient(settings.prod) as a, ProductionClient(alias) as b:
        assert a._transport.pacer is b._transport.pacer
        assert b._transport.pacer.path.parent == tmp_path


def test_the_default_folder_is_shared_by_every_user(tmp_path, monkeypatch):
    monkeypatch.delenv("STSYNC_PACER_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the system's temporary folder, for this test
    assert default_pacer_dir() == tmp_path / "stsync-pacer"
    pacer = Pacer(10, key="t5")
    assert pacer.backend == "file" and pacer.path.parent == tmp_path / "stsync-pacer"
    assert stat.S_IMODE(pacer.path.parent.stat().st_mode) == 0o1777  # like /tmp
    assert stat.S_IMODE(pacer.path.stat().st_mode) == 0o666  # whatever the umask


def test_rate_must_be_positive(tmp_path):
    with pytest.raises(ValueError):
        Pacer(0, directory=tmp_path)


# Each worker sends from 4 threads, so that its own pacer, not the round trip, sets its pace.
_WORKER = """
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from stsync_dagster.servicetitan import ProductionClient
from stsync_dagster.settings import load_settings
start_at, n = float(sys.argv[1]), int(sys.argv[2])
with ProductionClient.from_settings(load_settings(dotenv_path=None)) as client:
    time.sleep(max(0.0, start_at - time.time()))
    first = time.time()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: next(client.iter_pages("/settings/v2/tenant/{tenant}/business-units",
                                                       page_size=1)), range(n)))
    print(json.dumps({"first": first, "last": time.time(), "stats": client.stats.snapshot()}))
"""


def run_workers(envs: list[dict], requests_each: int) -> list[dict]:
    """One _WORKER process per environment, all starting together; their JSON reports."""
    start_at = time.time() + 3.0  # after their imports
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(start_at), str(requests_each)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for env in envs
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    a, b = results[:2]
    assert a["first"] < b["last"] and b["first"] < a["last"]  # they did run at the same time
    return results


def test_two_processes_together_stay_under_the_rate(make_simulator, tmp_path):
    sim = make_simulator(seed=3, scale=0.1, rate_limit=60)
    env = {**os.environ, **sim.env(), "ST_RATE_LIMIT": "50", "STSYNC_PACER_DIR": str(tmp_path / "shared")}
    results = run_workers([env, env], 150)
    stats = sim.stats("prod")
    assert stats["by_route"]["GET business-units"] >= 300
    assert stats["rate_limited"] <= 3  # the two processes shared one budget of 50/s
    span = max(r["last"] for r in results) - min(r["first"] for r in results)
    assert span >= 5.5  # 300 requests at 50/s: about 6 s; two unshared pacers would take about 3 s
