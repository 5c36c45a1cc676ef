"""Rebuild or repair the crosswalk from the marks STSync leaves on what it creates in Integration.

For when the crosswalk was lost or an old backup was copied over it: every material and job carrying
STSync's externalData stamp, and every purchase order whose memo carries its marker, is (re)mapped to
its Production id. A sync afterwards then creates nothing that exists.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from stsync_dagster.sync.crosswalk import Write
from stsync_dagster.sync.entities import EntityHandler

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

    def summary(self) -> str:
        dup = (
            f", {len(self.duplicates)} Production ids marked on several Integration records" if self.duplicates else ""
        )
        return (
            f"{self.kind}: {self.found} marked records in Integration; crosswalk: {self.inserted} added, "
            f"{self.updated} repaired, {self.unchanged} already right{dup}"
        )


def _marks(handler: EntityHandler, intc) -> dict[int, list[int]]:
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
    marks = _marks(handler, intc)
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
    report.requests = intc.stats.snapshot()["requests"] - before
    return report
