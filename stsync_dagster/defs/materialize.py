"""In-process materialization of the sync assets: what `stsync sync` and `stsync demo` run."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from stsync_dagster.defs.assets import MASTER_DESCRIPTIONS, MASTER_STEP, SYNC_DEPS, master_assets, sync_assets
from stsync_dagster.defs.logs import cli_loggers
from stsync_dagster.defs.partitions import start_date
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
    """Match the master data they need, then the chosen sync assets, on today's partition (UTC).

    Without `since` the window starts at the first partition's day: everything is considered.
    """
    selected = [a for a in sync_assets if a.key.path[-1] in entities]
    sync_config = {"since": since or start_date(), "limit": limit, "dry_run": dry_run}
    run_config = {
        "ops": {
            MASTER_STEP: {"config": {"dry_run": dry_run}},
            **{a.key.path[-1]: {"config": sync_config} for a in selected},
        },
        "loggers": {"console": {"config": {"log_level": "INFO" if verbose else "WARNING"}}},
    }
    # In memory, whatever DAGSTER_HOME says: no folder left behind, no telemetry notice, nothing shared by
    # processes that start together. The UI's deployment keeps its own runs; these are the command's.
    # dg.materialize, with the command's loggers.
    selection = [dg.AssetKey(k) for k in [*needed_master_data(entities), *(a.key.path[-1] for a in selected)]]
    defs = dg.Definitions(
        assets=[*master_assets, *selected],
        jobs=[dg.define_asset_job(CLI_JOB, selection=selection)],
        resources=build_resources(),
        loggers=cli_loggers(log_format),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        return defs.resolve_job_def(CLI_JOB).execute_in_process(
            run_config=run_config,
            instance=instance,
            partition_key=partition or datetime.now(timezone.utc).strftime("%Y-%m-%d"),
            raise_on_error=False,
        )
