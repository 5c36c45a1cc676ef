"""One record's story, as `stsync history` and the UI's `record_history` job tell it: what STSync wrote to its
Integration copy, run by run, what the crosswalk maps it to now, and why it is not copied if it is not."""

from __future__ import annotations

from dataclasses import dataclass

from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster.sync.crosswalk.history import Write


@dataclass(frozen=True)
class RecordHistory:
    kind: str
    prod_id: int
    writes: list[Write]
    now: str  # mapped to which Integration record, claimed, or not in the crosswalk
    waiting: str | None  # why it is not copied (blocked, failed, deferred), since when


def record_history(crosswalk: Crosswalk, kind: str, prod_id: int) -> RecordHistory:
    writes = crosswalk.history(kind, prod_id)
    entry = crosswalk.lookup(kind, [prod_id]).get(prod_id)
    issue = next(iter(crosswalk.issues(kind=kind, prod_ids=[prod_id])), None)
    if entry is None:
        now = "not in the crosswalk"
    elif entry.state == "confirmed":
        now = f"mapped to Integration {entry.int_id} ({entry.source})"
    else:
        now = f"claimed by run {entry.run_id}, not confirmed yet"
    waiting = None if issue is None else f"{issue.status} since {issue.first_seen:%Y-%m-%d %H:%M} UTC: {issue.reason}"
    return RecordHistory(kind, prod_id, writes, now, waiting)
