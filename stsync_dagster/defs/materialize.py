"""In-process materialization of the sync assets: what `stsync sync` and `stsync demo` run."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import dagster as dg

from stsync_dagster.defs.assets import master_assets, sync_assets
from stsync_dagster.defs.partitions import start_date
from stsync_dagster.defs.resources import build_resources


def materialize_sync(
    entities: list[str],
    *,
    since: str | None,
    limit: int = 0,
    dry_run: bool = False,
    verbose: bool = False,
    partition: str | None = None,
) -> dg.ExecuteInProcessResult:
    """Match all master data, then the chosen sync assets, on today's partition (UTC).

    Without `since` the window starts at the first partition's day: everything is considered.
    """
    selected = [a for a in sync_assets if a.key.path[-1] in entities]
    sync_config = {"since": since or start_date(), "limit": limit, "dry_run": dry_run}
    run_config = {
        "ops": {
            **{a.key.path[-1]: {"config": {"dry_run": dry_run}} for a in master_assets},
            **{a.key.path[-1]: {"config": sync_config} for a in selected},
        },
        "loggers": {"console": {"config": {"log_level": "INFO" if verbose else "WARNING"}}},
    }
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    return dg.materialize(
        [*master_assets, *selected],
        resources=build_resources(),
        run_config=run_config,
        partition_key=partition or datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        instance=instance,
        raise_on_error=False,
    )
