"""Writing a batch's creates: claim, send, wait for the answers, confirm them in the crosswalk, then move the
new copies to their Production status. A create whose answer was lost stays claimed and is settled at the end of
the run, once ServiceTitan can no longer be committing it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync.apply.activation import Activation
from stsync_dagster.sync.apply.creates import Creator
from stsync_dagster.sync.apply.provenance import fingerprint
from stsync_dagster.sync.apply.statuses import Statuses
from stsync_dagster.sync.batch import Context, Created, Lost, Plan, Postponed, Unanswered, nothing, nothing_left
from stsync_dagster.sync.outcome import Outcome
from stsync_dagster.sync.plan.index import IndexCache
from stsync_dagster.sync.requests_pool import RequestPool
from stsync_dagster.sync.run import Run

log = logging.getLogger("stsync.sync")


@dataclass
class Writer:
    run: Run
    creator: Creator
    activation: Activation
    statuses: Statuses
    index: IndexCache
    lost: list[Lost] = field(default_factory=list)  # creates whose answers were lost, settled at the run's end

    def lost_here(self, kind: str, prod_id: int) -> bool:
        """A create of this run whose answer was lost (settled at the end of the run)."""
        return any(item.plan.prod_id == prod_id and item.ctx.kind == kind for item in self.lost)

    def write(
        self, ctx: Context, plans: list[Plan], taken_over: set[int], lane: int, early: bool = False
    ) -> Callable[[], Callable[[int], None]]:
        """Claim the plans and send their creates; returns `land`, which waits for the answers and confirms them,
        and returns in turn the status moves and notes left to do (see confirm). The creates of the next batch
        can be sent meanwhile: the concurrent requests never drain between batches. `early`: the creates refused
        on an inactive SKU are sent again as soon as the answers are in, not when `land` is called (the finish
        stage may still be busy with the batch before)."""
        run, handler, report, kind = self.run, ctx.handler, ctx.report, ctx.kind
        plans = self._within_budget(ctx, plans, taken_over)
        if not plans:
            return nothing_left
        if run.options.dry_run:
            for plan in plans:
                run.planned[kind].add(plan.prod_id)
                report.created(plan.prod_id, None)
                report.went_without(plan.prod_id, ctx.dropped.pop(plan.prod_id, []))
                if len(report.sample_payloads) < run.options.sample_size:
                    report.sample_payloads.append({"prod_id": plan.prod_id, "payload": plan.body})
            return nothing_left
        ours = set(run.crosswalk.claim(kind, [p.prod_id for p in plans], run.options.run_id, run.options.partition))
        ours |= taken_over
        for plan in plans:
            if plan.prod_id not in ours:
                run.books.issue(report, Outcome.DEFERRED, plan.prod_id, "(claim)", "claimed by another run meanwhile")
        plans = [p for p in plans if p.prod_id in ours]
        run.crosswalk.mark_sent(kind, [p.prod_id for p in plans], run.options.run_id)
        answers = self.creator.send_all(handler, plans, lane)
        resolve = lambda: self.activation.with_inactive_active(ctx, plans, answers())  # noqa: E731
        resolved = run.background.start(resolve) if early else None

        def land() -> Callable[[int], None]:
            return self._landed(ctx, plans, resolved.result() if resolved else resolve())

        return land

    def _within_budget(self, ctx: Context, plans: list[Plan], taken_over: set[int]) -> list[Plan]:
        """The plans the run's limit lets through; the others are deferred (and their stale claims let go)."""
        run = self.run
        allowed = run.budget.take(len(plans)) if run.options.create and plans else 0
        for plan in plans[allowed:]:
            if run.options.create:
                why = ("(limit)", "run limit reached; copied by a later run")
            else:
                why = ("(reconcile)", "not in Integration: the next sync creates it")
            run.books.issue(ctx.report, Outcome.DEFERRED, plan.prod_id, *why)
        unsent = taken_over & {plan.prod_id for plan in plans[allowed:]}
        if unsent and not run.options.dry_run:  # stale claims taken over, not sent after all: let go
            run.crosswalk.release(ctx.kind, unsent, run.options.run_id)
        return plans[:allowed]

    def _landed(self, ctx: Context, plans: list[Plan], answers: list) -> Callable[[int], None]:
        run, report = self.run, ctx.report
        created: dict[int, int] = {}
        released: list[int] = []
        for plan, answer in zip(plans, answers):
            if isinstance(answer, Created):
                created[plan.prod_id] = answer.int_id
            elif isinstance(answer, Unanswered):
                settle_at = time.monotonic() + run.options.server_timeout.total_seconds()
                self.lost.append(Lost(ctx, plan, answer.sent_at, settle_at))
            else:
                released.append(plan.prod_id)
                outcome = Outcome.DEFERRED if isinstance(answer, Postponed) else Outcome.FAILED
                run.books.issue(report, outcome, plan.prod_id, answer.field, answer.reason)
        if released:
            run.crosswalk.release(ctx.kind, released, run.options.run_id)
        return self.confirm(ctx, created, {plan.prod_id: plan for plan in plans})

    def confirm(self, ctx: Context, created: dict[int, int], plans: dict[int, Plan]) -> Callable[[int], None]:
        """Confirm creates in the crosswalk; only what it confirmed counts as created. Returns what is left to do,
        for the caller to run in its lane (now, or while the next batch is being created): a record whose Production status
        is not where a new one starts (a job canceled, a PO canceled) is moved there, and every write noted."""
        if not created:
            return nothing
        run, handler, report, kind = self.run, ctx.handler, ctx.report, ctx.kind
        history = [run.books.wrote(p, i, "created") for p, i in created.items()]
        confirmed = run.crosswalk.confirm(kind, created, run.options.run_id, history=history)
        index = self.index.known(kind)
        for prod_id, int_id in created.items():
            if index is not None:
                index.add(int_id, prod_id, None)
            if prod_id in confirmed:
                report.created(prod_id, int_id, plans[prod_id].body)
                report.went_without(prod_id, ctx.dropped.pop(prod_id, []))
            else:
                other = run.crosswalk.int_ids(kind, [prod_id]).get(prod_id)
                run.books.issue(
                    report, Outcome.FAILED, prod_id, "(duplicate)",
                    f"created as Integration {int_id}, but the crosswalk maps it to {other}: two writers created it; "
                    f"delete Integration {int_id} by hand",
                )  # fmt: skip
        run.books.clear(kind, list(confirmed))
        now = datetime.now(timezone.utc)
        written, moves = {}, []
        for prod_id in confirmed:
            plan = plans[prod_id]
            view = handler.followed_view(plan.body)
            target = handler.desired_status(plan.record) if plan.record is not None else None
            # Until it has moved, what Integration holds is the initial status: a failed move is tried again.
            written[prod_id] = (fingerprint(view, handler.initial_status if target else None), now)
            if target and target != handler.initial_status:
                steps = handler.status_steps(plan.record, target, handler.initial_status)
                moves.append((plan.record, created[prod_id], steps))
                plan.target_print = fingerprint(view, target)

        def settle(lane: int) -> None:
            for prod_id, landed in self.statuses.move(ctx, moves, lane).items():
                written[prod_id] = (plans[prod_id].target_print, landed)
            history = run.books.status_writes(ctx.steps_sent, {p: created[p] for p in written})
            run.crosswalk.wrote(kind, written, history=history)

        return settle

    def settle_lost(self) -> None:
        """Creates whose answers were lost: once the server timeout has passed since each was sent, found in
        Integration means created; not found means it never committed, and it is sent once more (still claimed)."""
        lost, self.lost = self.lost, []
        if not lost:
            return
        wait = max(item.settle_at for item in lost) - time.monotonic()
        if wait > 0:
            log.info("waiting %.0f s for ServiceTitan to finish %d creates whose answers were lost", wait, len(lost))
            time.sleep(wait)
        by_ctx: dict[int, list[Lost]] = {}
        for item in lost:
            by_ctx.setdefault(id(item.ctx), []).append(item)
        for items in by_ctx.values():
            self._settle_lost(items[0].ctx, items)

    def _settle_lost(self, ctx: Context, items: list[Lost]) -> None:
        run, handler, report = self.run, ctx.handler, ctx.report
        try:
            found = handler.find_existing(run.intc, {i.plan.prod_id: i.sent_at - timedelta(seconds=5) for i in items})
        except st.ServiceTitanError as exc:  # still claimed by this run: the next run looks them up first
            for item in items:
                run.books.issue(
                    report, Outcome.FAILED, item.plan.prod_id, "(request)", f"answer lost, lookup failed: {exc}"
                )
            return
        report.recovered += len(found)
        created = dict(found)
        for item in items:
            prod_id = item.plan.prod_id
            if prod_id in found:
                continue
            (answer,) = self.activation.with_inactive_active(
                ctx, [item.plan], [self.creator.create(handler, item.plan)]
            )
            if isinstance(answer, Created):
                created[prod_id] = answer.int_id
            elif isinstance(answer, Unanswered):
                run.books.issue(
                    report, Outcome.FAILED, prod_id, "(request)",
                    "the create's answer was lost twice; a later run looks it up after the server timeout",
                )  # fmt: skip
            else:
                run.crosswalk.release(handler.kind, [prod_id], run.options.run_id)
                outcome = Outcome.DEFERRED if isinstance(answer, Postponed) else Outcome.FAILED
                run.books.issue(report, outcome, prod_id, answer.field, answer.reason)
        self.confirm(ctx, created, {i.plan.prod_id: i.plan for i in items})(RequestPool.CREATES)
