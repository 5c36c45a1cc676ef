"""Integration records carrying STSync's mark whose Production record is gone (deleted in Production): looked for
across the kind, whatever the window, since a deleted record has no modifiedOn left to fall in one."""

from __future__ import annotations

from stsync_dagster.sync.diff.report import Orphan
from stsync_dagster.sync.entities import EntityHandler


def orphans(handler: EntityHandler, prod, crosswalk, marks: dict[int, list[int]], seen: set[int]) -> list[Orphan]:
    """`marks`: Production id → the Integration records marked with it (reconcile.marked_records); `seen`: the
    Production ids the window read, which exist. The others are read from Production by id, 50 a request."""
    cfg = handler.cfg
    unseen = sorted(set(marks) - seen)
    present = {int(r["id"]) for r in prod.get_by_ids(cfg.prod_list_path, unseen, params=dict(cfg.list_params))}
    gone = [prod_id for prod_id in unseen if prod_id not in present]
    mapped = crosswalk.int_ids(handler.kind, gone)
    return [Orphan(int_id, prod_id, mapped.get(prod_id) == int_id) for prod_id in gone for int_id in marks[prod_id]]
