"""A batch planned: its records validated and looked up in the crosswalk, pending claims resolved, what they
need copied first and read from Production, references translated, what Integration already holds adopted, and
the create requests built. Records copied before go on to be compared with Production (apply/updates.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from concurrent.futures import wait

import pydantic

from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync.batch import Batch, Context, Plan, Rest
from stsync_dagster.sync.fieldmap import FIELD_MAPS, dropped_references
from stsync_dagster.sync.models import payload
from stsync_dagster.sync.outcome import Blocked, Deferred, Invalid, Outcome
from stsync_dagster.sync.plan.adopt import Adopter
from stsync_dagster.sync.plan.index import IndexCache
from stsync_dagster.sync.plan.pending import PendingClaims
from stsync_dagster.sync.plan.pull import Copier
from stsync_dagster.sync.references import Claims, RefMap
from stsync_dagster.sync.requests_pool import RequestPool
from stsync_dagster.sync.run import Run

log = logging.getLogger("stsync.sync")


def field_of(err: dict) -> str:
    """A pydantic error location as the API spells fields: items[0].quantity."""
    path = ""
    for part in err.get("loc", ()):
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(record)"


def planning_lane(rest: Rest) -> int:
    """The lane of a batch's own requests: what a batch being planned waits for goes first."""
    return RequestPool.CREATES if rest is None else RequestPool.PLANNING


@dataclass
class Planner:
    run: Run
    indexes: IndexCache
    pending: PendingClaims
    adopter: Adopter
    copier: Copier

    def plan(self, ctx: Context, raw_records: list[dict], rest: Rest) -> Batch:
        run, handler, report, kind = self.run, ctx.handler, ctx.report, ctx.kind
        batch = Batch(ctx, size=len(raw_records))
        records = self._valid(ctx, raw_records)
        seen = run.seen_of(kind)
        records = [r for r in records if r.id not in seen]  # the backlog, the sweep and the window may overlap
        seen.update(r.id for r in records)
        ctx.batch = {r.id for r in records}
        if not records:
            return batch
        entries = run.crosswalk.lookup(kind, [r.id for r in records])
        todo, pending, mapped = [], {}, {}
        for record in records:
            entry = entries.get(record.id)
            if entry is None:
                todo.append(record)
            elif entry.state == "confirmed":
                mapped[record.id] = (record, entry)
            else:
                pending[record.id] = (record, entry)
        todo.extend(self.pending.resolve(ctx, pending, batch.taken_over))
        if not todo and not mapped:
            return batch
        if todo:
            self.indexes.read_soon(handler)  # while what the records need is read
        everything = todo + [record for record, _ in mapped.values()]
        try:
            extra = self._prepared(ctx, everything, rest)
        except st.ServiceTitanError as exc:  # retries ran out: these records fail, the run goes on
            for record in everything:
                run.books.issue(report, Outcome.FAILED, record.id, "(request)", f"reading what the record needs: {exc}")
            if batch.taken_over and not run.options.dry_run:
                run.crosswalk.release(kind, batch.taken_over, run.options.run_id)
            return batch
        todo = [record for record in todo if record.id not in ctx.pulled_ahead]
        refs = self._references(ctx, everything, extra)
        todo = self.adopter.adopt(ctx, todo, refs, mapped, planning_lane(rest))
        batch.plans = [Plan(record.id, body, record=record) for record, body in self._build(ctx, todo, refs, extra)]
        for plan in batch.plans:
            report.count_left_out(dropped_references(FIELD_MAPS[kind], plan.record.model_dump(mode="json"), plan.body))
        # Stale claims taken over for records that are not sent after all (adopted, blocked, failed) are let go.
        unsent = batch.taken_over - {plan.prod_id for plan in batch.plans}
        if unsent and not run.options.dry_run:
            run.crosswalk.release(kind, unsent, run.options.run_id)
            batch.taken_over -= unsent
        copied = [r for r, _ in mapped.values()]
        batch.wanted = [(record, mapped[record.id][1], body) for record, body in self._build(ctx, copied, refs, extra)]
        run.books.save()
        return batch

    def _valid(self, ctx: Context, raw_records: list[dict]) -> list:
        records = []
        for raw in raw_records:
            try:
                records.append(ctx.handler.model.model_validate(raw))
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                prod_id = raw.get("id") if isinstance(raw, dict) else None  # a list element that is no record
                self.run.books.issue(
                    ctx.report, Outcome.FAILED, prod_id, field_of(first), f"invalid in Production: {first['msg']}"
                )
        return records

    def _prepared(self, ctx: Context, records: list, rest: Rest):
        """What the handler reads for the records, while the records they need are copied."""
        wanted = ctx.handler.needs(records)
        pulling = self.copier.copy_beside(ctx, wanted, rest) if any(wanted.values()) else None
        try:
            extra = ctx.handler.prepare(records, self.run.prod)
        except BaseException:
            if pulling is not None:  # never left running behind a page that failed, nor its own failure unsaid
                wait([pulling])
                if pulling.exception() is not None:
                    log.error("pulling in %s failed too: %s", ", ".join(sorted(wanted)), pulling.exception())
            raise
        if pulling is not None:
            pulling.result()
        return extra

    def _references(self, ctx: Context, records: list, extra) -> RefMap:
        run, handler, kind = self.run, ctx.handler, ctx.kind
        overlay = run.overlay
        if ctx.fresh:
            overlay = {**overlay, kind: {**overlay.get(kind, {}), **ctx.fresh}}
        return RefMap.load(
            run.crosswalk,
            (
                ref
                for record in records
                for refs in (handler.references(record, extra), handler.key_references(record))
                for ref in refs
            ),
            planned=run.planned if run.options.dry_run else None,
            overlay=overlay,
            entity=kind,
            policies=run.policies,
            claims=Claims(run.options.run_id, run.is_live, run.options.server_timeout),
            unavailable=run.unavailable,
        )

    def _build(self, ctx: Context, records: list, refs: RefMap, extra) -> list[tuple]:
        """(record, request body) for each record that can be sent; the others are reported blocked or failed."""
        books, handler, report = self.run.books, ctx.handler, ctx.report
        built = []
        for record in records:
            refs.take_dropped()
            try:
                built.append((record, payload(handler.build(record, refs, extra))))
                dropped = refs.take_dropped()
                if dropped:
                    ctx.dropped[record.id] = dropped
            except Deferred as exc:  # a reference is being created (claimed): a later run copies it
                books.issue(report, Outcome.DEFERRED, record.id, exc.field, exc.reason)
            except Blocked as exc:
                books.issue(report, Outcome.BLOCKED, record.id, exc.field, exc.reason, waits_on=exc.waits_on)
            except Invalid as exc:
                books.issue(report, Outcome.FAILED, record.id, exc.field, exc.reason)
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                books.issue(report, Outcome.FAILED, record.id, field_of(first), first["msg"])
        return built
