"""The `stsync` command: verify, sync, demo. `sync` materializes the same Dagster assets as the UI."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
import traceback
from pathlib import Path

from dotenv import dotenv_values, load_dotenv

from stsync_dagster.config import SYNC_ENTITIES, SyncConfig, load_config
from stsync_dagster.servicetitan import (
    ConfigError,
    IntegrationClient,
    ProductionClient,
    ServiceTitanError,
    check_integration_target,
    load_settings,
)
from stsync_dagster.servicetitan.redact import RedactingStream, Redactor
from stsync_dagster.sync.crosswalk import setting as database
from stsync_dagster.sync.timefmt import parse_day

COUNT_COLUMNS = ("created", "adopted", "updated", "status_changed", "unchanged", "conflict", "skipped", "blocked", "failed",
                 "deferred", "pulled_in", "requests", "rate_limited", "seconds")
EXIT_FAILED_RECORDS = 1
EXIT_CONFIG = 2


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
        except ConfigError as exc:
            say(False, what, str(exc))
            return None
        say(True, what, detail(value))
        return value

    print("stsync verify")
    settings = check("environment variables", lambda: load_settings(dotenv_path=".env"),
                     lambda _: "all present and well-formed")
    if settings is None:
        return EXIT_CONFIG
    check("Integration target", lambda: check_integration_target(settings.int, settings.prod), lambda _: "not Production")
    config = check("config file", lambda: load_config(settings.config_path), lambda _: settings.config_path)
    check("crosswalk", lambda: database.check(settings.db, write=False), str)
    if not ok:  # a configuration problem: no request at all
        print("some checks failed")
        return EXIT_CONFIG
    probe = config.master("business_units").path
    # One retry at most: verify should answer quickly when a host is down.
    quick = dict(page_size=1, timeout=settings.http_timeout, rate_limit=settings.rate_limit, max_retries=1)
    clients = [("Production", ProductionClient(settings.prod, **quick)),
               ("Integration", IntegrationClient(settings.int, production=settings.prod, **quick))]
    for label, client in clients:
        with client:
            try:
                page = next(iter(client.iter_pages(probe, {"pageSize": 1})), None)
                say(True, f"{label}: token and one API call", f"{len(page.records) if page else 0} record(s) read")
            except (ServiceTitanError, ConfigError) as exc:
                say(False, f"{label}: token and one API call", str(exc))
    print("all checks passed" if ok else "some checks failed")
    return 0 if ok else EXIT_CONFIG


# ---- sync -------------------------------------------------------------------------------------------


def print_report(result, entities: list[str], *, verbose: bool = False, details: bool = True, stream=sys.stdout) -> int:
    """A table of counts per asset, then what was not copied, grouped by reason. Returns the failed count."""
    failed = 0
    print(f"{'asset':<8}" + "".join(f"{c:>{max(9, len(c) + 1)}}" for c in COUNT_COLUMNS), file=stream)
    show_details, details = details, []
    from stsync_dagster.defs.materialize import reported

    for entity in entities:
        meta = reported(result, entity)
        if meta is None:
            print(f"{entity:<8}  (not materialized: see the errors below)", file=stream)
            failed += 1
            continue
        failed += int(meta.get("failed", 0))
        print(f"{entity:<8}" + "".join(f"{meta.get(c, 0):>{max(9, len(c) + 1)}}" for c in COUNT_COLUMNS), file=stream)
        details.append((entity, meta))
    for entity, meta in details if show_details else []:
        if verbose and meta.get("issues"):
            print(f"\nNot copied by {entity}:", file=stream)
            for i in meta["issues"]:
                print(f"  {i['kind']} {i['prod_id']} {i['outcome']}: {i['field']}: {i['reason']}", file=stream)
            continue
        groups = meta.get("issue_groups") or []
        if groups:
            print(f"\nNot copied by {entity} (grouped; --verbose lists every record):", file=stream)
        for g in groups:
            more = ", …" if g["count"] > len(g["examples"]) else ""
            ids = ", ".join(str(i) for i in g["examples"]) + more
            print(f"  {g['count']:>5} {g['kind']} {g['outcome']} ({', '.join(g['fields'])}): {g['reason']}  [{ids}]", file=stream)
    return failed


def materialize_sync(*args, **kwargs):
    from stsync_dagster.defs.materialize import materialize_sync as run  # Dagster loads only when needed

    return run(*args, **kwargs)


def cmd_sync(args: argparse.Namespace) -> int:
    entities = list(SYNC_ENTITIES) if args.entity == "all" else [args.entity]
    if args.since:
        parse_day(args.since, "--since")
    settings = load_settings(dotenv_path=".env")  # fail before anything runs, naming the variable
    _preflight(settings, write=not args.dry_run)  # a dry run creates nothing, not even the crosswalk file
    _load_env()  # the Dagster resources read os.environ
    result = materialize_sync(entities, since=args.since, limit=args.limit, dry_run=args.dry_run, verbose=args.verbose)
    failed = print_report(result, entities, verbose=args.verbose)
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                print(f"\nstep {event.step_key} failed: {event.step_failure_data.error.message.strip()}", file=sys.stderr)
        return EXIT_FAILED_RECORDS
    return EXIT_FAILED_RECORDS if failed else 0


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
        print(f"Reconciling the crosswalk {shown} with what Integration holds")
        for entity in entities:
            report = reconcile(HANDLERS[entity](config, settings.external_data_guid), intc, crosswalk)
            duplicates += len(report.duplicates)
            print(f"  {report.summary()}")
            for prod_id, int_ids in report.duplicates.items():
                print(f"    Production {prod_id} → Integration {int_ids}: duplicates made outside this crosswalk")
        # Then what Integration holds without STSync's marks (a refresh, hand-made records), by natural key.
        for kind in MASTER_KINDS:
            match_master(kind, config.master(kind), prod, intc, crosswalk)
        options = SyncOptions(run_id=f"reconcile-{uuid.uuid4().hex[:12]}", create=False)
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


def cmd_demo(args: argparse.Namespace) -> int:
    from stsync_dagster.simulator import Simulator

    workdir = Path(tempfile.mkdtemp(prefix="stsync-demo-"))
    with Simulator(seed=args.seed, scale=args.scale).start() as sim:
        os.environ.update(sim.env())
        os.environ["STSYNC_DB"] = str(workdir / "crosswalk.sqlite3")
        os.environ.setdefault("STSYNC_CONFIG", str(Path(__file__).resolve().parent.parent / "stsync.config.json"))
        print(f"Simulator serving Production and Integration at {sim.url} (seed {args.seed}, scale {args.scale})")
        print(f"Crosswalk: {os.environ['STSYNC_DB']}\n")
        since = args.since or min(
            r["modifiedOn"][:10] for kind in ("materials", "purchase-orders", "jobs") for r in sim.records("prod", kind)
        )
        print(f"stsync sync all --since {since}")
        result = materialize_sync(list(SYNC_ENTITIES), since=since, limit=0, dry_run=False, verbose=args.verbose)
        print_report(result, list(SYNC_ENTITIES), verbose=args.verbose)
        print(
            "\nThe blocked records are expected: the simulator's Integration tenant lacks a vendor, a customer, a job"
            "\ntype and a technician on purpose, and has one campaign name twice (STSync does not guess)."
        )
        print("\nIntegration now holds:")
        for kind in ("materials", "purchase-orders", "jobs"):
            print(f"  {kind:<16} {len(sim.records('int', kind)):>6}   (Production: {len(sim.records('prod', kind))})")
        print("\nRunning the same sync again (it must create nothing):")
        again = materialize_sync(list(SYNC_ENTITIES), since=since, limit=0, dry_run=False, verbose=False)
        print_report(again, list(SYNC_ENTITIES), details=False)
    return 0 if result.success else EXIT_FAILED_RECORDS


# ---- entry ------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stsync", description="Copy ServiceTitan data from Production to Integration.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("verify", help="check env, config, auth to both environments, one API call each")
    sync = sub.add_parser("sync", help="materialize the sync assets in process and print a summary")
    sync.add_argument("entity", choices=[*SYNC_ENTITIES, "all"])
    sync.add_argument("--since", help="YYYY-MM-DD: copy records modified since that day (default: STSYNC_START_DATE, i.e. everything)")
    sync.add_argument("--limit", type=int, default=0, help="most records to create (0 = no limit)")
    sync.add_argument("--dry-run", action="store_true", help="build and validate every payload, write nothing")
    sync.add_argument("--verbose", action="store_true", help="log every page and every record not copied")
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
    secrets.append(database.password(values.get("STSYNC_DB", "")) or "")
    pairs = [(values.get(f"ST_CLIENT_ID_{e}", ""), values.get(f"ST_CLIENT_SECRET_{e}", "")) for e in envs]
    return Redactor(secrets, pairs)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not isinstance(sys.stdout, RedactingStream):
        mask = _output_redactor()
        sys.stdout, sys.stderr = RedactingStream(sys.stdout, mask), RedactingStream(sys.stderr, mask)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "sync" and args.limit < 0:
        print("stsync: --limit must be 0 or more", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return {"verify": cmd_verify, "sync": cmd_sync, "reconcile": cmd_reconcile, "demo": cmd_demo}[args.command](args)
    except (ConfigError, ValueError) as exc:
        if getattr(args, "verbose", False):
            traceback.print_exc()
        print(f"stsync: {exc}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
