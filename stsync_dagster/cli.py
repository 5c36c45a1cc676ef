"""The `stsync` command: verify, sync, copy, history, reconcile, demo. `sync` materializes the same Dagster
assets as the UI; `copy` runs the `copy_records` job. What it shows is drawn by stsync_dagster.terminal."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sys
import tempfile
import traceback
from pathlib import Path

from dotenv import dotenv_values, load_dotenv

from stsync_dagster import terminal
from stsync_dagster.config import SYNC_ENTITIES, SyncConfig, load_config
from stsync_dagster.errors import ConfigError
from stsync_dagster.servicetitan import (
    IntegrationClient,
    ProductionClient,
    ServiceTitanError,
    SettingsError,
    check_integration_target,
)
from stsync_dagster.servicetitan.redact import RedactingStream, Redactor, url_secrets
from stsync_dagster.settings import load_settings
from stsync_dagster.sync.crosswalk import setting as database
from stsync_dagster.sync.timefmt import parse_day

EXIT_FAILED_RECORDS = 1
EXIT_CONFIG = 2
_ERR = None  # the console on stderr (progress bars and logs), made once the streams are wrapped


def _load_env() -> None:
    """Like the original tool: a `.env` in the working folder fills in what the environment lacks.

    Called once load_settings has checked the file (its errors name the file and line)."""
    if Path(".env").is_file():
        try:
            load_dotenv(".env", override=False)
        except Exception as exc:  # python-dotenv only warns on bad lines; anything else is fatal
            raise ConfigError(f".env: cannot be read ({type(exc).__name__})") from None


# ---- verify -----------------------------------------------------------------------------------------


def _preflight(settings, *, write: bool) -> tuple[SyncConfig, str]:
    """What a sync needs besides the API, checked before any request: the guard, the config file and the
    crosswalk (opened; created only when `write`). Returns the config and the crosswalk as it may be shown."""
    check_integration_target(settings.int, settings.prod)
    config = load_config(settings.config_path)
    return config, database.check(settings.db, write=write)


def cmd_verify(args: argparse.Namespace) -> int:
    ok = True

    def say(good: bool, what: str, detail: str = "") -> None:
        nonlocal ok
        ok &= good
        print(f"  [{'ok' if good else 'FAIL'}] {what}{': ' + detail if detail else ''}")

    def check(what: str, work, detail=lambda value: ""):
        try:
            value = work()
        except SettingsError as exc:  # ours (ConfigError) or the client's refusal
            say(False, what, str(exc))
            return None
        say(True, what, detail(value))
        return value

    print("stsync verify")
    settings = check(
        "environment variables", lambda: load_settings(dotenv_path=".env"), lambda _: "all present and well-formed"
    )
    if settings is None:
        return EXIT_CONFIG
    check(
        "Integration target", lambda: check_integration_target(settings.int, settings.prod), lambda _: "not Production"
    )
    config = check("config file", lambda: load_config(settings.config_path), lambda _: settings.config_path)
    check("crosswalk", lambda: database.check(settings.db, write=False), str)
    if not ok:  # a configuration problem: no request at all
        print("some checks failed")
        return EXIT_CONFIG
    probe = config.master("business_units").path
    # One retry at most: verify should answer quickly when a host is down.
    quick = dict(page_size=1, timeout=settings.http_timeout, rate_limit=settings.rate_limit, max_retries=1)
    clients = [
        ("Production", ProductionClient(settings.prod, **quick)),
        ("Integration", IntegrationClient(settings.int, production=settings.prod, **quick)),
    ]
    for label, client in clients:
        with client:
            try:
                page = next(iter(client.iter_pages(probe, {"pageSize": 1})), None)
                say(True, f"{label}: token and one API call", f"{len(page.records) if page else 0} record(s) read")
            except (ServiceTitanError, SettingsError) as exc:
                say(False, f"{label}: token and one API call", str(exc))
    print("all checks passed" if ok else "some checks failed")
    return 0 if ok else EXIT_CONFIG


# ---- sync, copy: the report ------------------------------------------------------------------------


def _values(metadata: dict) -> dict:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


def materialized(result, entities: list[str]) -> dict[str, dict | None]:
    """Each asset's metadata, or its plan's for a dry run (None: it reported nothing)."""
    from stsync_dagster.defs.materialize import reported_metadata

    return {entity: reported_metadata(result, entity) for entity in entities}


def step_errors(result) -> list[str]:
    failure = "dagster._core.definitions.events.Failure: "  # the class of dg.Failure says nothing to a user
    return [
        f"step {e.step_key} failed: {e.step_failure_data.error.message.strip().removeprefix(failure)}"
        for e in result.all_events
        if e.is_step_failure
    ]


def show_report(reports: dict[str, dict | None], out, *, verbose: bool = False, details: bool = True) -> None:
    """The counts table, then what was not copied, grouped by reason."""
    values = {entity: None if meta is None else _values(meta) for entity, meta in reports.items()}
    out.print(terminal.counts_table(values))
    for entity, meta in values.items():
        if meta is None:
            out.print(f"{entity}: not materialized (see the errors below)", markup=False)
            continue
        if not details:
            continue
        if verbose and getattr(reports[entity].get("issues"), "records", None):
            out.print(f"\nNot copied by {entity}:", markup=False)
            out.print(terminal.metadata_table(meta["issues"]), soft_wrap=True)
        elif meta.get("issue_groups"):
            out.print(terminal.issues_table(entity, meta["issue_groups"]))
        if meta.get("dropped_groups"):
            out.print(terminal.dropped_table(entity, meta["dropped_groups"], int(meta.get("dropped_references", 0))))


def finish(command: str, reports: dict[str, dict | None], errors: list[str], args, *, details: bool = True) -> int:
    """Print the report (a table, or JSON with --json) and the step errors; return the exit code (1 when records
    failed or an asset was not materialized)."""
    failed = sum(1 if meta is None else int(_values(meta).get("failed", 0)) for meta in reports.values())
    code = EXIT_FAILED_RECORDS if failed or errors else 0
    if getattr(args, "json", False):
        body = {"command": command, "success": code == 0, "exit_code": code, "errors": errors,
                "assets": {k: None if m is None else terminal.as_json(m) for k, m in reports.items()}}  # fmt: skip
        print(json.dumps(body, indent=2, default=str))
        return code
    show_report(reports, terminal.console(sys.stdout), verbose=getattr(args, "verbose", False), details=details)
    for error in errors:
        print(f"\n{error}", file=sys.stderr)
    return code


def materialize_sync(*args, **kwargs):
    from stsync_dagster.defs.materialize import materialize_sync as run  # Dagster loads only when needed

    return run(*args, **kwargs)


def _watched(work):
    """Run `work` with a progress bar per asset on the terminal (stderr)."""
    from stsync_dagster.sync import progress

    with terminal.ProgressBars(_ERR or terminal.console(sys.stderr)) as bars, progress.watching(bars):
        return work()


def cmd_sync(args: argparse.Namespace) -> int:
    entities = list(SYNC_ENTITIES) if args.entity == "all" else [args.entity]
    if args.since:
        parse_day(args.since, "--since")
    settings = load_settings(dotenv_path=".env")  # fail before anything runs, naming the variable
    _preflight(settings, write=not args.dry_run)  # a dry run creates nothing, not even the crosswalk file
    _load_env()  # the Dagster resources read os.environ
    result = _watched(lambda: materialize_sync(
        entities, since=args.since, limit=args.limit, dry_run=args.dry_run, verbose=args.verbose,
        log_format=args.log_format))  # fmt: skip
    return finish("sync", materialized(result, entities), step_errors(result), args)


def cmd_copy(args: argparse.Namespace) -> int:
    from stsync_dagster.defs.materialize import copy_in_process, copy_report

    settings = load_settings(dotenv_path=".env")
    _preflight(settings, write=not args.dry_run)
    _load_env()
    result = _watched(lambda: copy_in_process(
        args.kind, args.ids, dry_run=args.dry_run, verbose=args.verbose, log_format=args.log_format))  # fmt: skip
    return finish("copy", {args.kind: copy_report(result)}, step_errors(result), args)


# ---- history ----------------------------------------------------------------------------------------


def cmd_history(args: argparse.Namespace) -> int:
    from stsync_dagster.settings import default_db
    from stsync_dagster.sync.crosswalk import Crosswalk

    _load_env()
    value = os.environ.get(database.ENV_VAR, "").strip() or default_db()
    shown = database.check(value, write=False)
    if "://" not in value and not Path(value).expanduser().is_file():  # opening it would make an empty one
        raise ConfigError(f"{database.ENV_VAR} ({shown}): no crosswalk there: nothing was synced with it yet",
                          variables=[database.ENV_VAR])  # fmt: skip
    with Crosswalk(value) as crosswalk:
        writes = crosswalk.history(args.kind, args.prod_id)
        entry = crosswalk.lookup(args.kind, [args.prod_id]).get(args.prod_id)
        issue = next(iter(crosswalk.issues(kind=args.kind, prod_ids=[args.prod_id])), None)
    now = "not in the crosswalk" if entry is None else (
        f"mapped to Integration {entry.int_id} ({entry.source})" if entry.state == "confirmed"
        else f"claimed by run {entry.run_id}, not confirmed yet")  # fmt: skip
    waiting = None if issue is None else f"{issue.status} since {issue.first_seen:%Y-%m-%d %H:%M} UTC: {issue.reason}"
    if args.json:
        body = {"kind": args.kind, "prod_id": args.prod_id, "now": now, "issue": waiting,
                "writes": [{**{k: getattr(w, k) for k in ("at", "run_id", "asset", "action", "int_id", "detail")},
                            "fields": list(w.fields)} for w in writes]}  # fmt: skip
        print(json.dumps(body, indent=2, default=str))
        return 0
    out = terminal.console(sys.stdout)
    if writes:
        out.print(terminal.history_table(args.kind, args.prod_id, writes))
    else:
        out.print(f"{args.kind} {args.prod_id}: STSync has written nothing for it", markup=False)
    out.print(f"Now: {now}", markup=False)
    if waiting:
        out.print(f"Not copied: {waiting}", markup=False)
    return 0


# ---- reconcile --------------------------------------------------------------------------------------


def cmd_reconcile(args: argparse.Namespace) -> int:
    import uuid

    from stsync_dagster.config import MASTER_KINDS
    from stsync_dagster.defs.partitions import start_date
    from stsync_dagster.sync.crosswalk import Crosswalk
    from stsync_dagster.sync.engine import SyncOptions
    from stsync_dagster.sync.entities import HANDLERS
    from stsync_dagster.sync.masterdata import match_master
    from stsync_dagster.sync.outcome import Outcome
    from stsync_dagster.sync.reconcile import reconcile
    from stsync_dagster.sync.runner import run_entity
    from stsync_dagster.sync.window import window_for

    settings = load_settings(dotenv_path=".env")
    config, shown = _preflight(settings, write=True)
    entities = list(SYNC_ENTITIES) if args.entity == "all" else [args.entity]
    duplicates = 0
    with (
        ProductionClient.from_settings(settings) as prod,
        IntegrationClient.from_settings(settings) as intc,
        Crosswalk(settings.db) as crosswalk,
    ):
        run_id = f"reconcile-{uuid.uuid4().hex[:12]}"
        print(f"Reconciling the crosswalk {shown} with what Integration holds")
        for entity in entities:
            report = reconcile(HANDLERS[entity](config, settings.external_data_guid), intc, crosswalk, run_id)
            duplicates += len(report.duplicates)
            print(f"  {report.summary()}")
            for prod_id, int_ids in report.duplicates.items():
                print(f"    Production {prod_id} → Integration {int_ids}: duplicates made outside this crosswalk")
        # Then what Integration holds without STSync's marks (a refresh, hand-made records), by natural key.
        for kind in MASTER_KINDS:
            match_master(kind, config.master(kind), prod, intc, crosswalk)
        options = SyncOptions(run_id=run_id, create=False)
        window = window_for(None, start_date())
        for entity in entities:
            report = run_entity(
                entity, window, prod=prod, intc=intc, crosswalk=crosswalk, config=config, options=options,
                guid=settings.external_data_guid,
            )  # fmt: skip
            print(
                f"  {entity}: {report.count(Outcome.ADOPTED)} adopted by natural key, {report.count(Outcome.DEFERRED)} "
                f"not in Integration (the next sync creates them), {report.count(Outcome.SKIPPED)} already mapped"
            )
    return EXIT_FAILED_RECORDS if duplicates else 0


# ---- demo -------------------------------------------------------------------------------------------


DEMO_MAX_SCALE = 100.0


def cmd_demo(args: argparse.Namespace) -> int:
    from stsync_dagster.simulator import Simulator

    if not (math.isfinite(args.scale) and 0 < args.scale <= DEMO_MAX_SCALE):
        raise ConfigError(f"--scale must be a number between 0 (excluded) and {DEMO_MAX_SCALE:g} (got {args.scale!r})")
    workdir = Path(tempfile.mkdtemp(prefix="stsync-demo-"))
    with Simulator(seed=args.seed, scale=args.scale).start() as sim:
        os.environ.update(sim.env())
        os.environ["STSYNC_DB"] = str(workdir / "crosswalk.sqlite3")
        os.environ.setdefault("STSYNC_CONFIG", str(Path(__file__).resolve().parent.parent / "stsync.config.json"))
        # The simulator's block plus this environment's other settings (ST_CONCURRENCY…): checked before any request.
        _preflight(load_settings(dotenv_path=None), write=True)
        print(f"Simulator serving Production and Integration at {sim.url} (seed {args.seed}, scale {args.scale})")
        print(f"Crosswalk: {os.environ['STSYNC_DB']}\n")
        since = args.since or min(
            r["modifiedOn"][:10] for kind in ("materials", "purchase-orders", "jobs") for r in sim.records("prod", kind)
        )
        print(f"stsync sync all --since {since}")
        result = _watched(lambda: materialize_sync(list(SYNC_ENTITIES), since=since, limit=0, dry_run=False,
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
        again = _watched(lambda: materialize_sync(list(SYNC_ENTITIES), since=since, limit=0, dry_run=False))
        finish("sync", materialized(again, list(SYNC_ENTITIES)), step_errors(again), args, details=False)
    return 0 if result.success else EXIT_FAILED_RECORDS


# ---- entry ------------------------------------------------------------------------------------------


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
    for command in (sync, copy, history):
        command.add_argument("--json", action="store_true", help="print the report as JSON (nothing else on stdout)")
    for command in (sync, copy):
        command.add_argument(
            "--log-format",
            choices=("text", "json"),
            default="text",
            help="logs on stderr as text or as one JSON object a line",
        )
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
    global _ERR
    _ERR = terminal.console(sys.stderr)
    level = logging.INFO if getattr(args, "verbose", False) else logging.WARNING
    shown = terminal.log_handler(getattr(args, "log_format", "text"), _ERR)
    shown.setLevel(level)  # on the handler too: a step lets the engine's INFO lines through to its event log
    logging.basicConfig(level=level, handlers=[shown], force=True)
    if args.command == "sync" and args.limit < 0:
        print("stsync: --limit must be 0 or more", file=sys.stderr)
        return EXIT_CONFIG
    try:
        commands = {"verify": cmd_verify, "sync": cmd_sync, "copy": cmd_copy, "history": cmd_history,
                    "reconcile": cmd_reconcile, "demo": cmd_demo}  # fmt: skip
        return commands[args.command](args)
    except (SettingsError, ValueError) as exc:  # a ConfigError, or the client's refusal
        if getattr(args, "verbose", False):
            traceback.print_exc()
        print(f"stsync: {exc}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
