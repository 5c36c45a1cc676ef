"""Send an undo's steps through the Integration client (kind by kind, in KIND_ORDER: a PO is canceled before the
materials on its lines are deleted), then tell the crosswalk in one transaction per kind: the mappings of what is
gone or was only adopted are forgotten (a later sync meets the record anew: a deleted material is created again,
a stamped one adopted again), the kept ones lose their fingerprint (a later sync compares them with Production and
writes back what differs: a canceled job's status, an inactive equipment's flag), and a history row per record
carries the run it takes back (`undoes`), so a second undo of the run writes nothing."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from stsync_dagster.errors import ConfigError
from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync.apply.provenance import written_at
from stsync_dagster.sync.configfile import StatusAction, SyncConfig
from stsync_dagster.sync.crosswalk import Write
from stsync_dagster.sync.undo.plan import _CALLS, KIND_ORDER
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

    def apply(self, items: list[Item], concurrency: int = 8) -> None:
        kinds = [k for k in KIND_ORDER if any(i.kind == k for i in items)]
        kinds += sorted({i.kind for i in items} - set(kinds))
        for kind in kinds:
            mine = [i for i in items if i.kind == kind]
            todo = [i for i in mine if i.result is Result.PLANNED and i.action in _CALLS]
            with ThreadPoolExecutor(max(1, min(concurrency, len(todo))), "stsync-undo") as pool:
                list(pool.map(self._send, todo))
            for item in mine:
                if item.result is Result.PLANNED and item.action == FORGET:
                    item.result = Result.DONE
            self._record(kind, mine)

    def _send(self, item: Item) -> None:
        handler, record = self.handlers[item.kind], item.record or {}
        path = handler.cfg.int_create_path
        try:
            if item.action == DELETE:
                try:
                    self.intc.delete(path, item.int_id)
                except st.NotFoundError:
                    item.reason = "already gone from Integration"
            elif item.action == DEACTIVATE:
                if record.get("active") is False:
                    item.reason = "already inactive"
                else:
                    self.intc.patch(path, item.int_id, {"active": False})
            elif item.action == CANCEL:
                if handler.current_status(record) == "Canceled":
                    item.reason = "already canceled"
                else:
                    self._status(item, "cancel")
            elif item.action == RESTORE:
                if item.fields:
                    self.intc.patch(path, item.int_id, item.fields)
                for step in item.status:
                    self._status(item, step)
        except st.AmbiguousWriteError as exc:
            item.result = Result.FAILED
            item.reason = f"the answer was lost ({exc}): run the undo again (it reads the record first)"
            return
        except st.ValidationError as exc:  # the record's state does not allow it (a completed job): listed
            item.result, item.reason = Result.NOT_POSSIBLE, f"refused by the API: {exc}"
            return
        except (st.ServiceTitanError, LookupError) as exc:
            item.result, item.reason = Result.FAILED, str(exc)
            return
        item.result = Result.DONE

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
        self.intc.act(action.method, action.path, item.int_id, body)

    def _record(self, kind: str, items: list[Item]) -> None:
        """One transaction: the mappings forgotten or unmarked, and a history row per record taken back."""
        done = [i for i in items if i.result is Result.DONE]
        gone = [i for i in items if i.result is Result.NOTHING and i.forget]
        kept = [i for i in done if not i.forget]
        unmark = self._written_at(kind, kept)
        history = [self._row(i, _DONE_AS[i.action], self._detail(i)) for i in done]
        history += [self._row(i, "forgotten", i.reason) for i in gone]
        self.crosswalk.took_back(kind, [i.prod_id for i in done + gone if i.forget], unmark, history)

    def _written_at(self, kind: str, kept: list[Item]) -> dict[int, datetime]:
        """Integration's modifiedOn after the undo's writes, read back (the proof a later sync compares with)."""
        if not kept:
            return {}
        handler = self.handlers[kind]
        try:
            found = self.intc.get_by_ids(
                handler.cfg.int_list_path, [i.int_id for i in kept], params=handler.index_params()
            )
        except st.ServiceTitanError as exc:
            log.warning("%s: reading the records back after the undo: %s (our clock is noted instead)", kind, exc)
            found = []
        by_id = {int(r["id"]): r for r in found}
        now = datetime.now(UTC)
        return {i.prod_id: written_at(by_id[i.int_id]) if i.int_id in by_id else now for i in kept}

    def _row(self, item: Item, action: str, detail: str) -> Write:
        fields = tuple(sorted(item.fields)) if action == "restored" else ("active",) if action == "deactivated" else ()
        return Write(self.undo_run_id, "undo", item.prod_id, item.int_id, action, fields, detail, undoes=self.run_id)

    def _detail(self, item: Item) -> str:
        parts = [f"undo of run {self.run_id}"]
        parts += [f"status: {', '.join(item.status)}"] if item.status else []
        parts += [item.reason] if item.reason else []
        parts += ["mapping forgotten"] if item.forget else []
        return "; ".join(parts)
