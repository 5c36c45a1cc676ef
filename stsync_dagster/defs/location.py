"""What the code location holds: its assets, checks, jobs, schedule and resources, in one Definitions."""

import dagster as dg

from stsync_dagster.defs.assets import master_assets, sync_assets
from stsync_dagster.defs.copy import copy_job
from stsync_dagster.defs.diff import diff_job
from stsync_dagster.defs.history import history_job
from stsync_dagster.defs.checks import sync_checks
from stsync_dagster.defs.plan import sync_plan
from stsync_dagster.defs.resources import build_resources
from stsync_dagster.defs.undo import undo_job
from stsync_dagster.defs.schedules import daily_sync_job, daily_sync_schedule


def build_defs(loggers: dict | None = None) -> dg.Definitions:
    """The code location, its resources read from the environment now. The UI loads `defs`
    (stsync_dagster.definitions); `stsync` builds the same when it runs (it has read `.env` by then), with its
    console loggers (stsync_dagster.defs.materialize)."""
    return dg.Definitions(
        assets=[*master_assets, *sync_assets],
        asset_checks=sync_checks,
        jobs=[daily_sync_job, sync_plan, copy_job, history_job, diff_job, undo_job],
        schedules=[daily_sync_schedule],
        resources=build_resources(),
        loggers=loggers,
    )
