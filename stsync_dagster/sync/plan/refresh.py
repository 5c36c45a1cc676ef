"""Refresh detection: when sampled mappings point at records Integration no longer holds (or that hold another
record now), every mapping of the kind is checked against the index and the stale ones forgotten, so their
records are adopted again (or created) instead of skipped."""

from __future__ import annotations

import logging

from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync.checks import mapping_problems
from stsync_dagster.sync.entities import EntityHandler
from stsync_dagster.sync.plan.index import IndexCache
from stsync_dagster.sync.run import Run

log = logging.getLogger("stsync.sync")


def forget_stale_mappings(run: Run, indexes: IndexCache, handler: EntityHandler) -> None:
    kind = handler.kind
    try:
        problems = mapping_problems(handler, run.intc, run.crosswalk)
        if not problems.wrong:
            return
        log.warning("%s: %s; checking every mapping of the kind", kind, problems.summary())
        index = indexes.get(handler)
    except st.ServiceTitanError as exc:
        log.warning("%s: the crosswalk's mappings could not be checked against Integration: %s", kind, exc)
        return
    stale = {
        prod_id: int_id
        for prod_id, (int_id, source) in run.crosswalk.mapped(kind).items()
        if not index.holds(int_id)
        or index.mark_of[int_id] not in (None, prod_id)
        or (source in ("sync", "recovered") and index.mark_of[int_id] != prod_id)
    }
    why = "Integration no longer holds it as this record's copy (refreshed or edited?)"
    forgotten = run.crosswalk.forget(
        kind, stale, history=[run.books.wrote(p, i, "forgotten", detail=why) for p, i in stale.items()]
    )
    log.warning(
        "%s: %d mappings no longer held in Integration were forgotten; their records are adopted "
        "again or created when they are next read",
        kind, forgotten,
    )  # fmt: skip
