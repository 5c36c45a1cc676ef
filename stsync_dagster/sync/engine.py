"""The sync engine: pages of Production records → translated create requests → Integration, exactly once.

Integration is the truth and the crosswalk its index: nothing is created unless STSync has shown that
Integration does not hold it. Before a kind's pages: a sample of its mappings is checked against Integration
(a refresh is detected, and stale mappings forgotten), and claims left pending by crashed runs or lost answers
are swept. For each page: validate, look the ids up in the crosswalk (one query), resolve pending claims (after
the server timeout, by mark), fetch what the page needs (appointments, materials of PO lines), translate
references, adopt what Integration already holds (its index, read once per kind in pages of 5,000: by mark,
same id, natural key), then claim, create concurrently, and confirm. A create whose answer was lost is looked
up again only once ServiceTitan can no longer be working on it. Plain Python: the assets and the CLI call it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator

import pydantic

from stsync_dagster.sync.configfile import SyncConfig
from stsync_dagster.servicetitan import errors as st
from stsync_dagster.settings import DEFAULT_BATCH_SIZE
from stsync_dagster.sync.activation import ActivationStage
from stsync_dagster.sync.adoption import Ambiguous, IntegrationIndex, Match
from stsync_dagster.sync.checks import mapping_problems
from stsync_dagster.sync.entities import HANDLERS, EntityHandler, PageContext
from stsync_dagster.sync.crosswalk import Entry, Write
from stsync_dagster.sync.crosswalk.schema import ISSUE_STATUSES
from stsync_dagster.sync.fieldmap import FIELD_MAPS, dropped_references
from stsync_dagster.sync.follow import FollowStage, fingerprint
from stsync_dagster.sync.models import payload
from stsync_dagster.sync.outcome import Blocked, Deferred, Invalid, Outcome, SyncReport
from stsync_dagster.sync import progress
from stsync_dagster.sync.prefetch import prefetch
from stsync_dagster.sync.read import complete_pages
from stsync_dagster.sync.refusal import api_reason
from stsync_dagster.sync.policy import Policies
from stsync_dagster.sync.references import Claims, RefMap
from stsync_dagster.sync.requests_pool import RequestPool, in_background
from stsync_dagster.sync.window import Window

log = logging.getLogger("stsync.sync")


@dataclass
class SyncOptions:
    run_id: str
    partition: str | None = None
    dry_run: bool = False
    limit: int = 0  # most records created in the run (pulled-in ones included); 0 = no limit
    concurrency: int = 8  # creates in flight at once; the per-tenant pacer keeps them under the rate limit
    batch_size: int = DEFAULT_BATCH_SIZE  # records claimed, created and confirmed together
    # ServiceTitan may still commit a create this long after the client gave up on it (its own timeout is ~100 s):
    # a claim younger than this is never looked up and created again.
    server_timeout: timedelta = timedelta(seconds=120)
    create: bool = True  # False: adopt what Integration holds, create nothing (`stsync reconcile`)
    bulk_size: int = 100  # records per bulk create, for kinds that have one (materials); 0: one request each
    sample_size: int = 5


def _nothing() -> None:
    pass


def _tell(created: Future, int_id: int | None) -> None:
    """A record's first create answered (its Integration id, or None: not created by it); told once."""
    try:
        created.set_result(int_id)
    except InvalidStateError:
        pass


def _landed() -> Callable[[], None]:
    return _nothing


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


@dataclass
class _Plan:
    prod_id: int
    body: dict
    claimed_at: datetime | None = None
    record: object = None  # the Production record (for the status it should get once created)
    target_print: str | None = None
    # The Integration id its create answered, before the batch confirms it (None: not created by that send): a
    # record of the next batch that references it need not wait for the whole batch.
    created: Future = field(default_factory=Future)


@dataclass
class _Context:
    handler: EntityHandler
    report: SyncReport
    on_page: Callable[[SyncReport], None] | None = None
    steps_sent: dict[int, list[str]] = field(default_factory=dict)  # status actions sent, by Production id
    # Records of this kind copied ahead of the page they are on, because another record needs them first.
    pulled_ahead: set[int] = field(default_factory=set)
    # Production id → its plan and its batch, while the batch is in flight (created, then mapped) and another
    # batch is planned.
    in_flight: dict[int, tuple[_Plan, "_Batch"]] = field(default_factory=dict)
    # Records of the batches in flight created in Integration, not yet confirmed in the crosswalk: id → id.
    fresh: dict[int, int] = field(default_factory=dict)
    batch: set[int] = field(default_factory=set)  # the Production ids being processed
    dropped: dict[int, list] = field(default_factory=dict)  # references a record is sent without (or defaulted)


@dataclass
class _Batch:
    """One batch, planned: what to create, and the copied records to follow. Its writes come later (pipelined)."""

    ctx: _Context
    plans: list[_Plan] = field(default_factory=list)
    wanted: list[tuple] = field(default_factory=list)  # (record, crosswalk entry, body) of records copied before
    taken_over: set[int] = field(default_factory=set)  # stale claims of this batch that this run now holds
    land: Callable[[], Callable[[], None]] = lambda: _nothing  # creates sent: wait, confirm; then moves, notes
    size: int = 0  # the window's records it holds (progress)
    mapped: Future = field(default_factory=Future)  # done once its creates are confirmed (before its status moves)
    # What is left of the records pulled in while it was planned (their status moves, their follow-up): done by
    # its finish stage, so planning waits only for their mappings.
    pulled_rest: list[Callable[[], None]] = field(default_factory=list)


@dataclass
class _Lost:
    """A create whose answer never came: its claim stays ours until ServiceTitan is certainly done with it."""

    ctx: _Context
    plan: _Plan
    sent_at: datetime
    settle_at: float  # time.monotonic() after which the server cannot still be working on it


class SyncEngine(FollowStage, ActivationStage):
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
        self.policies = Policies(config, {name: h.reference_fields for name, h in self.handlers.items()}, intc)
        self.budget = Budget(options.limit)
        self._run_is_live = claim_is_live or (lambda run_id: None)
        self._planned: dict[str, set[int]] = {name: set() for name in HANDLERS}
        self._pulled: dict[str, set[int]] = {name: set() for name in HANDLERS}
        self._overlay = overlay or {}
        self._indexes: dict[str, IntegrationIndex] = {}
        self._index_reads: dict[str, Future] = {}  # indexes being read
        self._index_lock = threading.RLock()  # pulled-in kinds are planned side by side (see _pull_kinds)
        self._seen: dict[str, set[int]] = {}
        self._reasons: dict[str, dict[str, int]] = {}
        self._reasons_lock = threading.Lock()
        self._bulk_ok = True
        self._lost: list[_Lost] = []
        self._reactivations_finished = False
        self._asset: str | None = None  # the asset being synced: the history says which step wrote what
        self._late: set = set()
        self._prod_of: dict = {}
        self._activation_lock = threading.Lock()
        self._unsaved_issues: dict[str, dict[int, tuple[str, str, str]]] = {}
        self._issues_lock = threading.RLock()
        self._pool = RequestPool(options.concurrency, "stsync-create")
        self._pulled_rest = threading.local()  # .sink: where the batch being planned collects pulled_rest
        # The pipeline's stages (see _pipeline), one batch at a time each.
        self._creator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stsync-creates")
        self._finisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stsync-finish")
        self._index_reader = ThreadPoolExecutor(max_workers=3, thread_name_prefix="stsync-index")

    def close(self) -> None:
        self._creator.shutdown(wait=True)
        self._finisher.shutdown(wait=True)
        self._index_reader.shutdown(wait=True)
        self._pool.shutdown()

    def __enter__(self) -> "SyncEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- entry point ---------------------------------------------------------------------------

    def sync(self, entity: str, window: Window, on_page: Callable[[SyncReport], None] | None = None) -> SyncReport:
        """Copy and follow the records of `entity` modified in the window (and those earlier runs left behind)."""

        def work(ctx: _Context) -> None:
            cfg = ctx.handler.cfg
            if not self.options.dry_run:
                self._check_mappings(ctx)
                self._sweep(ctx)
            self._backlog(ctx)
            log.info("%s: reading %s from Production, window %s", entity, cfg.prod_list_path, window)
            params = {**cfg.list_params, **window.params(cfg.since_param, cfg.until_param)}
            self._pipeline(ctx, self._batches(ctx, prefetch(complete_pages(self.prod, cfg.prod_list_path, params))))

        return self._run(entity, work, on_page)

    def copy(self, entity: str, prod_ids: list[int], on_page: Callable[[SyncReport], None] | None = None) -> SyncReport:
        """Copy (or bring up to date) these Production records, whatever their modifiedOn, with what they
        reference: a PO's materials and job are pulled in, its master data must be matched."""

        def work(ctx: _Context) -> None:
            if not self.options.dry_run:
                self._check_mappings(ctx)
            wanted = sorted({int(i) for i in prod_ids})
            ctx.report.window_total = len(wanted)
            try:
                raws = self.prod.get_by_ids(
                    ctx.handler.cfg.prod_list_path, wanted, params=dict(ctx.handler.cfg.list_params)
                )
            except st.ServiceTitanError as exc:
                for prod_id in wanted:
                    self._issue(ctx.report, Outcome.FAILED, prod_id, "(request)", f"reading it from Production: {exc}")
                return
            found = {int(r["id"]) for r in raws if "id" in r}
            for prod_id in sorted(set(wanted) - found):
                self._issue(ctx.report, Outcome.FAILED, prod_id, "id", "not found in Production", record_issue=False)
            size = self.options.batch_size
            self._pipeline(ctx, (raws[start : start + size] for start in range(0, len(raws), size)))

        return self._run(entity, work, on_page)

    def _run(self, entity: str, work: Callable[[_Context], None], on_page) -> SyncReport:
        handler = self.handlers[entity]
        self._asset = entity
        report = SyncReport(entity, dry_run=self.options.dry_run)
        ctx = _Context(handler, report, on_page)
        started = time.monotonic()
        before = self._request_counts()
        try:
            if not self.options.dry_run and not self._reactivations_finished:
                self._finish_reactivations()
                self._reactivations_finished = True
            progress.tell(report)
            work(ctx)
            self._settle_lost()
        finally:
            self._save_issues()
        after = self._request_counts()
        report.requests = after[0] - before[0]
        report.rate_limited = after[1] - before[1]
        report.seconds = round(time.monotonic() - started, 3)
        progress.tell(report, finished=True)
        return report

    def _batches(self, ctx: _Context, pages) -> Iterator[list[dict]]:
        """A page can hold 5000 records: claims, creates and progress go by smaller batches. The first is a fifth
        of the others: its reads are few, so the first creates go out soon and the next batch is planned meanwhile."""
        size = max(1, self.options.batch_size // 5)
        for page in pages:
            ctx.report.pages += 1
            if page.total_count is not None:  # grows when records moved and the window is read again
                ctx.report.window_total = page.total_count
            start = 0
            while start < len(page.records):
                yield page.records[start : start + size]
                start += size
                size = self.options.batch_size

    def _pipeline(self, ctx: _Context, batches: Iterable[list[dict]]) -> None:
        """Three stages, each one batch at a time and in order, so the request budget is not left idle between
        batches: batch N+1 is planned (its reads, lookups, adoption) while batch N is being created, and batch
        N-1's status moves are sent meanwhile. The create stage claims and sends; the finish stage waits for
        the answers, confirms, then moves statuses: batch N+1's creates queue behind batch N's, never after a
        drain. A batch is planned only after the previous one's records were
        seen, and never touches the records in flight; a stage that fails stops the batches after it.
        Under a run limit the batches go one after the other: which records the budget covers stays the order
        of Production's pages (pulled-in records take from the same budget)."""
        if self.options.limit > 0:
            for raws in batches:
                self._done(self._finish(self._create_stage(self._plan_batch(ctx, raws))))
            return
        finishing: deque[Future] = deque()  # the finish stage of each batch not yet done, oldest first
        created: Future | None = None

        def create(batch: _Batch, previous: Future | None) -> _Batch:
            if previous is not None:
                previous.result()  # a batch whose creates failed stops the ones after it
            return self._create_stage(batch, early=True)

        def finish(created: Future, batch: _Batch) -> _Batch:
            try:
                created.result()
            except BaseException as exc:
                self._abandon(batch, exc)
                raise
            # Its few requests (status moves, sends again, updates) go before the next batches' creates queued
            # meanwhile: the batches after it wait for this stage, and the creates keep the budget busy anyway.
            with self._pool.lane(RequestPool.FINISHING):
                return self._finish(batch)

        def finished(keep: int) -> None:
            """Wait until at most `keep` batches are still finishing; progress is reported for each one done."""
            while len(finishing) > keep or (finishing and finishing[0].done()):
                self._done(finishing.popleft().result())

        try:
            for raws in batches:
                batch = self._plan_batch(ctx, raws)
                previous, created = created, self._creator.submit(create, batch, created)
                finishing.append(self._finisher.submit(finish, created, batch))
                ctx.in_flight.update({plan.prod_id: (plan, batch) for plan in batch.plans})
                if previous is not None:
                    previous.result()  # the next batch is planned while this one is being created
                finished(keep=2)
            finished(keep=0)
        finally:
            wait(finishing)  # on an error, what is in flight still finishes before the error goes on

    @staticmethod
    def _done(batch: "_Batch") -> None:
        ctx = batch.ctx
        for plan in batch.plans:
            ctx.in_flight.pop(plan.prod_id, None)
            ctx.fresh.pop(plan.prod_id, None)
        ctx.report.window_done += batch.size
        progress.tell(ctx.report)
        if ctx.on_page is not None:
            ctx.on_page(ctx.report)

    # ---- one batch -----------------------------------------------------------------------------

    def _process(self, ctx: _Context, raw_records: list[dict]) -> None:
        """Plan and write a batch at once (records read again by id: the backlog, the sweep, pulled-in ones)."""
        self._finish(self._create_stage(self._plan(ctx, raw_records)))

    def _plan_batch(self, ctx: _Context, raw_records: list[dict]) -> _Batch:
        """A batch of the window planned; what is left of the records it pulled in goes with it (see _Batch)."""
        rest: list[Callable[[], None]] = []
        self._pulled_rest.sink = rest
        try:
            batch = self._plan(ctx, raw_records)
        except BaseException:
            self._pulled_rest.sink = None
            self._rest_of_pulled(_Batch(ctx, pulled_rest=rest), failing=True)  # no finish stage will do it
            raise
        finally:
            self._pulled_rest.sink = None
        batch.pulled_rest = rest
        return batch

    def _create_stage(self, batch: _Batch, early: bool = False) -> _Batch:
        batch.land = self._write(batch.ctx, batch.plans, batch.taken_over, early)
        return batch

    def _finish(self, batch: _Batch) -> _Batch:
        try:
            settle = batch.land()
        except BaseException as exc:
            self._abandon(batch, exc)
            raise
        for plan in batch.plans:  # not sent (a limit, a claim taken meanwhile, a dry run): nothing to tell
            _tell(plan.created, None)
        batch.mapped.set_result(batch)
        sink = getattr(self._pulled_rest, "sink", None)
        if sink is not None:  # pulled in while a batch is planned: that batch's finish stage does the rest
            sink.append(lambda: self._settle(batch, settle))
            return batch
        self._rest_of_pulled(batch)
        self._settle(batch, settle)
        return batch

    def _abandon(self, batch: _Batch, exc: BaseException) -> None:
        """A batch whose creates failed: the batch planned meanwhile, waiting for some of them, gets the error."""
        for plan in batch.plans:
            _tell(plan.created, None)
        batch.mapped.set_exception(exc)
        self._rest_of_pulled(batch, failing=True)

    @staticmethod
    def _rest_of_pulled(batch: _Batch, failing: bool = False) -> None:
        """What is left of the records the batch pulled in; when the batch itself failed, done all the same (their
        creates are confirmed: their status moves are owed), and the batch's error is the one that goes on."""
        rest, batch.pulled_rest = batch.pulled_rest, []
        for step in rest:
            try:
                step()
            except Exception:
                if not failing:
                    raise
                log.exception("%s: finishing the records pulled in by a failed batch", batch.ctx.handler.kind)

    def _settle(self, batch: _Batch, settle: Callable[[], None]) -> None:
        settle()
        self._follow(batch.ctx, batch.wanted)
        self._save_issues()

    def _plan(self, ctx: _Context, raw_records: list[dict]) -> _Batch:
        handler, report, kind = ctx.handler, ctx.report, ctx.handler.kind
        batch = _Batch(ctx, size=len(raw_records))
        records = []
        for raw in raw_records:
            try:
                records.append(handler.model.model_validate(raw))
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                prod_id = (
                    raw.get("id") if isinstance(raw, dict) else None
                )  # a list element that is no record fails alone
                self._issue(report, Outcome.FAILED, prod_id, _field_of(first), f"invalid in Production: {first['msg']}")
        seen = self._seen.setdefault(kind, set())
        records = [r for r in records if r.id not in seen]  # the backlog, the sweep and the window may overlap
        seen.update(r.id for r in records)
        ctx.batch = {r.id for r in records}
        if not records:
            return batch

        entries = self.crosswalk.lookup(kind, [r.id for r in records])
        todo, pending, mapped = [], {}, {}
        for record in records:
            entry = entries.get(record.id)
            if entry is None:
                todo.append(record)
            elif entry.state == "confirmed":
                mapped[record.id] = (record, entry)
            else:
                pending[record.id] = (record, entry)
        todo.extend(self._resolve_pending(ctx, pending, batch.taken_over))
        if not todo and not mapped:
            return batch
        if todo:
            self._read_index_soon(handler)  # while what the records need is read
        everything = todo + [record for record, _ in mapped.values()]
        try:
            extra = handler.prepare(
                everything,
                PageContext(
                    self.prod, lambda wanted: self._pull(ctx, wanted), lambda wanted: self._pull_soon(ctx, wanted)
                ),
            )
        except st.ServiceTitanError as exc:  # retries ran out: these records fail, the run goes on
            for record in everything:
                self._issue(report, Outcome.FAILED, record.id, "(request)", f"reading what the record needs: {exc}")
            if batch.taken_over and not self.options.dry_run:
                self.crosswalk.release(kind, batch.taken_over, self.options.run_id)
            return batch
        todo = [record for record in todo if record.id not in ctx.pulled_ahead]
        refs = RefMap.load(
            self.crosswalk,
            (
                ref
                for record in everything
                for refs_of in (handler.references(record, extra), handler.key_references(record))
                for ref in refs_of
            ),
            planned=self._planned if self.options.dry_run else None,
            overlay={**self._overlay, kind: {**self._overlay.get(kind, {}), **ctx.fresh}}
            if ctx.fresh
            else self._overlay,
            entity=kind,
            policies=self.policies,
            claims=Claims(self.options.run_id, self._run_is_live, self.options.server_timeout),
        )
        todo = self._adopt(ctx, todo, refs, mapped)
        batch.plans = [_Plan(record.id, body, record=record) for record, body in self._build(ctx, todo, refs, extra)]
        for plan in batch.plans:
            report.count_left_out(dropped_references(FIELD_MAPS[kind], plan.record.model_dump(mode="json"), plan.body))
        # Stale claims taken over for records that are not sent after all (adopted, blocked, failed) are let go.
        unsent = batch.taken_over - {plan.prod_id for plan in batch.plans}
        if unsent and not self.options.dry_run:
            self.crosswalk.release(kind, unsent, self.options.run_id)
            batch.taken_over -= unsent
        batch.wanted = [
            (record, mapped[record.id][1], body)
            for record, body in self._build(ctx, [r for r, _ in mapped.values()], refs, extra)
        ]
        self._save_issues()
        return batch

    def _build(self, ctx: _Context, records: list, refs: RefMap, extra) -> list[tuple]:
        """(record, request body) for each record that can be sent; the others are reported blocked or failed."""
        handler, report = ctx.handler, ctx.report
        built = []
        for record in records:
            refs.take_dropped()
            try:
                built.append((record, payload(handler.build(record, refs, extra))))
                dropped = refs.take_dropped()
                if dropped:
                    ctx.dropped[record.id] = dropped
            except Deferred as exc:  # a reference is being created (claimed): a later run copies it
                self._issue(report, Outcome.DEFERRED, record.id, exc.field, exc.reason)
            except Blocked as exc:
                self._issue(report, Outcome.BLOCKED, record.id, exc.field, exc.reason)
            except Invalid as exc:
                self._issue(report, Outcome.FAILED, record.id, exc.field, exc.reason)
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                self._issue(report, Outcome.FAILED, record.id, _field_of(first), first["msg"])
        return built

    def _pull(self, ctx: _Context, wanted: dict[str, set[int]]) -> None:
        """Copy referenced records that are not mapped yet (materials of PO lines, jobs of POs, and records of the
        kind itself: a configurable material's variations, the job a job came from), kind by kind in the order
        given; the Integration index of every kind that has some is read meanwhile."""
        missing: dict[str, list[int]] = {}
        waits: dict[int, tuple[_Plan, _Batch]] = {}
        for kind, prod_ids in wanted.items():
            mapped = self.crosswalk.lookup(kind, sorted(prod_ids)) if prod_ids else {}
            unmapped = sorted(i for i in prod_ids if i not in mapped)
            if kind == ctx.handler.kind:
                seen = self._seen.setdefault(kind, set())
                # Being created by a batch in flight (claimed, not confirmed yet): its create's answer is waited for
                # once the others are copied (they were planned, so they are seen: never pulled in here).
                waits = {
                    i: f
                    for i in prod_ids
                    if i not in ctx.batch
                    and (f := ctx.in_flight.get(i)) is not None
                    and (i not in mapped or mapped[i].state != "confirmed")
                }
                # Those on this batch go first (again, when a pulled-in record needs another one pulled in with
                # it), unless they all need each other: then there is no order to keep. One processed earlier in
                # the run ended as it ended: not processed twice.
                first = [i for i in unmapped if i in ctx.batch]
                if set(first) >= ctx.batch:
                    first = []
                ids = first + [
                    i for i in unmapped if i not in ctx.batch and i not in seen and i not in self._pulled[kind]
                ]
                seen.difference_update(ids)
            else:
                ids = [i for i in unmapped if i not in self._pulled[kind]]
            if ids:
                missing[kind] = ids
                self._read_index_soon(self.handlers[kind])
        for kind, ids in missing.items():
            self._pulled[kind].update(ids)  # tried once per run: a blocked one stays blocked until the next
        self._pull_kinds(ctx, missing)
        for prod_id, (plan, batch) in waits.items():
            int_id = plan.created.result()
            if int_id is not None:
                ctx.fresh[prod_id] = int_id
            else:  # not created by its first send (sent again, or not at all): as its batch leaves it
                batch.mapped.result()

    def _pull_kinds(self, ctx: _Context, missing: dict[str, list[int]]) -> None:
        """Each kind's records pulled in, the kinds at the same time (a PO's equipment is created while its jobs
        are read): their requests are few and one round trip after the other, so side by side they keep the batch
        being planned from waiting for the sum (under a run limit, see _beside). The kind being synced goes on
        this thread (it is processed on this very context); the others have contexts of their own."""
        if not missing:
            return
        kinds = sorted(missing, key=lambda kind: kind != ctx.handler.kind)
        others = [self._beside(lambda kind=kind: self._pull_kind(ctx, kind, missing[kind])) for kind in kinds[1:]]
        try:
            self._pull_kind(ctx, kinds[0], missing[kinds[0]])
        finally:
            wait(others)
        for other in others:
            other.result()

    def _pull_soon(self, ctx: _Context, wanted: dict[str, set[int]]) -> Future:
        """`_pull` started now, beside what the batch being planned reads meanwhile."""
        return self._beside(lambda: self._pull(ctx, wanted))

    def _beside(self, work: Callable[[], None]) -> Future:
        """`work` for the batch being planned, on a thread of its own: what it pulls in goes with that batch.
        Under a run limit it is done now, on this thread: the pulls go one after the other, so which records the
        budget covers stays the same from run to run."""
        if self.options.limit > 0:
            done: Future = Future()
            try:
                work()
                done.set_result(None)
            except BaseException as exc:
                done.set_exception(exc)
            return done
        sink = getattr(self._pulled_rest, "sink", None)

        def run() -> None:
            self._pulled_rest.sink = sink
            try:
                work()
            finally:
                self._pulled_rest.sink = None

        return in_background(run, "stsync-pull")

    def _pull_kind(self, ctx: _Context, kind: str, ids: list[int]) -> None:
        log.info("%s: pulling in %d %s referenced by this page", ctx.handler.kind, len(ids), kind)
        own = kind == ctx.handler.kind  # processed on this very context (other kinds have their own)
        batch = ctx.batch
        with self._pool.lane(RequestPool.PLANNING):  # the batch being planned waits for them
            found = self._reread(ctx, self.handlers[kind], ids, into=ctx.report)
        if own:  # processed now: the batch they are on leaves them out
            ctx.batch = batch
            ctx.pulled_ahead.update(ids)
        for prod_id in sorted(set(ids) - found):
            self._issue(
                ctx.report,
                Outcome.FAILED,
                prod_id,
                "id",
                "referenced but not found in Production",
                kind=kind,
                count=False,
            )

    # ---- what Integration already holds ---------------------------------------------------------

    def _index(self, handler: EntityHandler) -> IntegrationIndex:
        """The kind's Integration records by mark and natural key: read once per run, when first needed."""
        with self._index_lock:
            index = self._indexes.get(handler.kind)
            if index is not None:
                return index
            self._read_index_soon(handler)
            reading = self._index_reads[handler.kind]
        try:
            index = reading.result()
        except BaseException:  # read again when next needed
            self._drop_index_read(handler.kind, reading)
            raise
        with self._index_lock:
            self._drop_index_read(handler.kind, reading)
            return self._indexes.setdefault(handler.kind, index)

    def _drop_index_read(self, kind: str, reading: Future) -> None:
        with self._index_lock:
            if self._index_reads.get(kind) is reading:
                del self._index_reads[kind]

    def _read_index_soon(self, handler: EntityHandler) -> None:
        """Start reading the kind's index in the background: a page that needs it reads other things first."""
        with self._index_lock:
            if handler.kind not in self._indexes and handler.kind not in self._index_reads:
                self._index_reads[handler.kind] = self._index_reader.submit(IntegrationIndex.read, handler, self.intc)

    def _adopt(self, ctx: _Context, todo: list, refs: RefMap, mapped: dict) -> list:
        """Map the records Integration already holds to their counterpart instead of creating them; return the
        rest. This is the proof before any create: a record is created only when the index has no match. The
        adopted ones join `mapped`: their history unknown, they are compared with Production now (follow.py)."""
        handler, report, kind = ctx.handler, ctx.report, ctx.handler.kind
        if not todo:
            return []
        try:
            index = self._index(handler)
        except st.ServiceTitanError as exc:  # cannot tell what Integration holds: create nothing
            for record in todo:
                self._issue(
                    report, Outcome.FAILED, record.id, "(request)", f"reading what Integration already holds: {exc}"
                )
            return []
        keys = {record.id: handler.prod_key(record, refs) for record in todo}
        candidates = {i for r in todo for i in (*index.by_mark.get(r.id, ()), *index.by_key.get(keys[r.id], ()))}
        owners = self.crosswalk.find_by_int_id(kind, candidates) if candidates else {}
        adopted: dict[int, Match] = {}
        rest = []
        for record in todo:
            taken = {i for i, owner in owners.items() if owner != record.id}
            found = index.match(record.id, keys[record.id], taken, handler.prod_evidence(record))
            if isinstance(found, Match):
                adopted[record.id] = found
            elif isinstance(found, Ambiguous):
                fields = ", ".join(handler.cfg.natural_key)
                self._issue(
                    report, Outcome.BLOCKED, record.id, "(natural key)",
                    f"{len(found.int_ids)} Integration records {list(found.int_ids)} have its natural key ({fields}) "
                    f"'{found.key}': not guessed, nothing created; remove the extra ones in Integration",
                )  # fmt: skip
            else:
                rest.append(record)
        if adopted:
            self._record_adopted(ctx, adopted)
            mapped.update(
                {
                    r.id: (r, Entry(r.id, adopted[r.id].int_id, "confirmed", self.options.run_id, None, "adopted"))
                    for r in todo
                    if r.id in adopted
                }
            )
        return rest

    def _record_adopted(self, ctx: _Context, adopted: dict[int, Match]) -> None:
        handler, report, kind = ctx.handler, ctx.report, ctx.handler.kind
        rules: dict[str, int] = {}
        for prod_id, found in adopted.items():
            rules[found.rule] = rules.get(found.rule, 0) + 1
            report.add(Outcome.ADOPTED, prod_id)
        log.warning(
            "%s: %d records already in Integration adopted, not created (%s): the crosswalk did not know them (it "
            "was lost, moved, restored from an old copy or is new, or Integration was refreshed or edited by hand)",
            kind, len(adopted), ", ".join(f"{n} by {rule}" for rule, n in sorted(rules.items())),
        )  # fmt: skip
        if self.options.dry_run:
            self._overlay.setdefault(kind, {}).update({p: m.int_id for p, m in adopted.items()})
            return
        for rule in rules:
            pairs = {p: m.int_id for p, m in adopted.items() if m.rule == rule}
            writes = [self._wrote(p, i, "adopted", detail=f"by {rule}") for p, i in pairs.items()]
            self.crosswalk.record(kind, pairs, source="adopted", run_id=self.options.run_id, rule=rule, history=writes)
        self._clear_issues(kind, list(adopted))
        unstamped = [(p, m.int_id) for p, m in adopted.items() if m.rule != "stamp" and handler.adoption_stamp(p)]
        # Marked, an adopted record is found again by its stamp when this crosswalk is lost in turn.
        stamped = []
        for (prod_id, int_id), error in zip(
            unstamped, self._pool.map(lambda pair: self._stamp(handler, *pair), unstamped)
        ):
            if error:
                log.warning("%s %s: adopted as %s, but stamping it failed (%s)", kind, prod_id, int_id, error)
            else:
                stamped.append(self._wrote(prod_id, int_id, "stamped", ("externalData",), "STSync's mark added"))
        self.crosswalk.note(kind, stamped)

    def _stamp(self, handler: EntityHandler, prod_id: int, int_id: int) -> str | None:
        try:
            self.intc.patch(handler.cfg.int_create_path, int_id, handler.adoption_stamp(prod_id))
        except st.ServiceTitanError as exc:
            return str(exc)
        return None

    def _check_mappings(self, ctx: _Context) -> None:
        """Refresh detection: when sampled mappings point at records Integration no longer holds (or that hold
        another record now), every mapping of the kind is checked against the index and the stale ones forgotten,
        so their records are adopted again (or created) instead of skipped."""
        handler, kind = ctx.handler, ctx.handler.kind
        try:
            problems = mapping_problems(handler, self.intc, self.crosswalk)
            if not problems.wrong:
                return
            log.warning("%s: %s; checking every mapping of the kind", kind, problems.summary())
            index = self._index(handler)
        except st.ServiceTitanError as exc:
            log.warning("%s: the crosswalk's mappings could not be checked against Integration: %s", kind, exc)
            return
        stale = {
            prod_id: int_id
            for prod_id, (int_id, source) in self.crosswalk.mapped(kind).items()
            if not index.holds(int_id)
            or index.mark_of[int_id] not in (None, prod_id)
            or (source in ("sync", "recovered") and index.mark_of[int_id] != prod_id)
        }
        why = "Integration no longer holds it as this record's copy (refreshed or edited?)"
        forgotten = self.crosswalk.forget(
            kind, stale, history=[self._wrote(p, i, "forgotten", detail=why) for p, i in stale.items()]
        )
        log.warning(
            "%s: %d mappings no longer held in Integration were forgotten; their records are adopted "
            "again or created when they are next read",
            kind,
            forgotten,
        )

    # ---- claims left pending by a crash, a lost answer or another run ---------------------------

    def _sweep(self, ctx: _Context) -> None:
        """Claims of any window left pending longer than the server timeout by runs that are gone: their records
        are read again and resolved now, not when someone happens to re-run their day."""
        kind = ctx.handler.kind
        older_than = self.crosswalk.now() - self.options.server_timeout
        stale = [e for e in self.crosswalk.stale_claims(kind, older_than) if not self._run_is_live(e.run_id)]
        if not stale:
            return
        log.warning(
            "%s: %d claims left pending by earlier runs (a crash or a lost answer): resolving them", kind, len(stale)
        )
        self._reread(ctx, ctx.handler, sorted(e.prod_id for e in stale), into=ctx.report)

    def _backlog(self, ctx: _Context) -> None:
        """Records of the kind left blocked, failed or deferred by earlier runs of any window are tried again
        first: a vendor added to Integration heals them without anyone re-running their day."""
        kind = ctx.handler.kind
        waiting = sorted({issue.prod_id for issue in self.crosswalk.issues(kind=kind)})
        if not waiting:
            return
        log.info("%s: trying again %d records left blocked, failed or deferred by earlier runs", kind, len(waiting))
        self._reread(ctx, ctx.handler, waiting, into=ctx.report)
        if not self.options.dry_run:
            copied = [p for p, e in self.crosswalk.lookup(kind, waiting).items() if e.state == "confirmed"]
            self._clear_issues(kind, copied)

    def _reread(self, ctx: _Context, handler: EntityHandler, prod_ids: list[int], into: SyncReport) -> set[int]:
        """Read these Production records by id and process them; return the ids Production still has."""
        try:
            raws = self.prod.get_by_ids(handler.cfg.prod_list_path, prod_ids, params=dict(handler.cfg.list_params))
        except st.ServiceTitanError as exc:
            for prod_id in prod_ids:
                self._issue(
                    into, Outcome.FAILED, prod_id, "(request)", f"reading it from Production: {exc}", kind=handler.kind
                )
            return set(prod_ids)
        sub = (
            ctx
            if handler is ctx.handler and into is ctx.report
            else _Context(handler, SyncReport(handler.kind, dry_run=self.options.dry_run))
        )
        self._process(sub, raws)
        if sub is not ctx:
            sink = getattr(self._pulled_rest, "sink", None)
            if sink is None:
                into.merge(sub.report)
            else:  # its status moves are still to come (see _finish)
                sink.append(lambda: into.merge(sub.report))
        return {int(r["id"]) for r in raws if "id" in r}

    def _resolve_pending(self, ctx: _Context, pending: dict, taken_over: set[int]) -> list:
        """Look pending records up in Integration before anything is created again: never a blind retry, and
        never while ServiceTitan may still be committing the first create."""
        if not pending:
            return []
        handler, report, kind = ctx.handler, ctx.report, ctx.handler.kind
        if self.options.dry_run:
            return [record for record, _ in pending.values()]
        now = self.crosswalk.now()
        old: dict[int, tuple] = {}
        for prod_id, (record, entry) in pending.items():
            if entry.run_id == self.options.run_id and any(
                lost.plan.prod_id == prod_id and lost.ctx.handler.kind == kind for lost in self._lost
            ):
                self._issue(
                    report,
                    Outcome.DEFERRED,
                    prod_id,
                    "(claim)",
                    "its create's answer was lost; settled at the end of this run",
                )
            elif entry.run_id != self.options.run_id and self._run_is_live(entry.run_id):
                self._issue(report, Outcome.DEFERRED, prod_id, "(claim)", f"being created by run {entry.run_id}")
            elif entry.claimed_at is not None and now - entry.claimed_at < self.options.server_timeout:
                ready = entry.claimed_at + self.options.server_timeout
                self._issue(
                    report,
                    Outcome.DEFERRED,
                    prod_id,
                    "(claim)",
                    f"a create sent at {entry.claimed_at:%H:%M:%S} UTC may still be committing in ServiceTitan; looked up after {ready:%H:%M:%S}",
                )
            else:
                old[prod_id] = (record, entry)
        if not old:
            return []
        try:
            found = handler.find_existing(self.intc, {pid: entry.claimed_at for pid, (_, entry) in old.items()})
        except st.ServiceTitanError as exc:  # cannot tell whether they exist: leave them for the next run
            for prod_id in old:
                self._issue(report, Outcome.FAILED, prod_id, "(request)", f"looking up a pending claim: {exc}")
            return []
        if found:
            why = "its create's answer was lost; found in Integration by its mark"
            self.crosswalk.record(
                kind,
                found,
                source="recovered",
                history=[self._wrote(p, i, "recovered", detail=why) for p, i in found.items()],
            )
            self._clear_issues(kind, list(found))
        report.recovered += len(found)
        for prod_id in found:
            report.add(Outcome.SKIPPED, prod_id)
        stale = [(record, entry) for prod_id, (record, entry) in old.items() if prod_id not in found]
        if not stale:
            return []
        # Entries, not ids: a claim is taken only if it is still the one judged stale here, so two runs
        # recovering the same record cannot both take it.
        cutoff = datetime.now(timezone.utc) + timedelta(seconds=1)
        taken = self.crosswalk.take_over(
            kind,
            [entry for _, entry in stale],
            self.options.run_id,
            claimed_before=cutoff,
            partition=self.options.partition,
        )
        todo = []
        for record, _ in stale:
            if record.id in taken:
                taken_over.add(record.id)
                todo.append(record)
            else:
                self._issue(report, Outcome.DEFERRED, record.id, "(claim)", "claimed by another run meanwhile")
        return todo

    # ---- writing -------------------------------------------------------------------------------

    def _write(
        self, ctx: _Context, plans: list[_Plan], taken_over: set[int], early: bool = False
    ) -> Callable[[], Callable[[], None]]:
        """Claim the plans and send their creates; returns `land`, which waits for the answers and confirms them,
        and returns in turn the status moves and notes left to do (see _confirm). The creates of the next batch
        can be sent meanwhile: the concurrent requests never drain between batches. `early`: the creates refused
        on an inactive SKU are sent again as soon as the answers are in, not when `land` is called (the finish
        stage may still be busy with the batch before)."""
        handler, report, kind = ctx.handler, ctx.report, ctx.handler.kind
        if not plans:
            return _landed
        allowed = self.budget.take(len(plans)) if self.options.create else 0
        for plan in plans[allowed:]:
            if self.options.create:
                self._issue(
                    report, Outcome.DEFERRED, plan.prod_id, "(limit)", "run limit reached; copied by a later run"
                )
            else:
                self._issue(
                    report,
                    Outcome.DEFERRED,
                    plan.prod_id,
                    "(reconcile)",
                    "not in Integration: the next sync creates it",
                )
        unsent = taken_over & {plan.prod_id for plan in plans[allowed:]}
        if unsent and not self.options.dry_run:  # stale claims taken over, not sent after all: let go
            self.crosswalk.release(kind, unsent, self.options.run_id)
        plans = plans[:allowed]
        if not plans:
            return _landed
        if self.options.dry_run:
            for plan in plans:
                self._planned[kind].add(plan.prod_id)
                report.created(plan.prod_id, None)
                report.went_without(plan.prod_id, ctx.dropped.pop(plan.prod_id, []))
                if len(report.sample_payloads) < self.options.sample_size:
                    report.sample_payloads.append({"prod_id": plan.prod_id, "payload": plan.body})
            return _landed

        ours = self.crosswalk.claim(kind, [p.prod_id for p in plans], self.options.run_id, self.options.partition)
        ours = set(ours) | taken_over
        for plan in plans:
            if plan.prod_id not in ours:
                self._issue(report, Outcome.DEFERRED, plan.prod_id, "(claim)", "claimed by another run meanwhile")
        plans = [p for p in plans if p.prod_id in ours]

        answers = self._send_all(handler, plans)
        resolved = (
            in_background(lambda: self._with_inactive_active(ctx, plans, answers()), "stsync-answers")
            if early
            else None
        )

        def land() -> Callable[[], None]:
            results = resolved.result() if resolved else self._with_inactive_active(ctx, plans, answers())
            created: dict[int, int] = {}
            released: list[int] = []
            for plan, (status, value) in zip(plans, results):
                if status == "ok":
                    created[plan.prod_id] = value
                elif status == "deferred":
                    released.append(plan.prod_id)
                    self._issue(report, Outcome.DEFERRED, plan.prod_id, *value)
                elif status == "ambiguous":  # value: when it was sent
                    settle_at = time.monotonic() + self.options.server_timeout.total_seconds()
                    self._lost.append(_Lost(ctx, plan, value, settle_at))
                else:
                    released.append(plan.prod_id)
                    field_name, reason = value
                    self._issue(report, Outcome.FAILED, plan.prod_id, field_name, reason)
            if released:
                self.crosswalk.release(kind, released, self.options.run_id)
            return self._confirm(ctx, created, {plan.prod_id: plan for plan in plans})

        return land

    def _confirm(self, ctx: _Context, created: dict[int, int], plans: dict[int, _Plan]) -> Callable[[], None]:
        """Confirm creates in the crosswalk; only what it confirmed counts as created. Returns what is left to do,
        for the caller to run (now, or while the next batch is being created): a record whose Production status
        is not where a new one starts (a job canceled, a PO canceled) is moved there, and every write noted."""
        if not created:
            return _nothing
        handler, report, kind = ctx.handler, ctx.report, ctx.handler.kind
        confirmed = self.crosswalk.confirm(
            kind, created, self.options.run_id, history=[self._wrote(p, i, "created") for p, i in created.items()]
        )
        index = self._indexes.get(kind)
        for prod_id, int_id in created.items():
            if index is not None:
                index.add(int_id, prod_id, None)
            if prod_id in confirmed:
                report.created(prod_id, int_id, plans[prod_id].body)
                report.went_without(prod_id, ctx.dropped.pop(prod_id, []))
            else:
                other = self.crosswalk.int_ids(kind, [prod_id]).get(prod_id)
                self._issue(
                    report, Outcome.FAILED, prod_id, "(duplicate)",
                    f"created as Integration {int_id}, but the crosswalk maps it to {other}: two writers created it; "
                    f"delete Integration {int_id} by hand",
                )  # fmt: skip
        self._clear_issues(kind, list(confirmed))
        now = datetime.now(timezone.utc)
        written, moves = {}, []
        for prod_id in confirmed:
            plan = plans[prod_id]
            view = handler.followed_view(plan.body)
            target = handler.desired_status(plan.record) if plan.record is not None else None
            # Until it has moved, what Integration holds is the initial status: a failed move is tried again.
            written[prod_id] = (fingerprint(view, handler.initial_status if target else None), now)
            if target and target != handler.initial_status:
                moves.append(
                    (plan.record, created[prod_id], handler.status_steps(plan.record, target, handler.initial_status))
                )
                plan.target_print = fingerprint(view, target)

        def settle() -> None:
            for prod_id, landed in self._move(ctx, moves).items():
                written[prod_id] = (plans[prod_id].target_print, landed)
            self.crosswalk.wrote(kind, written, history=self._status_writes(ctx, {p: created[p] for p in written}))

        return settle

    def _create(self, handler: EntityHandler, plan: _Plan) -> tuple[str, object]:
        answer = self._create_once(handler, plan)
        _tell(plan.created, answer[1] if answer[0] == "ok" else None)
        return answer

    def _create_once(self, handler: EntityHandler, plan: _Plan) -> tuple[str, object]:
        sent_at = datetime.now(timezone.utc)
        try:
            response = self.intc.create(handler.cfg.int_create_path, plan.body)
            return "ok", handler.created_id(response)
        except st.AmbiguousWriteError as exc:
            log.warning(
                "%s %s: the answer to the create was lost (%s); looked up once ServiceTitan is done with it",
                handler.kind,
                plan.prod_id,
                exc,
            )
            return "ambiguous", sent_at
        except (st.ValidationError, st.ConflictError, st.NotFoundError) as exc:
            return "failed", api_reason(exc)
        except st.ServiceTitanError as exc:
            return "failed", ("(request)", str(exc))

    def _create_all(self, handler: EntityHandler, plans: list[_Plan]) -> list[tuple[str, object]]:
        """Create the plans and wait for the answers (see _send_all)."""
        return self._send_all(handler, plans)()

    def _send_all(self, handler: EntityHandler, plans: list[_Plan]) -> Callable[[], list[tuple[str, object]]]:
        """Send the plans' creates, in bulk where the kind has a bulk endpoint (one request per batch), else one by
        one; either way concurrently. Returns what waits for the answers, in the plans' order. An API without the
        bulk endpoint is said once, then skipped."""
        if handler.bulk_create and self.options.bulk_size > 0 and self._bulk_ok:
            size = self.options.bulk_size
            sent = [
                self._pool.submit(self._create_batch, handler, plans[i : i + size]) for i in range(0, len(plans), size)
            ]

            def bulk_answers() -> list[tuple[str, object]]:
                try:
                    done: dict[int, tuple] = {}
                    for batch in sent:
                        done.update(batch.result())
                    return [done[plan.prod_id] for plan in plans]
                except st.BulkUnsupported as exc:
                    wait(sent)
                    self._bulk_ok = False
                    log.warning("%s: no bulk create here (%s); creating one record per request", handler.kind, exc)
                    return self._send_all(handler, plans)()

            return bulk_answers
        singles = [self._pool.submit(self._create, handler, plan) for plan in plans]
        return lambda: [answer.result() for answer in singles]

    def _create_batch(self, handler: EntityHandler, batch: list[_Plan]) -> dict[int, tuple[str, object]]:
        """One bulk request; a refused batch is split until the invalid records stand alone, each failed with
        its field, and the rest created. A lost answer: every record of the batch is looked up by its stamp."""
        answers = self._create_bulk(handler, batch)
        for plan in batch:
            status, value = answers[plan.prod_id]
            _tell(plan.created, value if status == "ok" else None)
        return answers

    def _create_bulk(self, handler: EntityHandler, batch: list[_Plan]) -> dict[int, tuple[str, object]]:
        sent_at = datetime.now(timezone.utc)
        try:
            answer = self.intc.bulk_create_materials([{**p.body, "customId": str(p.prod_id)} for p in batch])
        except st.BulkUnsupported:
            raise
        except st.AmbiguousWriteError as exc:
            log.warning(
                "%s: the answer to a bulk create of %d was lost (%s); looked up once ServiceTitan is done",
                handler.kind,
                len(batch),
                exc,
            )
            return {p.prod_id: ("ambiguous", sent_at) for p in batch}
        except (st.ValidationError, st.ConflictError) as exc:
            if len(batch) > 1:
                half = len(batch) // 2
                return {**self._create_bulk(handler, batch[:half]), **self._create_bulk(handler, batch[half:])}
            # The fields as a single create names them: items[3].name → name.
            return {batch[0].prod_id: ("failed", api_reason(exc, lambda name: name.split("].", 1)[-1]))}
        except st.ServiceTitanError as exc:
            return {p.prod_id: ("failed", ("(request)", str(exc))) for p in batch}
        ids = {int(item["customId"]): int(item["id"]) for item in answer if str(item.get("customId", "")).isdigit()}
        # Not in the answer: not created, or its id not said; the stamp tells which after the server timeout.
        return {p.prod_id: ("ok", ids[p.prod_id]) if p.prod_id in ids else ("ambiguous", sent_at) for p in batch}

    def _settle_lost(self) -> None:
        """Creates whose answers were lost: once the server timeout has passed since each was sent, found in
        Integration means created; not found means it never committed, and it is sent once more (still claimed)."""
        lost, self._lost = self._lost, []
        if not lost:
            return
        wait = max(item.settle_at for item in lost) - time.monotonic()
        if wait > 0:
            log.info("waiting %.0f s for ServiceTitan to finish %d creates whose answers were lost", wait, len(lost))
            time.sleep(wait)
        by_ctx: dict[int, list[_Lost]] = {}
        for item in lost:
            by_ctx.setdefault(id(item.ctx), []).append(item)
        for items in by_ctx.values():
            ctx = items[0].ctx
            handler, report = ctx.handler, ctx.report
            try:
                found = handler.find_existing(
                    self.intc, {i.plan.prod_id: i.sent_at - timedelta(seconds=5) for i in items}
                )
            except st.ServiceTitanError as exc:  # still claimed by this run: the next run looks them up first
                for item in items:
                    self._issue(
                        report, Outcome.FAILED, item.plan.prod_id, "(request)", f"answer lost, lookup failed: {exc}"
                    )
                continue
            report.recovered += len(found)
            created = dict(found)
            for item in items:
                if item.plan.prod_id in found:
                    continue
                ((status, value),) = self._with_inactive_active(ctx, [item.plan], [self._create(handler, item.plan)])
                if status == "ok":
                    created[item.plan.prod_id] = value
                elif status == "ambiguous":
                    self._issue(
                        report,
                        Outcome.FAILED,
                        item.plan.prod_id,
                        "(request)",
                        "the create's answer was lost twice; a later run looks it up after the server timeout",
                    )
                else:
                    self.crosswalk.release(handler.kind, [item.plan.prod_id], self.options.run_id)
                    outcome = Outcome.DEFERRED if status == "deferred" else Outcome.FAILED
                    self._issue(report, outcome, item.plan.prod_id, *value)
            self._confirm(ctx, created, {i.plan.prod_id: i.plan for i in items})()

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
        # Kept for later runs (the backlog): what was not copied. A conflict is looked at again whenever it changes.
        if record_issue and outcome.value in ISSUE_STATUSES and not self.options.dry_run and isinstance(prod_id, int):
            with self._issues_lock:
                self._unsaved_issues.setdefault(kind, {})[prod_id] = (outcome.value, reason, field_name)

    def _save_issues(self) -> None:
        """Issues are written a batch at a time (one transaction, not one per record), always before any clear:
        the crosswalk ends up as if each had been written at once."""
        with self._issues_lock:
            unsaved, self._unsaved_issues = self._unsaved_issues, {}
            for kind, issues in unsaved.items():
                self.crosswalk.set_issues(kind, issues, self.options.run_id)

    def _clear_issues(self, kind: str, prod_ids: list[int]) -> None:
        with self._issues_lock:
            self._save_issues()
            self.crosswalk.clear_issues(kind, prod_ids)

    def _wrote(self, prod_id: int, int_id: int | None, action: str, fields=(), detail: str = "") -> Write:
        return Write(self.options.run_id, self._asset, prod_id, int_id, action, tuple(fields), detail)

    def _status_writes(self, ctx: _Context, int_ids: dict[int, int]) -> list[Write]:
        """The status changes sent for these records (a history row each), taken from the context's tally."""
        sent = {p: ctx.steps_sent.pop(p) for p in int_ids if p in ctx.steps_sent}
        return [self._wrote(p, int_ids[p], "status_changed", detail=", ".join(steps)) for p, steps in sent.items()]

    def _request_counts(self) -> tuple[int, int]:
        total = limited = 0
        for client in (self.prod, self.intc):
            snap = client.stats.snapshot()
            total += snap.get("requests", 0)
            limited += snap.get("rate_limited", 0)
        return total, limited
