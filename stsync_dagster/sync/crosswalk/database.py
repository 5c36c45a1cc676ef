"""The crosswalk's database: engines for SQLite and PostgreSQL, one transaction per call, the database's clock,
and the schema brought to the head revision on first use."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Self, TypeVar

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine, Row, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql import Select

from stsync_dagster.servicetitan.redact import masked_url
from stsync_dagster.settings import default_db
from stsync_dagster.sync.crosswalk import migrations
from stsync_dagster.sync.crosswalk.schema import id_map

ENV_VAR = "STSYNC_DB"
CHUNK = 500
BUSY_TIMEOUT_S = 30.0

# Any constant will do: it only has to be the same in every process creating the schema.
_SCHEMA_LOCK_KEY = 0x5354_5359_4E43
# PostgreSQL deadlock_detected and serialization_failure: the transaction can simply be run again.
_RETRYABLE_SQLSTATES = {"40P01", "40001"}
_SQLITE_IMMEDIATE = "stsync_sqlite_immediate"

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    prod_id: int
    int_id: int | None
    state: str
    run_id: str | None
    claimed_at: datetime | None
    source: str
    fingerprint: str | None = None  # of what STSync last wrote (None: written before updates were tracked)
    written_at: datetime | None = None  # Integration's modifiedOn right after that write
    sent_at: datetime | None = None  # a pending claim's create went out (None: never sent)


ENTRY_COLUMNS = (
    id_map.c.prod_id,
    id_map.c.int_id,
    id_map.c.state,
    id_map.c.run_id,
    id_map.c.claimed_at,
    id_map.c.source,
    id_map.c.fingerprint,
    id_map.c.written_at,
    id_map.c.sent_at,
)


def entry(row) -> Entry:
    return Entry(
        row.prod_id,
        row.int_id,
        row.state,
        row.run_id,
        row.claimed_at,
        row.source,
        row.fingerprint,
        row.written_at,
        row.sent_at,
    )


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


def aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}={value!r} is naive: the crosswalk needs timezone-aware datetimes")
    return value


def distinct_ids(values: Iterable[int]) -> list[int]:
    """Distinct ids in ascending order: rows are always locked in the same order, so writers cannot deadlock."""
    return sorted({int(v) for v in values})


def chunks(ids: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def keyed_rows(kind: str, per_id: Iterable[tuple[int, Mapping]], **common) -> list[dict]:
    """Rows of a table keyed by (kind, prod_id): each id's own values, and the values every row shares."""
    return [{"kind": kind, "prod_id": int(prod_id), **own, **common} for prod_id, own in per_id]


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


class Database:
    """Connections, transactions and the schema of one crosswalk database. Thread-safe."""

    def __init__(self, url_or_path: str | None = None, *, busy_timeout_s: float = BUSY_TIMEOUT_S):
        url = make_url(database_url(url_or_path or default_db()))
        # for display: a password (in the userinfo or the query) never leaves the engine
        self.url = masked_url(url.render_as_string(hide_password=True))
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
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        import os

        environ = os.environ if environ is None else environ
        return cls(environ.get(ENV_VAR) or None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _begin(self, write: bool) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if write:
                conn.execution_options(**{_SQLITE_IMMEDIATE: True})
            with conn.begin():
                yield conn

    def ensure_schema(self) -> None:
        """Bring the schema to the head revision. Idempotent; safe when several processes do it at once."""
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            with self._begin(write=True) as conn:
                if self.dialect == "postgresql":
                    # Concurrent CREATE TABLEs of the same name collide in the catalog: take turns.
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
                migrations.upgrade(conn, self.url)
            self._schema_ready = True

    def _run(self, work: Callable[[Connection], T], *, write: bool) -> T:
        """Run `work` in one transaction (schema ready first), again if PostgreSQL aborted it for a deadlock."""
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

    def _now(self, conn: Connection) -> datetime:
        """The database's clock (PostgreSQL's, shared by every host); SQLite is one machine's file: its clock."""
        if self.dialect == "postgresql":
            return conn.execute(select(func.now())).scalar_one().astimezone(UTC)
        return datetime.now(UTC)

    def _upsert(self, table, updated: Iterable[str], where: Callable | None = None):
        """INSERT … ON CONFLICT (kind, prod_id) DO UPDATE: the `updated` columns take the offered row's values
        (only where `where`, given the offered row, holds)."""
        insert = self._insert(table)
        excluded = insert.excluded
        return insert.on_conflict_do_update(
            index_elements=["kind", "prod_id"],
            set_={name: excluded[name] for name in updated},
            where=where(excluded) if where else None,
        )

    def _read_chunks(self, values: Iterable[int], query_for: Callable[[list[int]], Select]) -> list[Row]:
        """The rows `query_for` selects for each chunk of the distinct `values`, read in one transaction."""
        ids = distinct_ids(values)
        if not ids:
            return []
        return self._run(
            lambda conn: [row for chunk in chunks(ids) for row in conn.execute(query_for(chunk))], write=False
        )

    def now(self) -> datetime:
        return self._run(self._now, write=False)

    def _select_entries(self, conn: Connection, kind: str, ids: list[int]) -> dict[int, Entry]:
        found: dict[int, Entry] = {}
        for chunk in chunks(ids):
            query = select(*ENTRY_COLUMNS).where(id_map.c.kind == kind, id_map.c.prod_id.in_(chunk))
            for row in conn.execute(query):
                found[row.prod_id] = entry(row)
        return found
