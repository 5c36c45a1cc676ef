"""The crosswalk's tables as the code uses them (the head revision of migrations/), and their column types.

`id_map` keeps the original script's columns (kind, prod_id, int_id, created_at) and adds what exactly-once
creates need: a pending state carrying the claiming run, and how a confirmed mapping was found (`source`:
created by a sync, adopted from what Integration already held, and by which `rule`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    literal_column,
    text,
)

PENDING = "pending"
CONFIRMED = "confirmed"
STATES = (PENDING, CONFIRMED)
# sync: created by a sync; adopted: Integration already held it (see `rule`); legacy: the original script's row.
SOURCES = ("sync", "masterdata", "reconcile", "recovered", "adopted", "legacy")
BLOCKED = "blocked"
FAILED = "failed"
DEFERRED = "deferred"
ISSUE_STATUSES = (BLOCKED, FAILED, DEFERRED)


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


def in_list(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# A literal, not a bound parameter: every planner (PostgreSQL's generic plans too) then sees the partial indexes fit.
PENDING_ROW = text("state = 'pending'")
IS_PENDING = literal_column("'pending'")

metadata = MetaData()


def record_columns() -> tuple[Column, Column]:
    """(kind, prod_id): a Production record, as every table that speaks of one names it."""
    return Column("kind", String(64), nullable=False), Column("prod_id", BigInteger, nullable=False)


def id_map_table(meta: MetaData, sources: Iterable[str], *, updates: bool = True) -> Table:
    """id_map with the given allowed sources; `updates=False`: as of revision 0003 (before what 0004 added)."""
    # What STSync last wrote (the fields it copies, and the status): updates patch what changed since.
    written = [
        Column("fingerprint", String(64)),
        Column("written_at", UTCDateTime()),  # Integration's modifiedOn after that write (later: edited there)
        Column("sent_at", UTCDateTime()),  # a pending claim's create was sent (NULL: never, it can be retaken)
    ]
    return Table(
        "id_map",
        meta,
        *record_columns(),
        Column("int_id", BigInteger),  # NULL while pending
        Column("created_at", UTCDateTime()),  # when the mapping was confirmed
        Column("state", String(16), nullable=False),
        Column("run_id", String(64)),
        Column("partition", String(64)),
        Column("claimed_at", UTCDateTime()),
        Column("updated_at", UTCDateTime(), nullable=False),
        Column("source", String(16), nullable=False),
        Column("rule", String(32)),  # for adopted rows: stamp, same-id, natural-key
        *(written if updates else []),
        PrimaryKeyConstraint("kind", "prod_id", name="pk_id_map"),
        CheckConstraint(in_list("state", STATES), name="ck_id_map_state"),
        CheckConstraint(in_list("source", sources), name="ck_id_map_source"),
        CheckConstraint(
            "(state = 'pending' AND int_id IS NULL) OR (state = 'confirmed' AND int_id IS NOT NULL)",
            name="ck_id_map_int_id_iff_confirmed",
        ),
        Index("ix_id_map_kind_int_id", "kind", "int_id"),
        Index("ix_id_map_kind_state", "kind", "state"),
        # Pending rows are few among millions of confirmed ones; only partial indexes let both planners see that.
        Index(
            "ix_id_map_pending_claimed_at", "kind", "claimed_at", sqlite_where=PENDING_ROW, postgresql_where=PENDING_ROW
        ),
        # (run_id) alone, not (kind, run_id): SQLite then still walks the primary key; its entries end in kind anyway.
        Index("ix_id_map_pending_run", "run_id", sqlite_where=PENDING_ROW, postgresql_where=PENDING_ROW),
        sqlite_with_rowid=False,
    )


id_map = id_map_table(metadata, SOURCES)

# One row per process syncing (a Dagster run may span several step processes): tells live claims from dead ones.
# Heartbeats are written with the database's clock, so hosts with skewed clocks agree on what is fresh.
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
    *record_columns(),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", Text),
    Column("first_seen", UTCDateTime(), nullable=False),
    Column("last_seen", UTCDateTime(), nullable=False),
    Column("run_id", String(64)),
    Column("attempts", Integer, nullable=False, server_default="1"),  # runs that left it behind
    Column("retry_after", UTCDateTime()),  # tried again from then (null: by the next run)
    Column("waits_on", String(96)),  # the reference whose counterpart would heal it: "kind:prod_id"
    Column("config_print", String(64)),  # the config it was judged with: another config tries it again
    PrimaryKeyConstraint("kind", "prod_id", name="pk_sync_issue"),
    CheckConstraint(in_list("status", ISSUE_STATUSES), name="ck_sync_issue_status"),
    Index("ix_sync_issue_status_first_seen", "status", "first_seen"),
)

# A status change is not idempotent: claimed here while it is sent, like a create in id_map.
sync_action = Table(
    "sync_action",
    metadata,
    *record_columns(),
    Column("action", String(32), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("claimed_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("kind", "prod_id", name="pk_sync_action"),
)

# Every write STSync makes to an Integration record (created, adopted, updated, status changed…), one row each,
# written in the transaction of the crosswalk change it goes with: `stsync history` tells a record's story.
HISTORY_ACTIONS = ("created", "adopted", "recovered", "updated", "status_changed", "stamped", "forgotten", "reconciled")
# What `stsync undo` does to a record (with `undoes`: the run it takes back; a `forgotten` row may carry one too).
UNDO_ACTIONS = ("deleted", "deactivated", "canceled", "restored")


def history_table(meta: MetaData) -> Table:
    return Table(
        "sync_history",
        meta,
        # INTEGER on SQLite: only that type makes the column the rowid, numbered by the database.
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("at", UTCDateTime(), nullable=False),
        Column("run_id", String(64)),
        Column("asset", String(64)),  # the asset (or copy) being synced; a pulled-in material: its PO's
        *record_columns(),
        Column("int_id", BigInteger),
        Column("action", String(16), nullable=False),
        Column("fields", Text),  # the fields written, comma-separated (an update's patch)
        Column("detail", Text),  # how (an adoption's rule, the status steps sent)
        # JSON: the Integration values an update replaced ({"fields": {...}, "status": ...}); NULL before 0008
        Column("before", Text),
        Column("undoes", String(64)),  # the run an undo row takes back
        CheckConstraint(in_list("action", HISTORY_ACTIONS + UNDO_ACTIONS), name="ck_sync_history_action"),
        Index("ix_sync_history_record", "kind", "prod_id"),
        Index("ix_sync_history_run", "run_id", "asset"),
        Index("ix_sync_history_undoes", "undoes"),
        Index("ix_sync_history_kind_int_id", "kind", "int_id"),
    )


sync_history = history_table(metadata)
