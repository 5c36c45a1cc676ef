"""In-process runs of the code location's jobs: what `stsync sync`, `stsync copy` and `stsync demo` run.

They resolve their jobs from the one `Definitions` (stsync_dagster.definitions), as the UI does: a sync is the
implicit asset job (the UI's Materialize) over the assets it selects, a dry run the `sync_plan` job's steps, a
copy the `copy_records` job. Only what a terminal needs differs: the console loggers (stsync_dagster.defs.logs),
an in-memory instance, and resources built from the environment when the command runs (it has read `.env` by
then; the code location's were built when it was imported).
"""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from stsync_dagster.config import SYNC_ENTITIES
from stsync_dagster.defs.location import build_defs
from stsync_dagster.defs.assets import needed_master_data
from stsync_dagster.defs.copy import COPY_JOB, COPY_OP
from stsync_dagster.defs.logs import cli_loggers
from stsync_dagster.defs.metadata import PLAN_PREFIX, table_rows
from stsync_dagster.defs.partitions import start_date
from stsync_dagster.defs.plan import PLAN_JOB, plan_step

__all__ = ["copy_in_process", "copy_report", "materialize_sync", "needed_master_data", "reported", "reported_metadata"]


def _job(name: str | None, log_format: str) -> dg.JobDefinition:
    """A job of the code location (None: the implicit asset job), with the command's console loggers."""
    defs = build_defs(loggers=cli_loggers(log_format))
    return defs.resolve_job_def(name) if name else defs.resolve_implicit_global_asset_job_def()


def materialize_sync(
    entities: list[str],
    *,
    since: str | None,
    limit: int = 0,
    dry_run: bool = False,
    verbose: bool = False,
    partition: str | None = None,
    retry_all: bool = False,
    log_format: str = "text",
) -> dg.ExecuteInProcessResult:
    """Match the master data they need, then the chosen sync assets, on today's partition (UTC); a dry run
    runs their steps of the `sync_plan` job instead (observations, no materialization).

    Without `since` the window starts at the first partition's day: everything is considered.
    """
    chosen = [entity for entity in SYNC_ENTITIES if entity in entities]
    sync_config = {"since": since or start_date(), "limit": limit, "retry_all": retry_all}
    run_config = {
        "ops": {entity: {"config": sync_config} for entity in chosen},
        "loggers": {"console": {"config": {"log_level": "INFO" if verbose else "WARNING"}}},
    }
    partition_key = partition or datetime.now(timezone.utc).strftime("%Y-%m-%d")
    # In memory, whatever DAGSTER_HOME says: no folder left behind, no telemetry notice, nothing shared by
    # processes that start together. The UI's deployment keeps its own runs; these are the command's.
    with dg.DagsterInstance.ephemeral() as instance:
        if dry_run:
            plan_ops = {plan_step(name): entry for name, entry in run_config["ops"].items()}
            return _job(PLAN_JOB, log_format).execute_in_process(
                run_config={**run_config, "ops": plan_ops},
                instance=instance,
                partition_key=partition_key,
                op_selection=list(plan_ops),
                raise_on_error=False,
            )
        selection = [dg.AssetKey(k) for k in [*needed_master_data(chosen), *chosen]]
        return _job(None, log_format).execute_in_process(
            run_config=run_config,
            instance=instance,
            partition_key=partition_key,
            asset_selection=selection,
            raise_on_error=False,
        )


def copy_in_process(
    entity: str, ids: list[int], *, dry_run: bool = False, verbose: bool = False, log_format: str = "text"
) -> dg.ExecuteInProcessResult:
    """The copy job, run here in an in-memory instance (as `stsync sync` materializes)."""
    run_config = {
        "ops": {COPY_OP: {"config": {"kind": entity, "ids": list(ids), "dry_run": dry_run}}},
        # Records that failed fail the step: the command shows them in its table, not as Dagster's stack trace.
        "loggers": {"console": {"config": {"log_level": "INFO" if verbose else "CRITICAL"}}},
    }
    with dg.DagsterInstance.ephemeral() as instance:
        return _job(COPY_JOB, log_format).execute_in_process(
            run_config=run_config, instance=instance, raise_on_error=False
        )


def copy_report(result: dg.ExecuteInProcessResult) -> dict | None:
    """The metadata of the copy's output (its counts, issues and writes), or None when it never got there."""
    for event in result.all_node_events:
        if event.is_successful_output:
            return dict(event.step_output_data.metadata)
    return None


def reported_metadata(result: dg.ExecuteInProcessResult, entity: str) -> dict | None:
    """What a run reported for an entity: its materialization's metadata, or for a dry run its plan's under the
    same labels (the counts table spread into one int value per outcome, `dry_run` said). None when it reported
    nothing (it failed)."""
    materialized = result.asset_materializations_for_node(entity)
    events = materialized or result.asset_observations_for_node(plan_step(entity))
    if not events:
        return None
    metadata = {label.removeprefix(PLAN_PREFIX): entry for label, entry in events[-1].metadata.items()}
    counts = metadata.pop("counts", None)
    for row in table_rows(counts) if counts is not None else []:
        metadata[row["outcome"]] = dg.MetadataValue.int(row["records"])
    metadata["dry_run"] = dg.MetadataValue.bool(not materialized)
    return metadata


def reported(result: dg.ExecuteInProcessResult, entity: str) -> dict | None:
    """The same as plain values: tables as lists of rows."""
    metadata = reported_metadata(result, entity)
    if metadata is None:
        return None
    return {
        label: table_rows(entry) if isinstance(entry, dg.TableMetadataValue) else getattr(entry, "value", entry)
        for label, entry in metadata.items()
    }
