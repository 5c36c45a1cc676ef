"""What an undo did, record by record: the step it took (or would take), and what it could not take back and why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

# What undo does to one record, by what the run did to it.
DELETE, DEACTIVATE, CANCEL, RESTORE, FORGET, NONE = "delete", "deactivate", "cancel", "restore", "forget", "none"


class Result(str, Enum):
    PLANNED = "planned"  # a dry run: what it would do
    DONE = "done"
    CONFLICT = "conflict"  # edited since the run: left alone (--force takes it back all the same)
    NOT_POSSIBLE = "not_possible"  # nothing the API lets undo do (no before-values, no reverse call)
    FAILED = "failed"  # the API refused, or its answer was lost: the next undo tries again
    ALREADY = "already_undone"  # an earlier undo of this run took it back
    NOTHING = "nothing"  # nothing to take back (not in Integration any more, a mapping the run forgot)


@dataclass
class Item:
    """One record the run wrote. `fields`: the values to set back; `status`: the calls that move the status back;
    `left`: what cannot be taken back, each with its reason."""

    kind: str
    prod_id: int
    int_id: int | None
    wrote: list[str]  # the run's actions on it, oldest first
    action: str = NONE
    fields: dict = field(default_factory=dict)
    status: list[str] = field(default_factory=list)
    forget: bool = False  # the mapping is dropped (besides the action)
    left: list[str] = field(default_factory=list)
    result: Result = Result.PLANNED
    reason: str = ""
    record: dict | None = field(default=None, repr=False)  # the Integration record as read before the step
    was: str | None = None  # a restore: the status before the run (kept with its first status move)
    noop: Result | None = None  # already where the step would take it: nothing to send; recorded as this result
    sent: bool = False  # a write of the undo's landed (or may have): the crosswalk is told (else left as it was)
    refused: bool = False  # the API refused its write: recorded, so that a later undo does not send it again

    def what(self) -> str:
        """The step in words: "delete", "restore price, summary; status: remove_cancellation", "forget"."""
        if self.action != RESTORE:
            return self.action
        parts = [", ".join(sorted(self.fields))] if self.fields else []
        parts += [f"status: {', '.join(self.status)}"] if self.status else []
        return "restore " + "; ".join(parts) + ("; forget" if self.forget else "")

    def why(self) -> str:
        """The reason of its result, and what was not taken back."""
        return "; ".join(part for part in (self.reason, *self.left) if part)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind, "prod_id": self.prod_id, "int_id": self.int_id, "wrote": self.wrote,
            "step": self.what(), "result": self.result.value, "reason": self.reason, "not_taken_back": self.left,
        }  # fmt: skip


@dataclass
class UndoReport:
    run_id: str  # the run taken back
    undo_run_id: str  # this undo's own run id (its history rows carry it)
    dry_run: bool = False
    force: bool = False
    items: list[Item] = field(default_factory=list)
    requests: int = 0

    def counts(self) -> dict[str, int]:
        found = Counter(item.result.value for item in self.items)
        return {result.value: found.get(result.value, 0) for result in Result}

    def partly(self) -> list[Item]:
        """Records taken back only in part, or not at all, for a reason the API gives (listed in the report)."""
        return [item for item in self.items if item.left and item.result in (Result.DONE, Result.PLANNED)]

    def unfinished(self) -> bool:
        """Conflicts left alone or failures: the command's exit code says so."""
        return any(item.result in (Result.CONFLICT, Result.FAILED) for item in self.items)

    def summary(self) -> str:
        counts = {k: n for k, n in self.counts().items() if n}
        told = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items()) or "nothing"
        verb = "would take back" if self.dry_run else "took back"
        return f"undo of run {self.run_id}: {len(self.items)} records; {told}" + (
            f"; {verb} {len(self.partly())} only in part (listed)" if self.partly() else ""
        )

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id, "undo_run_id": self.undo_run_id, "dry_run": self.dry_run, "force": self.force,
            "counts": self.counts(), "requests": self.requests, "records": [item.as_dict() for item in self.items],
        }  # fmt: skip
