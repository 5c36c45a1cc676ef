"""The optional settings (knobs): each one's field, variable, default and rule (KNOBS), the bounds of the numeric
ones and the rules themselves. One table for the command line and the Dagster resources; stsync_dagster.settings
loads them."""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import partial
from typing import Any, Callable

from stsync_dagster.errors import ConfigError
from stsync_dagster.servicetitan.settings import (
    DEFAULT_HTTP_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_PAGE_SIZE,
    DEFAULT_RATE_LIMIT,
    MAX_PAGE_SIZE,
)

DEFAULT_EXTERNAL_DATA_GUID = "5f0c1a52-57c3-4b9e-9a51-5757c0de0001"
DEFAULT_START_DATE = "2026-06-01"
DEFAULT_CONCURRENCY = 8
DEFAULT_BLOCKED_WARN_DAYS = 7.0
# ServiceTitan keeps working on a request up to ~100 s after a client gave up: a create whose answer was lost is
# looked up again, and only then sent again, once this much time has passed since it was sent.
DEFAULT_SERVER_TIMEOUT = 120.0
DEFAULT_BULK_SIZE = 100  # materials per bulk pricebook request (the API's limit is not documented); 0: none
DEFAULT_BATCH_SIZE = 250  # records claimed, created and confirmed together (progress is told per batch)

# Every numeric setting has finite bounds, checked where it is parsed (here, for the command line and the Dagster
# resources alike): a value outside them cannot work (an overflow deep in a run, a wait of 1e300 seconds, a
# request that times out before it is sent), so it stops every command before any request, naming the variable.
HTTP_TIMEOUT_RANGE = (0.1, 600.0)  # seconds
RATE_LIMIT_RANGE = (0.1, 1000.0)  # requests per second (ServiceTitan allows 60)
SERVER_TIMEOUT_RANGE = (0.01, 3600.0)  # seconds
BLOCKED_WARN_DAYS_MAX = 3650.0  # above 0
MAX_RETRIES_RANGE = (0, 100)
CONCURRENCY_RANGE = (1, 64)
BULK_SIZE_RANGE = (0, 100)
BATCH_SIZE_RANGE = (1, 5000)
_WHOLE = re.compile(r"[+-]?[0-9]{1,18}")


def _whole_number(value: str | int, low: int, high: int) -> int:
    text = str(value).strip()
    if not _WHOLE.fullmatch(text):  # ASCII digits only: no "1e3", no "1_000", no 5000-digit parse
        raise ValueError(f"must be a whole number between {low} and {high}")
    number = int(text)
    if not low <= number <= high:
        raise ValueError(f"must be a whole number between {low} and {high}")
    return number


def _number(value: str | float, low: float, high: float, *, above_low: bool = False) -> float:
    """A finite number in [low, high] (or (low, high] when `above_low`): never nan, inf, or 1e308."""
    shown = f"between {low:g}{' (excluded)' if above_low else ''} and {high:g}"
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError(f"must be a number {shown}") from None
    if not (math.isfinite(number) and (low < number if above_low else low <= number) and number <= high):
        raise ValueError(f"must be a number {shown}")
    return number


def whole_numbers(low: int, high: int) -> Callable[[str | int], int]:
    """A knob's rule: a whole number in [low, high]."""
    return partial(_whole_number, low=low, high=high)


def numbers(low: float, high: float, *, above_low: bool = False) -> Callable[[str | float], float]:
    """A knob's rule: a finite number in [low, high] (or (low, high] when `above_low`)."""
    return partial(_number, low=low, high=high, above_low=above_low)


def parse_start_date(value: str) -> str:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("must be an ISO date YYYY-MM-DD") from None
    if day > datetime.now(timezone.utc).date():
        raise ValueError("is later than today (UTC): the first partition cannot be in the future")
    return day.isoformat()


def parse_guid(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise ValueError("must be a GUID such as 5f0c1a52-57c3-4b9e-9a51-5757c0de0001") from None


@dataclass(frozen=True)
class Knob:
    """One optional setting: its field in Settings, its variable, its rule and its default."""

    field: str
    variable: str
    parse: Callable[[str], Any]
    default: Any

    def check(self, value: Any, *, origin: str = "") -> Any:
        """`value` by this setting's rule, or a ConfigError naming the variable (never echoing a secret)."""
        try:
            return self.parse(str(value))
        except ValueError as exc:
            raise ConfigError(
                f"invalid configuration: {self.problem(value, exc, origin)}", variables=[self.variable]
            ) from None

    def problem(self, raw: Any, exc: ValueError, origin: str = "") -> str:
        shown = "" if "@" in str(raw) else f" (got {str(raw)[:60]!r})"  # "@": a URL with user:password
        return f"{self.variable} {exc}{shown}" + (f", from {origin}" if origin else "")


KNOBS: dict[str, Knob] = {
    k.field: k
    for k in (
        Knob("page_size", "ST_PAGE_SIZE", whole_numbers(1, MAX_PAGE_SIZE), DEFAULT_PAGE_SIZE),
        Knob("http_timeout", "ST_HTTP_TIMEOUT", numbers(*HTTP_TIMEOUT_RANGE), DEFAULT_HTTP_TIMEOUT),
        Knob("rate_limit", "ST_RATE_LIMIT", numbers(*RATE_LIMIT_RANGE), DEFAULT_RATE_LIMIT),
        Knob("max_retries", "ST_MAX_RETRIES", whole_numbers(*MAX_RETRIES_RANGE), DEFAULT_MAX_RETRIES),
        Knob("external_data_guid", "ST_EXTERNAL_DATA_GUID", parse_guid, DEFAULT_EXTERNAL_DATA_GUID),
        Knob("start_date", "STSYNC_START_DATE", parse_start_date, DEFAULT_START_DATE),
        Knob("concurrency", "ST_CONCURRENCY", whole_numbers(*CONCURRENCY_RANGE), DEFAULT_CONCURRENCY),
        Knob(
            "blocked_warn_days",
            "STSYNC_BLOCKED_WARN_DAYS",
            numbers(0.0, BLOCKED_WARN_DAYS_MAX, above_low=True),
            DEFAULT_BLOCKED_WARN_DAYS,
        ),
        Knob("server_timeout", "ST_SERVER_TIMEOUT", numbers(*SERVER_TIMEOUT_RANGE), DEFAULT_SERVER_TIMEOUT),
        Knob("bulk_size", "ST_BULK_SIZE", whole_numbers(*BULK_SIZE_RANGE), DEFAULT_BULK_SIZE),
        Knob("batch_size", "ST_BATCH_SIZE", whole_numbers(*BATCH_SIZE_RANGE), DEFAULT_BATCH_SIZE),
    )
}
