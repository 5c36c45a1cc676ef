"""Daily partitions on the records' modifiedOn, in UTC."""

from __future__ import annotations

import os

import dagster as dg

DEFAULT_START_DATE = "2026-06-01"



def start_date() -> str:
    return os.environ.get("STSYNC_START_DATE", "").strip() or DEFAULT_START_DATE


daily = dg.DailyPartitionsDefinition(
    start_date=start_date(),
    timezone="UTC",
    end_offset=1,  # today is a partition too: a manual run can pick up this morning's changes
)
