"""Benchmark: materials synced at the API's speed limit.

    uv run python -m stsync_dagster_tests.bench [--sizes 1000,5000,20000] [--serial 1000] [--latency-ms 50]

Starts the simulator as its own process with the real rate limit (60 requests/second per tenant) and added
latency, syncs its materials with STSync's engine in a child process (so peak memory is the sync's alone),
and prints per size: records/second, ratio to the ceiling (60 creates/second), requests per record, 429s
served, peak RSS; then a no-change re-run, and the same sync with concurrency 1 for the speed-up.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CEILING = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SimulatorProcess:
    def __init__(self, materials: int, latency_ms: float):
        self.port = _free_port()
        cmd = [sys.executable, "-m", "stsync_dagster.simulator", "--port", str(self.port), "--materials",
               str(materials), "--latency-ms", str(latency_ms), "--rate-limit", "60"]  # fmt: skip
        printed = subprocess.run([*cmd, "--print-env-only"], capture_output=True, text=True, check=True, cwd=REPO)
        self.env = dict(line.split("=", 1) for line in printed.stdout.splitlines() if "=" in line)
        self.proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL, cwd=REPO)
        deadline = time.monotonic() + 120
        while True:
            try:
                self.stats("int")
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the simulator did not start") from None
                time.sleep(0.2)

    def stats(self, env: str) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_sim/stats/{env}") as answer:
            return json.load(answer)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def child(concurrency: int) -> None:
    """Runs in its own process: match vendors, sync every material, print the figures as JSON."""
    from stsync_dagster.config import load_config
    from stsync_dagster.servicetitan import IntegrationClient, ProductionClient, load_settings
    from stsync_dagster.sync.crosswalk import Crosswalk
    from stsync_dagster.sync.engine import SyncOptions
    from stsync_dagster.sync.outcome import Outcome
    from stsync_dagster.sync.runner import run_entity, run_master
    from stsync_dagster.sync.window import Window

    settings = load_settings(dotenv_path=None)
    config = load_config(REPO / "stsync.config.json")
    with ProductionClient.from_settings(settings) as prod, IntegrationClient.from_settings(settings) as intc:
        with Crosswalk(settings.db) as crosswalk:
            run_master("vendors", prod=prod, intc=intc, crosswalk=crosswalk, config=config, dry_run=False)
            options = SyncOptions(run_id=f"bench-{os.getpid()}", concurrency=concurrency)
            started = time.monotonic()
            report = run_entity("items", Window(None, None), prod=prod, intc=intc, crosswalk=crosswalk,
                                config=config, options=options, guid=settings.external_data_guid)  # fmt: skip
            seconds = time.monotonic() - started
    print(json.dumps({
        "created": report.count(Outcome.CREATED), "skipped": report.count(Outcome.SKIPPED),
        "blocked": report.count(Outcome.BLOCKED), "failed": report.count(Outcome.FAILED),
        "requests": report.requests, "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))  # fmt: skip


def run_child(sim: SimulatorProcess, db: Path, concurrency: int) -> dict:
    env = {**os.environ, **sim.env, "STSYNC_DB": str(db), "ST_PAGE_SIZE": "5000",
           "STSYNC_PACER_DIR": str(db.parent / "pacer")}  # fmt: skip
    out = subprocess.run([sys.executable, "-m", "stsync_dagster_tests.bench", "--child", str(concurrency)],
                         env=env, cwd=REPO, capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(size: int, latency_ms: float, concurrency: int, rerun: bool, workdir: Path) -> list[dict]:
    sim = SimulatorProcess(size, latency_ms)
    rows = []
    try:
        db = workdir / f"crosswalk-{size}-{concurrency}.sqlite3"
        result = run_child(sim, db, concurrency)
        int_stats, prod_stats = sim.stats("int"), sim.stats("prod")
        served = int_stats["requests"] + prod_stats["requests"]
        rows.append({"run": f"{size} materials, concurrency {concurrency}", **result,
                     "served": served, "429s": int_stats["rate_limited"] + prod_stats["rate_limited"]})  # fmt: skip
        if rerun:
            before = sim.stats("int")["requests"] + sim.stats("prod")["requests"]
            again = run_child(sim, db, concurrency)
            after = sim.stats("int")["requests"] + sim.stats("prod")["requests"]
            rows.append({"run": f"{size} materials, no-change re-run", **again, "served": after - before,
                         "429s": sim.stats("int")["rate_limited"] + sim.stats("prod")["rate_limited"] - rows[0]["429s"]})  # fmt: skip
    finally:
        sim.stop()
    return rows


def print_table(rows: list[dict]) -> None:
    head = f"{'run':<38}{'created':>8}{'blocked':>8}{'seconds':>9}{'rec/s':>8}{'ceiling':>9}{'req/rec':>9}{'429s':>6}{'429 %':>7}{'peak MB':>9}"
    print(head)
    for r in rows:
        rate = r["created"] / r["seconds"] if r["seconds"] else 0
        per = r["served"] / max(1, r["created"]) if r["created"] else float(r["served"])
        pct = 100 * r["429s"] / max(1, r["served"])
        print(f"{r['run']:<38}{r['created']:>8}{r['blocked']:>8}{r['seconds']:>9.1f}{rate:>8.1f}{rate / CEILING:>9.2f}"
              f"{per:>9.2f}{r['429s']:>6}{pct:>7.2f}{r['peak_rss_mb']:>9.1f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--serial", default="1000", help="sizes also run with concurrency 1 (comma-separated)")
    parser.add_argument("--rerun", type=int, default=5000, help="size whose no-change re-run is measured")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    serial = [int(s) for s in args.serial.split(",") if s]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="stsync-bench-") as tmp:
        for size in sizes:
            rows += measure(size, args.latency_ms, 8, size == args.rerun, Path(tmp))
            print(f"measured {size} materials", file=sys.stderr, flush=True)
        for size in serial:
            rows += measure(size, args.latency_ms, 1, False, Path(tmp))
    print(f"\nSimulator: rate limit 60 requests/second per tenant, {args.latency_ms:.0f} ms added latency; "
          f"ceiling = {CEILING:.0f} creates/second.\n")  # fmt: skip
    print_table(rows)
    by_run = {r["run"]: r for r in rows}
    for size in serial:
        fast, slow = by_run.get(f"{size} materials, concurrency 8"), by_run[f"{size} materials, concurrency 1"]
        if fast:
            speedup = (fast["created"] / fast["seconds"]) / (slow["created"] / slow["seconds"])
            print(f"speed-up of concurrency 8 over 1 at {size} materials: {speedup:.2f}x")


if __name__ == "__main__":
    main()
