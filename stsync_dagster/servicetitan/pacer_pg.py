"""The pacer's next free slot in PostgreSQL: one budget for processes on any number of machines.

One row per tenant key, read and advanced in one statement, on the database server's clock (so machines
whose clocks disagree still agree on the slots). The table is created when absent.
"""

from __future__ import annotations

import hashlib

import psycopg

from .pacer_slots import MAX_AHEAD

TABLE = "stsync_pacer"

_CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    key text PRIMARY KEY,
    next_free double precision NOT NULL  -- seconds since the epoch, on the server's clock
)"""
# statement_timestamp() is one value for the whole statement: EXCLUDED.next_free - interval is "now".
_TAKE = f"""
INSERT INTO {TABLE} AS p (key, next_free)
VALUES (%(key)s, extract(epoch FROM statement_timestamp())::float8 + %(interval)s)
ON CONFLICT (key) DO UPDATE SET next_free = CASE
    WHEN p.next_free > EXCLUDED.next_free + %(max_ahead)s THEN EXCLUDED.next_free
    ELSE GREATEST(p.next_free + %(interval)s, EXCLUDED.next_free) END
RETURNING next_free - %(interval)s - extract(epoch FROM statement_timestamp())::float8"""
_PUSH = f"""
INSERT INTO {TABLE} AS p (key, next_free)
VALUES (%(key)s, extract(epoch FROM statement_timestamp())::float8 + %(seconds)s)
ON CONFLICT (key) DO UPDATE SET next_free = GREATEST(p.next_free, EXCLUDED.next_free)"""


def is_postgres_url(value: str | None) -> bool:
    scheme = (value or "").strip().split("://", 1)[0].lower()
    return "://" in (value or "") and scheme.split("+", 1)[0] in ("postgresql", "postgres")


def libpq_url(value: str) -> str:
    """`postgresql+psycopg://…` (a SQLAlchemy URL, as STSYNC_DB may be) → `postgresql://…` for libpq."""
    scheme, rest = value.strip().split("://", 1)
    return f"postgresql://{rest}" if scheme.split("+", 1)[0].lower() in ("postgresql", "postgres") else value


class PostgresSlots:
    """Raises psycopg.Error when the database cannot be used (the caller falls back to a local store)."""

    shared = True

    def __init__(self, url: str, key: str, connect_timeout: float = 5.0) -> None:
        self.key = key
        self._url = libpq_url(url)
        self._timeout = connect_timeout
        self._conn: psycopg.Connection | None = None
        conn = self._connection()
        # Several processes may start at once: CREATE TABLE IF NOT EXISTS alone can race, a lock cannot.
        lock_id = int.from_bytes(hashlib.sha256(TABLE.encode()).digest()[:8], "big", signed=True)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id,))
            conn.execute(_CREATE)

    def take(self, interval: float) -> float:
        row = self._run(_TAKE, {"key": self.key, "interval": interval, "max_ahead": MAX_AHEAD}).fetchone()
        return float(row[0])

    def push(self, seconds: float) -> None:
        self._run(_PUSH, {"key": self.key, "seconds": seconds})

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._url, autocommit=True, connect_timeout=max(1, int(self._timeout)), application_name="stsync-pacer"
            )
        return self._conn

    def _run(self, sql: str, params: dict):
        try:
            return self._connection().execute(sql, params)
        except psycopg.OperationalError:
            self.close()  # a dropped connection: one fresh one, then give up
            return self._connection().execute(sql, params)
