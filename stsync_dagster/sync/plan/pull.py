"""Copying what a batch's records need first: the materials and equipment of a PO's lines, a PO's job, a
material's variations, the job a job came from. Each kind's records are read by id and processed (planned and
written) while the batch is planned; what is left of them (status moves, follow-up) goes with that batch."""

from __future__ import annotations

import logging
from concurrent.futures import Future, wait
from typing import Callable

from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync.batch import Batch, Context, Plan, Rest
from stsync_dagster.sync.entities import EntityHandler
from stsync_dagster.sync.outcome import Outcome, SyncReport
from stsync_dagster.sync.plan.index import IndexCache
from stsync_dagster.sync.requests_pool import done_now
from stsync_dagster.sync.run import Run

log = logging.getLogger("stsync.sync")

# (context, handler, ids, report it counts in, rest) → the ids Production still has; see Pipeline.reread.
Reread = Callable[[Context, EntityHandler, list[int], SyncReport, Rest], set[int]]


class Copier:
    def __init__(self, run: Run, indexes: IndexCache, reread: Reread):
        self.run = run
        self.indexes = indexes
        self.reread = reread
        self._pulled: dict[str, set[int]] = {name: set() for name in run.handlers}  # tried once per run

    def copy_beside(self, ctx: Context, wanted: dict[str, set[int]], rest: Rest) -> Future:
        """`copy_needed` started now, beside what the batch being planned reads meanwhile."""
        return self._beside(lambda: self.copy_needed(ctx, wanted, rest))

    def copy_needed(self, ctx: Context, wanted: dict[str, set[int]], rest: Rest) -> None:
        """Copy referenced records that are not mapped yet, kind by kind in the order given (records of the kind
        itself too); the Integration index of every kind that has some is read meanwhile."""
        run = self.run
        missing: dict[str, list[int]] = {}
        waits: dict[int, tuple[Plan, Batch]] = {}
        for kind, prod_ids in wanted.items():
            mapped = run.crosswalk.lookup(kind, sorted(prod_ids)) if prod_ids else {}
            unmapped = sorted(i for i in prod_ids if i not in mapped)
            if kind == ctx.kind:
                ids, waits = self._own_kind(ctx, prod_ids, mapped, unmapped)
            else:
                ids = [i for i in unmapped if i not in self._pulled[kind]]
            if ids:
                missing[kind] = ids
                self.indexes.read_soon(run.handlers[kind])
        for kind, ids in missing.items():
            self._pulled[kind].update(ids)  # tried once per run: a blocked one stays blocked until the next
        self._kinds(ctx, missing, rest)
        for prod_id, (plan, batch) in waits.items():
            int_id = plan.created.result()
            if int_id is not None:
                ctx.fresh[prod_id] = int_id
            else:  # not created by its first send (sent again, or not at all): as its batch leaves it
                batch.mapped.result()

    def _own_kind(self, ctx: Context, prod_ids: set[int], mapped: dict, unmapped: list[int]) -> tuple[list, dict]:
        """Records of the kind being synced: (ids to copy now, those in flight whose create is waited for)."""
        seen = self.run.seen_of(ctx.kind)
        # Being created by a batch in flight (claimed, not confirmed yet): its create's answer is waited for once
        # the others are copied (they were planned, so they are seen: never pulled in here).
        waits = {
            i: f
            for i in prod_ids
            if i not in ctx.batch
            and (f := ctx.in_flight.get(i)) is not None
            and (i not in mapped or mapped[i].state != "confirmed")
        }
        # Those on this batch go first (again, when a pulled-in record needs another one pulled in with it), unless
        # they all need each other: then there is no order to keep. One processed earlier in the run ended as it
        # ended: not processed twice.
        first = [i for i in unmapped if i in ctx.batch]
        if set(first) >= ctx.batch:
            first = []
        ids = first + [i for i in unmapped if i not in ctx.batch and i not in seen and i not in self._pulled[ctx.kind]]
        seen.difference_update(ids)
        return ids, waits

    def _kinds(self, ctx: Context, missing: dict[str, list[int]], rest: Rest) -> None:
        """Each kind's records pulled in, the kinds at the same time (a PO's equipment is created while its jobs
        are read): their requests are few and one round trip after the other, so side by side they keep the batch
        being planned from waiting for the sum. The kind being synced goes first, on this thread (it is processed
        on this very context); the others have contexts of their own."""
        if not missing:
            return
        kinds = sorted(missing, key=lambda kind: kind != ctx.kind)
        others = [self._beside(lambda kind=kind: self._kind(ctx, kind, missing[kind], rest)) for kind in kinds[1:]]
        try:
            self._kind(ctx, kinds[0], missing[kinds[0]], rest)
        finally:
            wait(others)
        for other in others:
            other.result()

    def _beside(self, work: Callable[[], None]) -> Future:
        """`work` for the batch being planned, beside it. Under a run limit it is done now, on this thread: the
        pulls go one after the other, so which records the budget covers stays the same from run to run."""
        if self.run.options.limit > 0:
            return done_now(work)
        return self.run.background.start(work)

    def _kind(self, ctx: Context, kind: str, ids: list[int], rest: Rest) -> None:
        if kind in self.run.unavailable:
            return  # the records that need them are blocked with the reason (references.RefMap)
        log.info("%s: pulling in %d %s referenced by this page", ctx.kind, len(ids), kind)
        batch = ctx.batch
        try:
            found = self.reread(ctx, self.run.handlers[kind], ids, ctx.report, rest)
        except st.ScopeRefused as exc:
            self.run.unavailable.setdefault(kind, str(exc))
            log.warning("%s: %s unavailable (%s): the records that need them are blocked", ctx.kind, kind, exc)
            return
        if kind == ctx.kind:  # processed now, on this very context: the batch they are on leaves them out
            ctx.batch = batch
            ctx.pulled_ahead.update(ids)
        for prod_id in sorted(set(ids) - found):
            self.run.books.issue(
                ctx.report, Outcome.FAILED, prod_id, "id", "referenced but not found in Production", kind=kind,
                count=False,
            )  # fmt: skip
