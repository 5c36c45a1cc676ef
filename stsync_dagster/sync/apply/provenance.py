"""Who wrote a copy's values, and when: the fingerprint stored with each write of STSync's, and the proof that
a value Integration holds is STSync's (and so may be replaced) rather than a person's."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from stsync_dagster.sync.timefmt import instant

# Integration's modifiedOn and our clock are compared: a write of ours can land this much after we noted it.
CLOCK_SLACK = timedelta(seconds=2)

# Sources of mappings to records STSync created itself (a create whose answer was lost, found by its mark: recovered).
_CREATED = ("sync", "recovered")
_UNKNOWN = {"adopted": "adopted", "reconcile": "reconciled", "legacy": "mapped by the original script"}


def fingerprint(view: dict, status: str | None) -> str:
    text = json.dumps({"fields": view, "status": status}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def written_at(response: dict | None) -> datetime:
    """When our write landed, as Integration's clock says when it answers with the record, else ours."""
    now = datetime.now(UTC)
    stamped = instant((response or {}).get("modifiedOn"))
    return max(now, stamped) if stamped else now


def last_write(entry, int_record: dict) -> datetime | None:
    """When STSync last wrote the copy, as far as it can prove: the time noted with its write; for a copy it
    created whose write was never noted (a crash before the note, an older STSync), its creation, if nothing
    modified it since. None: the history is unknown, and the values are compared before anything is replaced."""
    if entry.written_at is not None:
        return entry.written_at
    if entry.source not in _CREATED:
        return None
    created, edited = instant(int_record.get("createdOn")), instant(int_record.get("modifiedOn"))
    if created is None or edited is None or edited > created + CLOCK_SLACK:
        return None
    return created


def conflict(entry, int_record: dict) -> str | None:
    """Why Integration's differing values may be a person's (not to be replaced), or None: STSync wrote them."""
    written = last_write(entry, int_record)
    if written is None:
        how = _UNKNOWN.get(entry.source, "its last write not noted")
        return f"STSync's last write to it is unknown ({how}) and Integration differs from Production"
    edited = instant(int_record.get("modifiedOn"))
    if edited is not None and edited > written + CLOCK_SLACK:
        return f"edited in Integration at {edited:%Y-%m-%d %H:%M:%S} UTC, after STSync's last write"
    return None
