"""The simulator's clock and its timestamp format."""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta, timezone


def iso(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds, as the API writes timestamps: 2026-08-14T13:22:05.123Z."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@functools.lru_cache(maxsize=200_000)
def parse_instant(text: str) -> datetime:
    """A date or date-time (RFC 3339; naive means UTC; plain dates mean midnight UTC). ValueError if neither."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


class SimClock:
    """Real UTC time, except that it never runs before the data's anchor: records created through the API
    are then always newer than the generated ones (which matters to export positions)."""

    def __init__(self, until: datetime) -> None:
        floor = until + timedelta(seconds=1)
        self._offset = max(timedelta(0), floor - datetime.now(timezone.utc))
        self._last = datetime.min.replace(tzinfo=timezone.utc)

    def advance(self, seconds: float) -> None:
        """Time passes at once (a tester's edit an hour after a run): every stamp from now on is that much later."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += timedelta(seconds=seconds)

    def peek(self) -> datetime:
        """The time now, without taking a stamp (reads that compare against now)."""
        return max(datetime.now(timezone.utc) + self._offset, self._last)

    def now(self) -> datetime:
        moment = datetime.now(timezone.utc) + self._offset
        moment = moment.replace(microsecond=(moment.microsecond // 1000) * 1000)
        # Strictly increasing, so every write gets a distinct modifiedOn.
        if moment <= self._last:
            moment = self._last + timedelta(milliseconds=1)
        self._last = moment
        return moment

    def stamp(self) -> str:
        return iso(self.now())
