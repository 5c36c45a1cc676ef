"""Creates that need a referenced record active for a moment: a PO line on a material (or equipment) that
Production has deactivated since the PO was made. The PO create needs "any active material or equipment", yet
Integration must end as Production is: the SKU inactive, the PO on it.

Under a claim on the SKU (the crosswalk's action table, action `reactivated`), the SKU is made active, the
refused creates are sent again, and the SKU made inactive once more. While the claim is held the SKU's copy is
not what the crosswalk says STSync wrote, so another run that would compare or patch it defers it instead; a
run that crashed inside the window leaves the claim behind, and the next run of any kind, once the server
timeout has passed and that run is gone, makes the SKU inactive again and lets the claim go. Our own two
patches move the SKU's modifiedOn: its `written_at` is moved with them (when the inactive state was STSync's),
so they do not read as an edit made in Integration.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Iterator

from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync.apply.creates import Creator
from stsync_dagster.sync.apply.provenance import CLOCK_SLACK
from stsync_dagster.sync.batch import Postponed, Refused
from stsync_dagster.sync.requests_pool import RequestPool
from stsync_dagster.sync.run import Run
from stsync_dagster.sync.timefmt import instant

log = logging.getLogger("stsync.sync")

ACTION = "reactivated"
_SENDS = 3  # a PATCH whose answer was lost is sent again, at most this many times in all
OURS = f"{ACTION}:ours"  # the inactive state was STSync's own write: written_at follows our patches
THEIRS = f"{ACTION}:theirs"  # it was someone's edit in Integration: left to read as one


class Activation:
    def __init__(self, run: Run, creator: Creator):
        self.run = run
        self.creator = creator
        self._late: set = set()  # (kind, prod id) of SKUs whose activation answer was lost: claims outlive the run
        self._lock = threading.Lock()  # held from reading a batch's SKUs until they are inactive again
        self._prod_of: dict = {}  # (kind, Integration id) → prod id of the SKUs being activated

    def held_by_others(self, kind: str, prod_ids) -> dict[int, str]:
        """Records of the kind another run holds active for a moment (a claim not yet stale): id → run id."""
        if self.run.options.dry_run:
            return {}
        stale_before = self.run.crosswalk.now() - self.run.options.server_timeout
        return {
            prod_id: run_id
            for prod_id, (action, run_id, claimed_at) in self.run.crosswalk.held_actions(kind, prod_ids).items()
            if action.startswith(ACTION)
            and run_id != self.run.options.run_id
            and (claimed_at >= stale_before or self.run.is_live(run_id))
        }

    def finish_reactivations(self) -> None:
        """Claims left by runs that crashed between making a SKU active and inactive again: finished now."""
        older_than = self.run.crosswalk.now() - self.run.options.server_timeout
        for kind, handler in self.run.handlers.items():
            left = {
                prod_id: action
                for prod_id, (action, run_id, claimed_at) in self.run.crosswalk.held_actions(kind).items()
                if action.startswith(ACTION) and claimed_at < older_than and not self.run.is_live(run_id)
            }
            if not left:
                continue
            ours = self.run.crosswalk.claim_actions(kind, left, self.run.options.run_id, older_than)
            if not ours:
                continue
            log.warning("%s: %d made active for a PO by a run that is gone: made inactive again", kind, len(ours))
            entries = self.run.crosswalk.lookup(kind, sorted(ours))
            self._deactivate_kinds(
                {kind: {p: (entries[p], left[p]) for p in ours if p in entries}}, RequestPool.CREATES
            )
            self.run.crosswalk.release_actions(kind, [p for p in ours if p not in entries], self.run.options.run_id)

    def _deactivate_kinds(self, by_kind: dict[str, dict[int, tuple]], lane: int) -> None:
        """Make these SKUs (kind → prod id → (crosswalk entry, action)) inactive again, every kind's at once, and
        let their claims go; one that fails keeps its claim, so the next run finishes it."""
        sent = []
        for kind, skus in sorted(by_kind.items()):
            order = sorted(skus.items())
            sent.append(
                (
                    self.run.handlers[kind],
                    order,
                    self._patch_active(self.run.handlers[kind], [e.int_id for _, (e, _) in order], False, lane),
                )
            )
        for handler, order, answers in sent:
            self._deactivated(handler, order, answers)

    def _deactivated(self, handler, order: list, answers) -> None:
        done, written = [], {}
        for (prod_id, (entry, action)), (answer, exc) in zip(order, answers):
            if exc is not None:
                log.warning(
                    "%s %s: making it inactive again failed (%s); the next run finishes it", handler.kind, prod_id, exc
                )
                continue
            done.append(prod_id)
            if action == OURS:  # a fingerprint not noted yet (None) is left to the note still to come
                landed = instant((answer or {}).get("modifiedOn")) or datetime.now(UTC)
                written[prod_id] = (entry.fingerprint, max(landed, datetime.now(UTC)))
        self.run.crosswalk.wrote(handler.kind, written)
        # An activation whose answer was lost may still commit late: its claim stays, so the run that finishes
        # it (after the server timeout) makes the SKU inactive once more.
        self.run.crosswalk.release_actions(
            handler.kind, [p for p in done if (handler.kind, p) not in self._late], self.run.options.run_id
        )

    def _patch_active(
        self, handler, int_ids: list[int], active: bool, lane: int
    ) -> Iterator[tuple[dict, Exception | None]]:
        """The SKUs' `active` set, concurrently (sent now): (answer, error) of each, in order, as they come."""

        def one(int_id: int) -> tuple[dict, Exception | None]:
            try:
                return self._set_active(handler, int_id, active), None
            except st.ServiceTitanError as exc:
                return {}, exc

        return self.run.pool.map(one, int_ids, lane=lane)

    def _set_active(self, handler, int_id: int, active: bool) -> dict:
        """PATCH the SKU's `active`; an answer lost is sent again (setting a value twice does no harm)."""
        for attempt in range(_SENDS):
            try:
                return self.run.intc.patch(handler.cfg.int_create_path, int_id, {"active": active})
            except st.AmbiguousWriteError:
                if active:
                    self._late.add((handler.kind, self._prod_of.get((handler.kind, int_id))))
                if attempt == _SENDS - 1:
                    raise
        return {}

    def with_inactive_active(self, ctx, plans: list, results: list) -> list:
        """Creates refused on a line's SKU (`results`, in `plans` order): where Integration holds one of the
        record's SKUs inactive, sent again with them active for the moment. Returns the results, updated."""
        handler = ctx.handler
        refused = [
            i
            for i, (plan, answer) in enumerate(zip(plans, results))
            if isinstance(answer, Refused)
            and "skuId" in answer.field
            and plan.record is not None
            and handler.needs_active(plan.record)
        ]
        if not refused:
            return results
        # One batch's SKUs active at a time: a batch must not read a SKU as active, or make it inactive, while
        # another batch's creates are sent again on it.
        with self._lock:
            return self._resend_with_active(ctx, plans, results, refused)

    def _resend_with_active(self, ctx, plans: list, results: list, refused: list[int]) -> list:
        handler = ctx.handler
        try:
            inactive = self._inactive_skus({ref for i in refused for ref in handler.needs_active(plans[i].record)})
        except st.ServiceTitanError as exc:
            log.warning("%s: reading the SKUs of refused lines failed: %s", handler.kind, exc)
            return results
        retry = [i for i in refused if any(ref in inactive for ref in handler.needs_active(plans[i].record))]
        if not retry:
            return results
        wanted: dict[str, dict[int, str]] = {}
        for i in retry:
            for ref in handler.needs_active(plans[i].record):
                if ref in inactive:
                    wanted.setdefault(ref[0], {})[ref[1]] = inactive[ref][1]
        stale_before = self.run.crosswalk.now() - self.run.options.server_timeout
        claimed = {
            kind: self.run.crosswalk.claim_actions(kind, skus, self.run.options.run_id, stale_before)
            for kind, skus in wanted.items()
        }
        results = list(results)
        ready = []
        for i in retry:
            refs = [ref for ref in handler.needs_active(plans[i].record) if ref in inactive]
            if all(ref[1] in claimed[ref[0]] for ref in refs):
                ready.append(i)
            else:
                results[i] = Postponed(
                    "(line sku)",
                    "a line's SKU is inactive in Integration and held active by another run for its own PO; "
                    "copied by a later run",
                )
        for kind, ids in claimed.items():
            unused = ids - {ref[1] for i in ready for ref in handler.needs_active(plans[i].record) if ref[0] == kind}
            self.run.crosswalk.release_actions(kind, unused, self.run.options.run_id)
        if not ready:
            return results
        active = {ref for i in ready for ref in handler.needs_active(plans[i].record) if ref in inactive}
        by_kind: dict[str, dict[int, tuple]] = {}
        for kind, prod_id in active:
            by_kind.setdefault(kind, {})[prod_id] = inactive[(kind, prod_id)]
        # A chain of round trips (read, make active, send again, make inactive) that the batch's mappings, the
        # batches planned after it and the next batch's own chain wait for: ahead of everything else queued.
        activated = self._activate(active, inactive)
        go = [
            i
            for i in ready
            if all(ref in activated for ref in handler.needs_active(plans[i].record) if ref in inactive)
        ]
        log.info(
            "%s: %d creates sent again with %d inactive SKUs active for the moment",
            handler.kind,
            len(go),
            len(activated),
        )
        for i, answer in zip(go, self.creator.create_all(handler, [plans[i] for i in go], RequestPool.PLANNING)):
            results[i] = answer
        self._deactivate_kinds(by_kind, RequestPool.PLANNING)
        return results

    def _inactive_skus(self, refs: set[tuple[str, int]]) -> dict[tuple[str, int], tuple]:
        """(kind, prod id) → (crosswalk entry, action) of the SKUs Integration holds inactive."""

        def read(kind: str) -> tuple[str, dict, dict]:
            sku_handler = self.run.handlers[kind]
            entries = self.run.crosswalk.lookup(kind, sorted(p for k, p in refs if k == kind))
            confirmed = {p: e for p, e in entries.items() if e.state == "confirmed"}
            held = {
                int(r["id"]): r
                for r in self.run.intc.get_by_ids(
                    sku_handler.cfg.int_list_path,
                    [e.int_id for e in confirmed.values()],
                    params=sku_handler.index_params(),
                )
            }
            return kind, confirmed, held

        found = {}
        reads = self.run.pool.map(read, sorted({kind for kind, _ in refs}), lane=RequestPool.PLANNING)  # at once
        for kind, confirmed, held in reads:
            for prod_id, entry in confirmed.items():
                record = held.get(entry.int_id)
                if record is None or record.get("active", True):
                    continue
                edited = instant(record.get("modifiedOn"))
                ours = (
                    entry.written_at is not None and edited is not None and edited <= entry.written_at + CLOCK_SLACK
                ) or (
                    # created inactive by this run, its write not noted yet (pulled in by a PO, noted when the PO's
                    # batch finishes): the inactive state is ours
                    entry.written_at is None and entry.source == "sync" and entry.run_id == self.run.options.run_id
                )
                found[(kind, prod_id)] = (entry, OURS if ours else THEIRS)
        return found

    def _activate(self, refs: set[tuple[str, int]], inactive: dict) -> set[tuple[str, int]]:
        done, sent = set(), []
        for kind in sorted({kind for kind, _ in refs}):  # every kind's patches at once
            prod_ids = sorted(p for k, p in refs if k == kind)
            int_ids = [inactive[(kind, p)][0].int_id for p in prod_ids]
            self._prod_of.update({(kind, i): p for p, i in zip(prod_ids, int_ids)})
            sent.append(
                (kind, prod_ids, self._patch_active(self.run.handlers[kind], int_ids, True, RequestPool.PLANNING))
            )
        for kind, prod_ids, answers in sent:
            for prod_id, (_, exc) in zip(prod_ids, answers):
                if exc is None:
                    done.add((kind, prod_id))
                else:  # its claim stays until deactivated: a lost answer may have landed
                    log.warning("%s %s: making it active for a PO failed: %s", kind, prod_id, exc)
        return done
