"""The crosswalk: an index of what Integration holds, (kind, Production id) → Integration id, with the claims
that make creates exactly-once, the sync issues, the registry of syncing processes and the history of writes.

Integration is the truth; this is a cache of it that can be lost, moved, stale or old: the engine proves a
record absent from Integration before it creates it, whatever the crosswalk says.

A record is claimed (a pending row carrying the run's id) before it is created in Integration and confirmed
with its Integration id afterwards. The unique key (kind, prod_id) decides who may create: a claim is an
INSERT ... ON CONFLICT DO NOTHING, so of two runs or processes claiming the same record exactly one gets it.
Every method is one transaction and costs a handful of statements per call, never one per id.
Backends: SQLite (a file path, or a sqlite:// URL) and PostgreSQL (psycopg 3); schema by Alembic (migrations/).
"""

from stsync_dagster.sync.crosswalk.claims import Claims
from stsync_dagster.sync.crosswalk.database import CHUNK, ENV_VAR, Entry, database_url
from stsync_dagster.sync.crosswalk.history import History, Write
from stsync_dagster.sync.crosswalk.issues import Issue, Issues
from stsync_dagster.sync.crosswalk.mappings import Mappings, RecordCounts
from stsync_dagster.sync.crosswalk.migrations import SchemaError
from stsync_dagster.sync.crosswalk.registry import Registry
from stsync_dagster.sync.crosswalk.undos import Undos
from stsync_dagster.sync.crosswalk.schema import (
    BLOCKED,
    CONFIRMED,
    FAILED,
    PENDING,
    SOURCES,
    id_map,
)


class Crosswalk(Mappings, Claims, Issues, Registry, History, Undos):
    """Production id ↔ Integration id per kind, with claims, sync issues, the process registry, the history of
    writes and what undoes read and write. Thread-safe."""


__all__ = [
    "BLOCKED", "CHUNK", "CONFIRMED", "ENV_VAR", "FAILED", "PENDING", "SOURCES", "Crosswalk", "Entry", "Issue",
    "RecordCounts", "SchemaError", "Write", "database_url", "id_map",
]  # fmt: skip
