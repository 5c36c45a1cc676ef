"""Benchmark: records synced at the API's speed limit, in the asset and as whole `stsync` processes.

    uv run python -m stsync_dagster_tests.bench [--sizes 1000,5000,20000] [--serial 1000] [--latency-ms 50]
        [--work-scale 4] [--whole 3000] [--three-scale 2] [--skip in-asset,work,whole,three,master]

Starts the simulator as its own process with the real rate limit (60 requests/second per tenant) and added
latency. In the asset: syncs materials (then jobs and POs) with STSync's engine in a child process (so peak
memory is the sync's alone) and prints records/second, ratio to the ceiling (60 creates/second), requests
per second to both tenants and to Integration alone (each tenant has its own 60/s), requests per record, 429s
served, peak RSS; a no-change re-run; the speed-up over concurrency 1. Whole process
(bench_whole.py): `stsync sync items` timed from start to exit, with and without the bulk endpoint; three
`stsync` processes at once on one PostgreSQL crosswalk; the master data in the UI's default run.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stsync_dagster_tests.bench_sim import REPO, SimulatorProcess

CEILING = 60.0
MASTER_OF = {"items": ["vendors"], "jobs": ["customers", "locations", "business_units", "job_types", "campaigns",
                                            "technicians"]}  # fmt: skip
MASTER_OF["pos"] = sorted({*MASTER_OF["items"], *MASTER_OF["jobs"], "po_types", "warehouses"})


def child(concurrency: int, entity: str, before: list[str]) -> None:
    """Runs in its own process: match master data, sync `before` untimed, then `entity` timed; prints JSON."""
    from stsync_dagster.config import load_config
    from stsync_dagster.servicetitan import IntegrationClient, ProductionClient
    from stsync_dagster.settings import load_settings
    from stsync_dagster.sync.crosswalk import Crosswalk
    from stsync_dagster.sync.engine import SyncOptions
    from stsync_dagster.sync.outcome import Outcome
    from stsync_dagster.sync.runner import run_entity, run_master
    from stsync_dagster.sync.window import Window

    settings = load_settings(dotenv_path=None)
    config = load_config(REPO / "stsync.config.json")
    with ProductionClient.from_settings(settings) as prod, IntegrationClient.from_settings(settings) as intc:
        with Crosswalk(settings.db) as crosswalk:
            for kind in MASTER_OF[entity]:
                run_master(kind, prod=prod, intc=intc, crosswalk=crosswalk, config=config, dry_run=False)
            options = SyncOptions(run_id=f"bench-{os.getpid()}", concurrency=concurrency)

            def sync(name: str):
                return run_entity(name, Window(None, None), prod=prod, intc=intc, crosswalk=crosswalk,
                                  config=config, options=options, guid=settings.external_data_guid)  # fmt: skip

            for name in before:
                sync(name)
            prod_before, int_before = prod.stats.snapshot()["requests"], intc.stats.snapshot()["requests"]
            started = time.monotonic()
            report = sync(entity)
            seconds = time.monotonic() - started
            int_sent = intc.stats.snapshot()["requests"] - int_before
            sent = prod.stats.snapshot()["requests"] - prod_before + int_sent
    print(json.dumps({
        "created": report.count(Outcome.CREATED) + report.count(Outcome.UPDATED), "skipped": report.count(Outcome.SKIPPED),
        "updated": report.count(Outcome.UPDATED), "unchanged": report.count(Outcome.UNCHANGED),
        "blocked": report.count(Outcome.BLOCKED), "failed": report.count(Outcome.FAILED),
        "requests": report.requests, "sent": sent, "int_sent": int_sent, "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))  # fmt: skip


def run_child(
    sim: SimulatorProcess, db: Path, concurrency: int, entity: str = "items", before: tuple[str, ...] = ()
) -> dict:
    env = {**os.environ, **sim.env, "STSYNC_DB": str(db), "ST_PAGE_SIZE": "5000",
           "STSYNC_PACER_DIR": str(db.parent / "pacer")}  # fmt: skip
    cmd = [sys.executable, "-m", "stsync_dagster_tests.bench", "--child", str(concurrency), "--entity", entity,
           "--before", ",".join(before)]  # fmt: skip
    out = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _served_row(sim: SimulatorProcess, label: str, result: dict, before: tuple[int, int]) -> dict:
    requests, limited = sim.served()
    return {"run": label, **result, "served": requests - before[0], "429s": limited - before[1]}


def measure(size: int, latency_ms: float, concurrency: int, rerun: bool, workdir: Path) -> list[dict]:
    with SimulatorProcess(latency_ms, materials=size) as sim:
        db = workdir / f"crosswalk-{size}-{concurrency}.sqlite3"
        rows = [_served_row(sim, f"{size} materials, concurrency {concurrency}", run_child(sim, db, concurrency),
                            (0, 0))]  # fmt: skip
        if rerun:
            before = sim.served()
            rows.append(_served_row(sim, f"{size} materials, no-change re-run", run_child(sim, db, concurrency),
                                    before))  # fmt: skip
    return rows


def measure_updates(size: int, changed: int, latency_ms: float, workdir: Path) -> list[dict]:
    """`size` materials copied, then `changed` of them repriced and redescribed in Production: the update run
    (one PATCH each, in bulk where the API has it, plus one read per 50), then a no-change re-run."""
    with SimulatorProcess(latency_ms, materials=size) as sim:
        db = workdir / f"crosswalk-updates-{size}.sqlite3"
        run_child(sim, db, 8)
        prod = sorted(sim.records("prod", "materials"), key=lambda r: r["id"])[:changed]
        sim.change(
            "prod",
            "materials",
            [
                {
                    "id": r["id"],
                    "price": round(r["price"] + 1.25, 2),
                    "description": (r["description"] or "") + " (changed)",
                }
                for r in prod
            ],
        )
        before = sim.served()
        rows = [_served_row(sim, f"{changed} of {size} materials changed", run_child(sim, db, 8), before)]
        before = sim.served()
        rows.append(_served_row(sim, f"{size} materials, no change", run_child(sim, db, 8), before))
    return rows


def measure_work(scale: float, latency_ms: float, workdir: Path) -> list[dict]:
    """Jobs, then POs (their materials and jobs copied first, untimed): single creates, in the asset."""
    rows = []
    for entity, before in (("jobs", ()), ("pos", ("items", "jobs"))):
        with SimulatorProcess(latency_ms, scale=scale) as sim:
            db = workdir / f"crosswalk-{entity}-{scale}.sqlite3"
            result = run_child(sim, db, 8, entity, before)
            requests, limited = sim.served()  # the untimed syncs included: the 429 share of the whole run
            rows.append({"run": f"{entity} at scale {scale:g}, concurrency 8", **result, "served": result["sent"],
                         "429s": limited, "429 base": requests})  # fmt: skip
    return rows


def measure_pacer(requests: int, latency_ms: float, workdir: Path) -> str:
    """The pacer alone at the default rate: 8 threads of cheap GETs, so nothing but the pacer sets the pace."""
    from concurrent.futures import ThreadPoolExecutor

    from stsync_dagster.servicetitan import ProductionClient
    from stsync_dagster.settings import load_settings

    os.environ["STSYNC_PACER_DIR"] = str(workdir / "pacer-alone")
    with SimulatorProcess(latency_ms, scale=0.2) as sim:
        env = {k: v for k, v in sim.env.items() if k != "ST_RATE_LIMIT"}  # the client's default rate
        with (
            ProductionClient.from_settings(load_settings(env, dotenv_path=None)) as prod,
            ThreadPoolExecutor(8) as pool,
        ):
            started = time.monotonic()
            list(pool.map(lambda _: next(prod.iter_pages("/settings/v2/tenant/{tenant}/business-units", page_size=1)),
                          range(requests)))  # fmt: skip
            seconds = time.monotonic() - started
            rate = prod._transport.pacer.rate
        served, limited = sim.served()
    return (
        f"pacer alone at its default {rate:g}/s: {requests} requests from 8 threads, {requests / seconds:.1f}/s "
        f"= {requests / seconds / CEILING:.3f} of 60/s; 429s {limited} of {served} ({100 * limited / served:.2f} %)"
    )


def print_table(rows: list[dict]) -> None:
    head = (f"{'run':<38}{'written':>8}{'blocked':>8}{'seconds':>9}{'rec/s':>8}{'ceiling':>9}{'req/s':>7}"
            f"{'of 60/s':>8}{'int/s':>7}{'of 60/s':>8}{'req/rec':>9}{'int/rec':>8}{'429s':>6}{'429 %':>7}"
            f"{'peak MB':>9}")  # fmt: skip
    print(head)
    for r in rows:
        rate = r["created"] / r["seconds"] if r["seconds"] else 0
        req_rate = r["served"] / r["seconds"] if r["seconds"] else 0
        int_rate = r["int_sent"] / r["seconds"] if r["seconds"] else 0
        per = r["served"] / max(1, r["created"]) if r["created"] else float(r["served"])
        int_per = r["int_sent"] / max(1, r["created"]) if r["created"] else float(r["int_sent"])
        pct = 100 * r["429s"] / max(1, r.get("429 base", r["served"]))
        print(f"{r['run']:<38}{r['created']:>8}{r['blocked']:>8}{r['seconds']:>9.1f}{rate:>8.1f}{rate / CEILING:>9.2f}"
              f"{req_rate:>7.1f}{req_rate / CEILING:>8.2f}{int_rate:>7.1f}{int_rate / CEILING:>8.2f}{per:>9.2f}{int_per:>8.2f}"
              f"{r['429s']:>6}{pct:>7.2f}{r['peak_rss_mb']:>9.1f}")  # fmt: skip
    print(
        "ceiling: records/s over 60; req/s: requests to both tenants; int/s: requests to Integration, whose own "
        "60/s budget the creates (and a job's or PO's status moves) draw from; int/rec: Integration requests per "
        "record written (a job or PO also needs its status moves, a PO on an inactive SKU its SKU made active and "
        "inactive again), so its records/s can reach at most 60/int_rec: int/s over 60 is the share of that reached"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--serial", default="1000", help="sizes also run with concurrency 1 (comma-separated)")
    parser.add_argument("--rerun", type=int, default=5000, help="size whose no-change re-run is measured")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--work-scale", type=float, default=4.0, help="simulator scale of the jobs and POs runs")
    parser.add_argument("--whole", type=int, default=3000, help="materials of the whole-process runs")
    parser.add_argument("--three-scale", type=float, default=2.0, help="simulator scale of the three processes")
    parser.add_argument("--pacer", type=int, default=3000, help="requests of the pacer-alone run")
    parser.add_argument("--changed", type=int, default=1000, help="materials changed in Production for the update run")
    parser.add_argument("--daily-scales", default="1,8", help="two simulator scales of the quiet daily run")
    parser.add_argument(
        "--skip", default="", help="sections to leave out: pacer,in-asset,updates,work,whole,three,master,daily"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--entity", default="items", help=argparse.SUPPRESS)
    parser.add_argument("--before", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.entity, [b for b in args.before.split(",") if b])
        return
    from stsync_dagster_tests import bench_daily, bench_whole

    skip = set(args.skip.split(","))
    sizes = [int(s) for s in args.sizes.split(",") if s] if "in-asset" not in skip else []
    serial = [int(s) for s in args.serial.split(",") if s] if "in-asset" not in skip else []
    rows: list[dict] = []
    whole: list[dict] = []
    days: list[dict] = []
    pacer = ""
    with tempfile.TemporaryDirectory(prefix="stsync-bench-") as tmp:
        if "pacer" not in skip:
            pacer = measure_pacer(args.pacer, args.latency_ms, Path(tmp))
        for size in sizes:
            rows += measure(size, args.latency_ms, 8, size == args.rerun, Path(tmp))
            print(f"measured {size} materials", file=sys.stderr, flush=True)
        for size in serial:
            rows += measure(size, args.latency_ms, 1, False, Path(tmp))
        if "updates" not in skip:
            rows += measure_updates(max(args.changed, 2000), args.changed, args.latency_ms, Path(tmp))
            print("measured the update run", file=sys.stderr, flush=True)
        if "work" not in skip:
            rows += measure_work(args.work_scale, args.latency_ms, Path(tmp))
            print("measured jobs and POs", file=sys.stderr, flush=True)
        if "whole" not in skip:
            whole += bench_whole.whole_items(args.whole, args.latency_ms, Path(tmp))
        if "three" not in skip:
            whole += bench_whole.three_processes(args.three_scale, args.latency_ms, Path(tmp))
        if "master" not in skip:
            whole += bench_whole.master_data_ui_run(args.latency_ms, Path(tmp))
        if "daily" not in skip:
            days = [bench_daily.daily(float(s), args.latency_ms, Path(tmp)) for s in args.daily_scales.split(",")]
    print(f"\nSimulator: rate limit 60 requests/second per tenant, {args.latency_ms:.0f} ms added latency; "
          f"ceiling = {CEILING:.0f} creates/second.\n")  # fmt: skip
    if pacer:
        print(pacer + "\n")
    if rows:
        print("In the asset (the engine's own time):")
        print_table(rows)
    by_run = {r["run"]: r for r in rows}
    for size in serial:
        fast, slow = by_run.get(f"{size} materials, concurrency 8"), by_run[f"{size} materials, concurrency 1"]
        if fast:
            speedup = (fast["created"] / fast["seconds"]) / (slow["created"] / slow["seconds"])
            print(f"speed-up of concurrency 8 over 1 at {size} materials: {speedup:.2f}x")
    if whole:
        print("\nWhole processes (from start to exit):")
        bench_whole.print_table(whole)
    if days:
        print("\nA quiet daily run after a full copy (`stsync sync all`, whole processes):")
        bench_daily.print_table(days)


if __name__ == "__main__":
    main()
