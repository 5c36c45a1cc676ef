"""`stsync undo RUN_ID`: take back what one run wrote to Integration, as far as the API allows (stsync_dagster.sync.undo),
and show per record what was done, what could not be and why. `--dry-run` shows the plan and writes nothing."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

from rich.table import Table

from stsync_dagster import terminal
from stsync_dagster.commands.exit_codes import EXIT_FAILED_RECORDS
from stsync_dagster.commands.preflight import preflight
from stsync_dagster.errors import ConfigError
from stsync_dagster.servicetitan import IntegrationClient
from stsync_dagster.settings import load_settings
from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster.sync.crosswalk import setting as database
from stsync_dagster.sync.undo import Result, UndoReport, undo


def undo_table(report: UndoReport) -> Table:
    verb = "would do" if report.dry_run else "done"
    table = Table(title=f"Undo of run {report.run_id}, newest first per kind", title_justify="left")
    for name in ("kind", "Production id", "Integration id", "the run", "step", "result", "why / not taken back"):
        table.add_column(name, overflow="fold")
    for item in report.items:
        result = verb if item.result is Result.PLANNED else item.result.value.replace("_", " ")
        table.add_row(
            item.kind, str(item.prod_id), str(item.int_id or ""), ", ".join(item.wrote), item.what(), result, item.why()
        )
    return table


def cmd_undo(args: argparse.Namespace) -> int:
    settings = load_settings(dotenv_path=".env")
    config, shown = preflight(settings, write=False)  # the guard, the config file, the crosswalk (not created)
    if "://" not in settings.db and not Path(settings.db).expanduser().is_file():
        raise ConfigError(f"{database.ENV_VAR} ({shown}): no crosswalk there: nothing was synced with it yet",
                          variables=[database.ENV_VAR])  # fmt: skip
    with IntegrationClient.from_settings(settings) as intc, Crosswalk(settings.db) as crosswalk:
        report = undo(
            crosswalk, intc, config, settings.external_data_guid, args.run_id,
            undo_run_id=f"undo-{uuid.uuid4().hex[:12]}", dry_run=args.dry_run, force=args.force,
        )  # fmt: skip
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        out = terminal.console(sys.stdout)
        if report.items:
            out.print(undo_table(report))
        out.print(report.summary() + (" (dry run: nothing written)" if args.dry_run else ""), markup=False)
        if any(item.result is Result.CONFLICT for item in report.items):
            out.print("Records edited since the run were left alone: --force takes them back all the same.")
    return EXIT_FAILED_RECORDS if report.unfinished() else 0
