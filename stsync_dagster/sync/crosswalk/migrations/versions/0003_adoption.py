"""Adoption: a mapping may come from what Integration already held (source `adopted`, with the `rule` that
matched); cursors, never used, are dropped.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from stsync_dagster.sync.crosswalk.schema import SOURCES, id_map_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COLUMNS = "kind, prod_id, int_id, created_at, state, run_id, partition, claimed_at, updated_at, source"


def upgrade() -> None:
    conn = op.get_bind()
    # A CHECK constraint cannot be altered in SQLite: the table is rebuilt (within this transaction).
    op.execute("CREATE TABLE id_map_0002 AS SELECT * FROM id_map")
    op.drop_table("id_map")
    id_map_table(sa.MetaData(), SOURCES, updates=False).create(conn)  # the table as of this revision
    op.execute(f"INSERT INTO id_map ({_COLUMNS}, rule) SELECT {_COLUMNS}, NULL FROM id_map_0002")
    op.drop_table("id_map_0002")
    op.drop_table("sync_cursor")
