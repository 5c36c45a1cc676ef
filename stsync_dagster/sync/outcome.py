"""What happened to each record of a run, and the run's totals."""

from __future__ import annotations

import random
from typing import Any
import re
import threading
from dataclasses import dataclass, field
from enum import Enum


CREATED_SAMPLE = 50


class Outcome(str, Enum):
    CREATED = "created"
    ADOPTED = "adopted"  # Integration already held it (a refreshed tenant, a hand-made record, a lost crosswalk)
    UPDATED = "updated"  # copied before; the fields Production changed were patched
    STATUS_CHANGED = "status_changed"  # copied before; only its status was replayed
    UNCHANGED = "unchanged"  # copied before; nothing to do
    CONFLICT = "conflict"  # edited in Integration since STSync wrote it: left alone (policy `skip`)
    SKIPPED = "skipped"
    BLOCKED = "blocked"
    FAILED = "failed"
    DEFERRED = "deferred"
    # Copied, but its status could not be moved: the API has no such call (404) or the config no such action.
    # Counted besides its other outcome; tried again only when Production's status (or the record) changes again.
    NOT_REPLAYABLE = "not_replayable"


@dataclass(frozen=True)
class RecordIssue:
    """A record that was not copied: blocked by a missing reference, failed with the API's message, or deferred."""

    kind: str
    prod_id: int
    outcome: Outcome
    field: str
    reason: str


def root_cause(reason: str) -> str:
    """The innermost explanation of a chained reason: "item 1 … (vendor 2 … (no Integration vendor …))"."""
    while reason.endswith(")") and " (" in reason:
        reason = reason[reason.index(" (") + 2 : -1]
    return reason


class Blocked(Exception):
    """A reference of the record has no Integration counterpart (yet): `waits_on`, (kind, Production id) of the
    reference whose counterpart would heal it, when one reference is to blame."""

    def __init__(self, field: str, reason: str, waits_on: tuple[str, int] | None = None):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.waits_on = waits_on


class Deferred(Blocked):
    """A reference of the record is being created (its target claimed by a run, not confirmed yet): the record is
    deferred, not blocked, and a later run copies it."""


class Invalid(Exception):
    """The record cannot be sent as it is: a field is missing or wrong. Retrying will not help."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class DroppedReference:
    """A copied record sent without one of its references (`how`: drop) or with a stand-in (`default <key>`)."""

    kind: str
    prod_id: int
    field: str
    how: str
    reason: str


@dataclass
class SyncReport:
    kind: str
    dry_run: bool = False
    counts: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    issues: list[RecordIssue] = field(default_factory=list)
    # A uniform sample of what was created: (Production id, Integration id, the body sent), for read-back checks.
    created_sample: list[tuple[int, int, dict]] = field(default_factory=list)
    _sampler: random.Random = field(default_factory=lambda: random.Random(0), repr=False, compare=False)
    pulled_in: dict[str, int] = field(default_factory=dict)  # created because a record here referenced them
    recovered: int = 0
    pages: int = 0
    window_total: int | None = None  # records in the window (the API's totalCount), or the ids asked for
    window_done: int = 0  # of those, handled so far (progress)
    requests: int = 0
    rate_limited: int = 0
    seconds: float = 0.0
    sample_payloads: list[dict] = field(default_factory=list)
    sample_diffs: list[dict] = field(default_factory=list)  # a dry run's planned updates: field, before → after
    status_changes: int = 0
    compared: int = 0  # copied records read back because what STSync would send changed
    # Per create-request field, the Production values left out of the records created (fieldmap.py says why).
    left_out: dict[str, int] = field(default_factory=dict)
    dropped: list[DroppedReference] = field(default_factory=list)  # references the reference policy let go
    unavailable: str | None = None  # the kind's endpoint refused (a scope not granted): one line, nothing copied
    unfinished: int = 0  # of the deferred, those no other run is working on: a later run must finish them
    selection: Any = None  # a SelectionReport (sync/select): what the run's selection kept of the window
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(
        self,
        outcome: Outcome,
        prod_id: int,
        *,
        field: str = "",
        reason: str = "",
        kind: str | None = None,
        unfinished: bool = False,
    ) -> None:
        with self._lock:
            self.counts[outcome.value] += 1
            self.unfinished += unfinished
            if outcome not in (
                Outcome.CREATED,
                Outcome.ADOPTED,
                Outcome.SKIPPED,
                Outcome.UPDATED,
                Outcome.STATUS_CHANGED,
                Outcome.UNCHANGED,
            ):
                self.issues.append(RecordIssue(kind or self.kind, prod_id, outcome, field, reason))

    def created(self, prod_id: int, int_id: int | None, body: dict | None = None) -> None:
        self.add(Outcome.CREATED, prod_id)
        if int_id is None or body is None:
            return
        with self._lock:  # reservoir sampling: memory stays flat however many records are created
            seen = self.counts[Outcome.CREATED.value]
            if len(self.created_sample) < CREATED_SAMPLE:
                self.created_sample.append((prod_id, int_id, body))
            else:
                slot = self._sampler.randrange(seen)
                if slot < CREATED_SAMPLE:
                    self.created_sample[slot] = (prod_id, int_id, body)

    def count_left_out(self, found: dict[str, int]) -> None:
        with self._lock:
            for name, n in found.items():
                self.left_out[name] = self.left_out.get(name, 0) + n

    def went_without(self, prod_id: int, dropped) -> None:
        """A created record's references that were dropped or defaulted (references.Dropped)."""
        with self._lock:
            self.dropped += [DroppedReference(self.kind, prod_id, d.ref.field, d.how, d.reason) for d in dropped]

    def grouped_dropped(self, examples: int = 5) -> list[dict]:
        """References let go, grouped by field (indices left out), policy and reason."""
        groups: dict[tuple, list[DroppedReference]] = {}
        for item in self.dropped:
            name = re.sub(r"\[\d+\]", "", item.field)
            groups.setdefault((name, item.how, re.sub(r"\b\d+\b", "N", root_cause(item.reason))), []).append(item)
        return [
            {
                "field": name,
                "policy": how,
                "reason": reason,
                "count": len(items),
                "examples": sorted({i.prod_id for i in items})[:examples],
            }
            for (name, how, reason), items in sorted(groups.items(), key=lambda item: -len(item[1]))
        ]

    def grouped_issues(self, examples: int = 5) -> list[dict]:
        """Records not copied, grouped by their root cause (the most common first)."""
        groups: dict[tuple, list[RecordIssue]] = {}
        for issue in self.issues:
            groups.setdefault((issue.kind, issue.outcome.value, root_cause(issue.reason)), []).append(issue)
        return [
            {
                "kind": kind,
                "outcome": outcome,
                "reason": reason,
                "fields": sorted({i.field for i in issues}),
                "count": len(issues),
                "examples": [i.prod_id for i in issues[:examples]],
            }
            for (kind, outcome, reason), issues in sorted(groups.items(), key=lambda item: -len(item[1]))
        ]

    def count(self, outcome: Outcome) -> int:
        return self.counts[outcome.value]

    def merge(self, other: "SyncReport") -> None:
        """Fold in a sub-run (materials and jobs pulled in for POs). Its records that were not copied are
        not repeated here: the records that referenced them are blocked with a reason that names them."""
        with self._lock:
            self.pulled_in[other.kind] = self.pulled_in.get(other.kind, 0) + other.count(Outcome.CREATED)
            self.recovered += other.recovered
            self.unfinished += other.unfinished

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        extra = "".join(f", pulled in {n} {kind}" for kind, n in self.pulled_in.items() if n)
        if self.selection is not None:
            extra += f"; {self.selection.summary()}"
        if self.unavailable:
            extra += f"; unavailable: {self.unavailable}"
        return f"{self.kind}{' (dry run)' if self.dry_run else ''}: {parts}{extra}"
