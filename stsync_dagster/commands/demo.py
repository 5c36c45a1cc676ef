"""`stsync demo`: start the simulator, sync everything into it twice (the second run must create nothing) and
print the reports."""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path

from stsync_dagster.commands.exit_codes import EXIT_FAILED_RECORDS
from stsync_dagster.commands.preflight import preflight
from stsync_dagster.commands.progress import watched
from stsync_dagster.commands.report import finish, materialized, step_errors
from stsync_dagster.commands.sync import materialize_sync
from stsync_dagster.config import SYNC_ENTITIES
from stsync_dagster.errors import ConfigError
from stsync_dagster.settings import load_settings

DEMO_MAX_SCALE = 100.0


def cmd_demo(args: argparse.Namespace) -> int:
    from stsync_dagster.simulator import Simulator

    if not (math.isfinite(args.scale) and 0 < args.scale <= DEMO_MAX_SCALE):
        raise ConfigError(f"--scale must be a number between 0 (excluded) and {DEMO_MAX_SCALE:g} (got {args.scale!r})")
    workdir = Path(tempfile.mkdtemp(prefix="stsync-demo-"))
    with Simulator(seed=args.seed, scale=args.scale).start() as sim:
        os.environ.update(sim.env())
        os.environ["STSYNC_DB"] = str(workdir / "crosswalk.sqlite3")
        os.environ.setdefault("STSYNC_CONFIG", str(Path(__file__).resolve().parents[2] / "stsync.config.json"))
        # The simulator's block plus this environment's other settings (ST_CONCURRENCY…): checked before any request.
        preflight(load_settings(dotenv_path=None), write=True)
        print(f"Simulator serving Production and Integration at {sim.url} (seed {args.seed}, scale {args.scale})")
        print(f"Crosswalk: {os.environ['STSYNC_DB']}\n")
        since = args.since or min(
            r["modifiedOn"][:10] for kind in ("materials", "purchase-orders", "jobs") for r in sim.records("prod", kind)
        )
        print(f"stsync sync all --since {since}")
        result = watched(lambda: materialize_sync(list(SYNC_ENTITIES), since=since, limit=0, dry_run=False,
                                                   verbose=args.verbose))  # fmt: skip
        finish("sync", materialized(result, list(SYNC_ENTITIES)), step_errors(result), args)
        print(
            "\nThe blocked records are expected: the simulator's Integration tenant lacks a vendor, a customer, a job"
            "\ntype and a technician on purpose, and has one campaign name twice (STSync does not guess)."
        )
        print("\nIntegration now holds:")
        for kind in ("materials", "purchase-orders", "jobs"):
            print(f"  {kind:<16} {len(sim.records('int', kind)):>6}   (Production: {len(sim.records('prod', kind))})")
        print("\nRunning the same sync again (it must create nothing):")
        again = watched(lambda: materialize_sync(list(SYNC_ENTITIES), since=since, limit=0, dry_run=False))
        finish("sync", materialized(again, list(SYNC_ENTITIES)), step_errors(again), args, details=False)
    return 0 if result.success else EXIT_FAILED_RECORDS
