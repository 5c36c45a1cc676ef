"""Following Production: what STSync last wrote per record (its `fingerprint` and `written_at`), deferred
records kept with the blocked and failed ones, and claims of status changes (`sync_action`).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from stsync_dagster.sync.crosswalk.schema import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("id_map", sa.Column("fingerprint", sa.String(64)))
    op.add_column("id_map", sa.Column("written_at", UTCDateTime()))
    # The CHECK on sync_issue.status gains 'deferred': SQLite cannot alter a CHECK, so the table is rebuilt.
    op.execute("CREATE TABLE sync_issue_0003 AS SELECT * FROM sync_issue")
    op.drop_table("sync_issue")
    op.create_table(
        "sync_issue",
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("prod_id", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.PrimaryKeyConstraint("kind", "prod_id", name="pk_sync_issue"),
        sa.CheckConstraint("status IN ('blocked', 'failed', 'deferred')", name="ck_sync_issue_status"),
    )
    op.create_index("ix_sync_issue_status_first_seen", "sync_issue", ["status", "first_seen"])
    columns = "kind, prod_id, status, reason, detail, first_seen, last_seen, run_id"
    op.execute(f"INSERT INTO sync_issue ({columns}) SELECT {columns} FROM sync_issue_0003")
    op.drop_table("sync_issue_0003")
    op.create_table(
        "sync_action",
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("prod_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "prod_id", name="pk_sync_action"),
    )
