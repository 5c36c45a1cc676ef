"""Helpers for the sync tests: point the process at a simulator and read the outcome back."""

from __future__ import annotations

import os
from collections import Counter
from contextlib import contextmanager

from stsync_dagster.defs.materialize import materialize_sync

KIND_OF = {"items": "materials", "pos": "purchase-orders", "jobs": "jobs"}


@contextmanager
def pointed_at(env: dict[str, str]):
    """Set the process environment for one block (the resources read it through dg.EnvVar)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def sync(env: dict[str, str], entities=("items", "jobs", "pos"), **options) -> dict[str, dict]:
    """Materialize the sync assets as `stsync sync` does; returns each asset's metadata values."""
    with pointed_at(env):
        result = materialize_sync(list(entities), **{"since": None, "limit": 0, "dry_run": False, **options})
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    out = {}
    for entity in entities:
        (event,) = result.asset_materializations_for_node(entity)
        out[entity] = {k: getattr(v, "value", v) for k, v in event.metadata.items()}
    return out


def counts(report: dict) -> dict[str, int]:
    return {k: report[k] for k in ("created", "skipped", "blocked", "failed", "deferred")}


def duplicates(records: list[dict], key) -> dict:
    seen = Counter(key(r) for r in records)
    return {k: n for k, n in seen.items() if k is not None and n > 1}


