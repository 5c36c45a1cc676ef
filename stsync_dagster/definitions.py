"""The one Definitions object of the code location."""

import dagster as dg

from stsync_dagster.defs.assets import master_assets, sync_assets
from stsync_dagster.defs.copy import copy_job
from stsync_dagster.defs.checks import sync_checks
from stsync_dagster.defs.plan import sync_plan
from stsync_dagster.defs.resources import build_resources
from stsync_dagster.defs.schedules import daily_sync_job, daily_sync_schedule

defs = dg.Definitions(
    assets=[*master_assets, *sync_assets],
    asset_checks=sync_checks,
    jobs=[daily_sync_job, sync_plan, copy_job],
    schedules=[daily_sync_schedule],
    resources=build_resources(),
)
