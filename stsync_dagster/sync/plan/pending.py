"""Records the crosswalk holds as claimed, not confirmed: looked up in Integration before anything is created
again. Never a blind retry, and never while ServiceTitan may still be committing the first create."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync.batch import Context
from stsync_dagster.sync.outcome import Outcome
from stsync_dagster.sync.run import Run


@dataclass(frozen=True)
class Parked:
    """A claim of a run that is gone, too young to look up (its create may still be committing): this run
    finishes it at its end, once ServiceTitan is done with it (`ready`), rather than leave it deferred."""

    ctx: Context
    prod_id: int
    ready: datetime


class PendingClaims:
    def __init__(self, run: Run, lost_here: Callable[[str, int], bool]):
        self.run = run
        self.lost_here = lost_here  # (kind, prod id): a create of this run whose answer was lost
        self.parked: list[Parked] = []

    def resolve(self, ctx: Context, pending: dict, taken_over: set[int]) -> list:
        """`pending`: prod id → (record, crosswalk entry). Returns the records to create; the stale claims taken
        over for them are added to `taken_over`."""
        if not pending:
            return []
        if self.run.options.dry_run:
            return [record for record, _ in pending.values()]
        old = self._settled(ctx, pending)
        if not old:
            return []
        run, handler, report, kind = self.run, ctx.handler, ctx.report, ctx.kind
        try:
            found = handler.find_existing(run.intc, {pid: entry.claimed_at for pid, (_, entry) in old.items()})
        except st.ServiceTitanError as exc:  # cannot tell whether they exist: leave them for the next run
            for prod_id in old:
                run.books.issue(report, Outcome.FAILED, prod_id, "(request)", f"looking up a pending claim: {exc}")
            return []
        if found:
            why = "its create's answer was lost; found in Integration by its mark"
            history = [run.books.wrote(p, i, "recovered", detail=why) for p, i in found.items()]
            run.crosswalk.record(kind, found, source="recovered", history=history)
            run.books.clear(kind, list(found))
        report.recovered += len(found)
        for prod_id in found:
            report.add(Outcome.SKIPPED, prod_id)
        stale = [(record, entry) for prod_id, (record, entry) in old.items() if prod_id not in found]
        if not stale:
            return []
        # Entries, not ids: a claim is taken only if it is still the one judged stale here, so two runs
        # recovering the same record cannot both take it.
        cutoff = datetime.now(timezone.utc) + timedelta(seconds=1)
        taken = run.crosswalk.take_over(
            kind, [entry for _, entry in stale], run.options.run_id, claimed_before=cutoff,
            partition=run.options.partition,
        )  # fmt: skip
        todo = []
        for record, _ in stale:
            if record.id in taken:
                taken_over.add(record.id)
                todo.append(record)
            else:
                run.books.issue(report, Outcome.DEFERRED, record.id, "(claim)", "claimed by another run meanwhile")
        return todo

    def _settled(self, ctx: Context, pending: dict) -> dict:
        """The claims old enough to look up (their runs gone, past the server timeout); the others deferred."""
        run, report = self.run, ctx.report
        now = run.crosswalk.now()
        timeout = run.options.server_timeout
        old: dict[int, tuple] = {}
        for prod_id, (record, entry) in pending.items():
            young = False
            if entry.run_id == run.options.run_id and self.lost_here(ctx.kind, prod_id):
                why = "its create's answer was lost; settled at the end of this run"
            elif entry.run_id != run.options.run_id and run.is_live(entry.run_id):
                why = f"being created by run {entry.run_id}"
            elif entry.sent_at is None and entry.run_id != run.options.run_id and run.is_live(entry.run_id) is False:
                old[prod_id] = (record, entry)  # its create never went out: retaken at once
                continue
            elif entry.claimed_at is not None and now - entry.claimed_at < timeout:
                ready = entry.claimed_at + timeout
                if entry.run_id != run.options.run_id and run.is_live(entry.run_id) is False:
                    self.parked.append(Parked(ctx, prod_id, ready))  # a crash's: finished at this run's end
                    continue
                why = (
                    f"a create sent at {entry.claimed_at:%H:%M:%S} UTC may still be committing in ServiceTitan; "
                    f"looked up after {ready:%H:%M:%S}"
                )
                young = True
            else:
                old[prod_id] = (record, entry)
                continue
            run.books.issue(report, Outcome.DEFERRED, prod_id, "(claim)", why, unfinished=young)
        return old
