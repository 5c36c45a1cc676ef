"""Claims: a pending row per record before its create, confirmed with the Integration id after; exclusive."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import bindparam, delete, select, tuple_, update
from sqlalchemy.engine import Connection

from stsync_dagster.sync.crosswalk.database import (
    CHUNK,
    ENTRY_COLUMNS,
    Database,
    Entry,
    aware,
    chunks,
    distinct_ids,
    entry,
    keyed_rows,
)
from stsync_dagster.sync.crosswalk.history import Write, log_writes
from stsync_dagster.sync.crosswalk.schema import (
    sync_action,
    CONFIRMED,
    IS_PENDING,
    PENDING,
    id_map,
)


class Claims(Database):
    def stale_claims(self, kind: str, older_than: datetime, limit: int | None = None) -> list[Entry]:
        """Pending rows claimed before `older_than`, by any run, oldest first."""
        aware(older_than, "older_than")
        query = (
            select(*ENTRY_COLUMNS)
            .where(id_map.c.kind == kind, id_map.c.state == IS_PENDING, id_map.c.claimed_at < older_than)
            .order_by(id_map.c.claimed_at, id_map.c.prod_id)
            .limit(limit)
        )
        return self._run(lambda conn: [entry(row) for row in conn.execute(query)], write=False)

    def claim(self, kind: str, prod_ids: Iterable[int], run_id: str, partition: str | None = None) -> set[int]:
        """Insert pending rows for the ids that have no row at all; return the ids this call claimed.

        Exclusive: of concurrent callers (threads, processes, PostgreSQL connections) exactly one gets each id.
        """
        ids = distinct_ids(prod_ids)
        if not ids:
            return set()

        def work(conn: Connection) -> set[int]:
            now = self._now(conn)
            rows = keyed_rows(
                kind,
                ((prod_id, {}) for prod_id in ids),
                state=PENDING,
                run_id=run_id,
                partition=partition,
                claimed_at=now,
                updated_at=now,
                source="sync",
            )
            statement = (
                self._insert(id_map)
                .on_conflict_do_nothing(index_elements=["kind", "prod_id"])
                .returning(id_map.c.prod_id)
            )
            # RETURNING yields exactly the rows this statement inserted: conflicting ids come back as nothing.
            return set(conn.execute(statement, rows).scalars())

        return self._run(work, write=True)

    def mark_sent(self, kind: str, prod_ids: Iterable[int], run_id: str) -> None:
        """This run's claims are about to be sent: from now on they wait out the server timeout when it is gone."""
        ids = distinct_ids(prod_ids)

        def work(conn: Connection) -> None:
            now = self._now(conn)
            for chunk in chunks(ids):
                conn.execute(
                    update(id_map)
                    .where(id_map.c.kind == kind, id_map.c.prod_id.in_(chunk), id_map.c.state == PENDING)
                    .where(id_map.c.run_id == run_id)
                    .values(sent_at=now)
                )

        if ids:
            self._run(work, write=True)

    def confirm(self, kind: str, pairs: Mapping[int, int], run_id: str, history: Iterable[Write] = ()) -> set[int]:
        """Pending → confirmed with the Integration id. Returns the Production ids now mapped to the given ids.

        Any pending claim is confirmed, not only the caller's: the caller holds the Integration id, which beats
        a claim (another run may have taken the claim over while this one's create was still in flight). An id
        missing from the result was released, never claimed, or is confirmed to another Integration id: the
        caller reports it (a confirmed mapping is never overwritten here). `history`: the creates, kept for the
        ids confirmed.
        """
        history = list(history)
        wanted = {int(prod_id): int(int_id) for prod_id, int_id in pairs.items()}
        if not wanted:
            return set()

        def work(conn: Connection) -> set[int]:
            now = self._now(conn)
            # The history keeps the confirmations this call makes, not those found made (by another run).
            pending = self._pending_locked(conn, kind, sorted(wanted)) if history else set()
            statement = (
                update(id_map)
                .where(id_map.c.kind == kind, id_map.c.prod_id == bindparam("b_prod"), id_map.c.state == PENDING)
                .values(int_id=bindparam("b_int"), state=CONFIRMED, run_id=run_id, created_at=now, updated_at=now)
            )
            conn.execute(statement, [{"b_prod": p, "b_int": i} for p, i in sorted(wanted.items())])
            found = self._select_entries(conn, kind, sorted(wanted))
            confirmed = {p for p, e in found.items() if e.state == CONFIRMED and e.int_id == wanted[p]}
            log_writes(conn, now, kind, history, only=confirmed & pending)
            return confirmed

        return self._run(work, write=True)

    @staticmethod
    def _pending_locked(conn: Connection, kind: str, ids: list[int]) -> set[int]:
        """The ids still pending, their rows locked until the transaction ends (SQLite: the whole file is)."""
        found: set[int] = set()
        for chunk in chunks(ids):
            query = select(id_map.c.prod_id).where(
                id_map.c.kind == kind, id_map.c.prod_id.in_(chunk), id_map.c.state == IS_PENDING
            )
            found.update(conn.execute(query.with_for_update()).scalars())
        return found

    def release(self, kind: str, prod_ids: Iterable[int], run_id: str) -> set[int]:
        """Delete this run's own pending rows (the create certainly did not happen); return the ids released."""
        ids = distinct_ids(prod_ids)
        if not ids:
            return set()

        def work(conn: Connection) -> set[int]:
            released: set[int] = set()
            for chunk in chunks(ids):
                statement = (
                    delete(id_map)
                    .where(
                        id_map.c.kind == kind,
                        id_map.c.prod_id.in_(chunk),
                        id_map.c.state == PENDING,
                        id_map.c.run_id == run_id,
                    )
                    .returning(id_map.c.prod_id)
                )
                released.update(conn.execute(statement).scalars())
            return released

        return self._run(work, write=True)

    def take_over(
        self,
        kind: str,
        claims: Iterable[int | Entry],
        run_id: str,
        claimed_before: datetime,
        partition: str | None = None,
    ) -> set[int]:
        """Re-assign pending claims made before `claimed_before` to this run; return the Production ids taken.

        The claim time is reset to now. Of concurrent callers only one gets each id, provided that either
        `claimed_before` is in the past (e.g. now - the stale age) or `claims` are the `Entry`s the caller judged
        stale: an Entry is taken only while its row still carries that Entry's run_id and claimed_at, so a claim
        that someone else took over (or that was confirmed) in the meantime is left alone whatever the cutoff.
        """
        aware(claimed_before, "claimed_before")
        claims = list(claims)
        expected = {c.prod_id: c for c in claims if isinstance(c, Entry)}
        plain = distinct_ids(c for c in claims if not isinstance(c, Entry))
        if not plain and not expected:
            return set()

        def work(conn: Connection) -> set[int]:
            now = self._now(conn)
            values: dict = {"run_id": run_id, "claimed_at": now, "updated_at": now, "sent_at": None}
            if partition is not None:
                values["partition"] = partition
            stale = update(id_map).where(
                id_map.c.kind == kind, id_map.c.state == PENDING, id_map.c.claimed_at < claimed_before
            )
            statements = [stale.where(id_map.c.prod_id.in_(chunk)) for chunk in chunks(plain)]
            entries = [expected[prod_id] for prod_id in sorted(expected)]
            for start in range(0, len(entries), CHUNK):
                chunk = entries[start : start + CHUNK]
                unchanged = [(e.prod_id, e.run_id, e.claimed_at) for e in chunk]
                statements.append(
                    stale.where(
                        id_map.c.prod_id.in_([e.prod_id for e in chunk]),  # a key search for PostgreSQL
                        tuple_(id_map.c.prod_id, id_map.c.run_id, id_map.c.claimed_at).in_(unchanged),
                    )
                )
            taken: set[int] = set()
            for statement in statements:
                taken.update(conn.execute(statement.values(**values).returning(id_map.c.prod_id)).scalars())
            return taken

        return self._run(work, write=True)

    # -- status changes ---------------------------------------------------------------------------------------

    def claim_actions(self, kind: str, actions: Mapping[int, str], run_id: str, stale_before: datetime) -> set[int]:
        """Claim status changes (prod id → action); a claim older than `stale_before` is taken over. Returns the
        ids this call claimed: of concurrent callers exactly one gets each."""
        aware(stale_before, "stale_before")
        if not actions:
            return set()

        def work(conn: Connection) -> set[int]:
            now = self._now(conn)
            rows = keyed_rows(
                kind, ((p, {"action": a}) for p, a in sorted(actions.items())), run_id=run_id, claimed_at=now
            )
            statement = self._upsert(
                sync_action,
                ("action", "run_id", "claimed_at"),
                where=lambda offered: sync_action.c.claimed_at < stale_before,
            ).returning(sync_action.c.prod_id)
            return set(conn.execute(statement, rows).scalars())

        return self._run(work, write=True)

    def release_actions(self, kind: str, prod_ids: Iterable[int], run_id: str) -> None:
        """This run's status-change claims, done (or certainly not sent)."""
        ids = distinct_ids(prod_ids)

        def work(conn: Connection) -> None:
            for chunk in chunks(ids):
                conn.execute(
                    delete(sync_action).where(
                        sync_action.c.kind == kind, sync_action.c.prod_id.in_(chunk), sync_action.c.run_id == run_id
                    )
                )

        if ids:
            self._run(work, write=True)

    def held_actions(self, kind: str, prod_ids: Iterable[int] | None = None) -> dict[int, tuple[str, str, datetime]]:
        """Claimed actions of the kind (of these records, or all): prod id → (action, run id, claimed at)."""
        columns = (sync_action.c.prod_id, sync_action.c.action, sync_action.c.run_id, sync_action.c.claimed_at)
        if prod_ids is None:
            query = select(*columns).where(sync_action.c.kind == kind)
            return self._run(lambda conn: {p: (a, r, t) for p, a, r, t in conn.execute(query)}, write=False)
        rows = self._read_chunks(
            prod_ids, lambda chunk: select(*columns).where(sync_action.c.kind == kind, sync_action.c.prod_id.in_(chunk))
        )
        return {p: (a, r, t) for p, a, r, t in rows}
