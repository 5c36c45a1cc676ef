"""`diff`: how Integration differs from Production for one kind over a window of Production's modifiedOn. Reads
only: the window's pages (complete, as a sync reads them), the copies by id 50 a request, the marked records of
the kind in one paged scan; nothing is written, not even to the crosswalk."""

from __future__ import annotations

import logging
import time

from stsync_dagster.sync.diff.compare import NOT_COPIED, Comparer
from stsync_dagster.sync.diff.orphans import orphans
from stsync_dagster.sync.diff.report import MISSING, NOT_SELECTED, DiffReport, RecordDiff
from stsync_dagster.sync.entities import HANDLERS, EntityHandler
from stsync_dagster.sync.policy import Policies
from stsync_dagster.sync.read import complete_pages
from stsync_dagster.sync.reconcile import marked_records
from stsync_dagster.sync.select import selector_for
from stsync_dagster.sync.window import Window

log = logging.getLogger("stsync.diff")

BATCH = 500  # records compared together: a crosswalk query per batch, their copies read 50 ids a request


def diff(handler: EntityHandler, window: Window, *, prod, intc, crosswalk, config, batch: int = BATCH) -> DiffReport:
    started = time.monotonic()
    before = _requests(prod, intc)
    report = DiffReport(handler.kind, str(window))
    marks = marked_records(handler, intc)
    policies = Policies(config, {name: h.reference_fields for name, h in HANDLERS.items()}, intc)
    comparer = Comparer(handler, prod, intc, crosswalk, policies, marks)
    cfg = handler.cfg
    params = {**cfg.list_params, **window.params(cfg.since_param, cfg.until_param)}
    log.info("%s: comparing Production's records of %s with Integration", handler.kind, window)
    kept = _selected(handler, prod, config, params, crosswalk)
    seen: set[int] = set()
    for page in complete_pages(prod, cfg.prod_list_path, params):
        for start in range(0, len(page.records), batch):
            found = comparer.compare(page.records[start : start + batch])
            seen.update(r.prod_id for r in found)
            report.records += [_unless_left_out(r, kept) for r in found]
    report.orphans = orphans(handler, prod, crosswalk, marks, seen)
    report.requests = _requests(prod, intc) - before
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _selected(handler: EntityHandler, prod, config, params: dict, crosswalk) -> set[int] | None:
    """The ids of the window the config's selection keeps (a read of the window of its own: a sample by count
    knows only once it has read it all); None without a selection."""
    where = f"$.entities.{handler.kind}.select"
    selector = selector_for(config.entity(handler.kind).select, handler, prod, config, where, crosswalk)
    if selector is None:
        return None
    pages = complete_pages(prod, handler.cfg.prod_list_path, {**params, **selector.resolved.api_params})
    return {int(r["id"]) for page in selector.pages(pages) for r in page.records if isinstance(r.get("id"), int)}


def _unless_left_out(record: RecordDiff, kept: set[int] | None) -> RecordDiff:
    if record.state != MISSING or record.why != NOT_COPIED or kept is None or record.prod_id in kept:
        return record
    return RecordDiff(record.prod_id, NOT_SELECTED, why="left out by the selection (`select` in stsync.config.json)")


def _requests(*clients) -> int:
    return sum(client.stats.snapshot().get("requests", 0) for client in clients)
