"""Exactly once, whatever fails: a faulty API, SIGKILLs, overlapping runs, a lost crosswalk."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path


from stsync_dagster.settings import DEFAULT_EXTERNAL_DATA_GUID as GUID
from stsync_dagster_tests.sync_helpers import KIND_OF, copied_ids, counts, stamp_duplicates, sync, sync_env

STSYNC = Path(sys.executable).parent / "stsync"


def _copyable(sim, tmp_path) -> dict[str, set[int]]:
    """What a clean run copies: learnt from a fault-free run on a twin simulator (same seed)."""
    from stsync_dagster.simulator import Simulator

    with Simulator(seed=sim.seed, scale=sim.scale).start() as twin:
        sync(sync_env(twin, tmp_path / "twin"))
        return copied_ids(twin, GUID)


def _writes(sim) -> int:
    """Writes (POST, PUT, PATCH) Integration has served so far."""
    return sum(n for route, n in sim.stats("int")["by_route"].items() if route.startswith(("POST", "PUT", "PATCH")))


def _spawn(args, env, cwd):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_"))}
    return subprocess.Popen(
        [str(STSYNC), *args], env={**base, **env}, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_a_faulty_api_makes_no_duplicate_and_one_rerun_finishes_the_copy(make_simulator, tmp_path):
    # The server allows 30 requests/s and the client paces at 75/s (below), so 429s happen whatever the timing.
    sim = make_simulator(seed=21, scale=0.2, token_lifetime=15, rate_limit=30)
    expected = _copyable(sim, tmp_path)
    sim.set_faults(
        error_rate=0.05, html_error_fraction=0.5, drop_post_rate=0.05, slow_rate=0.01, slow_seconds=3, latency_ms=20
    )
    # Single creates (no bulk): the faults meet every create.
    env = sync_env(sim, tmp_path, ST_RATE_LIMIT="75", ST_HTTP_TIMEOUT="2", ST_BULK_SIZE="0")
    first = sync(env)
    stats = sim.stats("int")
    assert stats["dropped_posts"] > 0 and stats["injected_errors"] > 0
    assert sim.stats("prod")["rate_limited"] + stats["rate_limited"] > 0
    assert sum(r["recovered"] for r in first.values()) > 0  # dropped answers found by their stamps
    assert stats["tokens_issued"] >= 2  # the 15-second token was renewed during the run
    assert not stamp_duplicates(sim, GUID)
    runs = 1
    if copied_ids(sim, GUID) != expected:
        second = sync(env)
        runs += 1
        assert all(counts(r)["failed"] == 0 for r in second.values()), [
            g for v in second.values() for g in v["issue_groups"] if g["outcome"] == "failed"
        ]
    assert not stamp_duplicates(sim, GUID)
    assert copied_ids(sim, GUID) == expected
    assert runs <= 2
    _scenario("5xx 5%, dropped POSTs 5%, 15 s tokens, 429s", expected, runs)


def _scenario(name: str, expected: dict[str, set[int]], runs: int) -> None:
    """One line per scenario for the record (pytest -s shows it); the assertions above are what count."""
    print(
        f"\nSCENARIO | {name} | records {sum(len(v) for v in expected.values())} | duplicates 0 | lost 0 | runs {runs}"
    )


def test_sigkill_at_random_moments_loses_nothing_and_duplicates_nothing(make_simulator, tmp_path):
    sim = make_simulator(seed=22, scale=0.2)
    expected = _copyable(sim, tmp_path)
    sim.set_faults(latency_ms=15)
    env = sync_env(sim, tmp_path, ST_BULK_SIZE="0")  # one write per record: the kills land among them
    rng = random.Random(2026)
    killed = 0
    for _ in range(10):
        # Killed once Integration has served a random number of this run's writes (an event, not a time: a
        # faster sync is killed at as many moments), or not at all if it ends first.
        target = _writes(sim) + rng.randint(1, 20)
        proc = _spawn(["sync", "all"], env, tmp_path)
        while proc.poll() is None and _writes(sim) < target:
            time.sleep(0.005)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.communicate(timeout=60)
        assert not stamp_duplicates(sim, GUID)
    assert killed >= 8
    final = _spawn(["sync", "all"], env, tmp_path)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, out + err
    assert not stamp_duplicates(sim, GUID)
    assert copied_ids(sim, GUID) == expected
    _scenario(f"SIGKILL x{killed}, each re-run", expected, 11)


def test_two_syncs_started_at_once_make_no_duplicate(make_simulator, tmp_path):
    sim = make_simulator(seed=23, scale=0.2)
    expected = _copyable(sim, tmp_path)
    env = sync_env(sim, tmp_path)
    days = sorted({r["modifiedOn"][:10] for r in sim.records("prod", "materials")})
    overlapping = [["sync", "all"], ["sync", "all", "--since", days[len(days) // 3]]]
    procs = [_spawn(args, env, tmp_path) for args in overlapping]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, out + err
    assert not stamp_duplicates(sim, GUID)
    final = _spawn(["sync", "all"], env, tmp_path)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, out + err
    assert not stamp_duplicates(sim, GUID)
    assert copied_ids(sim, GUID) == expected
    _scenario("two overlapping syncs at once (2 processes), then one more", expected, 3)


def test_a_lost_crosswalk_is_rebuilt_by_reconcile_and_the_next_sync_creates_nothing(make_simulator, tmp_path):
    sim = make_simulator(seed=24, scale=0.15)
    env = sync_env(sim, tmp_path)
    sync(env)
    before = {k: len(sim.records("int", k)) for k in KIND_OF.values()}
    for suffix in ("", "-wal", "-shm"):
        Path(env["STSYNC_DB"] + suffix).unlink(missing_ok=True)
    done = _spawn(["reconcile"], env, tmp_path)
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, out + err
    assert f"items: 0 already mapped, {before['materials']} adopted by their mark" in out
    assert f"jobs: 0 already mapped, {before['jobs']} adopted by their mark" in out
    assert f"pos: 0 already mapped, {before['purchase-orders']} adopted by their mark" in out
    again = sync(env)
    assert all(counts(r)["created"] == 0 for r in again.values())
    assert {k: len(sim.records("int", k)) for k in KIND_OF.values()} == before
    assert not stamp_duplicates(sim, GUID)
    _scenario("crosswalk deleted, reconcile, sync", copied_ids(sim, GUID), 2)
