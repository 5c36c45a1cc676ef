"""The dry run: the `sync_plan` job. It shows what a real run would do and writes nothing.

Its steps are ops, not assets: each reports its plan as an `AssetObservation` of the asset it plans (counts,
blocked and failed records, sample payloads and diffs, all as tables and JSON, none of it numeric), so the
partition is not marked materialized ("backfill missing" still runs it) and no point joins the plots of real
copies. Each entity's plan matches the master data it needs in memory (no crosswalk row is written), so the
steps need no order and each can run alone.
"""

from contextlib import contextmanager
from typing import Any, Iterator

import dagster as dg

from stsync_dagster.defs.assets import (
    MASTER_DESCRIPTIONS,
    MASTER_STEP,
    log_master_report,
    secrets,
    sync_entity,
)
from stsync_dagster.defs.checks import SYNC_ENTITIES
from stsync_dagster.defs.config_file import ConfigFileResource
from stsync_dagster.defs.logs import engine_logs
from stsync_dagster.defs.metadata import master_plan_metadata, plan_metadata
from stsync_dagster.defs.partitions import daily
from stsync_dagster.defs.resources import CrosswalkResource, IntegrationResource, ProductionResource
from stsync_dagster.defs.run_config import SyncRunConfig, fail_on_bad_run_config
from stsync_dagster.servicetitan.redact import Redactor, redacting
from stsync_dagster.sync.runner import run_master

PLAN_JOB = "sync_plan"


def plan_step(name: str) -> str:
    """The plan job's step for an asset's step (op names are unique in a code location)."""
    return f"plan_{name}"


@contextmanager
def _planning(
    context: dg.OpExecutionContext,
    production: ProductionResource,
    integration: IntegrationResource,
    crosswalk: CrosswalkResource,
) -> Iterator[tuple[Any, Any, Redactor]]:
    """A plan step's run-config check, then both tenants' clients (prod, intc) and the secrets' mask, with the
    secrets masked in all it logs."""
    fail_on_bad_run_config(context)
    mask = secrets(integration, crosswalk)
    with redacting(mask), engine_logs(context, mask), production.client() as prod, integration.client() as intc:
        yield prod, intc, mask


@dg.op(
    name=plan_step(MASTER_STEP),
    description="Match every kind of master data in memory and report the "
    "unmatched and ambiguous keys; writes no crosswalk row.",
)
def master_plan(
    context: dg.OpExecutionContext,
    production: ProductionResource,
    integration: IntegrationResource,
    crosswalk: CrosswalkResource,
    config_file: ConfigFileResource,
) -> None:
    with _planning(context, production, integration, crosswalk) as (prod, intc, mask):
        for kind in MASTER_DESCRIPTIONS:
            report = run_master(
                kind, prod=prod, intc=intc, crosswalk=crosswalk.get(), config=config_file.get(), dry_run=True
            )
            log_master_report(context, report, mask)
            context.log_event(dg.AssetObservation(asset_key=kind, metadata=master_plan_metadata(report, mask)))


def _plan_op(entity: str) -> dg.OpDefinition:
    @dg.op(
        name=plan_step(entity),
        description=f"What a real run of `{entity}` would create, adopt, update, "
        "block and fail, with sample payloads; writes nothing.",
    )
    def _plan(
        context: dg.OpExecutionContext,
        config: SyncRunConfig,
        production: ProductionResource,
        integration: IntegrationResource,
        crosswalk: CrosswalkResource,
        config_file: ConfigFileResource,
    ) -> None:
        with _planning(context, production, integration, crosswalk) as (prod, intc, mask):
            report, window = sync_entity(
                entity, context, config, prod, intc, integration, crosswalk, config_file.get(), mask, dry_run=True
            )
        partition = context.partition_key if context.has_partition_key else None
        context.log_event(
            dg.AssetObservation(
                asset_key=entity, partition=partition, metadata=plan_metadata(report, str(window), mask)
            )
        )

    return _plan


plan_ops = {entity: _plan_op(entity) for entity in SYNC_ENTITIES}


@dg.job(
    name=PLAN_JOB,
    partitions_def=daily,
    tags={"stsync/dry_run": "true"},
    description="A dry run of one day: the plan of every sync asset (and the master-data matching), "
    "observed on the assets; nothing is written and nothing is materialized.",
)
def sync_plan():
    master_plan()
    for op in plan_ops.values():
        op()
