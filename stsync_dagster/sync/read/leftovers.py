"""What earlier runs left behind, read again by id before the window: claims left pending by runs that are gone
(a crash, a lost answer), and records left blocked, failed or deferred (the backlog)."""

from __future__ import annotations

import logging
from typing import Callable

from stsync_dagster.sync.batch import Context
from stsync_dagster.sync.run import Run

log = logging.getLogger("stsync.sync")


class Leftovers:
    def __init__(self, run: Run, reread: Callable[[Context, list[int]], object]):
        self.run = run
        self.reread = reread  # (context, ids): read these records of the context's kind again and process them

    def sweep(self, ctx: Context) -> None:
        """Claims of any window left pending longer than the server timeout by runs that are gone: their records
        are read again and resolved now, not when someone happens to re-run their day."""
        run, kind = self.run, ctx.kind
        stale = [e for e in run.crosswalk.stale_claims(kind, run.stale_before()) if not run.is_live(e.run_id)]
        if not stale:
            return
        log.warning(
            "%s: %d claims left pending by earlier runs (a crash or a lost answer): resolving them", kind, len(stale)
        )
        self.reread(ctx, sorted(e.prod_id for e in stale))

    def backlog(self, ctx: Context) -> None:
        """Records of the kind left blocked, failed or deferred by earlier runs of any window are tried again
        first when they are due (crosswalk.due_issues): a vendor added to Integration heals them without anyone
        re-running their day, and a record the API refuses as it is costs nothing until its backoff is over."""
        run, kind = self.run, ctx.kind
        left = run.crosswalk.issues(kind=kind)
        due = left if run.options.retry_all else run.crosswalk.due_issues(kind, run.books.config_print, left)
        waiting = sorted({issue.prod_id for issue in due})
        if len(due) < len(left):
            log.info("%s: %d records left behind wait for their reference or their backoff", kind, len(left) - len(due))
        if not waiting:
            return
        log.info("%s: trying again %d records left blocked, failed or deferred by earlier runs", kind, len(waiting))
        self.reread(ctx, waiting)
        if not run.options.dry_run:
            copied = [p for p, e in run.crosswalk.lookup(kind, waiting).items() if e.state == "confirmed"]
            run.books.clear(kind, copied)
