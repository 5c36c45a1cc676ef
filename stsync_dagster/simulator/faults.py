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

    def __post_init__(self) -> None:
        for name in ("error_rate", "html_error_fraction", "drop_post_rate", "slow_rate", "late_commit_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        if self.latency_ms < 0 or self.slow_seconds < 0 or self.late_commit_seconds < 0:
            raise ValueError("latency_ms, slow_seconds and late_commit_seconds must not be negative")

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
        return faults.late_commit_seconds if faults.late_commit_seconds > 0 and self._roll(faults.late_commit_rate) else 0.0

    def drop_post(self) -> bool:
        return self._roll(self.faults.drop_post_rate)
