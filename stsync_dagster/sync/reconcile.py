"""Rebuild or repair the crosswalk from the marks STSync leaves on what it creates in Integration.

For when the crosswalk was lost or an old backup was copied over it: every material and job carrying
STSync's externalData stamp, and every purchase order whose memo carries its marker, is (re)mapped to
its Production id. A sync afterwards then creates nothing that exists.

`stsync reconcile` then adopts by natural key what Integration holds without a mark (a sync that creates nothing,
SyncOptions(create=False)); `Tally` is what the two steps did to one kind, in the words the command prints, and
`forget_not_in_integration` keeps the records that are merely not in Integration yet out of the backlog.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from stsync_dagster.sync.crosswalk import Write
from stsync_dagster.sync.entities import EntityHandler
from stsync_dagster.sync.outcome import Outcome, SyncReport

log = logging.getLogger("stsync.reconcile")


@dataclass
class ReconcileReport:
    kind: str
    found: int = 0  # records in Integration that carry a mark
    inserted: int = 0  # mappings the crosswalk lacked
    updated: int = 0  # mappings that pointed elsewhere, or claims left pending
    unchanged: int = 0
    duplicates: dict[int, list[int]] = field(default_factory=dict)  # prod id → several Integration ids
    requests: int = 0
    repaired_ids: frozenset[int] = frozenset()  # the mappings `updated` counts

    def summary(self) -> str:
        dup = (
            f", {len(self.duplicates)} Production ids marked on several Integration records" if self.duplicates else ""
        )
        return (
            f"{self.kind}: {self.found} marked records in Integration; crosswalk: {self.inserted} added, "
            f"{self.updated} repaired, {self.unchanged} already right{dup}"
        )


def marked_records(handler: EntityHandler, intc) -> dict[int, list[int]]:
    """Production id → Integration ids of every marked record (one paged scan)."""
    marks: dict[int, list[int]] = {}
    for page in intc.iter_pages(handler.cfg.int_list_path, handler.index_params()):
        for record in page.records:
            prod_id = handler.mark_of(record)
            if prod_id is not None:
                marks.setdefault(prod_id, []).append(int(record["id"]))
    return marks


def reconcile(handler: EntityHandler, intc, crosswalk, run_id: str | None = None) -> ReconcileReport:
    before = intc.stats.snapshot()["requests"]
    report = ReconcileReport(handler.kind)
    marks = marked_records(handler, intc)
    # Deleted by `stsync undo`: gone for good, even where the API still lists it with our mark.
    deleted = crosswalk.deleted_int_ids(handler.kind, [i for ids in marks.values() for i in ids])
    marks = {p: kept for p, ids in marks.items() if (kept := [i for i in ids if i not in deleted])}
    report.found = sum(len(ids) for ids in marks.values())
    pairs = {}
    for prod_id, int_ids in marks.items():
        keep = min(int_ids)  # the first one created; the others are duplicates made by something else
        pairs[prod_id] = keep
        if len(int_ids) > 1:
            report.duplicates[prod_id] = sorted(int_ids)
            log.warning("%s %s is marked on several Integration records %s", handler.kind, prod_id, sorted(int_ids))
    why = "found in Integration by its mark (stsync reconcile)"
    writes = [Write(run_id, handler.kind, p, i, "reconciled", detail=why) for p, i in pairs.items()]
    counts = crosswalk.record(handler.kind, pairs, source="reconcile", run_id=run_id, history=writes)
    crosswalk.clear_issues(handler.kind, list(pairs))
    report.inserted, report.updated, report.unchanged = counts.inserted, counts.updated, counts.unchanged
    report.repaired_ids = counts.updated_ids
    report.requests = intc.stats.snapshot()["requests"] - before
    return report


# The field of the records a sync that creates nothing found nowhere in Integration (sync/apply/write.py).
NOT_IN_INTEGRATION = "(reconcile)"


@dataclass
class Tally:
    """What a reconcile did to one kind. Every count is of Production records: mapped before it began, mapped now
    by STSync's mark on an Integration record, mapped now by natural key (or the same id: a refreshed tenant that
    kept them), and of the kind's records since the start date, those Integration does not hold yet, those blocked
    or failed on the way, and those another run is creating."""

    kind: str
    already_mapped: int = 0
    by_mark: int = 0
    repaired: int = 0  # of by_mark: the crosswalk pointed elsewhere, or held a claim left pending
    by_key: int = 0
    by_id: int = 0
    not_in_integration: int = 0
    blocked: int = 0
    failed: int = 0
    deferred: int = 0

    def summary(self) -> str:
        repaired = f" ({self.repaired} of them mapped elsewhere before)" if self.repaired else ""
        by_id = f", {self.by_id} adopted by the same id" if self.by_id else ""
        left = [f"{n} {what}" for n, what in ((self.blocked, "blocked"), (self.failed, "failed")) if n]
        if self.deferred:
            left.append(f"{self.deferred} being created by another run")
        return (
            f"{self.kind}: {self.already_mapped} already mapped, {self.by_mark} adopted by their mark{repaired}, "
            f"{self.by_key} adopted by natural key{by_id}, {self.not_in_integration} not in Integration yet"
            + (f"; {', '.join(left)}" if left else "")
        )


def tally(
    kind: str, mapped_before: set[int], marks: ReconcileReport, adopted: SyncReport, crosswalk, run_id: str
) -> Tally:
    """The kind's Tally: `mapped_before`, the Production ids the crosswalk mapped before the reconcile; `marks`,
    what its marks did; `adopted`, the sync that created nothing."""
    rules = adoption_rules(crosswalk, run_id, kind) if adopted.count(Outcome.ADOPTED) else Counter()
    own = [issue for issue in adopted.issues if issue.kind == kind]
    missing = sum(i.outcome is Outcome.DEFERRED and i.field == NOT_IN_INTEGRATION for i in own)
    return Tally(
        kind,
        already_mapped=len(mapped_before - marks.repaired_ids),
        by_mark=marks.inserted + marks.updated + rules["stamp"],
        repaired=marks.updated,
        by_key=adopted.count(Outcome.ADOPTED) - rules["same-id"] - rules["stamp"],
        by_id=rules["same-id"],
        not_in_integration=missing,
        blocked=sum(i.outcome is Outcome.BLOCKED for i in own),
        failed=sum(i.outcome is Outcome.FAILED for i in own),
        deferred=sum(i.outcome is Outcome.DEFERRED for i in own) - missing,
    )


def adoption_rules(crosswalk, run_id: str, kind: str) -> Counter:
    """How many records of the kind the run adopted by each rule (stamp, same-id, natural-key): its history says."""
    _, total = crosswalk.run_writes(run_id, asset=kind, limit=0)
    writes, _ = crosswalk.run_writes(run_id, asset=kind, limit=total)
    return Counter(w.detail.removeprefix("by ") for w in writes if w.kind == kind and w.action == "adopted")


def forget_not_in_integration(crosswalk, run_id: str, backlog: set[tuple[str, int]]) -> int:
    """Clear the issue rows the sync that created nothing (run `run_id`) left for records merely not in Integration
    yet, of every kind (the records a PO pulls in too): not work left behind, since no sync of their days has run
    since the crosswalk knows them, so not deferred in the checks, the backlog or the exit code; a sync of their days
    creates them. A record that was in the `backlog` (kind, prod id) before keeps its row: an earlier run left it
    behind, and the next run tries it again. Returns how many rows were cleared."""
    by_kind: dict[str, list[int]] = {}
    for issue in crosswalk.issues(status="deferred"):
        if issue.run_id == run_id and issue.detail == NOT_IN_INTEGRATION and (issue.kind, issue.prod_id) not in backlog:
            by_kind.setdefault(issue.kind, []).append(issue.prod_id)
    return sum(crosswalk.clear_issues(kind, ids) for kind, ids in by_kind.items())
