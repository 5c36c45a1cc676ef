"""Following Production after the first copy: plan (unchanged, update with a field-level diff, status change,
conflict) and apply (patches and status changes, concurrent, claimed like creates).

A record is looked at again only when the fingerprint of what STSync would send now (the fields it copies
and the status) differs from the one stored with its last write: an unchanged record costs no request. A
changed one is read back from Integration (50 per call): the fields whose values Integration does not hold are
patched, lists whole; a record edited in Integration since STSync's last write is a conflict, left alone
unless the config says `overwrite`. Status changes follow the patch, each claimed in the crosswalk first.

A value is replaced only with proof that STSync wrote it (provenance.py). A record whose history is unknown
(adopted, reconciled, from the original script's crosswalk) is compared field by field: equal, it is noted as
STSync's from then on; different, it is a conflict (both values said) until a person decides. `stsync
reconcile` (create=False) compares and writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync.apply.activation import Activation
from stsync_dagster.sync.apply.before import before_values
from stsync_dagster.sync.apply.provenance import conflict, fingerprint, written_at
from stsync_dagster.sync.apply.statuses import Statuses
from stsync_dagster.sync.batch import Context, Postponed, Refused
from stsync_dagster.sync.checks import differing_fields
from stsync_dagster.sync.outcome import Outcome
from stsync_dagster.sync.refusal import api_reason
from stsync_dagster.sync.run import Run


@dataclass(frozen=True)
class Patched:
    at: datetime  # when it landed


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


class Updates:
    def __init__(self, run: Run, activation: Activation, statuses: Statuses):
        self.run = run
        self.activation = activation
        self.statuses = statuses

    def follow(self, ctx: Context, wanted: list[tuple], lane: int) -> None:
        """`wanted`: (record, crosswalk entry, body it would be created with now) of records copied before."""
        run, handler, report = self.run, ctx.handler, ctx.report
        # Adopted by this very run (counted as adopted): compared now, since who wrote their values is unknown.
        adopted_now = {
            r.id for r, entry, _ in wanted if entry.source == "adopted" and entry.run_id == run.options.run_id
        }
        if not run.options.create:  # `stsync reconcile`: the crosswalk is rebuilt; no record is compared or written
            for record, *_ in wanted:
                if record.id not in adopted_now:
                    report.add(Outcome.SKIPPED, record.id)
            return
        changed = self._changed(ctx, wanted)
        report.compared += len(changed)
        if not changed:
            return
        try:
            held = {
                int(r["id"]): r
                for r in run.intc.get_by_ids(
                    handler.cfg.int_list_path, [e.int_id for _, e, *_ in changed], params=handler.index_params()
                )
            }
            related = handler.read_related(run.intc, list(held.values()))
        except st.ServiceTitanError as exc:
            for record, *_ in changed:
                run.books.issue(report, Outcome.FAILED, record.id, "(request)", f"reading its Integration copy: {exc}")
            return
        patches, moves = self._plan(ctx, changed, held, related, adopted_now)
        if run.options.dry_run or not patches:
            return
        self._apply(ctx, patches, moves, lane)

    def _changed(self, ctx: Context, wanted: list[tuple]) -> list[tuple]:
        """(record, entry, body, target status, fingerprint) of the records whose fingerprint moved, but for
        those another run holds active for a moment (deferred)."""
        run, handler, report = self.run, ctx.handler, ctx.report
        changed = []
        for record, entry, body in wanted:
            target = handler.desired_status(record)
            print_ = fingerprint(handler.followed_view(body), target)
            if entry.fingerprint == print_:
                report.add(Outcome.UNCHANGED, record.id)
            else:
                changed.append((record, entry, body, target, print_))
        held = self.activation.held_by_others(ctx.kind, [record.id for record, *_ in changed]) if changed else {}
        for record, *_ in changed:
            if record.id in held:
                run.books.issue(
                    report, Outcome.DEFERRED, record.id, "active",
                    f"held active for a moment by run {held[record.id]} (a PO line on it); compared once that run "
                    "is done",
                    record_issue=False,
                )  # fmt: skip
        return [item for item in changed if item[0].id not in held]

    def _plan(self, ctx: Context, changed: list[tuple], held: dict, related: dict, adopted_now: set) -> tuple:
        run, handler, report, kind = self.run, ctx.handler, ctx.report, ctx.kind
        patches, moves, baselines = [], [], {}
        for record, entry, body, target, print_ in changed:
            int_record = held.get(entry.int_id)
            if int_record is None:
                run.books.issue(
                    report, Outcome.FAILED, record.id, "(crosswalk)",
                    f"mapped to Integration {entry.int_id}, which no longer exists (refreshed?): `stsync reconcile {kind}`",
                )  # fmt: skip
                continue
            view = handler.update_view(body)
            fields = differing_fields(handler, view, int_record)
            steps = handler.status_steps(record, target, handler.current_status(int_record)) if target else []
            steps = handler.follow_steps(body, int_record, related) + steps
            if not fields and not steps:
                # Integration holds what STSync would write: from now on its values count as STSync's.
                baselines[record.id] = (print_, written_at(int_record))
                if record.id not in adopted_now:  # counted as adopted
                    report.add(Outcome.UNCHANGED, record.id)
                continue
            if run.config.updates.conflicts == "skip":
                why = conflict(entry, int_record)
                if why:
                    run.books.issue(
                        report, Outcome.CONFLICT, record.id, ", ".join(sorted(fields)) or "(status)",
                        f"{why}: left alone (set updates.conflicts to overwrite in stsync.config.json to replace "
                        f"it); {_differences(handler, fields, view, int_record, target, steps)}",
                    )  # fmt: skip
                    continue
            if run.options.dry_run:
                self._plan_shown(report, record.id, handler, fields, view, int_record, steps)
                continue
            patch = handler.patch_body(view, fields, int_record) if fields else None
            before = before_values(handler, patch, int_record, status=bool(steps))  # what `stsync undo` sets back
            patches.append((record, entry, patch, print_, before))
            moves.append((record, entry.int_id, steps))
        if baselines and not run.options.dry_run:
            run.crosswalk.wrote(kind, baselines)
        return patches, moves

    def _apply(self, ctx: Context, patches: list[tuple], moves: list[tuple], lane: int) -> None:
        run, report, kind = self.run, ctx.report, ctx.kind
        results = self._patch_all(ctx.handler, [(p[1].int_id, p[2]) for p in patches], lane)
        done: dict[int, tuple[str, datetime]] = {}
        moved = self.statuses.move(ctx, [m for m, result in zip(moves, results) if isinstance(result, Patched)], lane)
        history, alone = [], []
        for (record, entry, patch, print_, before), result in zip(patches, results):
            if not isinstance(result, Patched):
                # A lost answer is not a failure: the record is looked at again (and finished) by the next run.
                lost = isinstance(result, Postponed)
                outcome = Outcome.DEFERRED if lost else Outcome.FAILED
                run.books.issue(report, outcome, record.id, result.field, result.reason, unfinished=lost)
                continue
            steps = ", ".join(ctx.steps_sent.pop(record.id, []))
            if patch:
                # The patch landed even when the status change then failed: the history keeps it either way.
                then = f"then {steps}" if steps else ""
                (history if record.id in moved else alone).append(
                    run.books.wrote(record.id, entry.int_id, "updated", sorted(patch), then, before=before)
                )
            elif steps:
                history.append(run.books.wrote(record.id, entry.int_id, "status_changed", detail=steps, before=before))
            if record.id not in moved:
                continue  # its status change failed (reported); the fingerprint stays, so it is tried again
            done[record.id] = (print_, max(result.at, moved[record.id]))
            if patch:
                report.add(Outcome.UPDATED, record.id)
            elif record.id not in ctx.not_replayable:  # that one is counted as not replayable
                report.add(Outcome.STATUS_CHANGED, record.id)
        run.crosswalk.note(kind, alone)
        run.crosswalk.wrote(kind, done, history=history)
        run.books.clear(kind, list(done))

    def _patch_all(
        self, handler, patches: list[tuple[int, dict | None]], lane: int
    ) -> list[Patched | Refused | Postponed]:
        """Send the patches: in bulk where the kind has it (one request per batch; a batch the API refuses or
        whose answer is lost is sent again one by one, which is harmless: a patch sets values), else singly."""
        run, size = self.run, self.run.options.bulk_size
        if handler.bulk_create and size > 0 and run.bulk_ok:
            batches = [patches[i : i + size] for i in range(0, len(patches), size)]
            return [
                answer
                for answers in run.pool.map(lambda b: self._patch_batch(handler, b), batches, lane=lane)
                for answer in answers
            ]
        return list(run.pool.map(lambda p: self._patch(handler, *p), patches, lane=lane))

    def _patch_batch(self, handler, batch: list[tuple[int, dict | None]]) -> list:
        items = [{"id": int_id, **patch} for int_id, patch in batch if patch]
        if items:
            try:
                self.run.intc.bulk_update_materials(items)
            except st.BulkUnsupported:
                self.run.bulk_ok = False
                return [self._patch(handler, *p) for p in batch]
            except st.ServiceTitanError:
                return [self._patch(handler, *p) for p in batch]
        landed = datetime.now(UTC)
        return [Patched(landed) for _ in batch]

    def _patch(self, handler, int_id: int, patch: dict | None) -> Patched | Refused | Postponed:
        if not patch:
            return Patched(datetime.now(UTC))
        try:
            return Patched(written_at(self.run.intc.patch(handler.cfg.int_create_path, int_id, patch)))
        except st.AmbiguousWriteError as exc:
            # A PATCH sets values: sent again it does no harm. Left for the next run, which reads the record first.
            return Postponed("(request)", f"the update's answer was lost ({exc}); the next run reads it and finishes")
        except (st.ValidationError, st.ConflictError, st.NotFoundError) as exc:
            fields, reason = api_reason(exc)
            return Refused(fields or "(record)", reason)
        except st.ServiceTitanError as exc:
            return Refused("(request)", str(exc))

    def _plan_shown(self, report, prod_id, handler, fields, view, int_record, steps) -> None:
        """A dry run's update: counted, and for a sample the fields before → after (and the status steps)."""
        report.add(Outcome.UPDATED if fields else Outcome.STATUS_CHANGED, prod_id)
        if len(report.sample_diffs) < self.run.options.sample_size:
            names = handler.read_names
            report.sample_diffs.append({
                "prod_id": prod_id,
                "fields": {f: {"before": int_record.get(names.get(f, f)), "after": view[f]} for f in sorted(fields)},
                "status": [step[0] for step in steps],
            })  # fmt: skip
