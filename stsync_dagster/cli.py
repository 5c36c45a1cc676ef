"""The `stsync` command: verify, sync, copy, history, reconcile, demo. `sync` materializes the same Dagster
assets as the UI; `copy` runs the `copy_records` job. This module parses the command line, masks the secrets in
what is printed and runs the subcommand; each subcommand is a module of stsync_dagster.commands, and what it shows
is drawn by stsync_dagster.terminal."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import traceback
from pathlib import Path

from dotenv import dotenv_values

from stsync_dagster import terminal
from stsync_dagster.commands.demo import DEMO_MAX_SCALE, cmd_demo
from stsync_dagster.commands.diff import cmd_diff
from stsync_dagster.commands.exit_codes import EXIT_CONFIG, EXIT_FAILED_RECORDS
from stsync_dagster.commands.history import cmd_history
from stsync_dagster.commands.progress import stderr_console
from stsync_dagster.commands.reconcile import cmd_reconcile
from stsync_dagster.commands.report import finish, materialized, show_report, step_errors
from stsync_dagster.commands.sync import cmd_copy, cmd_sync, materialize_sync
from stsync_dagster.commands.undo import cmd_undo
from stsync_dagster.commands.verify import cmd_verify
from stsync_dagster.config import SYNC_ENTITIES
from stsync_dagster.servicetitan import SettingsError
from stsync_dagster.servicetitan.redact import RedactingStream, Redactor, url_secrets

__all__ = [  # the names this module had before the subcommands moved to stsync_dagster.commands
    "DEMO_MAX_SCALE",
    "EXIT_CONFIG",
    "EXIT_FAILED_RECORDS",
    "build_parser",
    "cmd_copy",
    "cmd_demo",
    "cmd_history",
    "cmd_reconcile",
    "cmd_sync",
    "cmd_verify",
    "finish",
    "main",
    "materialize_sync",
    "materialized",
    "show_report",
    "step_errors",
]


def add_selection_flags(command: argparse.ArgumentParser) -> None:
    """The selection (docs/selection.md): the same keys as `select` in stsync.config.json and the run config."""
    command.add_argument("--where", action="append", metavar="KEY=VALUE",
                         help='a filter (repeatable): jobType="Water Heater Install", jobStatus=Completed; a key '
                         "given twice takes either value")  # fmt: skip
    command.add_argument("--sample-per", metavar="FIELDS:N", help="N records per combination: jobTypeId,jobStatus:5")
    command.add_argument("--sample", type=int, metavar="N", help="N records of the window (a sample by id hash)")
    command.add_argument("--sample-share", type=float, metavar="F", help="a share of the records, 0 < F <= 1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stsync", description="Copy ServiceTitan data from Production to Integration."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("verify", help="check env, config, auth to both environments, one API call each")
    sync = sub.add_parser("sync", help="materialize the sync assets in process and print a summary")
    sync.add_argument("entity", choices=[*SYNC_ENTITIES, "all"])
    sync.add_argument(
        "--since", help="YYYY-MM-DD: copy records modified since that day (default: STSYNC_START_DATE, i.e. everything)"
    )
    sync.add_argument("--limit", type=int, default=0, help="most records to create (0 = no limit)")
    sync.add_argument("--retry-all", action="store_true", help="try again every record left behind, not only those due")
    sync.add_argument("--dry-run", action="store_true", help="build and validate every payload, write nothing")
    sync.add_argument("--verbose", action="store_true", help="log every page and every record not copied")
    copy = sub.add_parser("copy", help="copy given Production records with everything they need")
    copy.add_argument("kind", choices=SYNC_ENTITIES)
    copy.add_argument("ids", nargs="+", type=int, metavar="ID", help="Production ids")
    copy.add_argument("--dry-run", action="store_true", help="build and validate every payload, write nothing")
    copy.add_argument("--verbose", action="store_true", help="log every page and every record not copied")
    history = sub.add_parser("history", help="what STSync wrote for one record, run by run")
    history.add_argument("kind", choices=SYNC_ENTITIES)
    history.add_argument("prod_id", type=int, metavar="PROD_ID")
    diff = sub.add_parser("diff", help="how Integration differs from Production over a window (writes nothing)")
    diff.add_argument("kind", choices=[*SYNC_ENTITIES, "all"])
    diff.add_argument("--since", help="YYYY-MM-DD: records Production modified on or after that day (default: all)")
    diff.add_argument("--until", help="YYYY-MM-DD: records Production modified on or before that day (default: now)")
    diff.add_argument("--verbose", action="store_true", help="log every page read")
    for command in (sync, copy, history, diff):
        command.add_argument("--json", action="store_true", help="print the report as JSON (nothing else on stdout)")
    for command in (sync, copy):
        add_selection_flags(command)
        command.add_argument(
            "--log-format",
            choices=("text", "json"),
            default="text",
            help="logs on stderr as text or as one JSON object a line",
        )
    undo = sub.add_parser("undo", help="take back what one run wrote to Integration, as far as the API allows")
    undo.add_argument("run_id", metavar="RUN_ID", help="the run's id (`stsync history KIND ID` shows it)")
    undo.add_argument("--dry-run", action="store_true", help="show what it would do, write nothing")
    undo.add_argument("--force", action="store_true", help="take back records edited in Integration since the run too")
    undo.add_argument("--json", action="store_true", help="print the report as JSON (nothing else on stdout)")
    reconcile = sub.add_parser("reconcile", help="rebuild or repair the crosswalk from the marks in Integration")
    reconcile.add_argument("entity", nargs="?", default="all", choices=[*SYNC_ENTITIES, "all"])
    demo = sub.add_parser("demo", help="start the simulator, sync everything into it, print the report")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--scale", type=float, default=1.0)
    demo.add_argument("--since", help="YYYY-MM-DD (default: the start of the simulator's data)")
    demo.add_argument("--verbose", action="store_true")
    return parser


def _output_redactor() -> Redactor:
    """The secrets of the environment and `.env` (read leniently: a broken file is reported elsewhere)."""
    values: dict[str, str] = {}
    with contextlib.suppress(Exception):
        values = {k: v for k, v in dotenv_values(".env").items() if v} if Path(".env").is_file() else {}
    values.update(os.environ)
    envs = ("PROD", "INT")
    secrets = [values.get(f"ST_{name}_{e}", "") for name in ("CLIENT_SECRET", "APP_KEY") for e in envs]
    secrets += url_secrets(values.get("STSYNC_DB", ""))  # userinfo and query: password=, sslpassword=…
    pairs = [(values.get(f"ST_CLIENT_ID_{e}", ""), values.get(f"ST_CLIENT_SECRET_{e}", "")) for e in envs]
    return Redactor(secrets, pairs)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not isinstance(sys.stdout, RedactingStream):
        mask = _output_redactor()
        sys.stdout, sys.stderr = RedactingStream(sys.stdout, mask), RedactingStream(sys.stderr, mask)
    err = stderr_console()
    level = logging.INFO if getattr(args, "verbose", False) else logging.WARNING
    shown = terminal.log_handler(getattr(args, "log_format", "text"), err)
    shown.setLevel(level)  # on the handler too: a step lets the engine's INFO lines through to its event log
    logging.basicConfig(level=level, handlers=[shown], force=True)
    if args.command == "sync" and args.limit < 0:
        print("stsync: --limit must be 0 or more", file=sys.stderr)
        return EXIT_CONFIG
    try:
        commands = {"verify": cmd_verify, "sync": cmd_sync, "copy": cmd_copy, "history": cmd_history,
                    "reconcile": cmd_reconcile, "demo": cmd_demo, "diff": cmd_diff}  # fmt: skip
        commands["undo"] = cmd_undo
        return commands[args.command](args)
    except (SettingsError, ValueError) as exc:  # a ConfigError, or the client's refusal
        if getattr(args, "verbose", False):
            traceback.print_exc()
        print(f"stsync: {exc}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
