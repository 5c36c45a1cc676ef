"""Confirmed mappings: Production id → Integration id per kind, read and recorded in batches."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, case, delete, func, or_, select, update
from sqlalchemy.engine import Connection

from stsync_dagster.sync.crosswalk.database import (
    Database,
    Entry,
    chunks,
    distinct_ids,
    keyed_rows,
)
from stsync_dagster.sync.crosswalk.history import Write, log_writes
from stsync_dagster.sync.crosswalk.schema import (
    CONFIRMED,
    SOURCES,
    id_map,
)


@dataclass(frozen=True)
class RecordCounts:
    """What `Crosswalk.record` did: counts, and the ids behind the two that changed something."""

    inserted: int
    updated: int
    unchanged: int
    inserted_ids: frozenset[int] = frozenset()
    updated_ids: frozenset[int] = frozenset()


class Mappings(Database):
    def lookup(self, kind: str, prod_ids: Iterable[int]) -> dict[int, Entry]:
        """Every row (pending or confirmed) for these Production ids; ids without a row are absent."""
        ids = distinct_ids(prod_ids)
        if not ids:
            return {}
        return self._run(lambda conn: self._select_entries(conn, kind, ids), write=False)

    def int_ids(self, kind: str, prod_ids: Iterable[int]) -> dict[int, int]:
        """Production id → Integration id, confirmed mappings only."""
        return dict(
            self._read_chunks(
                prod_ids,
                lambda chunk: select(id_map.c.prod_id, id_map.c.int_id).where(
                    id_map.c.kind == kind, id_map.c.state == CONFIRMED, id_map.c.prod_id.in_(chunk)
                ),
            )
        )

    def find_by_int_id(self, kind: str, int_ids: Iterable[int]) -> dict[int, int]:
        """Integration id → Production id. Should two Production ids share one, the lowest wins."""
        # Only confirmed rows have an int_id (a CHECK constraint says so): the index alone answers this.
        rows = self._read_chunks(
            int_ids,
            lambda chunk: select(id_map.c.int_id, id_map.c.prod_id).where(
                id_map.c.kind == kind, id_map.c.int_id.in_(chunk)
            ),
        )
        found: dict[int, int] = {}
        for int_id, prod_id in rows:
            found[int_id] = min(prod_id, found.get(int_id, prod_id))
        return found

    def sample(self, kind: str, size: int) -> dict[int, int]:
        """Up to `size` confirmed mappings of `kind`, chosen at random (for integrity checks)."""
        query = (
            select(id_map.c.prod_id, id_map.c.int_id)
            .where(id_map.c.kind == kind, id_map.c.state == CONFIRMED)
            .order_by(func.random())
            .limit(size)
        )
        return self._run(lambda conn: dict(conn.execute(query).all()), write=False)

    def has_mappings(self, kind: str) -> bool:
        """Whether any record of the kind is mapped (confirmed)."""
        query = select(id_map.c.prod_id).where(id_map.c.kind == kind, id_map.c.state == CONFIRMED).limit(1)
        return self._run(lambda conn: conn.execute(query).first() is not None, write=False)

    def counts(self, kind: str | None = None) -> dict[tuple[str, str], int]:
        """Number of rows per (kind, state)."""
        query = select(id_map.c.kind, id_map.c.state, func.count()).group_by(id_map.c.kind, id_map.c.state)
        if kind is not None:
            query = query.where(id_map.c.kind == kind)
        return self._run(lambda conn: {(k, s): n for k, s, n in conn.execute(query)}, write=False)

    def mapped(self, kind: str) -> dict[int, tuple[int, str]]:
        """Every confirmed mapping of `kind`: Production id → (Integration id, source)."""
        query = select(id_map.c.prod_id, id_map.c.int_id, id_map.c.source).where(
            id_map.c.kind == kind, id_map.c.state == CONFIRMED
        )
        return self._run(lambda conn: {p: (i, s) for p, i, s in conn.execute(query)}, write=False)

    def wrote(self, kind: str, written: Mapping[int, tuple[str, datetime]], history: Iterable[Write] = ()) -> None:
        """Remember what STSync just wrote to these confirmed records: (fingerprint of it, Integration's
        modifiedOn after the write); `history`: the writes behind it (updates, status changes). Writes noted out
        of order (a record's create noted after a later patch of it) keep the later time; a fingerprint of None
        keeps the one noted."""
        history = list(history)
        if not written and not history:
            return

        def work(conn: Connection) -> None:
            statement = (
                update(id_map)
                .where(id_map.c.kind == kind, id_map.c.prod_id == bindparam("b_prod"), id_map.c.state == CONFIRMED)
                .values(
                    fingerprint=func.coalesce(bindparam("b_fp"), id_map.c.fingerprint),
                    written_at=case(
                        (id_map.c.written_at > bindparam("b_at"), id_map.c.written_at), else_=bindparam("b_at")
                    ),
                )
            )
            rows = [{"b_prod": p, "b_fp": f, "b_at": t} for p, (f, t) in sorted(written.items())]
            if rows:
                conn.execute(statement, rows)
            log_writes(conn, self._now(conn), kind, history)

        self._run(work, write=True)

    def forget(self, kind: str, prod_ids: Iterable[int], history: Iterable[Write] = ()) -> int:
        """Delete confirmed mappings that no longer hold (their Integration record is gone); return how many.
        `history`: a `forgotten` write per id, kept for those deleted."""
        ids = distinct_ids(prod_ids)
        history = list(history)

        def work(conn: Connection) -> int:
            gone: set[int] = set()
            for chunk in chunks(ids):
                statement = delete(id_map).where(
                    id_map.c.kind == kind, id_map.c.state == CONFIRMED, id_map.c.prod_id.in_(chunk)
                )
                gone.update(conn.execute(statement.returning(id_map.c.prod_id)).scalars())
            log_writes(conn, self._now(conn), kind, history, only=gone)
            return len(gone)

        return self._run(work, write=True) if ids else 0

    def record(
        self,
        kind: str,
        pairs: Mapping[int, int],
        source: str,
        run_id: str | None = None,
        rule: str | None = None,
        history: Iterable[Write] = (),
    ) -> RecordCounts:
        """Upsert confirmed mappings found outside a create (master data, reconcile, recovery).

        A row already confirmed with the same Integration id is left alone; a pending row, or one mapped to
        another Integration id, is overwritten. `history`: the writes behind them, kept for the rows written.
        """
        history = list(history)
        if source not in SOURCES:
            raise ValueError(f"source {source!r} is not one of {SOURCES}")
        wanted = {int(prod_id): int(int_id) for prod_id, int_id in pairs.items()}
        if not wanted:
            return RecordCounts(0, 0, 0)

        def work(conn: Connection) -> RecordCounts:
            existed = set(self._select_entries(conn, kind, sorted(wanted)))
            now = self._now(conn)
            rows = keyed_rows(
                kind,
                ((prod_id, {"int_id": int_id}) for prod_id, int_id in sorted(wanted.items())),
                created_at=now,
                state=CONFIRMED,
                run_id=run_id,
                updated_at=now,
                source=source,
                rule=rule,
            )
            statement = self._upsert(
                id_map,
                ("int_id", "state", "created_at", "updated_at", "run_id", "source", "rule"),
                where=lambda offered: or_(id_map.c.state != CONFIRMED, id_map.c.int_id != offered.int_id),
            ).returning(id_map.c.prod_id)
            written = set(conn.execute(statement, rows).scalars())
            log_writes(conn, now, kind, history, only=written)
            inserted, updated = written - existed, written & existed
            return RecordCounts(
                inserted=len(inserted),
                updated=len(updated),
                unchanged=len(wanted) - len(written),
                inserted_ids=frozenset(inserted),
                updated_ids=frozenset(updated),
            )

        return self._run(work, write=True)
