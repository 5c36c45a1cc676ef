"""The crosswalk: which Production id became which Integration id, and the claims that make creates exactly-once.

A record is claimed (a pending row carrying the run's id) before it is created in Integration and confirmed
with its Integration id afterwards. The unique key (kind, prod_id) decides who may create: a claim is an
INSERT ... ON CONFLICT DO NOTHING, so of two runs or processes claiming the same record exactly one gets it.

Every method is one transaction and costs a handful of statements per call, never one per id: id lists are
sent in chunks of `CHUNK` to stay under the drivers' parameter limits, writes go out as executemany batches.
Backends: SQLite (a file path, or a sqlite:// URL) and PostgreSQL (psycopg 3).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Self, TypeVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

DEFAULT_DB = "stsync.sqlite3"
ENV_VAR = "STSYNC_DB"
CHUNK = 500
BUSY_TIMEOUT_S = 30.0

PENDING = "pending"
CONFIRMED = "confirmed"
STATES = (PENDING, CONFIRMED)
SOURCES = ("sync", "masterdata", "reconcile", "recovered")
BLOCKED = "blocked"
FAILED = "failed"
ISSUE_STATUSES = (BLOCKED, FAILED)

# Any constant will do: it only has to be the same in every process creating the schema.
_SCHEMA_LOCK_KEY = 0x5354_5359_4E43
# PostgreSQL deadlock_detected and serialization_failure: the transaction can simply be run again.
_RETRYABLE_SQLSTATES = {"40P01", "40001"}
_SQLITE_IMMEDIATE = "stsync_sqlite_immediate"

T = TypeVar("T")


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive, as sortable text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the crosswalk needs timezone-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# A literal, not a bound parameter: every planner (PostgreSQL's generic plans too) then sees the partial indexes fit.
_PENDING_ROW = text("state = 'pending'")
_IS_PENDING = literal_column("'pending'")

metadata = MetaData()

id_map = Table(
    "id_map",
    metadata,
    Column("kind", String(64), nullable=False),
    Column("prod_id", BigInteger, nullable=False),
    Column("int_id", BigInteger),  # NULL while pending
    Column("created_at", UTCDateTime()),  # when the mapping was confirmed
    Column("state", String(16), nullable=False),
    Column("run_id", String(64)),
    Column("partition", String(64)),
    Column("claimed_at", UTCDateTime()),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("source", String(16), nullable=False),
    PrimaryKeyConstraint("kind", "prod_id", name="pk_id_map"),
    CheckConstraint(_in("state", STATES), name="ck_id_map_state"),
    CheckConstraint(_in("source", SOURCES), name="ck_id_map_source"),
    CheckConstraint(
        "(state = 'pending' AND int_id IS NULL) OR (state = 'confirmed' AND int_id IS NOT NULL)",
        name="ck_id_map_int_id_iff_confirmed",
    ),
    Index("ix_id_map_kind_int_id", "kind", "int_id"),
    Index("ix_id_map_kind_state", "kind", "state"),
    # Pending rows are few among millions of confirmed ones; only partial indexes let both planners see that
    # (statistics hold averages per (kind, state), which make every pending query look like a full scan).
    Index(
        "ix_id_map_pending_claimed_at", "kind", "claimed_at", sqlite_where=_PENDING_ROW, postgresql_where=_PENDING_ROW
    ),
    # (run_id) alone, not (kind, run_id): SQLite then still walks the primary key; its entries end in kind anyway.
    Index("ix_id_map_pending_run", "run_id", sqlite_where=_PENDING_ROW, postgresql_where=_PENDING_ROW),
    sqlite_with_rowid=False,
)

# One row per process syncing (a Dagster run may span several step processes): tells live claims from dead ones.
sync_run = Table(
    "sync_run",
    metadata,
    Column("run_id", String(64), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", BigInteger, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("heartbeat_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    PrimaryKeyConstraint("run_id", "host", "pid", name="pk_sync_run"),
)

sync_issue = Table(
    "sync_issue",
    metadata,
    Column("kind", String(64), nullable=False),
    Column("prod_id", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", Text),
    Column("first_seen", UTCDateTime(), nullable=False),
    Column("last_seen", UTCDateTime(), nullable=False),
    Column("run_id", String(64)),
    PrimaryKeyConstraint("kind", "prod_id", name="pk_sync_issue"),
    CheckConstraint(_in("status", ISSUE_STATUSES), name="ck_sync_issue_status"),
    Index("ix_sync_issue_status_first_seen", "status", "first_seen"),
)

sync_cursor = Table(
    "sync_cursor",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)


@dataclass(frozen=True)
class Entry:
    prod_id: int
    int_id: int | None
    state: str
    run_id: str | None
    claimed_at: datetime | None
    source: str


@dataclass(frozen=True)
class Issue:
    kind: str
    prod_id: int
    status: str
    reason: str
    detail: str | None
    first_seen: datetime
    last_seen: datetime
    run_id: str | None


@dataclass(frozen=True)
class RecordCounts:
    """What `Crosswalk.record` did: counts, and the ids behind the two that changed something."""

    inserted: int
    updated: int
    unchanged: int
    inserted_ids: frozenset[int] = frozenset()
    updated_ids: frozenset[int] = frozenset()


def database_url(value: str) -> str:
    """`STSYNC_DB` → SQLAlchemy URL: a path becomes sqlite:///path; postgresql:// gets the psycopg 3 driver."""
    value = value.strip()
    if not value:
        raise ValueError(f"{ENV_VAR} is empty: give a file path or a SQLAlchemy URL")
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser()}"
    for prefix in ("postgresql://", "postgres://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix) :]
    return value


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}={value!r} is naive: the crosswalk needs timezone-aware datetimes")
    return value


def _ids(values: Iterable[int]) -> list[int]:
    """Distinct ids in ascending order: rows are always locked in the same order, so writers cannot deadlock."""
    return sorted({int(v) for v in values})


def _chunks(ids: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _entry(row) -> Entry:
    return Entry(row.prod_id, row.int_id, row.state, row.run_id, row.claimed_at, row.source)


_ENTRY_COLUMNS = (
    id_map.c.prod_id,
    id_map.c.int_id,
    id_map.c.state,
    id_map.c.run_id,
    id_map.c.claimed_at,
    id_map.c.source,
)


def _sqlite_file(database: str | None) -> Path | None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _set_wal(cursor, busy_timeout_s: float) -> None:
    """Switching to WAL needs a moment alone with the file and may answer "locked" without waiting."""
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _configure_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # pysqlite's own transaction handling begins late (only before DML); we emit BEGIN ourselves instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        _set_wal(cursor, busy_timeout_s)
        # FULL, not NORMAL: a claim must be on disk before the create it guards is sent.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Writers take the write lock up front, so the busy timeout applies and a read-then-write transaction
        # never fails halfway with SQLITE_BUSY; readers use WAL snapshots and never wait.
        immediate = connection.get_execution_options().get(_SQLITE_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Crosswalk:
    """Production id ↔ Integration id per kind, with claims, sync issues and cursors. Thread-safe."""

    def __init__(self, url_or_path: str = DEFAULT_DB, *, busy_timeout_s: float = BUSY_TIMEOUT_S):
        url = make_url(database_url(url_or_path))
        self.url = url.render_as_string(hide_password=True)  # for display: a password never leaves the engine
        backend = url.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(
                f"{ENV_VAR}: unsupported database {backend!r} in {self.url};"
                " use a file path, a sqlite:// URL or a postgresql:// URL"
            )
        self.dialect = backend
        if backend == "sqlite":
            path = _sqlite_file(url.database)
            if path is None:  # in memory: one shared connection, or every connection sees its own empty db
                engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
            else:
                path.expanduser().parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(url)
            _configure_sqlite(engine, busy_timeout_s)
            self._insert = sqlite_dialect.insert
        else:
            engine = create_engine(url, pool_pre_ping=True)
            self._insert = pg_dialect.insert
        self.engine = engine
        self._schema_lock = threading.Lock()
        self._schema_ready = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Crosswalk:
        environ = os.environ if environ is None else environ
        return cls(environ.get(ENV_VAR) or DEFAULT_DB)

    def __repr__(self) -> str:
        return f"Crosswalk({self.url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    # -- plumbing ---------------------------------------------------------------------------------------------

    @contextmanager
    def _begin(self, write: bool) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if write:
                conn.execution_options(**{_SQLITE_IMMEDIATE: True})
            with conn.begin():
                yield conn

    def ensure_schema(self) -> None:
        """Create the tables if they are missing. Idempotent; safe when several processes do it at once."""
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            with self._begin(write=True) as conn:
                if self.dialect == "postgresql":
                    # Concurrent CREATE TABLEs of the same name collide in the catalog: take turns.
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
                metadata.create_all(conn)
            self._schema_ready = True

    def _run(self, work: Callable[[Connection], T], *, write: bool) -> T:
        """Run `work` in one transaction (schema created first), again if PostgreSQL aborted it for a deadlock."""
        self.ensure_schema()
        attempts = 5
        for attempt in range(attempts):
            try:
                with self._begin(write) as conn:
                    return work(conn)
            except DBAPIError as exc:
                sqlstate = getattr(exc.orig, "sqlstate", None)
                if sqlstate not in _RETRYABLE_SQLSTATES or attempt == attempts - 1:
                    raise
                time.sleep(0.02 * 2**attempt)
        raise AssertionError("unreachable")

    def _select_entries(self, conn: Connection, kind: str, ids: list[int]) -> dict[int, Entry]:
        found: dict[int, Entry] = {}
        for chunk in _chunks(ids):
            query = select(*_ENTRY_COLUMNS).where(id_map.c.kind == kind, id_map.c.prod_id.in_(chunk))
            for row in conn.execute(query):
                found[row.prod_id] = _entry(row)
        return found

    # -- reads ------------------------------------------------------------------------------------------------

    def lookup(self, kind: str, prod_ids: Iterable[int]) -> dict[int, Entry]:
        """Every row (pending or confirmed) for these Production ids; ids without a row are absent."""
        ids = _ids(prod_ids)
        if not ids:
            return {}
        return self._run(lambda conn: self._select_entries(conn, kind, ids), write=False)

    def int_ids(self, kind: str, prod_ids: Iterable[int]) -> dict[int, int]:
        """Production id → Integration id, confirmed mappings only."""
        ids = _ids(prod_ids)
        if not ids:
            return {}

        def work(conn: Connection) -> dict[int, int]:
            found: dict[int, int] = {}
            for chunk in _chunks(ids):
                query = select(id_map.c.prod_id, id_map.c.int_id).where(
                    id_map.c.kind == kind, id_map.c.state == CONFIRMED, id_map.c.prod_id.in_(chunk)
                )
                found.update(conn.execute(query).all())
            return found

        return self._run(work, write=False)

    def find_by_int_id(self, kind: str, int_ids: Iterable[int]) -> dict[int, int]:
        """Integration id → Production id. Should two Production ids share one, the lowest wins."""
        ids = _ids(int_ids)
        if not ids:
            return {}

        def work(conn: Connection) -> dict[int, int]:
            found: dict[int, int] = {}
            for chunk in _chunks(ids):
                # Only confirmed rows have an int_id (a CHECK constraint says so): the index alone answers this.
                query = select(id_map.c.int_id, id_map.c.prod_id).where(
                    id_map.c.kind == kind, id_map.c.int_id.in_(chunk)
                )
                for int_id, prod_id in conn.execute(query):
                    found[int_id] = min(prod_id, found.get(int_id, prod_id))
            return found

        return self._run(work, write=False)

    def stale_claims(self, kind: str, older_than: datetime, limit: int | None = None) -> list[Entry]:
        """Pending rows claimed before `older_than`, by any run, oldest first."""
        _aware(older_than, "older_than")
        query = (
            select(*_ENTRY_COLUMNS)
            .where(id_map.c.kind == kind, id_map.c.state == _IS_PENDING, id_map.c.claimed_at < older_than)
            .order_by(id_map.c.claimed_at, id_map.c.prod_id)
            .limit(limit)
        )
        return self._run(lambda conn: [_entry(row) for row in conn.execute(query)], write=False)

    def pending_of_run(self, kind: str, run_id: str) -> list[Entry]:
        """This run's pending rows, by Production id."""
        query = select(*_ENTRY_COLUMNS).where(
            id_map.c.kind == kind, id_map.c.state == _IS_PENDING, id_map.c.run_id == run_id
        )  # sorted here, not in SQL: an ORDER BY prod_id would tempt SQLite into walking the primary key instead
        entries = self._run(lambda conn: [_entry(row) for row in conn.execute(query)], write=False)
        return sorted(entries, key=lambda entry: entry.prod_id)

    # -- the processes that sync (see runs.py) ----------------------------------------------------------------

    def register_process(self, run_id: str, host: str, pid: int) -> None:
        now = _now()
        key = (sync_run.c.run_id == run_id) & (sync_run.c.host == host) & (sync_run.c.pid == pid)

        def work(conn: Connection) -> None:
            conn.execute(delete(sync_run).where(key))
            conn.execute(
                sync_run.insert().values(
                    run_id=run_id, host=host, pid=pid, started_at=now, heartbeat_at=now, finished_at=None
                )
            )

        self._run(work, write=True)

    def mark_process(self, run_id: str, host: str, pid: int, *, finished: bool = False) -> None:
        """A heartbeat, or the end of the process's work."""
        key = (sync_run.c.run_id == run_id) & (sync_run.c.host == host) & (sync_run.c.pid == pid)
        values = {"finished_at": _now()} if finished else {"heartbeat_at": _now()}
        self._run(lambda conn: conn.execute(update(sync_run).where(key).values(**values)), write=True)

    def processes(self, run_id: str) -> list[tuple[str, int, datetime, datetime | None]]:
        """(host, pid, last heartbeat, finished at) of every process registered for the run."""
        query = select(sync_run.c.host, sync_run.c.pid, sync_run.c.heartbeat_at, sync_run.c.finished_at).where(
            sync_run.c.run_id == run_id
        )
        return self._run(lambda conn: [tuple(row) for row in conn.execute(query)], write=False)

    def sample(self, kind: str, size: int) -> dict[int, int]:
        """Up to `size` confirmed mappings of `kind`, chosen at random (for integrity checks)."""
        query = (
            select(id_map.c.prod_id, id_map.c.int_id)
            .where(id_map.c.kind == kind, id_map.c.state == CONFIRMED)
            .order_by(func.random())
            .limit(size)
        )
        return self._run(lambda conn: dict(conn.execute(query).all()), write=False)

    def counts(self, kind: str | None = None) -> dict[tuple[str, str], int]:
        """Number of rows per (kind, state)."""
        query = select(id_map.c.kind, id_map.c.state, func.count()).group_by(id_map.c.kind, id_map.c.state)
        if kind is not None:
            query = query.where(id_map.c.kind == kind)
        return self._run(lambda conn: {(k, s): n for k, s, n in conn.execute(query)}, write=False)

    # -- claims -----------------------------------------------------------------------------------------------

    def claim(self, kind: str, prod_ids: Iterable[int], run_id: str, partition: str | None = None) -> set[int]:
        """Insert pending rows for the ids that have no row at all; return the ids this call claimed.

        Exclusive: of concurrent callers (threads, processes, PostgreSQL connections) exactly one gets each id.
        """
        ids = _ids(prod_ids)
        if not ids:
            return set()

        def work(conn: Connection) -> set[int]:
            now = _now()
            rows = [
                {
                    "kind": kind,
                    "prod_id": prod_id,
                    "state": PENDING,
                    "run_id": run_id,
                    "partition": partition,
                    "claimed_at": now,
                    "updated_at": now,
                    "source": "sync",
                }
                for prod_id in ids
            ]
            statement = (
                self._insert(id_map)
                .on_conflict_do_nothing(index_elements=["kind", "prod_id"])
                .returning(id_map.c.prod_id)
            )
            # RETURNING yields exactly the rows this statement inserted: conflicting ids come back as nothing.
            return set(conn.execute(statement, rows).scalars())

        return self._run(work, write=True)

    def confirm(self, kind: str, pairs: Mapping[int, int], run_id: str) -> set[int]:
        """Pending → confirmed with the Integration id. Returns the Production ids now mapped to the given ids.

        Any pending claim is confirmed, not only the caller's: the caller holds the Integration id, which beats
        a claim (another run may have taken the claim over while this one's create was still in flight). An id
        missing from the result was released, never claimed, or is confirmed to another Integration id: the
        caller reports it (a confirmed mapping is never overwritten here).
        """
        wanted = {int(prod_id): int(int_id) for prod_id, int_id in pairs.items()}
        if not wanted:
            return set()

        def work(conn: Connection) -> set[int]:
            now = _now()
            statement = (
                update(id_map)
                .where(id_map.c.kind == kind, id_map.c.prod_id == bindparam("b_prod"), id_map.c.state == PENDING)
                .values(int_id=bindparam("b_int"), state=CONFIRMED, run_id=run_id, created_at=now, updated_at=now)
            )
            conn.execute(statement, [{"b_prod": p, "b_int": i} for p, i in sorted(wanted.items())])
            found = self._select_entries(conn, kind, sorted(wanted))
            return {p for p, e in found.items() if e.state == CONFIRMED and e.int_id == wanted[p]}

        return self._run(work, write=True)

    def release(self, kind: str, prod_ids: Iterable[int], run_id: str) -> set[int]:
        """Delete this run's own pending rows (the create certainly did not happen); return the ids released."""
        ids = _ids(prod_ids)
        if not ids:
            return set()

        def work(conn: Connection) -> set[int]:
            released: set[int] = set()
            for chunk in _chunks(ids):
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
        _aware(claimed_before, "claimed_before")
        claims = list(claims)
        expected = {c.prod_id: c for c in claims if isinstance(c, Entry)}
        plain = _ids(c for c in claims if not isinstance(c, Entry))
        if not plain and not expected:
            return set()

        def work(conn: Connection) -> set[int]:
            now = _now()
            values: dict = {"run_id": run_id, "claimed_at": now, "updated_at": now}
            if partition is not None:
                values["partition"] = partition
            stale = update(id_map).where(
                id_map.c.kind == kind, id_map.c.state == PENDING, id_map.c.claimed_at < claimed_before
            )
            statements = [stale.where(id_map.c.prod_id.in_(chunk)) for chunk in _chunks(plain)]
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

    # -- confirmed mappings from elsewhere --------------------------------------------------------------------

    def record(self, kind: str, pairs: Mapping[int, int], source: str, run_id: str | None = None) -> RecordCounts:
        """Upsert confirmed mappings found outside a create (master data, reconcile, recovery).

        A row already confirmed with the same Integration id is left alone; a pending row, or one mapped to
        another Integration id, is overwritten.
        """
        if source not in SOURCES:
            raise ValueError(f"source {source!r} is not one of {SOURCES}")
        wanted = {int(prod_id): int(int_id) for prod_id, int_id in pairs.items()}
        if not wanted:
            return RecordCounts(0, 0, 0)

        def work(conn: Connection) -> RecordCounts:
            existed = set(self._select_entries(conn, kind, sorted(wanted)))
            now = _now()
            rows = [
                {
                    "kind": kind,
                    "prod_id": prod_id,
                    "int_id": int_id,
                    "created_at": now,
                    "state": CONFIRMED,
                    "run_id": run_id,
                    "updated_at": now,
                    "source": source,
                }
                for prod_id, int_id in sorted(wanted.items())
            ]
            insert = self._insert(id_map)
            excluded = insert.excluded
            statement = insert.on_conflict_do_update(
                index_elements=["kind", "prod_id"],
                set_={
                    "int_id": excluded.int_id,
                    "state": excluded.state,
                    "created_at": excluded.created_at,
                    "updated_at": excluded.updated_at,
                    "run_id": excluded.run_id,
                    "source": excluded.source,
                },
                where=or_(id_map.c.state != CONFIRMED, id_map.c.int_id != excluded.int_id),
            ).returning(id_map.c.prod_id)
            written = set(conn.execute(statement, rows).scalars())
            inserted, updated = written - existed, written & existed
            return RecordCounts(
                inserted=len(inserted),
                updated=len(updated),
                unchanged=len(wanted) - len(written),
                inserted_ids=frozenset(inserted),
                updated_ids=frozenset(updated),
            )

        return self._run(work, write=True)

    # -- blocked and failed records ---------------------------------------------------------------------------

    def set_issues(self, kind: str, issues: Mapping[int, tuple[str, str, str | None]], run_id: str | None) -> None:
        """Upsert (status, reason, detail) per Production id; `first_seen` is kept, `last_seen` moves on."""
        if not issues:
            return
        for status, _reason, _detail in issues.values():
            if status not in ISSUE_STATUSES:
                raise ValueError(f"issue status {status!r} is not one of {ISSUE_STATUSES}")

        def work(conn: Connection) -> None:
            now = _now()
            rows = [
                {
                    "kind": kind,
                    "prod_id": int(prod_id),
                    "status": status,
                    "reason": reason,
                    "detail": detail,
                    "first_seen": now,
                    "last_seen": now,
                    "run_id": run_id,
                }
                for prod_id, (status, reason, detail) in sorted(issues.items())
            ]
            insert = self._insert(sync_issue)
            excluded = insert.excluded
            statement = insert.on_conflict_do_update(
                index_elements=["kind", "prod_id"],
                set_={
                    "status": excluded.status,
                    "reason": excluded.reason,
                    "detail": excluded.detail,
                    "last_seen": excluded.last_seen,
                    "run_id": excluded.run_id,
                },
            )
            conn.execute(statement, rows)

        self._run(work, write=True)

    def clear_issues(self, kind: str, prod_ids: Iterable[int]) -> int:
        """Forget the issues of these records (they were copied, or skipped); return how many there were."""
        ids = _ids(prod_ids)
        if not ids:
            return 0

        def work(conn: Connection) -> int:
            cleared = 0
            for chunk in _chunks(ids):
                statement = delete(sync_issue).where(sync_issue.c.kind == kind, sync_issue.c.prod_id.in_(chunk))
                cleared += conn.execute(statement).rowcount
            return cleared

        return self._run(work, write=True)

    def issues(
        self,
        kind: str | None = None,
        status: str | None = None,
        *,
        prod_ids: Iterable[int] | None = None,
        first_seen_before: datetime | None = None,
    ) -> list[Issue]:
        """Recorded issues, by kind then Production id, optionally filtered."""
        conditions = []
        if kind is not None:
            conditions.append(sync_issue.c.kind == kind)
        if status is not None:
            conditions.append(sync_issue.c.status == status)
        if first_seen_before is not None:
            _aware(first_seen_before, "first_seen_before")
            conditions.append(sync_issue.c.first_seen < first_seen_before)
        ids = None if prod_ids is None else _ids(prod_ids)
        if ids is not None and not ids:
            return []

        def work(conn: Connection) -> list[Issue]:
            query = select(sync_issue).where(*conditions).order_by(sync_issue.c.kind, sync_issue.c.prod_id)
            queries = [query] if ids is None else [query.where(sync_issue.c.prod_id.in_(c)) for c in _chunks(ids)]
            return [Issue(**row._mapping) for q in queries for row in conn.execute(q)]

        found = self._run(work, write=False)
        return found if ids is None else sorted(found, key=lambda issue: (issue.kind, issue.prod_id))

    # -- cursors ----------------------------------------------------------------------------------------------

    def cursor_get(self, name: str) -> str | None:
        query = select(sync_cursor.c.value).where(sync_cursor.c.name == name)
        return self._run(lambda conn: conn.execute(query).scalar_one_or_none(), write=False)

    def cursor_set(self, name: str, value: str) -> None:
        def work(conn: Connection) -> None:
            insert = self._insert(sync_cursor).values(name=name, value=value, updated_at=_now())
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["name"],
                    set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at},
                )
            )

        self._run(work, write=True)
