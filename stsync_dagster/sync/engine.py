"""The sync engine: pages of Production records → translated create requests → Integration, exactly once.

For each page: validate, look the ids up in the crosswalk (one query), resolve claims left pending by
crashed or lost writes (one Integration lookup per batch), fetch what the page needs (appointments,
materials of PO lines), translate references (one crosswalk query per referenced kind), then claim,
create concurrently, and confirm. Plain Python: the Dagster assets and the CLI both call it.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

import pydantic

from stsync_dagster.config import SyncConfig
from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync.entities import HANDLERS, EntityHandler, PageContext
from stsync_dagster.sync.models import payload
from stsync_dagster.sync.outcome import Blocked, Invalid, Outcome, SyncReport
from stsync_dagster.sync.prefetch import prefetch
from stsync_dagster.sync.references import RefMap
from stsync_dagster.sync.window import Window

log = logging.getLogger("stsync.sync")


@dataclass
class SyncOptions:
    run_id: str
    partition: str | None = None
    dry_run: bool = False
    limit: int = 0  # most records created in the run (pulled-in ones included); 0 = no limit
    concurrency: int = 8  # creates in flight at once; the per-tenant pacer keeps them under the rate limit
    batch_size: int = 250  # records claimed, created and confirmed together
    stale_after: timedelta = timedelta(minutes=2)  # a pending claim older than this is taken over
    sample_size: int = 5


class Budget:
    """How many creates the run may still make (shared by an asset and what it pulls in)."""

    def __init__(self, limit: int):
        self._left = limit if limit > 0 else None
        self._lock = threading.Lock()

    def take(self, wanted: int) -> int:
        with self._lock:
            if self._left is None:
                return wanted
            granted = min(wanted, self._left)
            self._left -= granted
            return granted



def _field_of(err: dict) -> str:
    """A pydantic error location as the API spells fields: items[0].quantity."""
    path = ""
    for part in err.get("loc", ()):
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(record)"


def _api_reason(exc: st.ServiceTitanError) -> tuple[str, str]:
    errors = getattr(exc, "errors", None) or {}
    if errors:
        fields = ", ".join(errors)
        messages = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items())
        return fields, messages
    return "(record)", str(exc)


@dataclass
class _Plan:
    prod_id: int
    body: dict
    claimed_at: datetime | None = None


@dataclass
class _Context:
    handler: EntityHandler
    report: SyncReport
    on_page: Callable[[SyncReport], None] | None = None
    taken_over: set[int] = field(default_factory=set)  # stale claims this run now holds


class SyncEngine:
    def __init__(
        self,
        prod,
        intc,
        crosswalk,
        config: SyncConfig,
        options: SyncOptions,
        guid: str,
        claim_is_live: Callable[[str | None], bool | None] | None = None,
        overlay: dict[str, dict[int, int]] | None = None,
    ):
        self.prod = prod
        self.intc = intc
        self.crosswalk = crosswalk
        self.config = config
        self.options = options
        self.handlers = {name: cls(config, guid) for name, cls in HANDLERS.items()}
        self.budget = Budget(options.limit)
        self._run_is_live = claim_is_live or (lambda run_id: None)
        self._planned: dict[str, set[int]] = {name: set() for name in HANDLERS}
        self._pulled: dict[str, set[int]] = {name: set() for name in HANDLERS}
        self._overlay = overlay or {}
        self._pool = ThreadPoolExecutor(max_workers=max(1, options.concurrency), thread_name_prefix="stsync-create")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self) -> "SyncEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- entry point ---------------------------------------------------------------------------

    def sync(self, entity: str, window: Window, on_page: Callable[[SyncReport], None] | None = None) -> SyncReport:
        handler = self.handlers[entity]
        report = SyncReport(entity, dry_run=self.options.dry_run)
        ctx = _Context(handler, report, on_page)
        started = time.monotonic()
        before = self._request_counts()
        cfg = handler.cfg
        params = {**cfg.list_params, **window.params(cfg.since_param, cfg.until_param)}
        log.info("%s: reading %s from Production, window %s", entity, cfg.prod_list_path, window)
        for page in prefetch(self.prod.iter_pages(cfg.prod_list_path, params)):
            report.pages += 1
            # A page can hold 5000 records: claims, creates and progress go by smaller batches.
            for start in range(0, len(page.records), self.options.batch_size):
                self._process(ctx, page.records[start : start + self.options.batch_size])
                if on_page is not None:
                    on_page(report)
        after = self._request_counts()
        report.requests = after[0] - before[0]
        report.rate_limited = after[1] - before[1]
        report.seconds = round(time.monotonic() - started, 3)
        return report

    # ---- one page ------------------------------------------------------------------------------

    def _process(self, ctx: _Context, raw_records: list[dict]) -> None:
        handler, report, kind = ctx.handler, ctx.report, ctx.handler.kind
        records = []
        for raw in raw_records:
            try:
                records.append(handler.model.model_validate(raw))
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                self._issue(report, Outcome.FAILED, raw.get("id"), _field_of(first), f"invalid in Production: {first['msg']}")
        if not records:
            return

        entries = self.crosswalk.lookup(kind, [r.id for r in records])
        todo, pending = [], {}
        for record in records:
            entry = entries.get(record.id)
            if entry is None:
                todo.append(record)
            elif entry.state == "confirmed":
                report.add(Outcome.SKIPPED, record.id)
            else:
                pending[record.id] = (record, entry)
        todo.extend(self._resolve_pending(ctx, pending))
        if not todo:
            return

        try:
            extra = handler.prepare(todo, PageContext(self.prod, lambda ids: self._pull(ctx, "items", ids)))
            extra = self._pull_jobs_for(ctx, todo, extra)
        except st.ServiceTitanError as exc:  # retries ran out: these records fail, the run goes on
            for record in todo:
                self._issue(report, Outcome.FAILED, record.id, "(request)", f"reading what the record needs: {exc}")
            return
        refs = RefMap.load(
            self.crosswalk,
            (ref for record in todo for ref in handler.references(record, extra)),
            planned=self._planned if self.options.dry_run else None,
            overlay=self._overlay,
        )
        plans: list[_Plan] = []
        for record in todo:
            try:
                plans.append(_Plan(record.id, payload(handler.build(record, refs, extra))))
            except Blocked as exc:
                self._issue(report, Outcome.BLOCKED, record.id, exc.field, exc.reason)
            except Invalid as exc:
                self._issue(report, Outcome.FAILED, record.id, exc.field, exc.reason)
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                self._issue(report, Outcome.FAILED, record.id, _field_of(first), first["msg"])
        self._write(ctx, plans)

    def _pull_jobs_for(self, ctx: _Context, todo, extra):
        """A PO's job is copied first, like its materials, when it is not in Integration yet."""
        if ctx.handler.kind == "pos":
            self._pull(ctx, "jobs", {po.jobId for po in todo if po.jobId is not None})
        return extra

    def _pull(self, ctx: _Context, kind: str, prod_ids: set[int]) -> None:
        """Copy referenced records that are not mapped yet (materials of PO lines, jobs of POs)."""
        if not prod_ids:
            return
        mapped = self.crosswalk.lookup(kind, sorted(prod_ids))
        missing = sorted(i for i in prod_ids if i not in mapped and i not in self._pulled[kind])
        if not missing:
            return
        self._pulled[kind].update(missing)  # tried once per run: a blocked one stays blocked until the next
        handler = self.handlers[kind]
        log.info("%s: pulling in %d %s referenced by this page", ctx.handler.kind, len(missing), kind)
        raws = self.prod.get_by_ids(handler.cfg.prod_list_path, missing, params=dict(handler.cfg.list_params))
        found = {int(r["id"]) for r in raws if "id" in r}
        sub = SyncReport(kind, dry_run=self.options.dry_run)
        self._process(_Context(handler, sub), raws)
        ctx.report.merge(sub)
        for prod_id in sorted(set(missing) - found):
            self._issue(ctx.report, Outcome.FAILED, prod_id, "id", "referenced but not found in Production", kind=kind, count=False)

    # ---- claims left pending by a crash, a lost answer or another run ---------------------------

    def _resolve_pending(self, ctx: _Context, pending: dict) -> list:
        """Look pending records up in Integration before anything is created again: never a blind retry."""
        if not pending:
            return []
        handler, report, kind = ctx.handler, ctx.report, ctx.handler.kind
        try:
            found = handler.find_existing(self.intc, {pid: entry.claimed_at for pid, (_, entry) in pending.items()})
        except st.ServiceTitanError as exc:  # cannot tell whether they exist: leave them for the next run
            for prod_id in pending:
                self._issue(report, Outcome.FAILED, prod_id, "(request)", f"looking up a pending claim: {exc}")
            return []
        if found and not self.options.dry_run:
            self.crosswalk.record(kind, found, source="recovered")
            self.crosswalk.clear_issues(kind, list(found))
        report.recovered += len(found)
        todo = []
        stale = []
        for prod_id, (record, entry) in pending.items():
            if prod_id in found:
                report.add(Outcome.SKIPPED, prod_id)
            elif self.options.dry_run:
                todo.append(record)
            elif entry.run_id != self.options.run_id and self._claim_is_live(entry):
                self._issue(report, Outcome.DEFERRED, prod_id, "(claim)", f"being created by run {entry.run_id}", record_issue=False)
            else:
                stale.append((record, entry))
        if stale:
            # Entries, not ids: a claim is taken only if it is still the one judged stale here, so two runs
            # recovering the same record cannot both take it.
            cutoff = datetime.now(timezone.utc) + timedelta(seconds=1)
            taken = self.crosswalk.take_over(
                kind, [entry for _, entry in stale], self.options.run_id, claimed_before=cutoff, partition=self.options.partition
            )
            for record, _ in stale:
                if record.id in taken:
                    ctx.taken_over.add(record.id)
                    todo.append(record)
                else:
                    self._issue(report, Outcome.DEFERRED, record.id, "(claim)", "claimed by another run meanwhile", record_issue=False)
        return todo

    def _claim_is_live(self, entry) -> bool:
        """A claim of a registered run is live while that run is; of an unknown run, while it is fresh."""
        live = self._run_is_live(entry.run_id)
        return self._fresh_claim(entry) if live is None else live

    def _fresh_claim(self, entry) -> bool:
        claimed_at = entry.claimed_at
        if claimed_at is None:
            return False
        if claimed_at.tzinfo is None:
            claimed_at = claimed_at.replace(tzinfo=timezone.utc)
        return datetime.now(timezone.utc) - claimed_at < self.options.stale_after

    # ---- writing -------------------------------------------------------------------------------

    def _write(self, ctx: _Context, plans: list[_Plan]) -> None:
        handler, report, kind = ctx.handler, ctx.report, ctx.handler.kind
        if not plans:
            return
        allowed = self.budget.take(len(plans))
        for plan in plans[allowed:]:
            self._issue(report, Outcome.DEFERRED, plan.prod_id, "(limit)", "run limit reached; copied by a later run", record_issue=False)
        plans = plans[:allowed]
        if self.options.dry_run:
            for plan in plans:
                self._planned[kind].add(plan.prod_id)
                report.created(plan.prod_id, None)
                if len(report.sample_payloads) < self.options.sample_size:
                    report.sample_payloads.append({"prod_id": plan.prod_id, "payload": plan.body})
            return

        ours = self.crosswalk.claim(kind, [p.prod_id for p in plans], self.options.run_id, self.options.partition)
        ours = set(ours) | ctx.taken_over
        for plan in plans:
            if plan.prod_id not in ours:
                self._issue(report, Outcome.DEFERRED, plan.prod_id, "(claim)", "claimed by another run meanwhile", record_issue=False)
        plans = [p for p in plans if p.prod_id in ours]

        results = list(self._pool.map(lambda p: self._create(handler, p), plans))
        confirmed: dict[int, int] = {}
        ambiguous: list[_Plan] = []
        released: list[int] = []
        for plan, (status, value) in zip(plans, results):
            if status == "ok":
                confirmed[plan.prod_id] = value
            elif status == "ambiguous":
                ambiguous.append(plan)
            else:
                released.append(plan.prod_id)
                field_name, reason = value
                self._issue(report, Outcome.FAILED, plan.prod_id, field_name, reason)
        if ambiguous:
            confirmed.update(self._settle_ambiguous(ctx, ambiguous))
        if released:
            self.crosswalk.release(kind, released, self.options.run_id)
        if confirmed:
            self.crosswalk.confirm(kind, confirmed, self.options.run_id)
            self.crosswalk.clear_issues(kind, list(confirmed))
            bodies = {plan.prod_id: plan.body for plan in plans}
            for prod_id, int_id in confirmed.items():
                report.created(prod_id, int_id, bodies.get(prod_id))

    def _create(self, handler: EntityHandler, plan: _Plan) -> tuple[str, object]:
        try:
            response = self.intc.create(handler.cfg.int_create_path, plan.body)
            return "ok", handler.created_id(response)
        except st.AmbiguousWriteError as exc:
            log.warning("%s %s: the answer to the create was lost (%s); looking it up", handler.kind, plan.prod_id, exc)
            return "ambiguous", None
        except (st.ValidationError, st.ConflictError, st.NotFoundError) as exc:
            return "failed", _api_reason(exc)
        except st.ServiceTitanError as exc:
            return "failed", ("(request)", str(exc))

    def _settle_ambiguous(self, ctx: _Context, plans: list[_Plan]) -> dict[int, int]:
        """Found in Integration: it was created. Not found: create it once more, still under our claim."""
        handler, report = ctx.handler, ctx.report
        try:
            found = handler.find_existing(
                self.intc, {p.prod_id: datetime.now(timezone.utc) - timedelta(minutes=5) for p in plans}
            )
        except st.ServiceTitanError as exc:  # still claimed by this run: the next run looks them up first
            for plan in plans:
                self._issue(report, Outcome.FAILED, plan.prod_id, "(request)", f"answer lost, lookup failed: {exc}")
            return {}
        report.recovered += len(found)
        settled = dict(found)
        for plan in plans:
            if plan.prod_id in found:
                continue
            status, value = self._create(handler, plan)
            if status == "ok":
                settled[plan.prod_id] = value
            elif status == "ambiguous":
                # Left pending under this run: the next run looks it up before anything else.
                self._issue(report, Outcome.FAILED, plan.prod_id, "(request)", "the create's answer was lost twice; the next run will look it up")
            else:
                self.crosswalk.release(handler.kind, [plan.prod_id], self.options.run_id)
                field_name, reason = value
                self._issue(report, Outcome.FAILED, plan.prod_id, field_name, reason)
        return settled

    # ---- bookkeeping ---------------------------------------------------------------------------

    def _issue(
        self,
        report: SyncReport,
        outcome: Outcome,
        prod_id,
        field_name: str,
        reason: str,
        *,
        kind: str | None = None,
        record_issue: bool = True,
        count: bool = True,
    ) -> None:
        kind = kind or report.kind
        if count:
            report.add(outcome, prod_id, field=field_name, reason=reason, kind=kind)
        log.info("%s %s %s: %s: %s", kind, prod_id, outcome.value, field_name, reason)
        if record_issue and not self.options.dry_run and isinstance(prod_id, int):
            self.crosswalk.set_issues(kind, {prod_id: (outcome.value, reason, field_name)}, self.options.run_id)

    def _request_counts(self) -> tuple[int, int]:
        total = limited = 0
        for client in (self.prod, self.intc):
            snap = client.stats.snapshot()
            total += snap.get("requests", 0)
            limited += snap.get("rate_limited", 0)
        return total, limited
