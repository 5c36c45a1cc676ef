"""Batches through the stages: plan (plan/), create (apply/write.py), finish (confirm, status moves, follow-up).

Three stages, each one batch at a time and in order, so the request budget is not left idle between batches:
batch N+1 is planned (its reads, lookups, adoption) while batch N is being created, and batch N-1's status moves
are sent meanwhile. The create stage claims and sends; the finish stage waits for the answers, confirms, then
moves statuses: batch N+1's creates queue behind batch N's, never after a drain. A batch is planned only after
the previous one's records were seen, and never touches the records in flight; a stage that fails stops the
batches after it. Under a run limit the batches go one after the other: which records the budget covers stays
the order of Production's pages (pulled-in records take from the same budget)."""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future, wait
from typing import Callable, Iterable

from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync import progress
from stsync_dagster.sync.apply.updates import Updates
from stsync_dagster.sync.apply.write import Writer
from stsync_dagster.sync.batch import Batch, Context, Rest, tell
from stsync_dagster.sync.entities import EntityHandler
from stsync_dagster.sync.outcome import Outcome, SyncReport
from stsync_dagster.sync.plan.planner import Planner, planning_lane
from stsync_dagster.sync.requests_pool import RequestPool
from stsync_dagster.sync.run import Run

log = logging.getLogger("stsync.sync")


class Pipeline:
    def __init__(self, run: Run, writer: Writer, updates: Updates):
        self.run = run
        self.writer = writer
        self.updates = updates
        self.planner: Planner | None = None  # set by the engine (the planner copies records through `reread`)

    def run_batches(self, ctx: Context, batches: Iterable[list[dict]]) -> None:
        if self.run.options.limit > 0:
            for raws in batches:
                self._done(self._finish(self._create_stage(self._plan_batch(ctx, raws)), None, RequestPool.FINISHING))
            return
        finishing: deque[Future] = deque()  # the finish stage of each batch not yet done, oldest first
        created: Future | None = None
        beside = self.run.background.start  # each stage beside the planning (on it, when no thread is free)

        def create(batch: Batch, previous: Future | None) -> Batch:
            if previous is not None:
                previous.result()  # a batch whose creates failed stops the ones after it
            return self._create_stage(batch, early=True)

        def finish(created: Future, batch: Batch, before: Future | None) -> Batch:
            if before is not None:
                wait([before])  # the finish stages go one after the other, in the batches' order
            try:
                created.result()
            except BaseException as exc:
                self._abandon(batch, exc)
                raise
            # Its few requests (status moves, sends again, updates) go before the next batches' creates queued
            # meanwhile: the batches after it wait for this stage, and the creates keep the budget busy anyway.
            return self._finish(batch, None, RequestPool.FINISHING)

        def finished(keep: int) -> None:
            """Wait until at most `keep` batches are still finishing; progress is reported for each one done."""
            while len(finishing) > keep or (finishing and finishing[0].done()):
                self._done(finishing.popleft().result())

        try:
            for raws in batches:
                batch = self._plan_batch(ctx, raws)
                previous = created
                created = beside(lambda batch=batch, previous=previous: create(batch, previous))
                before = finishing[-1] if finishing else None
                finishing.append(
                    beside(lambda created=created, batch=batch, before=before: finish(created, batch, before))
                )
                ctx.in_flight.update({plan.prod_id: (plan, batch) for plan in batch.plans})
                if previous is not None:
                    previous.result()  # the next batch is planned while this one is being created
                finished(keep=2)
            finished(keep=0)
        finally:
            wait(finishing)  # on an error, what is in flight still finishes before the error goes on

    def process(self, ctx: Context, raw_records: list[dict], rest: Rest) -> None:
        """Plan and write a batch at once (records read again by id: the backlog, the sweep, pulled-in ones)."""
        lane = planning_lane(rest)  # pulled in: the batch being planned waits for them
        self._finish(self._create_stage(self.planner.plan(ctx, raw_records, rest), lane), rest, lane)

    def reread(
        self, ctx: Context, handler: EntityHandler, prod_ids: list[int], into: SyncReport, rest: Rest
    ) -> set[int]:
        """Read these Production records by id and process them; return the ids Production still has."""
        run = self.run
        try:
            raws = run.prod.get_by_ids(handler.cfg.prod_list_path, prod_ids, params=dict(handler.cfg.list_params))
        except st.ScopeRefused:  # the whole kind is unavailable, not these records
            raise
        except st.ServiceTitanError as exc:
            for prod_id in prod_ids:
                why = f"reading it from Production: {exc}"
                run.books.issue(into, Outcome.FAILED, prod_id, "(request)", why, kind=handler.kind)
            return set(prod_ids)
        own = handler is ctx.handler and into is ctx.report
        sub = ctx if own else Context(handler, SyncReport(handler.kind, dry_run=run.options.dry_run))
        self.process(sub, raws, rest)
        if not own:
            if rest is None:
                into.merge(sub.report)
            else:  # its status moves are still to come (see _finish)
                rest.append(lambda: into.merge(sub.report))
        return {int(r["id"]) for r in raws if "id" in r}

    def _plan_batch(self, ctx: Context, raw_records: list[dict]) -> Batch:
        """A batch of the window planned; what is left of the records it pulled in goes with it (see Batch)."""
        rest: list[Callable[[], None]] = []
        try:
            batch = self.planner.plan(ctx, raw_records, rest)
        except BaseException:
            self._rest_of_pulled(Batch(ctx, pulled_rest=rest), failing=True)  # no finish stage will do it
            raise
        batch.pulled_rest = rest
        return batch

    def _create_stage(self, batch: Batch, lane: int = RequestPool.CREATES, early: bool = False) -> Batch:
        batch.land = self.writer.write(batch.ctx, batch.plans, batch.taken_over, lane, early)
        return batch

    def _finish(self, batch: Batch, rest: Rest, lane: int) -> Batch:
        try:
            settle = batch.land()
        except BaseException as exc:
            self._abandon(batch, exc)
            raise
        for plan in batch.plans:  # not sent (a limit, a claim taken meanwhile, a dry run): nothing to tell
            tell(plan.created, None)
        batch.mapped.set_result(batch)
        if rest is not None:  # pulled in while a batch is planned: that batch's finish stage does the rest
            rest.append(lambda: self._settle(batch, settle, RequestPool.FINISHING))
            return batch
        self._rest_of_pulled(batch)
        self._settle(batch, settle, lane)
        return batch

    def _abandon(self, batch: Batch, exc: BaseException) -> None:
        """A batch whose creates failed: the batch planned meanwhile, waiting for some of them, gets the error."""
        for plan in batch.plans:
            tell(plan.created, None)
        batch.mapped.set_exception(exc)
        self._rest_of_pulled(batch, failing=True)

    @staticmethod
    def _rest_of_pulled(batch: Batch, failing: bool = False) -> None:
        """What is left of the records the batch pulled in; when the batch itself failed, done all the same (their
        creates are confirmed: their status moves are owed), and the batch's error is the one that goes on."""
        rest, batch.pulled_rest = batch.pulled_rest, []
        for step in rest:
            try:
                step()
            except Exception:
                if not failing:
                    raise
                log.exception("%s: finishing the records pulled in by a failed batch", batch.ctx.kind)

    def _settle(self, batch: Batch, settle: Callable[[int], None], lane: int) -> None:
        settle(lane)
        self.updates.follow(batch.ctx, batch.wanted, lane)
        self.run.books.save()

    @staticmethod
    def _done(batch: Batch) -> None:
        ctx = batch.ctx
        for plan in batch.plans:
            ctx.in_flight.pop(plan.prod_id, None)
            ctx.fresh.pop(plan.prod_id, None)
        ctx.report.window_done += batch.size
        progress.tell(ctx.report)
        if ctx.on_page is not None:
            ctx.on_page(ctx.report)
