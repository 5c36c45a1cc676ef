"""The slice of Production a run reads: records modified in [start, end)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from stsync_dagster.sync.timefmt import parse_day, rfc3339, start_of_day


@dataclass(frozen=True)
class Window:
    start: datetime | None
    end: datetime | None

    def params(self, since_param: str, until_param: str) -> dict[str, str]:
        params = {}
        if self.start is not None:
            params[since_param] = rfc3339(self.start)
        if self.end is not None:
            params[until_param] = rfc3339(self.end)
        return params

    def __str__(self) -> str:
        start = rfc3339(self.start) if self.start else "the beginning"
        end = rfc3339(self.end) if self.end else "now"
        return f"[{start}, {end})"


class AfterToday(ValueError):
    """A window's first day after today."""


def parse_since(text: str, what: str = "since", today: date | None = None) -> date:
    """The first day of a window: an ISO date, not after today (UTC); a later one would make a window that ends
    before it starts. `what` names it in the error: the flag (--since) or the run config key (since)."""
    day = parse_day(text, what)
    today = today or datetime.now(timezone.utc).date()
    if day > today:
        raise AfterToday(f"{what} {day.isoformat()} is after today ({today.isoformat()}, UTC): no record can have been "
                         "modified since then")  # fmt: skip
    return day


def window_for(partition_key: str | None, since: str | None) -> Window:
    """A daily partition covers its UTC day; `since` moves the start earlier (or later) to that date.

    Without a partition the window is open-ended: from `since` (or the beginning) until now.
    """
    start = start_of_day(parse_day(since, "since")) if since else None
    if partition_key is None:
        return Window(start, None)
    day: date = parse_day(partition_key, "partition key")
    return Window(start or start_of_day(day), start_of_day(day + timedelta(days=1)))


def window_between(start: datetime | None, end: datetime | None, since: str | None) -> Window:
    """A partition's time window (or none: open-ended), its start moved to `since` when given."""
    moved = start_of_day(parse_day(since, "since")) if since else None
    return Window(moved or start, end)


def window_including(since: str | None, until: str | None, flags: tuple[str, str] = ("since", "until")) -> Window:
    """[since, the end of `until`'s day): both days included, either side open when not given (`stsync diff`).
    `flags` name them in the errors: --since and --until, or the run config's keys."""
    start = parse_since(since, flags[0]) if since else None
    last = parse_day(until, flags[1]) if until else None
    if start and last and last < start:
        raise ValueError(f"{flags[1]} {last.isoformat()} is before {flags[0]} {start.isoformat()}: an empty window")
    return Window(start and start_of_day(start), last and start_of_day(last + timedelta(days=1)))
