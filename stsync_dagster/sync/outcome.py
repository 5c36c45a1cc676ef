"""What happened to each record of a run, and the run's totals."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import Enum


class Outcome(str, Enum):
    CREATED = "created"
    SKIPPED = "skipped"
    BLOCKED = "blocked"
    FAILED = "failed"
    DEFERRED = "deferred"


@dataclass(frozen=True)
class RecordIssue:
    """A record that was not copied: blocked by a missing reference, failed with the API's message, or deferred."""

    kind: str
    prod_id: int
    outcome: Outcome
    field: str
    reason: str


class Blocked(Exception):
    """A reference of the record has no Integration counterpart (yet)."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Invalid(Exception):
    """The record cannot be sent as it is: a field is missing or wrong. Retrying will not help."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class SyncReport:
    kind: str
    dry_run: bool = False
    counts: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    issues: list[RecordIssue] = field(default_factory=list)
    created_ids: dict[int, int] = field(default_factory=dict)
    pulled_in: dict[str, int] = field(default_factory=dict)  # created because a record here referenced them
    recovered: int = 0
    pages: int = 0
    requests: int = 0
    rate_limited: int = 0
    seconds: float = 0.0
    sample_payloads: list[dict] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, outcome: Outcome, prod_id: int, *, field: str = "", reason: str = "", kind: str | None = None) -> None:
        with self._lock:
            self.counts[outcome.value] += 1
            if outcome not in (Outcome.CREATED, Outcome.SKIPPED):
                self.issues.append(RecordIssue(kind or self.kind, prod_id, outcome, field, reason))

    def created(self, prod_id: int, int_id: int | None) -> None:
        self.add(Outcome.CREATED, prod_id)
        if int_id is not None:
            with self._lock:
                self.created_ids[prod_id] = int_id

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def count(self, outcome: Outcome) -> int:
        return self.counts[outcome.value]

    def merge(self, other: "SyncReport") -> None:
        """Fold a sub-run (materials pulled in for PO lines) into this report's request figures and issues."""
        with self._lock:
            self.pulled_in[other.kind] = self.pulled_in.get(other.kind, 0) + other.count(Outcome.CREATED)
            self.recovered += other.recovered
            self.issues.extend(other.issues)

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        extra = "".join(f", pulled in {n} {kind}" for kind, n in self.pulled_in.items() if n)
        return f"{self.kind}{' (dry run)' if self.dry_run else ''}: {parts}{extra}"
