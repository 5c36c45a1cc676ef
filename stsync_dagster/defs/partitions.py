"""Daily partitions on the records' modifiedOn, in UTC."""

from __future__ import annotations

import os

import dagster as dg

from stsync_dagster.errors import ConfigError
from stsync_dagster.settings import DEFAULT_START_DATE, parse_start_date


def start_date() -> str:
    raw = os.environ.get("STSYNC_START_DATE", "").strip()
    try:
        return parse_start_date(raw) if raw else DEFAULT_START_DATE
    except ValueError as exc:
        raise ConfigError(f"STSYNC_START_DATE {exc} (got {raw[:60]!r})", variables=["STSYNC_START_DATE"]) from None


daily = dg.DailyPartitionsDefinition(
    start_date=start_date(),
    timezone="UTC",
    end_offset=1,  # today is a partition too: a manual run can pick up this morning's changes
)
