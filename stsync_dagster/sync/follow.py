"""Following Production after the first copy: plan (unchanged, update with a field-level diff, status change,
conflict) and apply (patches and status changes, concurrent, claimed like creates).

A record is looked at again only when the fingerprint of what STSync would send now (the fields it copies
and the status) differs from the one stored with its last write: an unchanged record costs no request. A
changed one is read back from Integration (50 per call): the fields whose values Integration does not hold are
patched, lists whole; a record edited in Integration since STSync's last write is a conflict, left alone
unless the config says `overwrite`. Status changes follow the patch, each claimed in the crosswalk first.

A value is replaced only with proof that STSync wrote it: its write noted (`written_at`), or a copy STSync created
and nobody modified since. A record whose history is unknown (adopted, reconciled, from the original script's
crosswalk) is compared field by field: equal, it is noted as STSync's from then on; different, it is a conflict
(both values said) until a person decides. `stsync reconcile` (create=False) compares and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta

from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync.checks import differing_fields
from stsync_dagster.sync.outcome import Outcome
from stsync_dagster.sync.refusal import api_reason
from stsync_dagster.sync.timefmt import instant

log = logging.getLogger("stsync.sync")

# Integration's modifiedOn and our clock are compared: a write of ours can land this much after we noted it.
_CLOCK_SLACK = timedelta(seconds=2)


# Sources of mappings to records STSync created itself (a create whose answer was lost, found by its mark: recovered).
_CREATED = ("sync", "recovered")
_UNKNOWN = {"adopted": "adopted", "reconcile": "reconciled", "legacy": "mapped by the original script"}


def _last_write(entry, int_record: dict) -> datetime | None:
    """When STSync last wrote the copy, as far as it can prove: the time noted with its write; for a copy it
    created whose write was never noted (a crash before the note, an older STSync), its creation, if nothing
    modified it since. None: the history is unknown, and the values are compared before anything is replaced."""
    if entry.written_at is not None:
        return entry.written_at
    if entry.source not in _CREATED:
        return None
    created, edited = instant(int_record.get("createdOn")), instant(int_record.get("modifiedOn"))
    if created is None or edited is None or edited > created + _CLOCK_SLACK:
        return None
    return created


def _shown(value) -> str:
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return text if len(text) <= 80 else text[:79] + "…"


def _differences(handler, fields: set[str], view: dict, int_record: dict, target: str | None, steps: list) -> str:
    """Each field that differs, with Production's value (as STSync would send it) and Integration's."""
    names = handler.read_names
    said = [
        f"{f}: Production {_shown(view[f])}, Integration {_shown(int_record.get(names.get(f, f)))}"
        for f in sorted(fields)
    ]
    current = handler.current_status(int_record) if target else None
    if target and current != target:
        said.append(f"status: Production {target}, Integration {current}")
    elif steps:
        said.append(f"to send: {', '.join(step[0] for step in steps)}")
    return "; ".join(said)


def fingerprint(view: dict, status: str | None) -> str:
    text = json.dumps({"fields": view, "status": status}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _written_at(response: dict | None) -> datetime:
    """When our write landed, as Integration's clock says when it answers with the record, else ours."""
    now = datetime.now(UTC)
    stamped = instant((response or {}).get("modifiedOn"))
    return max(now, stamped) if stamped else now


class FollowStage:
    """The update half of the engine (mixed into SyncEngine, which provides the clients, crosswalk and pool,
    `_reasons` with its lock: the status reasons read from Integration, by list path, and `_issue` / `_clear_issues`)."""

    def _follow(self, ctx, wanted: list[tuple]) -> None:
        """`wanted`: (record, crosswalk entry, body it would be created with now) of records copied before."""
        handler, report, kind = ctx.handler, ctx.report, ctx.handler.kind
        # Adopted by this very run (counted as adopted): compared now, since who wrote their values is unknown.
        adopted_now = {
            r.id for r, entry, _ in wanted if entry.source == "adopted" and entry.run_id == self.options.run_id
        }
        if not self.options.create:  # `stsync reconcile`: the crosswalk is rebuilt; no record is compared or written
            for record, *_ in wanted:
                if record.id not in adopted_now:
                    report.add(Outcome.SKIPPED, record.id)
            return
        changed = []
        for record, entry, body in wanted:
            target = handler.desired_status(record)
            print_ = fingerprint(handler.followed_view(body), target)
            if entry.fingerprint == print_:
                report.add(Outcome.UNCHANGED, record.id)
            else:
                changed.append((record, entry, body, target, print_))
        held = self._held_by_others(kind, [record.id for record, *_ in changed]) if changed else {}
        for record, *_ in changed:
            if record.id in held:
                self._issue(
                    report,
                    Outcome.DEFERRED,
                    record.id,
                    "active",
                    f"held active for a moment by run "
                    f"{held[record.id]} (a PO line on it); compared once that run is done",
                    record_issue=False,
                )
        changed = [item for item in changed if item[0].id not in held]
        report.compared += len(changed)
        if not changed:
            return
        try:
            held = {
                int(r["id"]): r
                for r in self.intc.get_by_ids(
                    handler.cfg.int_list_path, [e.int_id for _, e, *_ in changed], params=handler.index_params()
                )
            }
        except st.ServiceTitanError as exc:
            for record, *_ in changed:
                self._issue(report, Outcome.FAILED, record.id, "(request)", f"reading its Integration copy: {exc}")
            return
        try:
            related = handler.read_related(self.intc, list(held.values()))
        except st.ServiceTitanError as exc:
            for record, *_ in changed:
                self._issue(report, Outcome.FAILED, record.id, "(request)", f"reading its Integration copy: {exc}")
            return
        patches, moves, baselines = [], [], {}
        for record, entry, body, target, print_ in changed:
            int_record = held.get(entry.int_id)
            if int_record is None:
                self._issue(
                    report,
                    Outcome.FAILED,
                    record.id,
                    "(crosswalk)",
                    f"mapped to Integration {entry.int_id}, which no longer exists (refreshed?): `stsync reconcile {kind}`",
                )
                continue
            view = handler.update_view(body)
            fields = differing_fields(handler, view, int_record)
            steps = handler.status_steps(record, target, handler.current_status(int_record)) if target else []
            steps = handler.follow_steps(body, int_record, related) + steps
            if not fields and not steps:
                # Integration holds what STSync would write: from now on its values count as STSync's.
                baselines[record.id] = (print_, _written_at(int_record))
                if record.id not in adopted_now:  # counted as adopted
                    report.add(Outcome.UNCHANGED, record.id)
                continue
            if self.config.updates.conflicts == "skip":
                why = self._conflict(entry, int_record)
                if why:
                    self._issue(
                        report,
                        Outcome.CONFLICT,
                        record.id,
                        ", ".join(sorted(fields)) or "(status)",
                        f"{why}: left alone (set updates.conflicts to overwrite in stsync.config.json to replace "
                        f"it); {_differences(handler, fields, view, int_record, target, steps)}",
                    )
                    continue
            if self.options.dry_run:
                self._plan_shown(report, record.id, handler, fields, view, int_record, steps)
                continue
            patches.append((record, entry, handler.patch_body(view, fields, int_record) if fields else None, print_))
            moves.append((record, entry.int_id, steps))
        if baselines and not self.options.dry_run:
            self.crosswalk.wrote(kind, baselines)
        if self.options.dry_run or not patches:
            return
        results = self._patch_all(handler, [(p[1].int_id, p[2]) for p in patches])
        done: dict[int, tuple[str, datetime]] = {}
        moved = self._move(ctx, [m for m, (ok, _) in zip(moves, results) if ok])
        history, alone = [], []
        for (record, entry, patch, print_), (ok, value), move in zip(patches, results, moves):
            if not ok:
                field_name, reason, *lost = value
                # A lost answer is not a failure: the record is looked at again (and finished) by the next run.
                self._issue(report, Outcome.DEFERRED if lost else Outcome.FAILED, record.id, field_name, reason)
                continue
            steps = ", ".join(ctx.steps_sent.pop(record.id, []))
            if patch:
                # The patch landed even when the status change then failed: the history keeps it either way.
                (history if record.id in moved else alone).append(
                    self._wrote(record.id, entry.int_id, "updated", sorted(patch), f"then {steps}" if steps else "")
                )
            elif steps:
                history.append(self._wrote(record.id, entry.int_id, "status_changed", detail=steps))
            if record.id not in moved:
                continue  # its status change failed (reported); the fingerprint stays, so it is tried again
            done[record.id] = (print_, max(value, moved[record.id]))
            if patch:
                report.add(Outcome.UPDATED, record.id)
            else:
                report.add(Outcome.STATUS_CHANGED, record.id)
        self.crosswalk.note(kind, alone)
        self.crosswalk.wrote(kind, done, history=history)
        self._clear_issues(kind, list(done))

    @staticmethod
    def _conflict(entry, int_record: dict) -> str | None:
        """Why Integration's differing values may be a person's (not to be replaced), or None: STSync wrote them."""
        written = _last_write(entry, int_record)
        if written is None:
            how = _UNKNOWN.get(entry.source, "its last write not noted")
            return f"STSync's last write to it is unknown ({how}) and Integration differs from Production"
        edited = instant(int_record.get("modifiedOn"))
        if edited is not None and edited > written + _CLOCK_SLACK:
            return f"edited in Integration at {edited:%Y-%m-%d %H:%M:%S} UTC, after STSync's last write"
        return None

    def _patch_all(self, handler, patches: list[tuple[int, dict | None]]) -> list[tuple[bool, object]]:
        """Send the patches: in bulk where the kind has it (one request per batch; a batch the API refuses or
        whose answer is lost is sent again one by one, which is harmless: a patch sets values), else singly."""
        size = self.options.bulk_size
        if handler.bulk_create and size > 0 and self._bulk_ok:
            batches = [patches[i : i + size] for i in range(0, len(patches), size)]
            results: list[tuple[bool, object]] = []
            for batch, answers in zip(batches, self._pool.map(lambda b: self._patch_batch(handler, b), batches)):
                results += answers
            return results
        return list(self._pool.map(lambda p: self._patch(handler, *p), patches))

    def _patch_batch(self, handler, batch: list[tuple[int, dict | None]]) -> list[tuple[bool, object]]:
        items = [{"id": int_id, **patch} for int_id, patch in batch if patch]
        if items:
            try:
                self.intc.bulk_update_materials(items)
            except st.BulkUnsupported:
                self._bulk_ok = False
                return [self._patch(handler, *p) for p in batch]
            except st.ServiceTitanError:
                return [self._patch(handler, *p) for p in batch]
        landed = datetime.now(UTC)
        return [(True, landed) for _ in batch]

    def _patch(self, handler, int_id: int, patch: dict | None) -> tuple[bool, object]:
        if not patch:
            return True, datetime.now(UTC)
        try:
            return True, _written_at(self.intc.patch(handler.cfg.int_create_path, int_id, patch))
        except st.AmbiguousWriteError as exc:
            # A PATCH sets values: sent again it does no harm. Left for the next run, which reads the record first.
            return False, (
                "(request)",
                f"the update's answer was lost ({exc}); the next run reads it and finishes",
                "lost",
            )
        except (st.ValidationError, st.ConflictError, st.NotFoundError) as exc:
            fields, reason = api_reason(exc)
            return False, (fields or "(record)", reason)
        except st.ServiceTitanError as exc:
            return False, ("(request)", str(exc))

    def _plan_shown(self, report, prod_id, handler, fields, view, int_record, steps) -> None:
        """A dry run's update: counted, and for a sample the fields before → after (and the status steps)."""
        report.add(Outcome.UPDATED if fields else Outcome.STATUS_CHANGED, prod_id)
        if len(report.sample_diffs) < self.options.sample_size:
            names = handler.read_names
            report.sample_diffs.append({
                "prod_id": prod_id,
                "fields": {f: {"before": int_record.get(names.get(f, f)), "after": view[f]} for f in sorted(fields)},
                "status": [step[0] for step in steps],
            })  # fmt: skip

    # ---- statuses ----------------------------------------------------------------------------

    def _move(self, ctx, moves: list[tuple]) -> dict[int, datetime]:
        """Replay status changes: (record, Integration id, steps). Returns, for each record now where it should
        be, when its last write landed. Each is claimed first: two runs never both send one; a claim whose
        answer was lost stays until the server timeout, and the record is read again before anything is resent."""
        handler, report, kind = ctx.handler, ctx.report, ctx.handler.kind
        now = datetime.now(UTC)
        settled = {record.id: now for record, _, steps in moves if not steps}
        moving = {record.id: (record, int_id, steps) for record, int_id, steps in moves if steps}
        if not moving:
            return settled
        stale_before = self.crosswalk.now() - self.options.server_timeout
        ours = self.crosswalk.claim_actions(
            kind, {p: m[2][0][0] for p, m in moving.items()}, self.options.run_id, stale_before
        )
        for prod_id in set(moving) - ours:
            self._issue(
                report,
                Outcome.DEFERRED,
                prod_id,
                "(status)",
                "a status change of it is being sent by another run",
                record_issue=False,
            )
        claimed = self._still_needed(ctx, [moving[p] for p in sorted(ours)], settled)
        results = list(self._pool.map(lambda m: self._steps(handler, m[1], m[2]), claimed))
        release = []
        for (record, _, steps), (ok, detail) in zip(claimed, results):
            if ok:
                settled[record.id] = datetime.now(UTC)
                ctx.steps_sent[record.id] = [step[0] for step in steps]
                report.status_changes += len(steps)
                release.append(record.id)
            elif detail == "lost":  # claim kept: the next run (after the server timeout) reads it before resending
                self._issue(
                    report,
                    Outcome.DEFERRED,
                    record.id,
                    "(status)",
                    "the status change's answer was lost; the next run reads the record and finishes",
                )
            else:
                release.append(record.id)
                self._issue(report, Outcome.FAILED, record.id, "(status)", detail)
        self.crosswalk.release_actions(kind, release, self.options.run_id)
        return settled

    def _still_needed(self, ctx, claimed: list[tuple], settled: dict) -> list[tuple]:
        """Under the claim, the copies are read again: another run may have moved them since they were planned
        (a status change sent twice is refused). Status steps are planned anew from what Integration shows."""
        handler, kind = ctx.handler, ctx.handler.kind
        if not claimed:
            return []
        try:
            fresh = {
                int(r["id"]): r
                for r in self.intc.get_by_ids(
                    handler.cfg.int_list_path, [int_id for _, int_id, _ in claimed], params=handler.index_params()
                )
            }
        except st.ServiceTitanError as exc:
            self.crosswalk.release_actions(kind, [record.id for record, *_ in claimed], self.options.run_id)
            for record, *_ in claimed:
                self._issue(ctx.report, Outcome.FAILED, record.id, "(request)", f"reading its copy: {exc}")
            return []
        still = []
        for record, int_id, steps in claimed:
            extra = [step for step in steps if len(step) == 3]  # reschedules: setting times twice is harmless
            target = handler.desired_status(record)
            current = fresh.get(int_id)
            status = handler.status_steps(record, target, handler.current_status(current)) if target and current else []
            if extra or status:
                still.append((record, int_id, extra + status))
            else:
                settled[record.id] = datetime.now(UTC)
                self.crosswalk.release_actions(kind, [record.id], self.options.run_id)
        return still

    def _steps(self, handler, int_id: int, steps: list[tuple[str, dict]]) -> tuple[bool, str]:
        for action, body, *target in steps:
            config = handler.cfg.statuses.get(action)
            if config is None:
                return False, f"status not replayable: no '{action}' in the config's statuses"
            try:
                body = {**body, **self._reason(handler, action)}
            except LookupError as exc:
                return False, str(exc)
            except st.ServiceTitanError as exc:
                return False, f"{action}: reading the reasons: {exc}"
            try:
                self.intc.act(config.method, config.path, target[0] if target else int_id, body)
            except st.AmbiguousWriteError:
                return False, "lost"
            except st.NotFoundError as exc:
                return False, f"status not replayable ({action}: {exc})"
            except st.ServiceTitanError as exc:
                return False, f"{action}: {exc}"
        return True, ""

    def _reason(self, handler, action: str) -> dict:
        """The reason a status change names: a job reason matched by name in Integration, a PO's default."""
        config = handler.cfg.statuses[action]
        if config.canceled_reason:
            return {"canceledReason": config.canceled_reason}
        if not config.reasons or not config.reason:
            return {}
        cache = self._reasons
        with self._reasons_lock:  # read once, not once per thread
            if config.reasons not in cache:
                pages = self.intc.iter_pages(config.reasons, {"active": "Any"})
                cache[config.reasons] = {
                    str(r.get("name", "")).strip().casefold(): int(r["id"]) for p in pages for r in p.records
                }
        reason_id = cache[config.reasons].get(config.reason.strip().casefold())
        if reason_id is None:
            raise LookupError(f"{action}: no reason named '{config.reason}' in Integration ({config.reasons})")
        return {"reasonId": reason_id}
