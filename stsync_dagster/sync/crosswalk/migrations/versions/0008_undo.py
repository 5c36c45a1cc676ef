"""Undo: the history keeps, for each update, the Integration values it replaced (`before`, JSON: the patched
fields and the status before a status move), and the run a row takes back (`undoes`); the actions of `stsync undo`
join the allowed ones (deleted, deactivated, canceled, restored). Rows written before this revision have no
`before`: undo says it cannot restore their fields.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BEFORE = ("created", "adopted", "recovered", "updated", "status_changed", "stamped", "forgotten", "reconciled")
_ACTIONS = (*_BEFORE, "deleted", "deactivated", "canceled", "restored")


def _check(actions: tuple[str, ...]) -> str:
    return f"action IN ({', '.join(repr(a) for a in actions)})"


def upgrade() -> None:
    # SQLite cannot alter a CHECK: batch mode rebuilds the table (rows and ids kept); PostgreSQL alters it in place.
    with op.batch_alter_table("sync_history") as table:
        table.add_column(sa.Column("before", sa.Text))
        table.add_column(sa.Column("undoes", sa.String(64)))
        table.drop_constraint("ck_sync_history_action", type_="check")
        table.create_check_constraint("ck_sync_history_action", _check(_ACTIONS))
    op.create_index("ix_sync_history_undoes", "sync_history", ["undoes"])
    # Adoption asks whether an Integration record was deleted by an undo (never adopted again).
    op.create_index("ix_sync_history_kind_int_id", "sync_history", ["kind", "int_id"])


def downgrade() -> None:
    op.drop_index("ix_sync_history_kind_int_id", "sync_history")
    op.drop_index("ix_sync_history_undoes", "sync_history")
    with op.batch_alter_table("sync_history") as table:
        table.drop_constraint("ck_sync_history_action", type_="check")
        table.create_check_constraint("ck_sync_history_action", _check(_BEFORE))
        table.drop_column("undoes")
        table.drop_column("before")
