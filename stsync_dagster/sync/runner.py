"""Runs one sync asset's work: the engine for items, POs or jobs, and the master-data matching.

Shared by the Dagster assets and the command line, which materializes those assets.
"""

from __future__ import annotations

import logging
from typing import Callable

from stsync_dagster.sync.configfile import MASTER_KINDS, SyncConfig
from stsync_dagster.sync.engine import Run, SyncEngine, SyncOptions
from stsync_dagster.sync.entities import referenced_kinds
from stsync_dagster.sync.masterdata import MatchReport, match_master, never_matched
from stsync_dagster.sync.outcome import SyncReport
from stsync_dagster.sync.runs import RunRegistry
from stsync_dagster.sync.select import Selection
from stsync_dagster.sync.window import Window

log = logging.getLogger("stsync.sync")


def run_master(kind: str, *, prod, intc, crosswalk, config: SyncConfig, dry_run: bool) -> MatchReport:
    before = prod.stats.snapshot()["requests"] + intc.stats.snapshot()["requests"]
    report = match_master(kind, config.master(kind), prod, intc, crosswalk, write=not dry_run)
    report.requests = prod.stats.snapshot()["requests"] + intc.stats.snapshot()["requests"] - before
    return report


def master_first(entity: str, *, prod, intc, crosswalk, config: SyncConfig) -> None:
    """Master data before any record: a kind the entity references (or what it pulls in does) that the
    crosswalk has never matched is matched now, so that no record is written with such a reference left out
    only because `master_data` was not materialized first."""
    referenced = referenced_kinds(entity)
    for kind in MASTER_KINDS:
        if kind in referenced and never_matched(crosswalk, kind):
            log.warning(
                "%s: %s never matched into the crosswalk: matching them first (the master_data asset does it)",
                entity, kind,
            )  # fmt: skip
            report = run_master(kind, prod=prod, intc=intc, crosswalk=crosswalk, config=config, dry_run=False)
            log.warning("%s: %s", entity, report.summary())


def _with_engine(work: Callable[[SyncEngine], SyncReport], entity: str, **needs) -> SyncReport:
    """`needs`: what a Run is made of (prod, intc, crosswalk, config, options, guid)."""
    options: SyncOptions = needs["options"]
    if options.dry_run:  # writes nothing, so claims nothing and needs no registration
        # A dry run writes no crosswalk row, so the master-data pairs it needs are matched in memory.
        sides = needs["prod"], needs["intc"], needs["crosswalk"]
        overlay = {
            kind: match_master(kind, needs["config"].master(kind), *sides, write=False).pairs for kind in MASTER_KINDS
        }
        with SyncEngine(Run(**needs, overlay=overlay)) as engine:
            return work(engine)
    master_first(entity, **{k: needs[k] for k in ("prod", "intc", "crosswalk", "config")})
    with RunRegistry(needs["crosswalk"], options.run_id) as registry:
        with SyncEngine(Run(**needs, claim_is_live=registry.is_live)) as engine:
            return work(engine)


def run_entity(
    entity: str,
    window: Window,
    *,
    on_page: Callable[[SyncReport], None] | None = None,
    selection: Selection | None = None,
    where: str = "select",
    **needs,
) -> SyncReport:
    """Sync the entity's records modified in the window (those the selection keeps, when there is one; `where`
    names it in errors). `needs`: prod, intc, crosswalk, config, options, guid."""
    return _with_engine(
        lambda engine: engine.sync(entity, window, on_page=on_page, selection=selection, where=where), entity, **needs
    )


def run_copy(
    entity: str,
    prod_ids: list[int],
    *,
    on_page: Callable[[SyncReport], None] | None = None,
    selection: Selection | None = None,
    where: str = "select",
    **needs,
) -> SyncReport:
    """Copy these Production records of the entity, with what they reference (`stsync copy`)."""
    return _with_engine(
        lambda engine: engine.copy(entity, prod_ids, on_page=on_page, selection=selection, where=where),
        entity,
        **needs,
    )
