"""Selection: which records of the window a run copies (filters, samples). Read-and-plan: the filters go to the
Production list where the API has them, the selector keeps what passes and what the sample chooses; what the kept
records need is pulled in as always (plan/pull.py)."""

from __future__ import annotations

from stsync_dagster.sync.select.resolve import Resolved, SelectionError, check, resolve
from stsync_dagster.sync.select.selector import SelectionReport, Selector
from stsync_dagster.sync.select.spec import Sample, Selection, chosen, parse_sample, parse_where


def selector_for(selection: Selection | None, handler, prod, config, path: str, crosswalk=None) -> Selector | None:
    """The run's selector for the kind, its names found in Production, the records the crosswalk maps counted
    as copied; None without a selection."""
    if selection is None or selection.empty:
        return None
    copied = (lambda ids: set(crosswalk.lookup(handler.kind, ids))) if crosswalk is not None else (lambda ids: set())
    return Selector(resolve(selection, handler, prod, config, path), copied)


def name_combinations(selector: Selector, prod, config) -> None:
    """The sample's combinations said with the names of their references (one read of 50 ids per request)."""
    names: dict[str, dict[int, str]] = {}
    for kind, ids in selector.referenced().items():
        cfg = config.master(kind)
        records = prod.get_by_ids(cfg.path, sorted(ids), params=dict(cfg.list_params))
        names[kind] = {int(r["id"]): str(r.get("name")) for r in records if "id" in r and r.get("name")}
    selector.name_combinations(names)


__all__ = [
    "Resolved",
    "Sample",
    "Selection",
    "SelectionError",
    "SelectionReport",
    "Selector",
    "check",
    "chosen",
    "name_combinations",
    "parse_sample",
    "parse_where",
    "resolve",
    "selector_for",
]
