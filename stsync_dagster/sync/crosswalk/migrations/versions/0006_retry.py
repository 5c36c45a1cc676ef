"""Retry with reason: a record left behind is tried again when something that could heal it changed, else after
a backoff. `sync_issue` gains how many runs left it (`attempts`), when it is due again (`retry_after`, null: the
next run), the reference it waits on (`waits_on`, "kind:prod_id") and the config it was judged with.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from stsync_dagster.sync.crosswalk.schema import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_issue") as table:
        table.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="1"))
        table.add_column(sa.Column("retry_after", UTCDateTime()))
        table.add_column(sa.Column("waits_on", sa.String(96)))
        table.add_column(sa.Column("config_print", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("sync_issue") as table:
        for name in ("config_print", "waits_on", "retry_after", "attempts"):
            table.drop_column(name)
