"""What a diff found for one kind: each Production record of the window in one state, the marked Integration
records whose Production record is gone, the counts, and the same as JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from stsync_dagster.sync.fidelity import Difference

IN_SYNC, DIFFERS, MISSING, BLOCKED = "in_sync", "differs", "missing", "blocked"
NOT_SELECTED = "not_selected"  # never copied, and the config's selection (`select`) leaves it out: not a difference
STATES = (IN_SYNC, DIFFERS, MISSING, BLOCKED, NOT_SELECTED)
ORPHANED = "orphaned"  # counted beside the states: Integration records, not Production ones

# Why a copy differs: Integration edited since STSync's last write, Production's copied values changed since
# then (not followed yet: the next sync updates it), both, or neither with what STSync knows.
EDITED_IN_INTEGRATION = "edited in Integration"
PRODUCTION_CHANGED = "Production changed"
BOTH = "both changed"
HISTORY_UNKNOWN = "history unknown"  # adopted, reconciled, from the original script: never written by STSync
NEITHER = "neither changed"  # a value STSync does not update, or one it wrote otherwise than it reads back
UNDONE = "undone"  # its last write was `stsync undo`'s: the next sync writes Production's values again
CAUSES = (EDITED_IN_INTEGRATION, PRODUCTION_CHANGED, BOTH, HISTORY_UNKNOWN, NEITHER, UNDONE)
COLUMNS = ("prod_id", "int_id", "state", "why", "field", "production", "integration")  # of rows()


@dataclass(frozen=True)
class RecordDiff:
    prod_id: int
    state: str
    int_id: int | None = None
    cause: str | None = None  # differs: one of CAUSES
    why: str = ""  # missing, blocked: the crosswalk's or the words; differs: the cause's details
    fields: tuple[Difference, ...] = ()


@dataclass(frozen=True)
class Orphan:
    """An Integration record carrying STSync's mark whose Production record no longer exists."""

    int_id: int
    prod_id: int
    mapped: bool  # the crosswalk still maps the Production id to it


@dataclass
class DiffReport:
    kind: str
    window: str
    records: list[RecordDiff] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        found = {state: 0 for state in STATES}
        for record in self.records:
            found[record.state] += 1
        return {**found, ORPHANED: len(self.orphans)}

    def causes(self) -> dict[str, int]:
        found = {cause: 0 for cause in CAUSES}
        for record in self.records:
            if record.state == DIFFERS:
                found[record.cause] += 1
        return found

    def differences(self) -> int:
        """What a threshold is held against: every record not in sync but the blocked ones (their reason is known,
        and listed by their own check), and every orphan."""
        counts = self.counts()
        return counts[DIFFERS] + counts[MISSING] + counts[ORPHANED]

    def not_in_sync(self) -> list[RecordDiff]:
        return [r for r in self.records if r.state != IN_SYNC]

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "window": self.window,
            "counts": self.counts(),
            "causes": self.causes(),
            "records": [_record_json(r) for r in sorted(self.not_in_sync(), key=_order)],
            "orphans": [asdict(o) for o in self.orphans],
            "requests": self.requests,
            "seconds": self.seconds,
        }


def _order(record: RecordDiff) -> tuple:
    return (STATES.index(record.state), record.prod_id)


def _record_json(record: RecordDiff) -> dict[str, Any]:
    out: dict[str, Any] = {"prod_id": record.prod_id, "state": record.state, "int_id": record.int_id}
    if record.cause:
        out["cause"] = record.cause
    if record.why:
        out["why"] = record.why
    if record.fields:
        out["fields"] = [{"field": d.field, "production": d.production, "integration": d.integration}
                         for d in record.fields]  # fmt: skip
    return out


def rows(report: DiffReport, limit: int | None = None) -> list[dict[str, str]]:
    """The differences as table rows (terminal and Dagster metadata alike): a row per differing field, a row per
    missing record and per orphan. The blocked records are grouped apart (blocked_groups)."""
    out: list[dict[str, str]] = []
    for record in sorted((r for r in report.records if r.state in (DIFFERS, MISSING)), key=_order):
        base = {"prod_id": str(record.prod_id), "int_id": "" if record.int_id is None else str(record.int_id),
                "state": record.state}  # fmt: skip
        if record.fields:
            for d in record.fields:
                out.append({**base, "why": record.cause or "", "field": d.field,
                            "production": _shown(d.production), "integration": _shown(d.integration)})  # fmt: skip
        else:
            out.append({**base, "why": record.why, "field": "", "production": "", "integration": ""})
    for orphan in report.orphans:
        out.append({"prod_id": str(orphan.prod_id), "int_id": str(orphan.int_id), "state": ORPHANED,
                    "why": "gone from Production" + ("; still in the crosswalk" if orphan.mapped else ""),
                    "field": "", "production": "", "integration": ""})  # fmt: skip
    return out if limit is None else out[:limit]


def blocked_groups(report: DiffReport, examples: int = 3) -> list[dict[str, Any]]:
    """The blocked records by reason, most first: {count, why, examples (Production ids)}."""
    groups: dict[str, list[int]] = {}
    for record in report.records:
        if record.state == BLOCKED:
            groups.setdefault(record.why, []).append(record.prod_id)
    ordered = sorted(groups.items(), key=lambda g: (-len(g[1]), g[0]))
    return [{"count": len(ids), "why": why, "examples": sorted(ids)[:examples]} for why, ids in ordered]


def _shown(value: Any, width: int = 60) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
