"""Schema migrations (Alembic), run on open: the original script's `id_map`, STSync's first schema and every
later one are brought up to the head revision in place; a crosswalk from a newer STSync is refused.

A database without Alembic's version table is recognised by its tables: none (new), the original script's
`id_map` without a `state` column (revision 0001), or STSync's first schema (0002).
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from stsync_dagster.errors import ConfigError

log = logging.getLogger("stsync.crosswalk")


class SchemaError(ConfigError):
    """The crosswalk database has a schema this STSync cannot use."""


# Not Alembic's default `alembic_version`: Dagster's own storage keeps its revision there, and a deployment
# puts the crosswalk in Dagster's database.
VERSION_TABLE = "stsync_schema_version"


def _config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent))
    cfg.attributes["connection"] = conn
    cfg.attributes["version_table"] = VERSION_TABLE
    return cfg


@cache
def _script() -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent))
    return ScriptDirectory.from_config(cfg)


def head() -> str:
    return _script().get_current_head()


def _recognise(conn: Connection, shown_url: str) -> str | None:
    """The revision of a database Alembic has not seen yet, from its tables; None when it is empty."""
    tables = set(inspect(conn).get_table_names()) - {VERSION_TABLE}
    if "id_map" not in tables:
        # A SQLite file is the crosswalk's own; a PostgreSQL database may well hold Dagster's tables beside it.
        if tables and conn.dialect.name == "sqlite":
            raise SchemaError(
                f"STSYNC_DB {shown_url}: this SQLite file holds other tables ({', '.join(sorted(tables)[:5])}), "
                "not a crosswalk: point STSYNC_DB at the crosswalk, or at a new file"
            )
        return None
    columns = {c["name"] for c in inspect(conn).get_columns("id_map")}
    return "0002" if "state" in columns else "0001"


def upgrade(conn: Connection, shown_url: str) -> None:
    """Bring the database on `conn` (inside its transaction) to the head revision."""
    current = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
    target = head()
    if current == target:
        return
    known = {rev.revision for rev in _script().walk_revisions()}
    if current is not None and current not in known:
        raise SchemaError(
            f"STSYNC_DB {shown_url}: this crosswalk was made by a newer STSync (schema revision {current!r}; this "
            f"STSync knows up to {target!r}). Upgrade STSync, or point STSYNC_DB at another crosswalk."
        )
    cfg = _config(conn)
    if current is None:
        found = _recognise(conn, shown_url)
        if found is not None:
            command.stamp(cfg, found)
            what = "the original STSync script's" if found == "0001" else "STSync's first"
            log.warning("crosswalk %s: %s schema found; upgrading it in place (its mappings are kept)", shown_url, what)
    command.upgrade(cfg, "head")
