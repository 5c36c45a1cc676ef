"""Fault knobs (settable at start and at run time) and the seeded dice that apply them."""

from __future__ import annotations

import dataclasses
import random
import threading
from dataclasses import dataclass

ERROR_STATUSES = (500, 502, 503)
HTML_ERROR_BODY = (
    "<!DOCTYPE html><html><head><title>{status} Error</title></head><body><h1>{status} {reason}</h1>"
    "<p>The server encountered a temporary error and could not complete your request.</p>"
    "<hr><center>nginx</center></body></html>"
)
REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
# Endpoints an app cannot use [assumed: the body's wording]: one it was not granted the scope of (403), one that
# the API no longer has (404, as `PUT …/jobs/{id}/complete` may be gone: API.md, "Lists").
REFUSALS = {
    403: "Forbidden",
    404: "Not Found",
}
_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
PAGE_FAULTS = {
    "": "none",
    "repeat_page": "page n ≥ 2 answers what page n - 1 holds",
    "ignore_page": "every page answers page 1, with hasMore true",
    "data_null": "`data` is null",
    "non_object": "the first element of page 1 is a string, not a record",
    "duplicate_ids": "page n ≥ 2 starts with the last record of page n - 1, in place of its own first",
}


@dataclass(frozen=True)
class Faults:
    latency_ms: float = 0  # added to every API request
    error_rate: float = 0.0  # fraction of API requests answered 500/502/503 before being processed
    html_error_fraction: float = 0.5  # of those, the fraction with an HTML body instead of JSON
    drop_post_rate: float = 0.0  # fraction of successful writes (POST, PATCH, PUT) committed, then dropped unanswered
    slow_rate: float = 0.0  # fraction of API requests whose answer is held back slow_seconds
    slow_seconds: float = 0.0
    # A create that ServiceTitan keeps working on after the client gave up (API.md: the server's own timeout is
    # ~100 s): the request is held late_commit_seconds, then committed whether anyone still listens or not.
    late_commit_rate: float = 0.0
    late_commit_seconds: float = 0.0
    seed: int = 0  # seeds the fault dice only (the data has its own seed)
    # A careless token endpoint: its refusals echo the request back (form-encoded secret, Authorization header)
    echo_credentials: bool = False
    # A live Production (moving.py): when page n ≥ 2 of a list is asked for, `live_edits` records of page n - 1
    # (as the same query answers it now) are edited first, each at most once, `live_edit_limit` in all (0: no
    # limit); on the lists named "env/kind", e.g. ("prod/materials",).
    live_edits: int = 0
    live_edit_limit: int = 0
    live_edit_lists: tuple[str, ...] = ()
    # A list that misbehaves (moving.py, PAGE_FAULTS), on the lists named "env/kind".
    page_fault: str = ""
    page_fault_lists: tuple[str, ...] = ()
    # Endpoints refused in both environments, "STATUS METHOD resource" as the routes name them (REFUSALS), e.g.
    # "403 GET equipment" (an app without the equipment scope), "404 PUT jobs/{id}/complete".
    refused: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("error_rate", "html_error_fraction", "drop_post_rate", "slow_rate", "late_commit_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        if self.latency_ms < 0 or self.slow_seconds < 0 or self.late_commit_seconds < 0:
            raise ValueError("latency_ms, slow_seconds and late_commit_seconds must not be negative")
        if self.live_edits < 0 or self.live_edit_limit < 0:
            raise ValueError("live_edits and live_edit_limit must not be negative")
        if self.page_fault not in PAGE_FAULTS:
            raise ValueError(f"page_fault must be one of {sorted(PAGE_FAULTS)}, got {self.page_fault!r}")
        # From JSON (the control plane) the lists come as lists.
        object.__setattr__(self, "live_edit_lists", tuple(self.live_edit_lists))
        object.__setattr__(self, "page_fault_lists", tuple(self.page_fault_lists))
        object.__setattr__(self, "refused", tuple(self.refused))
        for entry in self.refused:
            status, _, key = str(entry).partition(" ")
            if not status.isdigit() or int(status) not in REFUSALS or key.split(" ", 1)[0] not in _METHODS:
                raise ValueError(
                    f"refused: {entry!r} is not 'STATUS METHOD resource' with a status of {sorted(REFUSALS)}"
                )

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))


@dataclass(frozen=True)
class InjectedError:
    status: int
    html: bool


class FaultDice:
    """The current Faults and their own RNG; replacing the seed restarts the sequence."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)

    def update(self, **fields) -> Faults:
        unknown = set(fields) - set(Faults.field_names())
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        with self._lock:
            self.faults = dataclasses.replace(self.faults, **fields)
            if "seed" in fields:
                self._rng = random.Random(self.faults.seed)
            return self.faults

    def _roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def latency(self) -> float:
        return self.faults.latency_ms / 1000.0

    def injected_error(self) -> InjectedError | None:
        faults = self.faults
        if not self._roll(faults.error_rate):
            return None
        with self._lock:
            status = self._rng.choice(ERROR_STATUSES)
            html = self._rng.random() < faults.html_error_fraction
        return InjectedError(status, html)

    def slow_delay(self) -> float:
        faults = self.faults
        return faults.slow_seconds if faults.slow_seconds > 0 and self._roll(faults.slow_rate) else 0.0

    def late_commit_delay(self) -> float:
        faults = self.faults
        return (
            faults.late_commit_seconds
            if faults.late_commit_seconds > 0 and self._roll(faults.late_commit_rate)
            else 0.0
        )

    def refusal(self, route_key: str) -> int | None:
        """The status this endpoint ("METHOD resource") is refused with, if it is."""
        for entry in self.faults.refused:
            status, _, key = entry.partition(" ")
            if key == route_key:
                return int(status)
        return None

    def drop_post(self) -> bool:
        return self._roll(self.faults.drop_post_rate)
