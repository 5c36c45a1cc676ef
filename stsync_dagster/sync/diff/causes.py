"""Why a copy differs, decided as a sync decides it (apply/updates.py): Production changed when the fingerprint of
what a sync would send now is not the one stored with STSync's last write; edited in Integration when the copy was
modified after that write (apply/provenance.py). Only the records that differ are built again, in one batch."""

from __future__ import annotations

import pydantic

from stsync_dagster.sync.apply.provenance import conflict, fingerprint, last_write
from stsync_dagster.sync.diff.report import (
    BOTH,
    EDITED_IN_INTEGRATION,
    HISTORY_UNKNOWN,
    NEITHER,
    PRODUCTION_CHANGED,
    UNDONE,
)
from stsync_dagster.sync.entities import EntityHandler
from stsync_dagster.sync.models import payload
from stsync_dagster.sync.outcome import Blocked, Invalid
from stsync_dagster.sync.policy import Policies
from stsync_dagster.sync.references import RefMap


def fingerprints(handler: EntityHandler, records: list, prod, crosswalk, policies: Policies) -> dict[int, str | None]:
    """The fingerprint a sync would store for each record now (None: it could not build it: a reference without a
    counterpart, a record the API would refuse). `records`: the parsed Production records."""
    extra = handler.prepare(records, prod)
    refs = RefMap.load(
        crosswalk,
        (ref for r in records for refs in (handler.references(r, extra), handler.key_references(r)) for ref in refs),
        entity=handler.kind,
        policies=policies,
    )
    out: dict[int, str | None] = {}
    for record in records:
        try:
            body = payload(handler.build(record, refs, extra))
        except (Blocked, Invalid, pydantic.ValidationError):
            out[record.id] = None
            continue
        finally:
            refs.take_dropped()
        out[record.id] = fingerprint(handler.followed_view(body), handler.desired_status(record))
    return out


def cause(entry, int_record: dict, now_print: str | None, last=None) -> tuple[str, str]:
    """(cause, its details) of a copy that differs from its Production record. `entry`: its crosswalk row;
    `last`: the last write the history keeps for it (an undo's says which run it took back)."""
    if last is not None and last.undoes:
        edited = conflict(entry, int_record)
        if edited:
            return EDITED_IN_INTEGRATION, edited
        return UNDONE, f"taken back by `stsync undo {last.undoes}`: the next sync writes Production's values again"
    written = last_write(entry, int_record)
    if written is None:
        return HISTORY_UNKNOWN, conflict(entry, int_record) or ""
    edited = conflict(entry, int_record)  # not None once STSync's write is known: modified after it
    changed = entry.fingerprint is None or now_print is None or now_print != entry.fingerprint
    since = f"since STSync's write at {written:%Y-%m-%d %H:%M:%S} UTC"
    if edited and changed:
        return BOTH, f"{edited}; Production's copied values changed {since} too"
    if edited:
        return EDITED_IN_INTEGRATION, edited
    if changed:
        return PRODUCTION_CHANGED, f"Production's copied values changed {since}: the next sync follows them"
    return NEITHER, f"neither side changed {since}: a value STSync does not update, or reads back otherwise"
