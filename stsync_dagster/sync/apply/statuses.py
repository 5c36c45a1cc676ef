"""Replaying Production's status changes on the copies (a job canceled, put on hold, completed; a PO
canceled), each claimed in the crosswalk first so that two runs never both send one."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync.batch import Context, Refused, Unanswered
from stsync_dagster.sync.outcome import Outcome
from stsync_dagster.sync.run import Run


@dataclass(frozen=True)
class Moved:
    pass


@dataclass(frozen=True)
class NotReplayable:
    """The status cannot be moved in Integration (no such call there, or no such action in the config)."""

    reason: str


class Statuses:
    def __init__(self, run: Run):
        self.run = run
        self._reasons: dict[str, dict[str, int]] = {}  # the status reasons read from Integration, by list path
        self._reasons_lock = threading.Lock()

    def move(self, ctx: Context, moves: list[tuple], lane: int) -> dict[int, datetime]:
        """Replay status changes: (record, Integration id, steps). Returns, for each record now where it should
        be (or can never be moved there: not replayable), when its last write landed. Each is claimed first: two runs never both send one; a claim whose
        answer was lost stays until the server timeout, and the record is read again before anything is resent."""
        run, handler, report, kind = self.run, ctx.handler, ctx.report, ctx.kind
        now = datetime.now(UTC)
        settled = {record.id: now for record, _, steps in moves if not steps}
        moving = {record.id: (record, int_id, steps) for record, int_id, steps in moves if steps}
        if not moving:
            return settled
        ours = run.crosswalk.claim_actions(
            kind, {p: m[2][0][0] for p, m in moving.items()}, run.options.run_id, run.stale_before()
        )
        for prod_id in set(moving) - ours:
            run.books.issue(
                report, Outcome.DEFERRED, prod_id, "(status)", "a status change of it is being sent by another run",
                record_issue=False,
            )  # fmt: skip
        claimed = self._still_needed(ctx, [moving[p] for p in sorted(ours)], settled)
        results = list(run.pool.map(lambda m: self._steps(handler, m[1], m[2]), claimed, lane=lane))
        release = []
        for (record, _, steps), result in zip(claimed, results):
            if isinstance(result, Moved):
                settled[record.id] = datetime.now(UTC)
                ctx.steps_sent[record.id] = [step[0] for step in steps]
                report.status_changes += len(steps)
                release.append(record.id)
            elif isinstance(result, NotReplayable):  # as far as it can go: not tried again until Production moves
                settled[record.id] = datetime.now(UTC)
                release.append(record.id)
                ctx.not_replayable.add(record.id)
                run.books.issue(
                    report, Outcome.NOT_REPLAYABLE, record.id, "(status)", result.reason, record_issue=False
                )
            elif isinstance(result, Unanswered):  # claim kept: the next run (after the timeout) reads it first
                run.books.issue(
                    report, Outcome.DEFERRED, record.id, "(status)",
                    "the status change's answer was lost; the next run reads the record and finishes",
                    unfinished=True,
                )  # fmt: skip
            else:
                release.append(record.id)
                run.books.issue(report, Outcome.FAILED, record.id, result.field, result.reason)
        run.crosswalk.release_actions(kind, release, run.options.run_id)
        return settled

    def _still_needed(self, ctx: Context, claimed: list[tuple], settled: dict) -> list[tuple]:
        """Under the claim, the copies are read again: another run may have moved them since they were planned
        (a status change sent twice is refused). Status steps are planned anew from what Integration shows."""
        run, handler, kind = self.run, ctx.handler, ctx.kind
        if not claimed:
            return []
        try:
            fresh = {
                int(r["id"]): r
                for r in run.intc.get_by_ids(
                    handler.cfg.int_list_path, [int_id for _, int_id, _ in claimed], params=handler.index_params()
                )
            }
        except st.ServiceTitanError as exc:
            run.crosswalk.release_actions(kind, [record.id for record, *_ in claimed], run.options.run_id)
            for record, *_ in claimed:
                run.books.issue(ctx.report, Outcome.FAILED, record.id, "(request)", f"reading its copy: {exc}")
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
                run.crosswalk.release_actions(kind, [record.id], run.options.run_id)
        return still

    def _steps(
        self, handler, int_id: int, steps: list[tuple[str, dict]]
    ) -> Moved | NotReplayable | Refused | Unanswered:
        for action, body, *target in steps:
            config = handler.cfg.statuses.get(action)
            if config is None:
                return NotReplayable(f"status not replayable: no '{action}' in the config's statuses")
            try:
                body = {**body, **self._reason(handler, action)}
            except LookupError as exc:
                return Refused("(status)", str(exc))
            except st.ServiceTitanError as exc:
                return Refused("(status)", f"{action}: reading the reasons: {exc}")
            sent_at = datetime.now(UTC)
            try:
                self.run.intc.act(config.method, config.path, target[0] if target else int_id, body)
            except st.AmbiguousWriteError:
                return Unanswered(sent_at)
            except st.NotFoundError as exc:
                return NotReplayable(f"status not replayable ({action} {config.path}: {exc})")
            except st.ServiceTitanError as exc:
                return Refused("(status)", f"{action}: {exc}")
        return Moved()

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
                pages = self.run.intc.iter_pages(config.reasons, {"active": "Any"})
                cache[config.reasons] = {
                    str(r.get("name", "")).strip().casefold(): int(r["id"]) for p in pages for r in p.records
                }
        reason_id = cache[config.reasons].get(config.reason.strip().casefold())
        if reason_id is None:
            raise LookupError(f"{action}: no reason named '{config.reason}' in Integration ({config.reasons})")
        return {"reasonId": reason_id}
