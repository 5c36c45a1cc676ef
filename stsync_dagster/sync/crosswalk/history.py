"""History: one row per write STSync made to an Integration record, kept for good.

The rows are added by the crosswalk call that records the write (a create's confirmation, an adoption, an
update's new fingerprint, a forgotten mapping), inside its transaction and only for the records that call
changed: a write is in the history exactly when the crosswalk knows it. Writes with no crosswalk change of
their own (an adoption's stamp, a patch whose status change then failed) are added on their own by `note`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from stsync_dagster.sync.crosswalk.database import Database
from stsync_dagster.sync.crosswalk.schema import HISTORY_ACTIONS, UNDO_ACTIONS, sync_history


@dataclass(frozen=True)
class Write:
    """A write to one Integration record. `kind` and `at` are set by the crosswalk when it keeps it."""

    run_id: str | None
    asset: str | None
    prod_id: int
    int_id: int | None
    action: str
    fields: tuple[str, ...] = ()
    detail: str = ""
    kind: str = ""
    at: datetime | None = None
    before: dict | None = None  # an update's replaced Integration values: {"fields": {...}, "status": ...}
    undoes: str | None = None  # an undo's row: the run it takes back
    id: int | None = None  # the row's number (set when read back)


def log_writes(
    conn: Connection, now: datetime, kind: str, writes: Iterable[Write], only: Collection[int] | None = None
) -> None:
    """Add the writes (those of the ids in `only`, when given) to the history, in the caller's transaction."""
    rows = []
    for w in writes:
        if only is not None and w.prod_id not in only:
            continue
        if w.action not in HISTORY_ACTIONS + UNDO_ACTIONS:
            raise ValueError(f"history action {w.action!r} is not one of {HISTORY_ACTIONS + UNDO_ACTIONS}")
        rows.append({
            "at": now, "run_id": w.run_id, "asset": w.asset, "kind": kind, "prod_id": int(w.prod_id),
            "int_id": w.int_id, "action": w.action, "fields": ",".join(w.fields) or None, "detail": w.detail or None,
            "before": None if w.before is None else json.dumps(w.before, sort_keys=True, default=str),
            "undoes": w.undoes,
        })  # fmt: skip
    if rows:
        conn.execute(sync_history.insert(), rows)


def _write(row) -> Write:
    return Write(
        row.run_id, row.asset, row.prod_id, row.int_id, row.action,
        tuple(row.fields.split(",")) if row.fields else (), row.detail or "", row.kind, row.at,
        json.loads(row.before) if row.before else None, row.undoes, row.id,
    )  # fmt: skip


_ORDER = (sync_history.c.at, sync_history.c.id)


class History(Database):
    def note(self, kind: str, writes: Iterable[Write]) -> None:
        """Writes that change nothing else in the crosswalk, kept on their own."""
        writes = list(writes)
        if writes:
            self._run(lambda conn: log_writes(conn, self._now(conn), kind, writes), write=True)

    def history(self, kind: str, prod_id: int) -> list[Write]:
        """Every write to the record's copy, oldest first."""
        query = select(sync_history).where(sync_history.c.kind == kind, sync_history.c.prod_id == int(prod_id))
        return self._run(lambda conn: [_write(r) for r in conn.execute(query.order_by(*_ORDER))], write=False)

    def run_writes(self, run_id: str, asset: str | None = None, limit: int = 200) -> tuple[list[Write], int]:
        """The first `limit` writes of a run (of one asset's step, when given), and how many there are in all."""
        where = [sync_history.c.run_id == run_id] + ([sync_history.c.asset == asset] if asset else [])

        def work(conn: Connection) -> tuple[list[Write], int]:
            rows = conn.execute(select(sync_history).where(*where).order_by(*_ORDER).limit(limit))
            total = conn.execute(select(func.count()).select_from(sync_history).where(*where)).scalar_one()
            return [_write(r) for r in rows], total

        return self._run(work, write=False)
