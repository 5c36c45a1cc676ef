"""What an update replaces in Integration, kept in the history with it (`before`) so that `stsync undo` can set it
back: each patched field's Integration value in the shape the patch sent (a PATCH can send it again), and the
status before a status move."""

from __future__ import annotations

from typing import Any

# Read shapes that hold only part of what the request sends: (kind, field) → the part read back. A PO's shipTo
# reads back as its address; its description is not read back (kept as it was sent).
_PART_READ = {("pos", "shipTo"): "address"}


def shaped(held: Any, sent: Any) -> Any:
    """Integration's value `held`, in the shape of the request's `sent`: objects keep the request's keys, lists of
    objects the keys of the request's entries (an entry inactive in Integration is left out, unless the request
    itself says which entries are active)."""
    if isinstance(sent, dict) and isinstance(held, dict):
        return {key: shaped(held.get(key), value) for key, value in sent.items()}
    if isinstance(sent, list) and isinstance(held, list) and sent and all(isinstance(e, dict) for e in sent):
        keys = {key: None for entry in sent for key in entry}
        kept = [e for e in held if not (isinstance(e, dict) and "active" not in keys and e.get("active") is False)]
        return [shaped(entry, keys) if isinstance(entry, dict) else entry for entry in kept]
    return held


def before_values(handler, patch: dict | None, int_record: dict, *, status: bool) -> dict:
    """{"fields": {patched field: Integration's value}, "status": its status} (status only when `status`)."""
    out: dict[str, Any] = {}
    if patch:
        fields = {}
        for name, sent in patch.items():
            held = int_record.get(handler.read_names.get(name, name))
            part = _PART_READ.get((handler.kind, name))
            if part and isinstance(sent, dict):
                fields[name] = {**sent, part: shaped(held, sent.get(part))}
            else:
                fields[name] = shaped(held, sent)
        out["fields"] = fields
    if status:
        out["status"] = handler.current_status(int_record)
    return out
