"""The sync engine: pages of Production records → translated create requests → Integration, exactly once.

Integration is the truth and the crosswalk its index: nothing is created unless STSync has shown that
Integration does not hold it. The data's path is in the folder names: read/ (the window's pages, whole; what
earlier runs left), plan/ (validate, look up, resolve pending claims, copy what records need, translate, adopt,
build), apply/ (claim, create, confirm, move statuses, follow Production), crosswalk/. `pipeline.py` runs the
batches through the stages; this module composes them for a run. Plain Python: the assets and the CLI call it.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync import progress
from stsync_dagster.sync.apply.activation import Activation
from stsync_dagster.sync.apply.creates import Creator
from stsync_dagster.sync.apply.statuses import Statuses
from stsync_dagster.sync.apply.updates import Updates
from stsync_dagster.sync.apply.write import Writer
from stsync_dagster.sync.batch import Context
from stsync_dagster.sync.outcome import Outcome, SyncReport
from stsync_dagster.sync.pipeline import Pipeline
from stsync_dagster.sync.plan.adopt import Adopter
from stsync_dagster.sync.plan.index import IndexCache
from stsync_dagster.sync.plan.pending import PendingClaims
from stsync_dagster.sync.plan.planner import Planner
from stsync_dagster.sync.plan.pull import Copier
from stsync_dagster.sync.plan.refresh import forget_stale_mappings
from stsync_dagster.sync.read import complete_pages
from stsync_dagster.sync.read.leftovers import Leftovers
from stsync_dagster.sync.read.prefetch import prefetch
from stsync_dagster.sync.run import Run, SyncOptions
from stsync_dagster.sync.select import Selection, Selector, name_combinations, selector_for
from stsync_dagster.sync.window import Window

__all__ = ["Run", "SyncEngine", "SyncOptions"]

log = logging.getLogger("stsync.sync")


class SyncEngine:
    def __init__(self, run: Run):
        self.run = run
        self.indexes = IndexCache(run)
        creator = Creator(run)
        statuses = Statuses(run)
        self.activation = Activation(run, creator)
        self.writer = Writer(run, creator, self.activation, statuses, self.indexes)
        self.pipeline = pipeline = Pipeline(run, self.writer, Updates(run, self.activation, statuses))
        copier = Copier(run, self.indexes, pipeline.reread)
        self.pending = pending = PendingClaims(run, self.writer.lost_here)
        pipeline.planner = Planner(run, self.indexes, pending, Adopter(run, self.indexes), copier)
        self.leftovers = Leftovers(run, lambda ctx, ids: pipeline.reread(ctx, ctx.handler, ids, ctx.report, None))
        self._reactivations_finished = False

    def close(self) -> None:
        self.run.close()

    def __enter__(self) -> "SyncEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def sync(
        self,
        entity: str,
        window: Window,
        on_page: Callable[[SyncReport], None] | None = None,
        selection: Selection | None = None,
        where: str = "select",
    ) -> SyncReport:
        """Copy and follow the records of `entity` modified in the window (and those earlier runs left behind); with
        a selection, those it keeps of the window (`where` names it in errors: its JSON path)."""
        run = self.run

        def work(ctx: Context) -> None:
            cfg = ctx.handler.cfg
            try:
                selector = selector_for(selection, ctx.handler, run.prod, run.config, where, run.crosswalk)
                if not run.options.dry_run:
                    forget_stale_mappings(run, self.indexes, ctx.handler)
                    self.leftovers.sweep(ctx)
                self.leftovers.backlog(ctx)
                log.info("%s: reading %s from Production, window %s", entity, cfg.prod_list_path, window)
                params = {**cfg.list_params, **window.params(cfg.since_param, cfg.until_param)}
                if selector is not None:
                    params.update(selector.resolved.api_params)
                pages = prefetch(complete_pages(run.prod, cfg.prod_list_path, params), run.background.try_start)
                self.pipeline.run_batches(ctx, self._batches(ctx, self._selected(ctx, selector, pages)))
            except st.ScopeRefused as exc:  # this kind cannot be read: it is unavailable, not a failed step
                ctx.report.unavailable = run.unavailable.setdefault(entity, str(exc))
                log.warning("%s: unavailable: %s", entity, exc)

        return self._run(entity, work, on_page)

    def copy(
        self,
        entity: str,
        prod_ids: list[int],
        on_page: Callable[[SyncReport], None] | None = None,
        selection: Selection | None = None,
        where: str = "select",
    ) -> SyncReport:
        """Copy (or bring up to date) these Production records, whatever their modifiedOn, with what they
        reference: a PO's materials and job are pulled in, its master data must be matched. With a selection,
        only those of them it keeps."""
        run = self.run

        def work(ctx: Context) -> None:
            selector = selector_for(selection, ctx.handler, run.prod, run.config, where, run.crosswalk)
            if not run.options.dry_run:
                forget_stale_mappings(run, self.indexes, ctx.handler)
            wanted = sorted({int(i) for i in prod_ids})
            ctx.report.window_total = len(wanted)
            cfg = ctx.handler.cfg
            try:
                raws = run.prod.get_by_ids(cfg.prod_list_path, wanted, params=dict(cfg.list_params))
                if selector is not None:
                    raws = self._kept_of(ctx, selector, raws)
            except st.ServiceTitanError as exc:
                for prod_id in wanted:
                    run.books.issue(
                        ctx.report, Outcome.FAILED, prod_id, "(request)", f"reading it from Production: {exc}"
                    )
                return
            found = {int(r["id"]) for r in raws if "id" in r} | ctx.left_out
            for prod_id in sorted(set(wanted) - found):
                run.books.issue(
                    ctx.report, Outcome.FAILED, prod_id, "id", "not found in Production", record_issue=False
                )
            size = run.options.batch_size
            self.pipeline.run_batches(ctx, (raws[start : start + size] for start in range(0, len(raws), size)))

        return self._run(entity, work, on_page)

    def _run(self, entity: str, work: Callable[[Context], None], on_page) -> SyncReport:
        run = self.run
        run.books.asset = entity
        report = SyncReport(entity, dry_run=run.options.dry_run)
        ctx = Context(run.handlers[entity], report, on_page)
        started = time.monotonic()
        before = self._request_counts()
        try:
            if not run.options.dry_run and not self._reactivations_finished:
                self.activation.finish_reactivations()
                self._reactivations_finished = True
            progress.tell(report)
            work(ctx)
            self.writer.settle_lost()
            self._finish_parked()
        finally:
            run.books.save()
        after = self._request_counts()
        report.requests = after[0] - before[0]
        report.rate_limited = after[1] - before[1]
        report.seconds = round(time.monotonic() - started, 3)
        progress.tell(report, finished=True)
        return report

    def _finish_parked(self) -> None:
        """Claims left young by runs that are gone (a crash): once ServiceTitan can no longer be committing them
        (at most the server timeout from now), looked up and finished, so the run does not end with them deferred."""
        parked, self.pending.parked = self.pending.parked, []
        if not parked:
            return
        wait = (max(p.ready for p in parked) - self.run.crosswalk.now()).total_seconds()
        if wait > 0:
            log.info("waiting %.0f s for %d creates of runs that are gone, then finishing them", wait, len(parked))
            time.sleep(wait)
        by_ctx: dict[int, list] = {}
        for item in parked:
            by_ctx.setdefault(id(item.ctx), []).append(item)
        for items in by_ctx.values():
            ctx, ids = items[0].ctx, sorted({item.prod_id for item in items})
            self.run.seen_of(ctx.kind).difference_update(ids)  # processed again, now that they can be
            self.pipeline.reread(ctx, ctx.handler, ids, ctx.report, None)

    def _selected(self, ctx: Context, selector: Selector | None, pages):
        """The window's pages with what the selection keeps; its report goes with the run's."""
        if selector is None:
            yield from pages
            return
        ctx.report.selection = selector.report
        yield from selector.pages(pages)
        ctx.report.window_total = selector.report.kept
        if selector.resolved.per:
            name_combinations(selector, self.run.prod, self.run.config)
        log.info("%s: %s", ctx.kind, selector.report.summary())

    def _kept_of(self, ctx: Context, selector: Selector, raws: list[dict]) -> list[dict]:
        """Records asked for by id that the selection keeps: those the API's own filters return (asked with the
        same ids), then STSync's checks and the sample; the others are left out, not missing."""
        ctx.report.selection = selector.report
        cfg, api = ctx.handler.cfg, selector.resolved.api_params
        ids = [r["id"] for r in raws if isinstance(r.get("id"), int)]
        through = set(ids)
        if api:
            filtered = self.run.prod.get_by_ids(cfg.prod_list_path, ids, params={**cfg.list_params, **api})
            through = {int(r["id"]) for r in filtered if "id" in r}
        candidates = [r for r in raws if not isinstance(r.get("id"), int) or r["id"] in through]
        kept = selector.records(candidates)
        selector.report.read = len(raws)
        ctx.left_out = set(ids) - {r["id"] for r in kept if isinstance(r.get("id"), int)}
        if selector.resolved.per:
            name_combinations(selector, self.run.prod, self.run.config)
        return kept

    def _batches(self, ctx: Context, pages):
        """A page can hold 5000 records: claims, creates and progress go by smaller batches. The first is a fifth
        of the others: its reads are few, so the first creates go out soon and the next batch is planned meanwhile."""
        size = max(1, self.run.options.batch_size // 5)
        for page in pages:
            ctx.report.pages += 1
            if page.total_count is not None:  # grows when records moved and the window is read again
                ctx.report.window_total = page.total_count
            start = 0
            while start < len(page.records):
                yield page.records[start : start + size]
                start += size
                size = self.run.options.batch_size

    def _request_counts(self) -> tuple[int, int]:
        total = limited = 0
        for client in (self.run.prod, self.run.intc):
            snap = client.stats.snapshot()
            total += snap.get("requests", 0)
            limited += snap.get("rate_limited", 0)
        return total, limited
