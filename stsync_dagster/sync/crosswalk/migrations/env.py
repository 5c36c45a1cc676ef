"""Alembic's entry point: migrations run on the connection (and inside the transaction) the crosswalk opened."""

from alembic import context

connection = context.config.attributes["connection"]
# Our own version table: Dagster's storage keeps its Alembic version in `alembic_version`, often in this database.
context.configure(connection=connection, target_metadata=None, version_table=context.config.attributes["version_table"])
with context.begin_transaction():
    context.run_migrations()
