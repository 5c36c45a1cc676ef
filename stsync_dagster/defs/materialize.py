"""In-process materialization of the sync assets (or their plan, a dry run): what `stsync sync` and
`stsync demo` run."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from stsync_dagster.defs.assets import MASTER_DESCRIPTIONS, SYNC_DEPS, master_assets, sync_assets
from stsync_dagster.defs.checks import sync_checks
from stsync_dagster.defs.logs import cli_loggers
from stsync_dagster.defs.metadata import PLAN_PREFIX, table_rows
from stsync_dagster.defs.partitions import start_date
from stsync_dagster.defs.plan import PLAN_JOB, plan_step, sync_plan
from stsync_dagster.defs.resources import build_resources


CLI_JOB = "stsync_cli"


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


def materialize_sync(
    entities: list[str],
    *,
    since: str | None,
    limit: int = 0,
    dry_run: bool = False,
    verbose: bool = False,
    partition: str | None = None,
    log_format: str = "text",
) -> dg.ExecuteInProcessResult:
    """Match the master data they need, then the chosen sync assets, on today's partition (UTC); a dry run
    runs their steps of the `sync_plan` job instead (observations, no materialization).

    Without `since` the window starts at the first partition's day: everything is considered.
    """
    selected = [a for a in sync_assets if a.key.path[-1] in entities]
    sync_config = {"since": since or start_date(), "limit": limit}
    run_config = {
        "ops": {a.key.path[-1]: {"config": sync_config} for a in selected},
        "loggers": {"console": {"config": {"log_level": "INFO" if verbose else "WARNING"}}},
    }
    partition_key = partition or datetime.now(timezone.utc).strftime("%Y-%m-%d")
    # In memory, whatever DAGSTER_HOME says: no folder left behind, no telemetry notice, nothing shared by
    # processes that start together. The UI's deployment keeps its own runs; these are the command's.
    selection = [dg.AssetKey(k) for k in [*needed_master_data(entities), *(a.key.path[-1] for a in selected)]]
    defs = dg.Definitions(
        assets=[*master_assets, *sync_assets],
        asset_checks=sync_checks,
        jobs=[dg.define_asset_job(CLI_JOB, selection=selection), sync_plan],
        resources=build_resources(),
        loggers=cli_loggers(log_format),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        if dry_run:
            plan_ops = {plan_step(name): entry for name, entry in run_config["ops"].items()}
            return defs.resolve_job_def(PLAN_JOB).execute_in_process(
                run_config={**run_config, "ops": plan_ops},
                instance=instance,
                partition_key=partition_key,
                op_selection=list(plan_ops),
                raise_on_error=False,
            )
        return defs.resolve_job_def(CLI_JOB).execute_in_process(
            run_config=run_config, instance=instance, partition_key=partition_key, raise_on_error=False
        )


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
    return {label: table_rows(entry) if isinstance(entry, dg.TableMetadataValue) else getattr(entry, "value", entry)
            for label, entry in metadata.items()}
