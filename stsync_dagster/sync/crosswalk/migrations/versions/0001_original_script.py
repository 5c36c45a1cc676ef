"""The original STSync script's table: id_map(kind, prod_id, int_id, created_at), ids and times as text.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE id_map (kind TEXT NOT NULL, prod_id TEXT NOT NULL, int_id TEXT NOT NULL,"
        " created_at TEXT NOT NULL, PRIMARY KEY (kind, prod_id))"
    )
