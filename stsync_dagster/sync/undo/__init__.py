"""`stsync undo RUN_ID`: take back what one run wrote to Integration, newest first, as far as the API allows, and
say exactly what it could not. plan.py reads the run's writes from the history and checks each record against
Integration (a record edited since is a conflict, left alone unless forced); apply.py sends and tells the
crosswalk; report.py is what the command and the Dagster job show. Plain Python: no Dagster here."""

from __future__ import annotations

from stsync_dagster.sync.configfile import SyncConfig
from stsync_dagster.sync.entities import HANDLERS
from stsync_dagster.sync.undo.apply import Undoer
from stsync_dagster.sync.undo.plan import plan, resolve_run
from stsync_dagster.sync.undo.report import Item, Result, UndoReport

__all__ = ["Item", "Result", "UndoReport", "undo"]


def undo(
    crosswalk, intc, config: SyncConfig, guid: str, run_id: str, *, undo_run_id: str, dry_run=False, force=False
) -> UndoReport:
    """Take back run `run_id` (a unique prefix will do); `dry_run`: plan and read only, write nothing."""
    handlers = {name: cls(config, guid) for name, cls in HANDLERS.items()}
    run_id, writes = resolve_run(crosswalk, run_id)
    requests = intc.stats.snapshot().get("requests", 0)
    items = plan(crosswalk, intc, handlers, run_id, writes, force=force)
    undoer = Undoer(crosswalk, intc, config, handlers, run_id, undo_run_id)
    undoer.prepare(items)
    if not dry_run:
        undoer.apply(items)
    report = UndoReport(run_id, undo_run_id, dry_run, force, items)
    report.requests = intc.stats.snapshot().get("requests", 0) - requests
    return report
