"""`stsync demo`: start the simulator, sync everything into it twice (the second run must create nothing) and
print the reports."""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
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
from stsync_dagster.sync.window import parse_since

DEMO_MAX_SCALE = 100.0
EXIT_INTERRUPTED = 130  # as a shell says of a command ended by Ctrl-C
INTERRUPTED = "DagsterExecutionInterruptedError"  # a step's error when Ctrl-C ended it


def cmd_demo(args: argparse.Namespace) -> int:
    if not (math.isfinite(args.scale) and 0 < args.scale <= DEMO_MAX_SCALE):
        raise ConfigError(f"--scale must be a number between 0 (excluded) and {DEMO_MAX_SCALE:g} (got {args.scale!r})")
    if args.since:
        parse_since(args.since, "--since")
    workdir = Path(tempfile.mkdtemp(prefix="stsync-demo-"))
    try:
        return _demo(args, workdir)
    except KeyboardInterrupt:
        print("\nstsync demo: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:  # the crosswalk of a demo is of no use once its simulator is gone
        shutil.rmtree(workdir, ignore_errors=True)


def _sync_all(since: str, verbose: bool):
    """`stsync sync all --since SINCE`; Ctrl-C stops the demo (Dagster ends the run's step with an error of its
    own and returns: the demo would go on to its second sync)."""
    result = watched(lambda: materialize_sync(list(SYNC_ENTITIES), since=since, limit=0, dry_run=False,
                                              verbose=verbose))  # fmt: skip
    if any(e.is_step_failure and e.step_failure_data.error.cls_name == INTERRUPTED for e in result.all_events):
        raise KeyboardInterrupt
    return result


def _demo(args: argparse.Namespace, workdir: Path) -> int:
    from stsync_dagster.simulator import Simulator

    with Simulator(seed=args.seed, scale=args.scale).start() as sim:
        os.environ.update(sim.env())
        os.environ["STSYNC_DB"] = str(workdir / "crosswalk.sqlite3")
        os.environ.setdefault("STSYNC_CONFIG", str(Path(__file__).resolve().parents[2] / "stsync.config.json"))
        # The simulator's block plus this environment's other settings (ST_CONCURRENCY…): checked before any request.
        preflight(load_settings(dotenv_path=None), write=True)
        print(f"Simulator serving Production and Integration at {sim.url} (seed {args.seed}, scale {args.scale})")
        print(f"Crosswalk: {os.environ['STSYNC_DB']} (removed when the demo ends)\n")
        since = args.since or min(
            r["modifiedOn"][:10] for kind in ("materials", "purchase-orders", "jobs") for r in sim.records("prod", kind)
        )
        print(f"stsync sync all --since {since}")
        result = _sync_all(since, args.verbose)
        finish("sync", materialized(result, list(SYNC_ENTITIES)), step_errors(result), args)
        print(
            "\nThe blocked records are expected: the simulator's Integration tenant lacks a vendor, a customer, a job"
            "\ntype and a technician on purpose, and has one campaign name twice (STSync does not guess)."
        )
        print("\nIntegration now holds:")
        for kind in ("materials", "purchase-orders", "jobs"):
            print(f"  {kind:<16} {len(sim.records('int', kind)):>6}   (Production: {len(sim.records('prod', kind))})")
        print("\nRunning the same sync again (it must create nothing):")
        again = _sync_all(since, False)
        finish("sync", materialized(again, list(SYNC_ENTITIES)), step_errors(again), args, details=False)
    return 0 if result.success else EXIT_FAILED_RECORDS
