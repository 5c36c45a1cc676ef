"""Assets: master data matched by natural keys, then items, equipment, jobs and purchase orders copied."""

import logging
from datetime import timedelta

import dagster as dg

from stsync_dagster.config import SYNC_ENTITIES, SyncConfig
from stsync_dagster.defs.checks import ERROR, WARN, check_result
from stsync_dagster.defs.config_file import ConfigFileResource
from stsync_dagster.defs.logs import engine_logs
from stsync_dagster.defs.metadata import master_metadata, sync_metadata
from stsync_dagster.defs.partitions import daily
from stsync_dagster.defs.resources import CrosswalkResource, IntegrationResource, ProductionResource
from stsync_dagster.defs.writes import writes_metadata
from stsync_dagster.defs.run_config import SyncRunConfig, fail_on_bad_run_config
from stsync_dagster.servicetitan.errors import ServiceTitanError
from stsync_dagster.servicetitan.redact import Redactor, redacting
from stsync_dagster.sync.checks import CheckOutcome, master_data_matched, read_back
from stsync_dagster.sync.entities import HANDLERS
from stsync_dagster.sync.masterdata import MatchReport
from stsync_dagster.sync.outcome import Outcome, SyncReport
from stsync_dagster.sync.runner import run_entity, run_master
from stsync_dagster.sync.select import SelectionError
from stsync_dagster.sync.window import Window, window_between

OWNERS = ["team:stsync"]
MASTER_GROUP = "master_data"
SYNC_GROUP = "sync"


# A daily sync that stopped shows stale: its last materialization is over a day old (the schedule runs at
# 02:30 UTC: warn once a run is missed, fail after two).
FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=50), warn_window=timedelta(hours=26))


MASTER_DESCRIPTIONS = {
    "vendors": "Inventory vendors, matched by name.",
    "warehouses": "Warehouses (a PO's inventory location), matched by name.",
    "po_types": "Purchase order types, matched by name.",
    "business_units": "Business units, matched by name.",
    "customers": "Customers, matched by name and address.",
    "locations": "Service locations, matched by name and address.",
    "job_types": "Job types, matched by name.",
    "campaigns": "Marketing campaigns, matched by name.",
    "technicians": "Technicians, matched by name.",
    "categories": "Pricebook material categories, matched by name.",
}


def secrets(integration: IntegrationResource, crosswalk: CrosswalkResource) -> Redactor:
    """What every log line, metadata value and exception text of a step is masked with."""
    return integration.redactor() + crosswalk.redactor()


MASTER_STEP = "master_data"
MASTER_CHECKS = {
    "unmatched_keys": "Warns listing the Production records whose natural key no Integration record has: the "
    "records that reference them are blocked until Integration has them.",
    "ambiguous_keys": "Warns listing the natural keys that several Integration records share: STSync does not "
    "guess, so the records that reference them are blocked.",
}


@dg.multi_asset(
    name=MASTER_STEP,
    specs=[
        dg.AssetSpec(
            kind,
            group_name=MASTER_GROUP,
            kinds={"servicetitan"},
            owners=OWNERS,
            description=f"{text} Pairs Production and Integration records in the crosswalk; never creates "
            "master data. A key matching several Integration records is reported, not guessed.",
        )
        for kind, text in MASTER_DESCRIPTIONS.items()
    ],
    check_specs=[
        dg.AssetCheckSpec(name, asset=kind, description=text)
        for kind in MASTER_DESCRIPTIONS
        for name, text in MASTER_CHECKS.items()
    ],
    can_subset=True,
)
def master_data(
    context: dg.AssetExecutionContext,
    production: ProductionResource,
    integration: IntegrationResource,
    crosswalk: CrosswalkResource,
    config_file: ConfigFileResource,
):
    """Every selected kind of master data in one step: a few list calls each, not worth a process apiece."""
    fail_on_bad_run_config(context)  # this step runs first: a bad run fails before any request
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    checks = {(key.asset_key.to_user_string(), key.name) for key in context.selected_asset_check_keys}
    sync_config = config_file.get()
    mask = secrets(integration, crosswalk)
    with redacting(mask), engine_logs(context, mask), production.client() as prod, integration.client() as intc:
        for kind in MASTER_DESCRIPTIONS:
            if kind not in selected and not any(k == kind for k, _ in checks):
                continue
            # Its checks alone (the UI's "Execute" on a check) match without writing the crosswalk.
            try:
                report = run_master(
                    kind, prod=prod, intc=intc, crosswalk=crosswalk.get(), config=sync_config,
                    dry_run=kind not in selected,
                )  # fmt: skip
            except ServiceTitanError as exc:  # retries ran out: one line naming the endpoint, not a trace
                raise dg.Failure(description=mask(f"{kind}: {exc}")) from None
            log_master_report(context, report, mask)
            if kind in selected:
                yield dg.MaterializeResult(asset_key=kind, metadata=master_metadata(report, mask))
            for name, outcome in master_checks(report).items():
                if (kind, name) in checks:
                    yield check_result(kind, name, outcome, WARN, mask)


def log_master_report(context, report: MatchReport, mask: Redactor) -> None:
    context.log.log(logging.WARNING if report.unavailable else logging.INFO, mask(report.summary()))
    for pid, key in report.unmatched[:50]:
        context.log.warning(mask(f"{report.kind} {pid} ({key!r}): no Integration counterpart"))
    for pid, key, ids in report.ambiguous[:50]:
        context.log.warning(mask(f"{report.kind} {pid} ({key!r}): ambiguous, Integration holds {ids}"))


def master_checks(report: MatchReport) -> dict[str, CheckOutcome]:
    unmatched = [f"{report.kind} {pid} ({key!r}): no Integration counterpart" for pid, key in report.unmatched]
    ambiguous = [f"{report.kind} {pid} ({key!r}): Integration holds {ids}" for pid, key, ids in report.ambiguous]
    return {
        "unmatched_keys": CheckOutcome(
            not unmatched,
            f"{len(unmatched)} {report.kind} without an Integration counterpart"
            if unmatched
            else f"every {report.kind} key has an Integration counterpart",
            unmatched,
            len(unmatched),
        ),
        "ambiguous_keys": CheckOutcome(
            not ambiguous,
            f"{len(ambiguous)} {report.kind} keys match several Integration records"
            if ambiguous
            else f"no {report.kind} key is ambiguous",
            ambiguous,
            len(ambiguous),
        ),
    }


master_assets = [master_data]

SYNC_DEPS = {
    "items": ["vendors", "categories"],
    "equipment": ["vendors"],
    "jobs": ["customers", "locations", "business_units", "job_types", "campaigns", "technicians"],
    "pos": ["items", "equipment", "jobs", "vendors", "po_types", "business_units", "warehouses", "technicians"],
}
SYNC_DESCRIPTIONS = {
    "items": "Pricebook materials copied from Production to Integration, stamped with externalData.",
    "jobs": "Jobs with their appointments and assigned technicians, every reference translated.",
    "equipment": "Pricebook equipment copied from Production to Integration, stamped with externalData.",
    "pos": "Purchase orders with their lines; missing line materials, equipment and jobs are copied first.",
}


def needed_master_data(entities: list[str]) -> list[str]:
    """The kinds of master data the entities reference, directly or through the entities they pull in."""
    seen: set[str] = set()
    todo = list(entities)
    while todo:
        for dep in SYNC_DEPS.get(todo.pop(), []):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return [kind for kind in MASTER_DESCRIPTIONS if kind in seen]


MASTER_MATCHED = "master_data_matched"
MASTER_MATCHED_DESCRIPTION = (
    "Fails when the run wrote records while a kind of master data they reference had never been matched into the "
    "crosswalk: their references to it were left out (reported by the run itself)."
)
READ_BACK = "read_back_fidelity"
READ_BACK_DESCRIPTION = (
    "A sample of the records created in the run, read back from Integration, holds Production's value of every "
    "field STSync copies, references translated through the crosswalk (reported by the run itself: it needs the "
    "run's creates)."
)


def _sync_asset(entity: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=entity,
        group_name=SYNC_GROUP,
        kinds={"servicetitan"},
        owners=OWNERS,
        deps=SYNC_DEPS[entity],
        partitions_def=daily,
        pool=f"stsync_{entity}",
        freshness_policy=FRESHNESS,
        description=f"{SYNC_DESCRIPTIONS[entity]} Partitioned by the records' modifiedOn (UTC days). A dry run "
        "is the `sync_plan` job: it observes, never materializes.",
        check_specs=[
            dg.AssetCheckSpec(READ_BACK, asset=entity, description=READ_BACK_DESCRIPTION),
            dg.AssetCheckSpec(MASTER_MATCHED, asset=entity, description=MASTER_MATCHED_DESCRIPTION),
        ],
    )
    def _asset(
        context: dg.AssetExecutionContext,
        config: SyncRunConfig,
        production: ProductionResource,
        integration: IntegrationResource,
        crosswalk: CrosswalkResource,
        config_file: ConfigFileResource,
    ) -> dg.MaterializeResult:
        fail_on_bad_run_config(context)
        mask = secrets(integration, crosswalk)
        with redacting(mask), engine_logs(context, mask), production.client() as prod, integration.client() as intc:
            report, window = sync_entity(
                entity, context, config, prod, intc, integration, crosswalk, config_file.get(), mask, dry_run=False
            )
            handler = HANDLERS[entity](config_file.get(), integration.guid())
            fidelity = read_back(handler, prod, intc, crosswalk.get(), report)
            matched = master_data_matched(report)
        return dg.MaterializeResult(
            metadata={
                **sync_metadata(report, str(window), mask),
                **writes_metadata(crosswalk.get(), context.run.run_id, entity, mask),
            },
            check_results=[
                check_result(entity, READ_BACK, fidelity, ERROR, mask),
                check_result(entity, MASTER_MATCHED, matched, ERROR, mask),
            ],
        )

    return _asset


def run_window(context, config: SyncRunConfig) -> Window:
    """The partition's UTC day (context.partition_time_window), its start moved to `since` when given."""
    if context.has_partition_key:
        span = context.partition_time_window
        return window_between(span.start, span.end, config.since or None)
    return window_between(None, None, config.since or None)


ISSUE_LEVELS = {Outcome.FAILED: logging.ERROR, Outcome.BLOCKED: logging.WARNING, Outcome.CONFLICT: logging.WARNING}


def left_behind(report: SyncReport) -> str | None:
    """What the run left behind, in a few words (None: nothing): records failed, blocked or deferred with no run
    on them, and an endpoint refused. What was copied, adopted or was already there is the summary's."""
    parts = [
        f"{n} {what}"
        for n, what in (
            (report.count(Outcome.FAILED), "failed"),
            (report.count(Outcome.BLOCKED), "blocked"),
            (report.unfinished, "deferred with no run on them"),
        )
        if n
    ]
    if report.unavailable:
        parts.append(f"unavailable: {report.unavailable}")
    return ", ".join(parts) or None


def log_sync_report(context, entity: str, report: SyncReport, mask: Redactor) -> None:
    """The summary at INFO; then, when records were left behind, a line saying so (an error when some failed, else
    a warning) and each record not copied at its level: failed as errors, blocked as warnings."""
    context.log.info(mask(report.summary()))
    left = left_behind(report)
    level = logging.ERROR if report.count(Outcome.FAILED) else logging.WARNING if left else logging.INFO
    if left and report.dry_run:
        context.log.log(level, mask(f"{entity} (dry run): would leave behind: {left}"))
    elif left:
        context.log.log(level, mask(f"{entity}: left behind: {left}; later runs try them again"))
    for issue in report.issues[:50]:
        context.log.log(
            ISSUE_LEVELS.get(issue.outcome, logging.INFO),
            mask(f"{issue.kind} {issue.prod_id} {issue.outcome.value}: {issue.field}: {issue.reason}"),
        )
    if len(report.issues) > 50:
        context.log.log(level, f"{entity}: and {len(report.issues) - 50} more records not copied (see the metadata)")


def sync_entity(
    entity: str,
    context,
    config: SyncRunConfig,
    prod,
    intc,
    integration: IntegrationResource,
    crosswalk: CrosswalkResource,
    sync_config: SyncConfig,
    mask: Redactor,
    *,
    dry_run: bool,
) -> tuple[SyncReport, Window]:
    """One entity's run (or its plan), logged; shared by the assets and the plan job."""
    window = run_window(context, config)
    partition = context.partition_key if context.has_partition_key else None
    options = integration.sync_options(
        context.run.run_id, partition=partition, dry_run=dry_run, limit=config.limit, retry_all=config.retry_all
    )

    def progress(report) -> None:
        done = (
            f"{report.window_done} of {report.window_total}" if report.window_total is not None else report.window_done
        )
        context.log.info(
            mask(
                f"{entity}: {done} records of the window done: "
                + ", ".join(f"{k} {v}" for k, v in report.counts.items())
            )
        )

    selection, where = config.selection(entity, sync_config)
    try:
        report = run_entity(
            entity,
            window,
            selection=selection,
            where=where,
            prod=prod,
            intc=intc,
            crosswalk=crosswalk.get(),
            config=sync_config,
            options=options,
            guid=integration.guid(),
            on_page=progress,
        )
    except SelectionError as exc:  # a name Production does not have: the selection, not the run, is wrong
        raise dg.Failure(description=mask(f"{entity}: selection: {exc}"), allow_retries=False) from None
    except ServiceTitanError as exc:
        # The run could not go on (a window that cannot be read whole, retries run out): one line naming the
        # endpoint, not a trace. What was copied before it is in the crosswalk; the next run goes on from there.
        raise dg.Failure(description=mask(f"{entity}: {exc}")) from None
    log_sync_report(context, entity, report, mask)
    return report, window


sync_assets = [_sync_asset(entity) for entity in SYNC_ENTITIES]
