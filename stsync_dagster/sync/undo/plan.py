"""Plan an undo: the run's writes read from the history (newest first), one step per record by what the run did
to it, and each record the run wrote checked against Integration first: a record edited there since the run (its
modifiedOn after STSync's last write), or written again by a later run, is a conflict whatever its state, left
alone unless forced; one already where the step takes it needs nothing sent (a restore sends only what is not as
before the run). Reads only; apply.py sends."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from stsync_dagster.errors import ConfigError
from stsync_dagster.sync.apply.before import before_values
from stsync_dagster.sync.apply.provenance import CLOCK_SLACK, last_write
from stsync_dagster.sync.crosswalk import Write
from stsync_dagster.sync.timefmt import instant
from stsync_dagster.sync.undo.report import CANCEL, DEACTIVATE, DELETE, FORGET, NONE, RESTORE, Item, Result

KIND_ORDER = ("pos", "jobs", "equipment", "items")  # what references others first (a PO's lines, its job)
_ON_CREATE = {"items": DELETE, "equipment": DEACTIVATE, "jobs": CANCEL, "pos": CANCEL}
_CANNOT_DELETE = {
    "equipment": "the API has no delete for equipment: made inactive",
    "jobs": "ServiceTitan cannot delete a job: canceled",
    "pos": "ServiceTitan cannot delete a purchase order: canceled",
}
# Status calls that have a reverse call in the API (jobs' remove-cancellation); any other is listed.
_REVERSE = {"jobs": {"cancel": "remove_cancellation", "remove_cancellation": "cancel"}}
_CALLS = (DELETE, DEACTIVATE, CANCEL, RESTORE)  # the steps that write to Integration
# Statuses a cancellation is refused from: not even tried (a second undo would send it again, refused again).
# An undo claims each record while it writes it (sync_action, as a sync's status change): a claim an interrupted
# undo left says that it may have written the record, so its state there may be the undo's own doing.
UNDO_CLAIM, CLAIM_STALE = "undo", timedelta(minutes=5)
_ALREADY = {CANCEL: "already canceled: nothing sent", DEACTIVATE: "already inactive: nothing sent"}
_FINAL = {"jobs": ("jobStatus", ("Completed",)), "pos": ("status", ("Received", "Exported"))}


def resolve_run(crosswalk, run_id: str) -> tuple[str, list[Write]]:
    """The run's id and its writes, newest first; a unique prefix of a run id will do (the UI shows 8 characters)."""
    writes = crosswalk.run_writes_newest_first(run_id)
    if writes:
        return run_id, writes
    like = crosswalk.runs_like(run_id) if len(run_id) >= 6 else []
    if len(like) == 1 or run_id in like:
        run_id = run_id if run_id in like else like[0]
        undid = crosswalk.undone_by(run_id)
        if undid is not None:
            raise ConfigError(
                f"run {run_id} is an undo (of run {undid}): an undo is not taken back; a sync copies the records "
                "again (knowingly: see docs/commands.md, Undo)"
            )
        return run_id, crosswalk.run_writes_newest_first(run_id)
    hint = f": runs starting so: {', '.join(like)}" if like else " (`stsync history KIND ID` shows the runs' ids)"
    raise ConfigError(f"run {run_id!r}: no writes of that run in the crosswalk's history{hint}")


def _steps(write: Write) -> list[str]:
    """The status calls a write sent, from its detail ("cancel", "then remove_cancellation, hold")."""
    if write.action not in ("updated", "status_changed") or not write.detail:
        return []
    return [s.strip() for s in write.detail.removeprefix("then ").split(",") if s.strip()]


def _restore(item: Item, oldest: list[Write]) -> None:
    """Fields set back to the values before the run's first write of them; the status moved back when every
    status call the run sent has a reverse one."""
    seen: set[str] = set()
    unknown: list[str] = []
    for write in oldest:
        before = (write.before or {}).get("fields") if write.action == "updated" else None
        for name in write.fields if write.action == "updated" else ():
            if name in seen:
                continue
            seen.add(name)
            if before is not None and name in before:
                item.fields[name] = before[name]
            else:
                unknown.append(name)
    if unknown:
        item.left.append(f"fields {', '.join(sorted(unknown))}: their values before were not kept (an older STSync)")
    item.was = next((w.before["status"] for w in oldest if w.before and w.before.get("status")), None)
    sent = [step for write in oldest for step in _steps(write)]
    reverse = [_REVERSE.get(item.kind, {}).get(step) for step in reversed(sent)]
    if None in reverse:
        stuck = sorted({step for step in sent if step not in _REVERSE.get(item.kind, {})})
        item.left.append(f"status: {', '.join(stuck)} cannot be taken back (the API has no reverse call)")
    elif reverse:
        item.status = reverse


def decide(item: Item, oldest: list[Write]) -> None:
    """The step for one record, from the run's writes to it (oldest first)."""
    did = {w.action for w in oldest}
    if did & {"created", "recovered"}:
        item.action, item.forget = _ON_CREATE[item.kind], item.kind == "items"
        if item.kind in _CANNOT_DELETE:
            item.left.append(_CANNOT_DELETE[item.kind])
        return
    if did & {"updated", "status_changed"}:
        item.action = RESTORE
        _restore(item, oldest)
    if did & {"adopted", "reconciled", "stamped"}:
        item.forget = True
        item.action = RESTORE if item.fields or item.status else FORGET
    if item.action == RESTORE and not item.fields and not item.status and not item.forget:
        item.action, item.result = NONE, Result.NOT_POSSIBLE  # `left` says why
    elif item.action == NONE:
        item.result, item.reason = Result.NOTHING, "the run only forgot a mapping whose record was gone"


def _conflict(item: Item, entry, record: dict, later: list[Write], run_at: datetime | None) -> str | None:
    if later:
        last = later[-1]
        return f"written again since by run {last.run_id} ({last.action} at {last.at:%Y-%m-%d %H:%M:%S} UTC)"
    written = entry.written_at if entry is not None else None
    if written is None and entry is not None:
        written = last_write(entry, record)
    written = written or run_at
    edited = instant(record.get("modifiedOn"))
    if written is not None and edited is not None and edited > written + CLOCK_SLACK:
        return f"edited in Integration at {edited:%Y-%m-%d %H:%M:%S} UTC, after STSync's write at {written:%H:%M:%S}"
    return None


def remaining(item: Item, handler, record: dict) -> tuple[dict, list[str]]:
    """What a restore still has to send to `record`: the fields Integration does not hold as before the run, and
    the status calls unless the status is already the one before it."""
    held = before_values(handler, item.fields, record, status=False).get("fields", {}) if item.fields else {}
    fields = {name: value for name, value in item.fields.items() if held.get(name) != value}
    back = item.was is not None and handler.current_status(record) == item.was
    return fields, [] if back else list(item.status)


def reached(item: Item, handler, record: dict | None) -> bool:
    """Already where the step would take it: gone, canceled, inactive, or as before the run."""
    if record is None or item.action == DELETE:
        return record is None and item.action == DELETE
    if item.action == CANCEL:
        return handler.current_status(record) == "Canceled"
    if item.action == DEACTIVATE:
        return record.get("active") is False
    return item.action == RESTORE and remaining(item, handler, record) == ({}, [])


def plan(crosswalk, intc, handlers: dict, run_id: str, writes: list[Write], *, force: bool) -> list[Item]:
    """One item per record the run wrote, ordered by kind (KIND_ORDER), newest write first within a kind; items
    to send are left PLANNED, with the Integration record each was checked against in `records`."""
    by_record: dict[tuple[str, int], list[Write]] = {}
    for write in writes:  # newest first
        by_record.setdefault((write.kind, write.prod_id), []).append(write)
    items: dict[str, list[Item]] = defaultdict(list)
    for (kind, prod_id), mine in by_record.items():
        oldest = mine[::-1]
        item = Item(kind, prod_id, next((w.int_id for w in mine if w.int_id), None), [w.action for w in oldest])
        decide(item, oldest)
        items[kind].append(item)
    for kind, kind_items in items.items():
        ids = [item.prod_id for item in kind_items]
        stories, entries = crosswalk.stories(kind, ids), crosswalk.lookup(kind, ids)
        for item in kind_items:
            entry = entries.get(item.prod_id)
            if entry is not None and entry.int_id is not None:
                item.int_id = entry.int_id
            story = stories.get(item.prod_id, [])
            if any(w.undoes == run_id for w in story):
                item.result, item.reason = Result.ALREADY, "taken back by an earlier undo of this run"
            elif item.action == FORGET and entry is None:
                item.result, item.reason = Result.NOTHING, "not in the crosswalk any more"
        held = crosswalk.held_actions(kind, ids)
        claimed = {p for p, (action, *_) in held.items() if action == UNDO_CLAIM}
        _check(crosswalk, intc, handlers[kind], run_id, kind_items, (stories, entries, claimed), force)
    _keep_on_lines(items, intc, handlers["pos"])
    ordered = [item for kind in KIND_ORDER for item in items.get(kind, [])]
    return ordered + [item for kind, rest in items.items() if kind not in KIND_ORDER for item in rest]


def _keep_on_lines(items: dict[str, list[Item]], intc, handler) -> None:
    """A material on a line of a PO the run created stays (made inactive, not deleted): the PO copy, canceled, is
    kept, and its line must not name a record that is gone (a later sync would have to move the line). The lines
    of every PO of the run count, those an earlier undo already canceled too (read here)."""
    deleting = [i for i in items.get("items", []) if i.action == DELETE and i.result is Result.PLANNED]
    pos = [po for po in items.get("pos", []) if po.int_id is not None]
    if not deleting or not pos:
        return
    records = [po.record for po in pos if po.record is not None]
    unread = [po.int_id for po in pos if po.record is None]
    if unread:
        records += intc.get_by_ids(handler.cfg.int_list_path, unread, params=handler.index_params())
    lines = {line.get("skuId") for po in records for line in po.get("items") or [] if line.get("active", True)}
    for item in deleting:
        if item.int_id in lines:
            item.action, item.forget = DEACTIVATE, False
            item.left.append("on a line of a PO the run created (canceled, kept): made inactive, not deleted")


def _check(crosswalk, intc, handler, run_id, items, known, force) -> None:
    """Read the records to write from Integration (50 a call): gone ones need nothing, edited ones conflict."""
    stories, entries, claimed = known
    calls = [i for i in items if i.result is Result.PLANNED and i.action in _CALLS and i.int_id is not None]
    if not calls:
        return
    found = intc.get_by_ids(handler.cfg.int_list_path, [i.int_id for i in calls], params=handler.index_params())
    records = {int(r["id"]): r for r in found}
    for item in calls:
        record = records.get(item.int_id)
        if record is None:
            item.result, item.reason, item.forget = Result.NOTHING, "not in Integration any more", True
            continue
        item.record = record
        field, final = _FINAL.get(item.kind, ("", ()))
        if item.action == CANCEL and record.get(field) in final:
            item.result, item.reason = Result.NOT_POSSIBLE, f"it is {record[field]}: the API refuses to cancel it"
            continue
        fields, status = remaining(item, handler, record) if item.action == RESTORE else ({}, [])
        at_target = reached(item, handler, record)
        story = stories.get(item.prod_id, [])
        last_own = max((k for k, w in enumerate(story) if w.run_id == run_id and w.undoes is None), default=-1)
        undone = {w.undoes for w in story if w.undoes}  # later runs already taken back do not count, nor their undos
        later = (
            [w for w in story[last_own + 1 :] if w.undoes is None and w.run_id not in undone] if last_own >= 0 else []
        )
        run_at = story[last_own].at if last_own >= 0 else None
        why = _conflict(item, entries.get(item.prod_id), record, later, run_at)
        if why and item.fields and not fields and not later:
            # Every field as before the run: set back by an undo of it whose note was lost (a crash), it seems.
            why, item.reason = None, "fields already as before the run (an interrupted undo of it)"
            item.noop = Result.ALREADY if at_target else None
        elif why and at_target and item.prod_id in claimed and not later:
            why, item.noop = None, Result.ALREADY  # an interrupted undo claimed it: the state is its doing
            item.reason = f"{_ALREADY.get(item.action, 'already as before the run')} (an interrupted undo sent it)"
        elif why and not force:  # whatever its state: a person's edit is reported, and never taken as STSync's
            item.result, item.reason = Result.CONFLICT, f"{why}: left alone (--force takes it back all the same)"
            continue
        elif at_target:  # nothing to send, so nothing overwritten; the crosswalk keeps its row as it is
            item.noop, item.reason = Result.DONE, _ALREADY.get(item.action, "already as before the run")
        if item.action == RESTORE and not at_target:
            item.fields, item.status = fields, status  # only what is still to send (the status checked first)
        if why:
            item.reason = "; ".join(p for p in (item.reason, f"{why}: taken back all the same (--force)") if p)
