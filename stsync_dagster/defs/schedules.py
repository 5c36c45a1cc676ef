"""The daily job and its schedule: yesterday's partition of every sync asset, in dependency order."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from stsync_dagster.defs.partitions import daily

daily_sync_job = dg.define_asset_job(
    name="daily_sync",
    selection=dg.AssetSelection.groups("master_data", "sync"),
    description="Match master data, then copy yesterday's materials, jobs and purchase orders.",
)


@dg.schedule(job=daily_sync_job, cron_schedule="30 2 * * *", execution_timezone="UTC")
def daily_sync_schedule(context: dg.ScheduleEvaluationContext):
    """At 02:30 UTC, sync the day before: a complete UTC day of modifications, with safe default config."""
    scheduled = context.scheduled_execution_time
    yesterday = (scheduled - timedelta(days=1)).strftime("%Y-%m-%d")
    with dg.partition_loading_context(effective_dt=scheduled):
        keys = daily.get_partition_keys()
    if yesterday not in keys:
        return dg.SkipReason(f"no partition {yesterday}: partitions start later")
    return dg.RunRequest(run_key=f"daily-{yesterday}", partition_key=yesterday)
