"""`stsync sync` (the sync assets, materialized in process) and `stsync copy` (the `copy_records` job for given
Production records)."""

from __future__ import annotations

import argparse
import logging
import sys

from stsync_dagster.commands.preflight import load_env, preflight
from stsync_dagster.commands.progress import watched
from stsync_dagster.commands.report import finish, materialized, step_errors
from stsync_dagster.config import SYNC_ENTITIES
from stsync_dagster.settings import load_settings
from stsync_dagster.sync.entities import HANDLERS
from stsync_dagster.sync.select import Selection, check, parse_sample, parse_where
from stsync_dagster.sync.window import parse_since
from stsync_dagster.terminal import JsonLines


def materialize_sync(*args, **kwargs):
    from stsync_dagster.defs.materialize import materialize_sync as run  # Dagster loads only when needed

    return run(*args, **kwargs)


def recorded_home(log_format: str):
    """The UI's Dagster instance when there is one (DAGSTER_HOME, read after `.env`), said in one line on stderr
    (a JSON object with `--log-format json`)."""
    from stsync_dagster.defs.materialize import instance_home, instance_line

    home = instance_home()
    line = instance_line(home)
    if log_format == "json":
        line = JsonLines().format(logging.makeLogRecord({"name": "stsync", "levelname": "INFO", "msg": line}))
    print(line, file=sys.stderr, flush=True)
    return home


def selection_config(args: argparse.Namespace, kind: str) -> dict:
    """`--where`, `--sample-per`, `--sample`, `--sample-share` as the run config of the kind's step, checked
    against the kind's filters before anything runs (names are found in Production by the step)."""
    where = parse_where(args.where or [])
    sample = parse_sample(args.sample_per, args.sample, args.sample_share)
    if not where and sample is None:
        return {}
    if kind == "all":
        raise ValueError("--where and --sample* select records of one kind: name it (stsync sync jobs --where …)")
    check(Selection(where=where, sample=sample), HANDLERS[kind], "command line")
    values: dict = {"where": where}
    if sample is not None:
        values.update(sample_per=sample.per, sample_count=sample.count or 0, sample_share=sample.share or 0.0)
    return values


def cmd_sync(args: argparse.Namespace) -> int:
    entities = list(SYNC_ENTITIES) if args.entity == "all" else [args.entity]
    select = selection_config(args, args.entity)
    if args.since:
        parse_since(args.since, "--since")
    settings = load_settings(dotenv_path=".env")  # fail before anything runs, naming the variable
    preflight(settings, write=not args.dry_run)  # a dry run creates nothing, not even the crosswalk file
    load_env()  # the Dagster resources read os.environ
    home = recorded_home(args.log_format)
    result = watched(lambda: materialize_sync(
        entities, since=args.since, limit=args.limit, dry_run=args.dry_run, verbose=args.verbose,
        log_format=args.log_format, retry_all=args.retry_all, home=home, select=select))  # fmt: skip
    return finish("sync", materialized(result, entities), step_errors(result), args)


def cmd_copy(args: argparse.Namespace) -> int:
    from stsync_dagster.defs.materialize import copy_in_process, copy_report

    select = selection_config(args, args.kind)
    settings = load_settings(dotenv_path=".env")
    preflight(settings, write=not args.dry_run)
    load_env()
    home = recorded_home(args.log_format)
    result = watched(lambda: copy_in_process(
        args.kind, args.ids, dry_run=args.dry_run, verbose=args.verbose, log_format=args.log_format,
        home=home, select=select))  # fmt: skip
    return finish("copy", {args.kind: copy_report(result)}, step_errors(result), args)
