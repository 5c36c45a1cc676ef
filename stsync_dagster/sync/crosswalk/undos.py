"""What `stsync undo` reads and writes in the crosswalk: a run's writes, the whole stories of its records, which
records an undo of that run already took back, and, in one transaction per kind, the mappings it changes with the
history rows that say so."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection

from stsync_dagster.sync.crosswalk.database import Database, chunks, distinct_ids
from stsync_dagster.sync.crosswalk.history import Write, _write, log_writes
from stsync_dagster.sync.crosswalk.schema import CONFIRMED, id_map, sync_history

_NEWEST_FIRST = (sync_history.c.at.desc(), sync_history.c.id.desc())


class Undos(Database):
    def run_writes_newest_first(self, run_id: str) -> list[Write]:
        """Every write the run made (not its undo rows), newest first."""
        query = select(sync_history).where(sync_history.c.run_id == run_id, sync_history.c.undoes.is_(None))
        return self._run(lambda conn: [_write(r) for r in conn.execute(query.order_by(*_NEWEST_FIRST))], write=False)

    def undone_by(self, run_id: str) -> str | None:
        """The run that run `run_id` undid, when it is an undo (its rows name the run they take back)."""
        query = select(sync_history.c.undoes).where(sync_history.c.run_id == run_id, sync_history.c.undoes.is_not(None))
        return self._run(lambda conn: conn.execute(query.limit(1)).scalar(), write=False)

    def runs_like(self, prefix: str, limit: int = 5) -> list[str]:
        """Run ids in the history that start with `prefix` (a run id shortened as the UI shows it)."""
        query = (
            select(sync_history.c.run_id)
            .where(sync_history.c.run_id.startswith(prefix, autoescape=True))
            .distinct()
            .limit(limit)
        )
        return self._run(lambda conn: sorted(conn.execute(query).scalars()), write=False)

    def stories(self, kind: str, prod_ids: Iterable[int]) -> dict[int, list[Write]]:
        """Every write to these records' copies, by any run, oldest first."""
        ids = distinct_ids(prod_ids)

        def work(conn: Connection) -> dict[int, list[Write]]:
            found: dict[int, list[Write]] = {}
            for chunk in chunks(ids):
                query = select(sync_history).where(sync_history.c.kind == kind, sync_history.c.prod_id.in_(chunk))
                for row in conn.execute(query.order_by(sync_history.c.at, sync_history.c.id)):
                    found.setdefault(row.prod_id, []).append(_write(row))
            return found

        return self._run(work, write=False) if ids else {}

    def deleted_int_ids(self, kind: str, int_ids: Iterable[int]) -> set[int]:
        """The Integration ids an undo deleted: gone for good, never to be adopted again (an API may still list
        a deleted record)."""
        rows = self._read_chunks(
            int_ids,
            lambda chunk: select(sync_history.c.int_id).where(
                sync_history.c.kind == kind, sync_history.c.action == "deleted", sync_history.c.int_id.in_(chunk)
            ),
        )
        return {row.int_id for row in rows}

    def took_back(
        self,
        kind: str,
        forget: Iterable[int],
        unmark: Mapping[int, datetime],
        history: Iterable[Write],
    ) -> None:
        """One undo's changes to a kind, in one transaction: the mappings of `forget` deleted (a later sync
        meets the record anew), the kept ones of `unmark` told that STSync wrote them last at the given time
        without a fingerprint (a later sync compares them with Production and writes what differs), and the
        history rows of what was done."""
        forget_ids, history = distinct_ids(forget), list(history)
        rows = [{"b_prod": int(p), "b_at": at} for p, at in sorted(unmark.items())]

        def work(conn: Connection) -> None:
            for chunk in chunks(forget_ids):
                conn.execute(
                    delete(id_map).where(
                        id_map.c.kind == kind, id_map.c.state == CONFIRMED, id_map.c.prod_id.in_(chunk)
                    )
                )
            if rows:
                statement = (
                    update(id_map)
                    .where(id_map.c.kind == kind, id_map.c.prod_id == bindparam("b_prod"), id_map.c.state == CONFIRMED)
                    .values(fingerprint=None, written_at=bindparam("b_at"))
                )
                conn.execute(statement, rows)
            log_writes(conn, self._now(conn), kind, history)

        if forget_ids or rows or history:
            self._run(work, write=True)
