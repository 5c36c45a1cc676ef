"""History: every write STSync makes to an Integration record (`sync_history`), for `stsync history` and the
run's table of writes.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from stsync_dagster.sync.crosswalk.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ACTIONS = ("created", "adopted", "recovered", "updated", "status_changed", "stamped", "forgotten", "reconciled")


def upgrade() -> None:
    op.create_table(
        "sync_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("asset", sa.String(64)),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("prod_id", sa.BigInteger, nullable=False),
        sa.Column("int_id", sa.BigInteger),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("fields", sa.Text),
        sa.Column("detail", sa.Text),
        sa.CheckConstraint(f"action IN ({', '.join(repr(a) for a in _ACTIONS)})", name="ck_sync_history_action"),
    )
    op.create_index("ix_sync_history_record", "sync_history", ["kind", "prod_id"])
    op.create_index("ix_sync_history_run", "sync_history", ["run_id", "asset"])
