"""What a quiet daily run costs, at two tenant sizes: `stsync sync all` copies everything once, then a daily run
of a day in which nothing changed (`--since` today, after the data) reads the window and the backlog that is due. A run
should pay for what could have changed: the records left behind (blocked, failed) wait for what heals them
instead of being read and sent again every night, so the large tenant's daily run costs about what the small
one's does."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from stsync_dagster_tests.bench_sim import SimulatorProcess
from stsync_dagster_tests.bench_whole import BIN, _env

# A window no record is in (the simulator's data ends yesterday; a later day is refused): only what the backlog finds
# due is read.
QUIET_DAY = datetime.now(timezone.utc).date().isoformat()
LEFT_BEHIND = ("blocked", "failed", "deferred")


def _sync_all(env: dict, folder: Path, *args: str) -> tuple[dict, float]:
    started = time.monotonic()
    done = subprocess.run([str(BIN / "stsync"), "sync", "all", "--json", *args], env=env, cwd=folder,
                          capture_output=True, text=True, timeout=3600)  # fmt: skip
    if done.returncode not in (0, 1):
        raise RuntimeError(f"stsync sync all failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)["assets"], time.monotonic() - started


def daily(scale: float, latency_ms: float, workdir: Path) -> dict:
    with SimulatorProcess(latency_ms, scale=scale) as sim:
        folder = workdir / f"daily-{scale}"
        env = _env(sim, folder)
        full, full_seconds = _sync_all(env, folder)
        records = sum(int(a["created"]) + int(a["adopted"]) + sum(int(a[k]) for k in LEFT_BEHIND)
                      for a in full.values() if a)  # fmt: skip
        left = sum(int(a[k]) for a in full.values() if a for k in LEFT_BEHIND)
        before = sim.served()[0]
        quiet, seconds = _sync_all(env, folder, "--since", QUIET_DAY)
        requests = sim.served()[0] - before
        retried = sum(int(a[k]) for a in quiet.values() if a for k in LEFT_BEHIND)
    print(f"measured the daily run at scale {scale}", file=sys.stderr, flush=True)
    return {"scale": scale, "records": records, "left": left, "full_seconds": full_seconds,
            "requests": requests, "seconds": seconds, "retried": retried}  # fmt: skip


def print_table(rows: list[dict]) -> None:
    print(f"{'scale':>6}{'records':>9}{'left behind':>13}{'share':>8}{'full copy s':>13}"
          f"{'quiet run: requests':>21}{'seconds':>9}{'read again':>12}")  # fmt: skip
    for r in rows:
        share = r["left"] / max(1, r["records"])
        print(f"{r['scale']:>6}{r['records']:>9}{r['left']:>13}{share:>8.3f}{r['full_seconds']:>13.1f}"
              f"{r['requests']:>21}{r['seconds']:>9.1f}{r['retried']:>12}")  # fmt: skip
    if len(rows) == 2:
        small, large = rows
        print(f"the larger tenant's quiet run: x{large['requests'] / max(1, small['requests']):.2f} the requests, "
              f"x{large['seconds'] / max(0.001, small['seconds']):.2f} the seconds of the smaller one's")  # fmt: skip
