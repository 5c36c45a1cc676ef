"""Send an undo's steps through the Integration client (kind by kind, in KIND_ORDER: a PO is canceled before the
materials on its lines are deleted), and tell the crosswalk after each batch of calls (a crash loses one batch's
notes at most; a retry finds those records where the undo took them): the mappings of what is gone or was only
adopted are forgotten (a later sync meets the record anew: a deleted material is created again, a stamped one
adopted again), the ones the undo wrote to lose their fingerprint (a later sync compares them with Production and
writes back what differs: a canceled job's status, an inactive equipment's flag), the ones it sent nothing to keep
their row as it was (a person's edit stays theirs), and a history row per record, taken back or refused by the
API, carries the run it takes back (`undoes`), so a second undo of the run writes nothing."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from stsync_dagster.errors import ConfigError
from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync.apply.provenance import written_at
from stsync_dagster.sync.configfile import StatusAction, SyncConfig
from stsync_dagster.sync.crosswalk import Write
from stsync_dagster.sync.undo.plan import _CALLS, CLAIM_STALE, KIND_ORDER, UNDO_CLAIM, reached
from stsync_dagster.sync.undo.report import CANCEL, DEACTIVATE, DELETE, FORGET, RESTORE, Item, Result

log = logging.getLogger("stsync.undo")

_DEFAULT_CANCEL = {
    "jobs": StatusAction(path="/jpm/v2/tenant/{tenant}/jobs/{id}/cancel", method="PUT",
                         reasons="/jpm/v2/tenant/{tenant}/job-cancel-reasons"),
    "pos": StatusAction(path="/inventory/v2/tenant/{tenant}/purchase-orders/{id}/cancellation", method="PATCH"),
}  # fmt: skip
_DONE_AS = {DELETE: "deleted", DEACTIVATE: "deactivated", CANCEL: "canceled", RESTORE: "restored", FORGET: "forgotten"}


class Undoer:
    def __init__(self, crosswalk, intc, config: SyncConfig, handlers: dict, run_id: str, undo_run_id: str):
        self.crosswalk, self.intc, self.config, self.handlers = crosswalk, intc, config, handlers
        self.run_id, self.undo_run_id = run_id, undo_run_id
        self._reason_id: int | None = None
        self._at: dict[
            tuple[str, int], datetime
        ] = {}  # (kind, prod id) → when the undo's last write to it landed (its answer says)

    def _cancel_action(self, kind: str) -> StatusAction:
        return self.handlers[kind].cfg.statuses.get("cancel") or _DEFAULT_CANCEL[kind]

    def prepare(self, items: list[Item]) -> None:
        """The job cancel reason, when a job is to be canceled: a config error stops the undo before any write."""
        cancels = [
            i for i in items
            if i.kind == "jobs" and i.result is Result.PLANNED and (i.action == CANCEL or "cancel" in i.status)
        ]  # fmt: skip
        if not cancels:
            return
        wanted = self.config.undo.jobs
        if wanted.reason_id is not None:
            self._reason_id = wanted.reason_id
            return
        if wanted.reason is None:
            raise ConfigError(
                f"stsync.config.json: $.undo.jobs.reason: needed to cancel {len(cancels)} jobs of run {self.run_id} "
                "(a name in Integration's job-cancel-reasons), or $.undo.jobs.reason_id"
            )
        path = self._cancel_action("jobs").reasons or _DEFAULT_CANCEL["jobs"].reasons
        names = {
            str(r.get("name", "")).strip().casefold(): int(r["id"])
            for page in self.intc.iter_pages(path, {"active": "Any"})
            for r in page.records
        }
        self._reason_id = names.get(wanted.reason.strip().casefold())
        if self._reason_id is None:
            raise ConfigError(f"stsync.config.json: $.undo.jobs.reason: no reason named '{wanted.reason}' in "
                              f"Integration ({path})")  # fmt: skip

    def apply(self, items: list[Item], concurrency: int = 8, batch: int = 25) -> None:
        """Kind by kind; each batch's calls sent, then noted in the crosswalk at once (a crash loses the notes of one
        batch at most, and a retry finds those records already where the undo takes them)."""
        kinds = [k for k in KIND_ORDER if any(i.kind == k for i in items)]
        kinds += sorted({i.kind for i in items} - set(kinds))
        for kind in kinds:
            mine = [i for i in items if i.kind == kind]
            todo = [i for i in mine if i.result is Result.PLANNED and i.action in _CALLS]
            with ThreadPoolExecutor(max(1, min(concurrency, len(todo))), "stsync-undo") as pool:
                for start in range(0, len(todo), batch):
                    chunk = todo[start : start + batch]
                    sending = self._claim(kind, [i for i in chunk if i.noop is None])
                    list(pool.map(self._send, sending))
                    for item in chunk:
                        item.result = item.noop or item.result
                    self._record(kind, chunk, self._settle(kind, chunk))
                    unsure = {i.prod_id for i in sending if i.result is Result.FAILED and i.sent}  # kept: evidence
                    done = [i.prod_id for i in sending if i.prod_id not in unsure]
                    self.crosswalk.release_actions(kind, done, self.undo_run_id)
                    self._take_over(kind, chunk)  # the claims of an interrupted undo on what is noted now
            rest = [i for i in mine if i not in todo]
            for item in rest:
                if item.result is Result.PLANNED and item.action == FORGET:
                    item.result = Result.DONE
            self._record(kind, rest, {})

    def _claim(self, kind: str, items: list[Item]) -> list[Item]:
        """Claimed in the crosswalk while sent (as a sync claims a status change): a record another run is writing
        is left for the next undo, and a retry after a crash knows which records this undo may have written.
        Claims of interrupted undos are taken over."""
        if not items:
            return []
        self._take_over(kind, items)
        stale = self.crosswalk.now() - CLAIM_STALE
        ours = self.crosswalk.claim_actions(kind, {i.prod_id: UNDO_CLAIM for i in items}, self.undo_run_id, stale)
        for item in items:
            if item.prod_id not in ours:
                item.result = Result.FAILED
                item.reason = "another run is writing it (a claim in the crosswalk): run the undo again later"
        return [i for i in items if i.prod_id in ours]

    def _take_over(self, kind: str, items: list[Item]) -> None:
        for prod_id, (action, run_id, _) in self.crosswalk.held_actions(kind, [i.prod_id for i in items]).items():
            if action == UNDO_CLAIM and run_id != self.undo_run_id:
                self.crosswalk.release_actions(kind, [prod_id], run_id)

    def _send(self, item: Item) -> None:
        handler, record = self.handlers[item.kind], item.record or {}
        path = handler.cfg.int_create_path
        try:
            if item.action == DELETE:
                try:
                    self._delete(item, path)
                except st.ValidationError as exc:  # on a line of a live PO: made inactive instead
                    item.action, item.forget = DEACTIVATE, False
                    item.left.append(f"its delete refused by the API ({exc}): made inactive instead")
            if item.action == DEACTIVATE and record.get("active") is not False:
                self._landed(item, self.intc.patch(path, item.int_id, {"active": False}))
            elif item.action == CANCEL:
                self._status(item, "cancel")
            elif item.action == RESTORE:
                if item.fields:
                    self._landed(item, self.intc.patch(path, item.int_id, item.fields))
                for step in item.status:
                    self._status(item, step)
        except st.AmbiguousWriteError as exc:
            item.result, item.sent = Result.FAILED, True  # read back by _settle: landed or not
            item.reason = f"the answer was lost ({exc}): run the undo again (it reads the record first)"
            return
        except st.ValidationError as exc:  # the record's state does not allow it (a completed job): listed
            if item.sent:  # a restore's patch landed, its status call was refused
                item.left.append(f"status: refused by the API ({exc})")
            else:
                item.result, item.refused, item.reason = Result.NOT_POSSIBLE, True, f"refused by the API: {exc}"
                return
        except (st.ServiceTitanError, LookupError) as exc:
            item.result, item.reason = Result.FAILED, str(exc)
            return
        item.result = Result.DONE

    def _delete(self, item: Item, path: str) -> None:
        try:
            self.intc.delete(path, item.int_id)
            item.sent = True
        except st.NotFoundError:
            item.reason = "already gone from Integration"

    def _landed(self, item: Item, response: dict | None) -> None:
        item.sent = True
        self._at[item.kind, item.prod_id] = written_at(response)

    def _status(self, item: Item, step: str) -> None:
        handler = self.handlers[item.kind]
        action = self._cancel_action(item.kind) if step == "cancel" else handler.cfg.statuses.get(step)
        if action is None:
            raise LookupError(f"status {step}: no '{step}' in the config's statuses of {item.kind}")
        if step != "cancel":
            body = {}
        elif item.kind == "jobs":
            body = {"reasonId": self._reason_id, "memo": self.config.undo.jobs.memo}
        else:
            body = {"canceledReason": self.config.undo.pos.canceled_reason}
        self._landed(item, self.intc.act(action.method, action.path, item.int_id, body))

    def _settle(self, kind: str, chunk: list[Item]) -> dict[int, datetime]:
        """The batch's records read back: a lost answer's write landed or not (a material gone: deleted), and when
        the undo's writes landed by Integration's clock (the proof a later sync compares with)."""
        sent = [i for i in chunk if i.sent and i.result in (Result.DONE, Result.FAILED) and i.action != DELETE]
        lost = [i for i in chunk if i.sent and i.result is Result.FAILED and i.action == DELETE]
        if not sent and not lost:
            return {}
        handler = self.handlers[kind]
        try:
            found = self.intc.get_by_ids(
                handler.cfg.int_list_path, [i.int_id for i in sent + lost], params=handler.index_params()
            )
        except st.ServiceTitanError as exc:
            log.warning("%s: reading the records back after the undo: %s (our clock is noted instead)", kind, exc)
            return {
                i.prod_id: self._at.get((kind, i.prod_id)) or datetime.now(UTC) for i in sent if i.result is Result.DONE
            }
        by_id = {int(r["id"]): r for r in found}
        for item in sent + lost:
            if item.result is Result.FAILED and reached(item, handler, by_id.get(item.int_id)):
                item.result, item.reason = Result.DONE, "its answer was lost, but it landed (read back)"
        now = datetime.now(UTC)
        return {
            i.prod_id: max(written_at(by_id[i.int_id]), self._at.get((kind, i.prod_id), now))
            if i.int_id in by_id
            else now
            for i in sent
            if i.result is Result.DONE
        }

    def _record(self, kind: str, items: list[Item], landed: dict[int, datetime]) -> None:
        """One transaction: the mappings forgotten, those the undo wrote to unmarked (the others keep their row as
        it is: a person's edit stays theirs), and a history row per record taken back or refused."""
        history, forget, unmark = [], [], {}
        for item in items:
            gone = item.result is Result.NOTHING and item.forget
            if item.result is Result.DONE or item.noop is not None or item.refused or gone:
                action = _DONE_AS[item.action] if not gone or item.action == DELETE else "forgotten"
                history.append(self._row(item, action, self._detail(item)))
            if (item.result is Result.DONE or gone) and item.forget:
                forget.append(item.prod_id)
            elif item.result is Result.DONE and item.sent:
                unmark[item.prod_id] = landed.get(item.prod_id) or datetime.now(UTC)
        self.crosswalk.took_back(kind, forget, unmark, history)

    def _row(self, item: Item, action: str, detail: str) -> Write:
        fields = tuple(sorted(item.fields)) if action == "restored" else ("active",) if action == "deactivated" else ()
        return Write(self.undo_run_id, "undo", item.prod_id, item.int_id, action, fields, detail, undoes=self.run_id)

    def _detail(self, item: Item) -> str:
        parts = [f"undo of run {self.run_id}"]
        parts += [f"status: {', '.join(item.status)}"] if item.status else []
        parts += [item.reason] if item.reason else []
        parts += ["mapping forgotten"] if item.forget else []
        return "; ".join(parts)
