"""Whole-process figures for the benchmark: what a user waits for, from the command's start to its exit.

- `stsync sync items` over N materials, with the bulk pricebook endpoint and with it switched off (404);
- three `stsync sync` processes at once (items, jobs, pos), each with its own pacer folder and home, sharing
  only a PostgreSQL crosswalk: the share of 429s among all the requests they sent;
- the nine master-data assets in the UI's default run (multiprocess executor, an on-disk instance).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from stsync_dagster_tests.bench_sim import REPO, SimulatorProcess

CEILING = 60.0
BIN = Path(sys.executable).parent


def _env(sim: SimulatorProcess, folder: Path, **extra: str) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_", "DAGSTER_"))}
    return {**base, **sim.env, "ST_PAGE_SIZE": "5000", "STSYNC_DB": str(folder / "crosswalk.sqlite3"),
            "STSYNC_CONFIG": str(REPO / "stsync.config.json"), "STSYNC_PACER_DIR": str(folder / "pacer"),
            "HOME": str(folder), **extra}  # fmt: skip


def _row_of(stdout: str, entity: str) -> dict[str, float]:
    return json.loads(stdout)["assets"][entity]  # `stsync sync --json`


def _stsync(entity: str, env: dict, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "stsync"), "sync", entity, "--json"], env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def whole_items(size: int, latency_ms: float, workdir: Path) -> list[dict]:
    rows = []
    for label, extra in (("bulk endpoint on", ()), ("bulk endpoint off", ("--no-bulk",))):
        with SimulatorProcess(latency_ms, materials=size, extra=extra) as sim:
            folder = workdir / f"whole-{size}-{len(extra)}"
            started = time.monotonic()
            proc = _stsync("items", _env(sim, folder), folder)
            out, err = proc.communicate(timeout=1800)
            seconds = time.monotonic() - started
            if proc.returncode not in (0, 1):
                raise RuntimeError(f"stsync sync items failed:\n{err[-2000:]}")
            items = _row_of(out, "items")
            served, limited = sim.served()
            rows.append({"run": f"stsync sync items, {size}, {label}", "created": int(items["created"]),
                         "seconds": seconds, "asset_seconds": items["seconds"], "served": served,
                         "429s": limited})  # fmt: skip
        print(f"measured stsync sync items ({label})", file=sys.stderr, flush=True)
    return rows


def three_processes(scale: float, latency_ms: float, workdir: Path) -> list[dict]:
    from stsync_dagster_tests import pg

    reason = pg.unavailable()
    if reason:
        print(f"three processes on PostgreSQL: skipped ({reason})", file=sys.stderr)
        return []
    import psycopg

    schema = f"stsync_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg.base_url(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{pg.base_url()}?options=-csearch_path%3D{schema}"
    try:
        with SimulatorProcess(latency_ms, scale=scale) as sim:
            started = time.monotonic()
            procs = {entity: _stsync(entity, _env(sim, workdir / f"three-{entity}", STSYNC_DB=url),
                                     workdir / f"three-{entity}") for entity in ("items", "jobs", "pos")}  # fmt: skip
            created = 0
            for entity, proc in procs.items():
                out, err = proc.communicate(timeout=1800)
                if proc.returncode not in (0, 1):
                    raise RuntimeError(f"stsync sync {entity} failed:\n{err[-2000:]}")
                created += int(_row_of(out, entity)["created"])
            seconds = time.monotonic() - started
            served, limited = sim.served()
    finally:
        with psycopg.connect(pg.base_url(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    print("measured three processes on PostgreSQL", file=sys.stderr, flush=True)
    return [{"run": "items+jobs+pos at once, PostgreSQL", "created": created, "seconds": seconds,
             "asset_seconds": None, "served": served, "429s": limited}]  # fmt: skip


def master_data_ui_run(latency_ms: float, workdir: Path) -> list[dict]:
    """`dagster asset materialize` runs the default executor (a process per step) on an on-disk instance, as
    the UI's runs do; the run's own duration is read back from that instance."""
    import dagster as dg

    with SimulatorProcess(latency_ms) as sim:
        folder = workdir / "master"
        home = folder / "dagster_home"
        home.mkdir(parents=True)
        env = _env(sim, folder, DAGSTER_HOME=str(home))
        started = time.monotonic()
        done = subprocess.run([str(BIN / "dagster"), "asset", "materialize", "-m", "stsync_dagster.definitions",
                               "--select", "group:master_data"], env=env, cwd=REPO, capture_output=True, text=True)  # fmt: skip
        seconds = time.monotonic() - started
        if done.returncode != 0:
            raise RuntimeError(f"dagster asset materialize failed:\n{done.stderr[-2000:]}")
        served, limited = sim.served()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        (record,) = instance.get_run_records()
        run_seconds = record.end_time - record.start_time
    print("measured the master data's UI run", file=sys.stderr, flush=True)
    return [{"run": "master data, default executor", "created": 0, "seconds": seconds,
             "asset_seconds": run_seconds, "served": served, "429s": limited}]  # fmt: skip


def print_table(rows: list[dict]) -> None:
    print(f"{'run':<42}{'created':>8}{'seconds':>9}{'in run':>8}{'rec/s':>8}{'ceiling':>9}{'requests':>9}"
          f"{'req/rec':>8}{'429s':>6}{'429 %':>7}")  # fmt: skip
    for r in rows:
        rate = r["created"] / r["seconds"] if r["seconds"] else 0
        inner = f"{r['asset_seconds']:>8.1f}" if r["asset_seconds"] is not None else f"{'':>8}"
        per = f"{r['served'] / r['created']:>8.3f}" if r["created"] else f"{'':>8}"
        pct = 100 * r["429s"] / max(1, r["served"])
        print(f"{r['run']:<42}{r['created']:>8}{r['seconds']:>9.1f}{inner}{rate:>8.1f}{rate / CEILING:>9.2f}"
              f"{r['served']:>9}{per}{r['429s']:>6}{pct:>7.2f}")  # fmt: skip
    print("seconds: the whole command; in run: the items asset's own seconds, or the master-data run's duration")
