"""Assets: master data matched by natural keys, then items, equipment, jobs and purchase orders copied."""


import dagster as dg
from pydantic import Field

from stsync_dagster.config import SYNC_ENTITIES, load_config
from stsync_dagster.defs.metadata import check_details, masked, master_metadata, sync_metadata
from stsync_dagster.defs.partitions import daily
from stsync_dagster.defs.resources import CrosswalkResource, IntegrationResource, ProductionResource
from stsync_dagster.defs.writes import writes_metadata
from stsync_dagster.servicetitan.redact import Redactor, redacting
from stsync_dagster.sync.checks import blocked_too_long, crosswalk_integrity, read_back
from stsync_dagster.sync.entities import HANDLERS
from stsync_dagster.sync.runner import run_entity, run_master
from stsync_dagster.sync.window import window_for

OWNERS = ["team:stsync"]
MASTER_GROUP = "master_data"
SYNC_GROUP = "sync"


class MasterRunConfig(dg.Config):
    dry_run: bool = Field(default=False, description="Match and report, but write no crosswalk row.")


class SyncRunConfig(dg.Config):
    since: str = Field(
        default="", description="ISO date (YYYY-MM-DD). When given, the window starts there instead of at the partition's start."
    )
    limit: int = Field(default=0, ge=0, description="Most records created in the run; 0 = no limit.")
    dry_run: bool = Field(default=False, description="Build and validate every payload, report the plan, write nothing.")


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
    can_subset=True,
)
def master_data(
    context: dg.AssetExecutionContext,
    config: MasterRunConfig,
    production: ProductionResource,
    integration: IntegrationResource,
    crosswalk: CrosswalkResource,
):
    """Every selected kind of master data in one step: a few list calls each, not worth a process apiece."""
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    config_file = load_config()
    mask = secrets(integration, crosswalk)
    with redacting(mask), production.client() as prod, integration.client() as intc:
        for kind in MASTER_DESCRIPTIONS:
            if kind not in selected:
                continue
            report = run_master(
                kind, prod=prod, intc=intc, crosswalk=crosswalk.get(), config=config_file, dry_run=config.dry_run
            )
            context.log.info(mask(report.summary()))
            yield dg.MaterializeResult(asset_key=kind, metadata=master_metadata(report, config.dry_run, mask))


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


CHECK_DESCRIPTIONS = {
    "read_back_fidelity": "A sample of the records created in the run, read back from Integration, holds Production's "
    "value of every field STSync copies (references translated through the crosswalk).",
    "crosswalk_integrity": "A random sample of the crosswalk's Integration ids still exists in Integration.",
    "blocked_too_long": "Warns about records blocked for more than STSYNC_BLOCKED_WARN_DAYS days (default 7).",
}


def _sync_asset(entity: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=entity,
        group_name=SYNC_GROUP,
        kinds={"servicetitan"},
        owners=OWNERS,
        deps=SYNC_DEPS[entity],
        partitions_def=daily,
        pool=f"stsync_{entity}",
        description=f"{SYNC_DESCRIPTIONS[entity]} Partitioned by the records' modifiedOn (UTC days).",
        check_specs=[
            dg.AssetCheckSpec(name, asset=entity, description=text) for name, text in CHECK_DESCRIPTIONS.items()
        ],
    )
    def _asset(
        context: dg.AssetExecutionContext,
        config: SyncRunConfig,
        production: ProductionResource,
        integration: IntegrationResource,
        crosswalk: CrosswalkResource,
    ) -> dg.MaterializeResult:
        mask = secrets(integration, crosswalk)
        with redacting(mask):
            return _sync(entity, context, config, production, integration, crosswalk, mask)

    return _asset


def _sync(
    entity: str,
    context: dg.AssetExecutionContext,
    config: SyncRunConfig,
    production: ProductionResource,
    integration: IntegrationResource,
    crosswalk: CrosswalkResource,
    mask: Redactor,
) -> dg.MaterializeResult:
    partition = context.partition_key if context.has_partition_key else None
    try:
        window = window_for(partition, config.since or None)
    except ValueError as exc:
        raise dg.Failure(description=f"run config: {exc}") from None
    options = integration.sync_options(context.run.run_id, partition=partition, dry_run=config.dry_run, limit=config.limit)

    def progress(report) -> None:
        context.log.info(mask(f"{entity}: page {report.pages} done: " + ", ".join(f"{k} {v}" for k, v in report.counts.items())))

    config_file = load_config()
    with production.client() as prod, integration.client() as intc:
        report = run_entity(
            entity,
            window,
            prod=prod,
            intc=intc,
            crosswalk=crosswalk.get(),
            config=config_file,
            options=options,
            guid=integration.guid(),
            on_page=progress,
        )
        context.log.info(mask(report.summary()))
        for issue in report.issues[:50]:
            context.log.info(mask(f"{issue.kind} {issue.prod_id} {issue.outcome.value}: {issue.field}: {issue.reason}"))
        handler = HANDLERS[entity](config_file, integration.guid())
        checks = {
            "read_back_fidelity": read_back(handler, prod, intc, crosswalk.get(), report),
            "crosswalk_integrity": crosswalk_integrity(handler, intc, crosswalk.get()),
            "blocked_too_long": blocked_too_long(entity, crosswalk.get(), crosswalk.warn_days()),
        }
    return dg.MaterializeResult(
        metadata={**sync_metadata(report, str(window), mask), **writes_metadata(crosswalk.get(), options.run_id, entity, mask)},
        check_results=[
            dg.AssetCheckResult(
                check_name=name,
                passed=outcome.passed,
                severity=dg.AssetCheckSeverity.WARN if name == "blocked_too_long" else dg.AssetCheckSeverity.ERROR,
                description=mask(outcome.description),
                metadata=masked({
                    "checked": dg.MetadataValue.int(outcome.checked),
                    "details": dg.MetadataValue.md(check_details(outcome.details)),
                }, mask),
            )
            for name, outcome in checks.items()
        ],
    )


sync_assets = [_sync_asset(entity) for entity in SYNC_ENTITIES]
