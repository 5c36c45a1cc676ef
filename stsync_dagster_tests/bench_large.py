"""A large tenant, as real ones are: Production at a given scale (110 ≈ 100,000 materials, equipment, POs, jobs
and customers), Integration refreshed from it two days before the data ends, the crosswalk built by
`stsync reconcile` (at full speed: no rate limit, no latency). Then, at the API's pace, `stsync sync all` (a full sync: it reads everything and creates the two days the
refresh missed): its seconds and peak memory. Then a day with 50 changes and 20 new records in Production
and the daily run over it (`--since` that day): requests, seconds, peak memory. The same at the default scale,
to compare: the daily run should cost what the day changed, not what the tenant holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from stsync_dagster.simulator.constants import default_until
from stsync_dagster_tests.bench_sim import SimulatorProcess
from stsync_dagster_tests.bench_whole import BIN, _env

CHANGES = {"materials": 25, "jobs": 15, "purchase-orders": 10}  # 50 records edited in Production
NEW = {"materials": 8, "jobs": 6, "purchase-orders": 6}  # 20 records created in Production


def _measured(args: list[str], env: dict, cwd: Path, profile: str | None = None) -> tuple[dict | None, float, float]:
    """(the command's --json answer if it gives one, seconds, peak resident MB of its process); `profile`: a
    file to write the command's cProfile to."""
    import threading

    started = time.monotonic()
    command = [str(BIN / "stsync"), *args]
    if profile:
        command = [sys.executable, "-m", "cProfile", "-o", profile, *command]
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    streams: dict[str, str] = {}
    readers = [threading.Thread(target=lambda n=n, s=s: streams.__setitem__(n, s.read()))
               for n, s in (("out", proc.stdout), ("err", proc.stderr))]  # fmt: skip
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(proc.pid, 0)  # this process's own peak, not its siblings'
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    seconds = time.monotonic() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"stsync {' '.join(args)} failed ({proc.returncode}):\n{streams['err'][-3000:]}")
    answer = json.loads(streams["out"]) if "--json" in args else None
    return answer, seconds, usage.ru_maxrss / 1024


def _a_day_in_production(sim: SimulatorProcess) -> None:
    """50 records edited and 20 created, today (the simulator's clock), as people at work would."""
    for kind, n in CHANGES.items():
        records = sim.records("prod", kind)[:n]
        if kind == "materials":
            edits = [{"id": r["id"], "price": round(float(r.get("price") or 0) + 1.25, 2)} for r in records]
        else:
            edits = [{"id": r["id"], "summary": f"{r.get('summary') or ''} (edited today)".strip()} for r in records]
        sim.change("prod", kind, edits)
    for kind, n in NEW.items():
        hidden = ("id", "createdOn", "modifiedOn", "externalData")
        made = []
        for i, record in enumerate(sim.records("prod", kind)[-n:]):
            new = {k: v for k, v in record.items() if k not in hidden and not k.startswith("_")}
            if kind == "materials":
                new["code"] = f"{record['code']}-N{i}"
            elif kind == "jobs":
                new["jobNumber"] = f"{record['jobNumber']}-N{i}"
            else:
                new["number"] = f"{record['number']}-N{i}"
            made.append(new)
        sim.add("prod", kind, made)


def large(scale: float, latency_ms: float, workdir: Path, profile: str | None = None) -> dict:
    until = default_until()
    as_of = until - timedelta(days=2)
    extra = ("--refreshed-at", as_of.isoformat().replace("+00:00", "Z"))
    with SimulatorProcess(latency_ms, scale=scale, extra=extra) as sim:
        records = sum(len(sim.records("prod", k)) for k in ("materials", "equipment", "purchase-orders", "jobs",
                                                          "customers"))  # fmt: skip
        folder = workdir / f"large-{scale}"
        env = _env(sim, folder)
        # Built fast (no limit, no latency: stamping every adopted record is a request each), measured at pace.
        sim.pace(0, 0)
        _, reconcile_seconds, reconcile_mb = _measured(["reconcile", "all"], {**env, "ST_RATE_LIMIT": "1000"}, folder)
        sim.pace(60, latency_ms)
        before = sim.served()[0]
        full, full_seconds, full_mb = _measured(["sync", "all", "--json"], env, folder)
        full_requests = sim.served()[0] - before
        today = datetime.now(timezone.utc).date().isoformat()
        _a_day_in_production(sim)
        before = sim.served()[0]
        day, day_seconds, day_mb = _measured(
            ["sync", "all", "--since", today, "--json"], env, folder, f"{profile}-{scale}.prof" if profile else None
        )
        day_requests = sim.served()[0] - before
    print(f"measured the large-tenant runs at scale {scale}: reconcile {reconcile_seconds:.0f} s, full sync "
          f"{full_seconds:.0f} s {full_mb:.0f} MB, daily {day_requests} requests {day_seconds:.1f} s {day_mb:.0f} MB",
          file=sys.stderr, flush=True)  # fmt: skip
    counts = {k: sum(int((a or {}).get(k, 0)) for a in day["assets"].values())
              for k in ("created", "updated", "blocked", "failed", "deferred")}  # fmt: skip
    return {"scale": scale, "records": records, "reconcile_s": reconcile_seconds, "reconcile_mb": reconcile_mb,
            "full_s": full_seconds, "full_requests": full_requests, "full_mb": full_mb,
            "full_created": sum(int((a or {}).get("created", 0)) for a in full["assets"].values()),
            "day_requests": day_requests, "day_s": day_seconds, "day_mb": day_mb, **{f"day_{k}": v for k, v in
            counts.items()}}  # fmt: skip


def print_table(rows: list[dict]) -> None:
    print(f"{'scale':>6}{'records':>9}{'reconcile s':>12}{'full sync s':>12}{'requests':>9}{'created':>8}"
          f"{'peak MB':>8}{'daily: requests':>16}{'seconds':>8}{'peak MB':>8}{'created':>8}{'updated':>8}{'left':>6}")  # fmt: skip
    for r in rows:
        print(f"{r['scale']:>6}{r['records']:>9}{r['reconcile_s']:>12.1f}{r['full_s']:>12.1f}{r['full_requests']:>9}"
              f"{r['full_created']:>8}{r['full_mb']:>8.0f}{r['day_requests']:>16}{r['day_s']:>8.1f}{r['day_mb']:>8.0f}"
              f"{r['day_created']:>8}{r['day_updated']:>8}"
              f"{r['day_blocked'] + r['day_failed'] + r['day_deferred']:>6}")  # fmt: skip
    print("peak MB: the measured command's own peak resident size (wait4's ru_maxrss)")
    if len(rows) == 2:
        small, big = rows
        print(f"the large tenant's daily run: x{big['day_requests'] / max(1, small['day_requests']):.2f} the requests, "
              f"x{big['day_s'] / max(0.001, small['day_s']):.2f} the seconds of the default scale's")  # fmt: skip


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="1,110")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--profile-daily", help="write the daily runs' cProfile to PREFIX-SCALE.prof")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stsync-large-") as tmp:
        rows = [large(float(s), args.latency_ms, Path(tmp), args.profile_daily) for s in args.scales.split(",")]
    print_table(rows)
