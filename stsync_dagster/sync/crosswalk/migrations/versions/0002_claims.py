"""STSync on Dagster, first schema: claims (pending rows), the processes syncing, sync issues, cursors.

The original script's rows are kept as confirmed mappings (source `legacy`); a (kind, prod_id) it holds twice
keeps its latest row.

Revision ID: 0002
Revises: 0001
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from stsync_dagster.sync.crosswalk.schema import UTCDateTime, in_list

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SOURCES = ("sync", "masterdata", "reconcile", "recovered", "legacy")
_PENDING = sa.text("state = 'pending'")


def _id_map(meta: sa.MetaData) -> sa.Table:
    return sa.Table(
        "id_map",
        meta,
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("prod_id", sa.BigInteger, nullable=False),
        sa.Column("int_id", sa.BigInteger),
        sa.Column("created_at", UTCDateTime()),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("partition", sa.String(64)),
        sa.Column("claimed_at", UTCDateTime()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("kind", "prod_id", name="pk_id_map"),
        sa.CheckConstraint("state IN ('pending', 'confirmed')", name="ck_id_map_state"),
        sa.CheckConstraint(in_list("source", SOURCES), name="ck_id_map_source"),
        sa.CheckConstraint(
            "(state = 'pending' AND int_id IS NULL) OR (state = 'confirmed' AND int_id IS NOT NULL)",
            name="ck_id_map_int_id_iff_confirmed",
        ),
        sa.Index("ix_id_map_kind_int_id", "kind", "int_id"),
        sa.Index("ix_id_map_kind_state", "kind", "state"),
        sa.Index(
            "ix_id_map_pending_claimed_at", "kind", "claimed_at", sqlite_where=_PENDING, postgresql_where=_PENDING
        ),
        sa.Index("ix_id_map_pending_run", "run_id", sqlite_where=_PENDING, postgresql_where=_PENDING),
        sqlite_with_rowid=False,
    )


def _when(text) -> datetime:
    """The original script wrote ISO times, with or without a zone (naive meant UTC)."""
    try:
        moment = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def upgrade() -> None:
    conn = op.get_bind()
    old = conn.execute(sa.text("SELECT kind, prod_id, int_id, created_at FROM id_map")).all()
    op.drop_table("id_map")
    meta = sa.MetaData()
    id_map = _id_map(meta)
    sa.Table(
        "sync_run",
        meta,
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.BigInteger, nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("run_id", "host", "pid", name="pk_sync_run"),
    )
    sa.Table(
        "sync_issue",
        meta,
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("prod_id", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.PrimaryKeyConstraint("kind", "prod_id", name="pk_sync_issue"),
        sa.CheckConstraint("status IN ('blocked', 'failed')", name="ck_sync_issue_status"),
        sa.Index("ix_sync_issue_status_first_seen", "status", "first_seen"),
    )
    sa.Table(
        "sync_cursor",
        meta,
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    meta.create_all(conn)
    latest: dict[tuple[str, int], tuple[datetime, int]] = {}
    for kind, prod_id, int_id, created_at in old:
        try:
            key, value = (str(kind), int(prod_id)), (_when(created_at), int(int_id))
        except (TypeError, ValueError):
            continue  # not an id: nothing could be mapped by it
        if key not in latest or value[0] >= latest[key][0]:
            latest[key] = value
    rows = [
        {
            "kind": k,
            "prod_id": p,
            "int_id": i,
            "created_at": t,
            "state": "confirmed",
            "updated_at": t,
            "source": "legacy",
        }
        for (k, p), (t, i) in sorted(latest.items())
    ]
    for start in range(0, len(rows), 1000):
        conn.execute(id_map.insert(), rows[start : start + 1000])
