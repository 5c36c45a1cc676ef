"""A claim says whether its create was sent: `id_map.sent_at`, set just before a batch's creates go out. A claim
of a run that is gone whose create was never sent is retaken at once, not after the server timeout. Claims
pending before this revision are taken as sent (the safe side: they wait the timeout, as before).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from stsync_dagster.sync.crosswalk.schema import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("id_map") as table:
        table.add_column(sa.Column("sent_at", UTCDateTime()))
    op.execute("UPDATE id_map SET sent_at = claimed_at WHERE state = 'pending'")
