"""Helpers for the sync tests: point the process at a simulator and read the outcome back."""

from __future__ import annotations

import os
from collections import Counter
from contextlib import contextmanager

from stsync_dagster.defs.materialize import materialize_sync, reported
from stsync_dagster.defs.plan import plan_step

KIND_OF = {"items": "materials", "equipment": "equipment", "pos": "purchase-orders", "jobs": "jobs"}


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


def sync(env: dict[str, str], entities=("items", "equipment", "jobs", "pos"), **options) -> dict[str, dict]:
    """Materialize the sync assets as `stsync sync` does; returns each asset's metadata values."""
    with pointed_at(env):
        result = materialize_sync(list(entities), **{"since": None, "limit": 0, "dry_run": False, **options})
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    for entity in entities:  # one event each: a materialization, or for a dry run an observation
        assert (
            len(result.asset_materializations_for_node(entity) + result.asset_observations_for_node(plan_step(entity)))
            == 1
        )
    return {entity: reported(result, entity) for entity in entities}


def counts(report: dict) -> dict[str, int]:
    return {
        k: report[k]
        for k in (
            "created",
            "adopted",
            "skipped",
            "unchanged",
            "updated",
            "status_changed",
            "conflict",
            "blocked",
            "failed",
            "deferred",
        )
    }


def duplicates(records: list[dict], key) -> dict:
    seen = Counter(key(r) for r in records)
    return {k: n for k, n in seen.items() if k is not None and n > 1}


def stamp_duplicates(sim, guid: str) -> dict[str, dict]:
    """Production ids marked on more than one Integration record, per kind: must always be empty."""
    from stsync_dagster.sync.stamps import marked_prod_id, stamped_prod_id

    found = {}
    for kind in ("materials", "equipment", "jobs"):
        found[kind] = duplicates(sim.records("int", kind), lambda r: stamped_prod_id(_stamp_view(r, guid), guid))
    found["purchase-orders"] = duplicates(
        sim.records("int", "purchase-orders"), lambda r: marked_prod_id(r.get("summary"))
    )
    return {k: v for k, v in found.items() if v}


def _stamp_view(record: dict, guid: str) -> dict:
    """sim.records() shows every guid's externalData; keep ours, in the shape the API answers with."""
    data = record.get("externalData")
    if isinstance(data, dict):
        return {"externalData": data.get(guid, [])}
    if isinstance(data, list) and data and isinstance(data[0], dict) and "applicationGuid" in data[0]:
        return {
            "externalData": [p for d in data if d.get("applicationGuid") == guid for p in d.get("externalData", [])]
        }
    return record


def copied_ids(sim, guid: str) -> dict[str, set[int]]:
    """Production ids that have a copy in Integration, per kind."""
    from stsync_dagster.sync.stamps import marked_prod_id, stamped_prod_id

    out = {
        k: {stamped_prod_id(_stamp_view(r, guid), guid) for r in sim.records("int", k)}
        for k in ("materials", "equipment", "jobs")
    }
    out["purchase-orders"] = {marked_prod_id(r.get("summary")) for r in sim.records("int", "purchase-orders")}
    return {k: v - {None} for k, v in out.items()}


def sync_env(sim, folder, **extra) -> dict[str, str]:
    """The environment of a sync against `sim`: its ST_* block, a crosswalk in `folder`, the repo's config,
    and partitions starting on the first day of its data (so `stsync sync` without --since takes it all)."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    start = min(r["modifiedOn"][:10] for k in KIND_OF.values() for r in sim.records("prod", k) if r.get("modifiedOn"))
    return {
        **sim.env(),
        "STSYNC_DB": str(Path(folder) / "crosswalk.sqlite3"),
        "STSYNC_CONFIG": str(repo / "stsync.config.json"),
        "STSYNC_START_DATE": start,
        "STSYNC_PACER_DIR": str(Path(folder) / "pacer"),
        **extra,
    }


def lines(rows) -> list[str]:
    """A table's rows (a report's `issues`, `dropped`, a check's `details`) as text lines, one per row."""
    records = getattr(rows, "records", None)
    rows = [r.data for r in records] if records is not None else rows
    return [" | ".join(str(v) for v in row.values()) for row in rows or []]


def text(rows) -> str:
    return "\n".join(lines(rows))
