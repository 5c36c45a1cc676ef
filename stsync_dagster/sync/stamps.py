"""Marks that let STSync recognise, in Integration, the records it created from Production ones.

Materials and jobs carry an externalData stamp under STSync's application guid (key `stsync.prodId`,
value the Production id). Purchase orders have no externalData, so their memo's last line is a marker. Only that anchored last line
counts, and marker-like text in a Production memo is neutralised on copy, so Production text cannot forge one.
"""

from __future__ import annotations

import re

from stsync_dagster.sync.models import ExternalDataCreate, ExternalDataPair

STAMP_KEY = "stsync.prodId"
_MEMO_MARKER = re.compile(r"\[stsync prod-po (\d+)\]")
_MARKER_LIKE = re.compile(r"\[(\s*stsync)", re.IGNORECASE)


def external_data(guid: str, prod_id: int) -> ExternalDataCreate:
    return ExternalDataCreate(applicationGuid=guid, externalData=[ExternalDataPair(key=STAMP_KEY, value=str(prod_id))])


def stamped_prod_id(record: dict, guid: str) -> int | None:
    """The Production id stamped on an Integration record read with `externalDataApplicationGuid=guid`."""
    data = record.get("externalData")
    if isinstance(data, dict):  # some read shapes wrap the list with its guid
        if data.get("applicationGuid") not in (None, guid):
            return None
        data = data.get("externalData")
    for pair in data or []:
        if isinstance(pair, dict) and pair.get("key") == STAMP_KEY:
            try:
                return int(pair.get("value"))
            except (TypeError, ValueError):
                return None
    return None


def neutralised(text: str) -> str:
    """Production text with anything that reads like a marker defused: "[stsync …" becomes "(stsync …"."""
    return _MARKER_LIKE.sub(r"(\1", text)


def memo_with_marker(memo: str | None, prod_id: int) -> str:
    marker = f"[stsync prod-po {prod_id}]"
    return f"{neutralised(memo)}\n{marker}" if memo and memo.strip() else marker  # the memo kept as it is


def strip_marker(memo: str) -> str:
    """The memo without the marker line memo_with_marker added."""
    head, _, last = memo.rpartition("\n")
    return head if _MEMO_MARKER.fullmatch(last.strip()) else ("" if _MEMO_MARKER.fullmatch(memo.strip()) else memo)


def marked_prod_id(summary: str | None) -> int | None:
    """The Production id in a memo's marker: its last line, exactly as memo_with_marker writes it."""
    last = (summary or "").rstrip().rpartition("\n")[2]
    match = _MEMO_MARKER.fullmatch(last.strip())
    return int(match.group(1)) if match else None
