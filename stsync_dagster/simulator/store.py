"""One tenant's state: records by kind, externalData by application guid, new ids. Thread-safe."""

from __future__ import annotations

import copy
import hashlib
import threading
from collections.abc import Iterable

from .clock import SimClock
from .corrupt import OMIT_KEY
from .strict import Strictness

# Fields kept in the store but not part of a kind's list/get shape (the jobs export adds `active`).
HIDDEN_IN_LISTS = {"jobs": ("active",)}
# Kinds whose read shape has externalData (purchase orders, appointments... have none).
EXTERNAL_DATA_KINDS = (
    "materials",
    "equipment",
    "jobs",
    "vendors",
    "warehouses",
    "customers",
    "locations",
    "job-types",
    "business-units",
)


def code_key(code: str | None) -> str:
    return (code or "").strip().casefold()


def order_key(kind: str, record_id: int) -> bytes:
    """A stable order that is neither by id nor by date, so clients cannot come to depend on one."""
    return hashlib.blake2b(f"{kind}:{record_id}".encode(), digest_size=8).digest()


class Tenant:
    def __init__(
        self, env: str, tenant_id: int, records: dict[str, list[dict]], new_id_start: int, clock: SimClock
    ) -> None:
        self.env, self.tenant_id, self.clock = env, tenant_id, clock
        self.strict = Strictness()  # the undocumented rules it enforces (the simulator shares one between tenants)
        self.lock = threading.RLock()
        self._records: dict[str, dict[int, dict]] = {}
        self._external: dict[str, dict[int, dict[str, list[dict]]]] = {}
        # Fields kept (for ordering and date filters) but left out of every answer: see corrupt.py.
        self._omitted: dict[str, dict[int, tuple[str, ...]]] = {}
        self._next_id = new_id_start
        for kind, kind_records in records.items():
            bucket = self._records.setdefault(kind, {})
            external = self._external.setdefault(kind, {})
            for record in kind_records:
                record = dict(record)
                stamps = record.pop("_external", None)
                omitted = record.pop(OMIT_KEY, None)
                bucket[record["id"]] = record
                if stamps:
                    external[record["id"]] = stamps
                if omitted:
                    self._omitted.setdefault(kind, {})[record["id"]] = tuple(omitted)
        self._by_code: dict[str, dict[str, set[int]]] = {}  # kind → code key → ids, built when first asked
        numbers = [
            int(r["number"]) for r in self._records.get("purchase-orders", {}).values() if str(r["number"]).isdigit()
        ]
        self._next_po_number = max(numbers, default=1999) + 1

    # -- reads (callers hold no references to internal dicts beyond the lock) ---------------------
    def get(self, kind: str, record_id: int) -> dict | None:
        return self._records.get(kind, {}).get(record_id)

    def exists(self, kind: str, record_id: object) -> bool:
        return isinstance(record_id, int) and record_id in self._records.get(kind, {})

    def all(self, kind: str) -> Iterable[dict]:
        return list(self._records.get(kind, {}).values())

    def with_code(self, kind: str, code: str | None) -> list[dict]:
        """The records whose code is `code`, compared trimmed and casefolded (codes are unique per tenant: every
        create asks, so this is an index, not a scan). Entries are checked against the records as they are now."""
        wanted = code_key(code)
        with self.lock:
            index = self._by_code.get(kind)
            if index is None:
                index = self._by_code[kind] = {}
                for record in self._records.get(kind, {}).values():
                    index.setdefault(code_key(record.get("code")), set()).add(record["id"])
            bucket = self._records.get(kind, {})
            found = [bucket[i] for i in index.get(wanted, ()) if i in bucket]
            return [r for r in found if code_key(r.get("code")) == wanted]

    def changed(self, kind: str, record: dict) -> None:
        """A record edited in place: the code index follows it (call after every in-place edit)."""
        with self.lock:
            index = self._by_code.get(kind)
            if index is not None:
                index.setdefault(code_key(record.get("code")), set()).add(record["id"])

    def external(self, kind: str, record_id: int) -> dict[str, list[dict]]:
        return self._external.get(kind, {}).get(record_id, {})

    def render(self, kind: str, record: dict, guid: str | None, export: bool = False) -> dict:
        """The API shape: a copy, with externalData of `guid` only (an empty list otherwise)."""
        out = self._visible(kind, record)
        if not export:
            for field in HIDDEN_IN_LISTS.get(kind, ()):
                out.pop(field, None)
        if kind not in EXTERNAL_DATA_KINDS:
            return out
        stamps = self.external(kind, record["id"]).get(guid) if guid else None
        out["externalData"] = copy.deepcopy(stamps) if stamps else []
        return out

    def snapshot(self, kind: str) -> list[dict]:
        """Every field (but those left out of every answer), externalData of every guid as {guid: [{key, value}]}:
        for tests."""
        with self.lock:
            out = []
            for record in self._records.get(kind, {}).values():
                full = self._visible(kind, record)
                full["externalData"] = copy.deepcopy(self.external(kind, record["id"]))
                out.append(full)
            return out

    def _visible(self, kind: str, record: dict) -> dict:
        # Fields named `_…` are kept for the simulator (filters, create answers) and are in no read shape.
        out = {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}
        for field in self._omitted.get(kind, {}).get(record["id"], ()):
            out.pop(field, None)
        return out

    # -- writes --------------------------------------------------------------------------------
    def new_id(self) -> int:
        with self.lock:
            self._next_id += 1 + (self._next_id * 7919) % 13  # sparse, like a busy database
            return self._next_id

    def new_po_number(self) -> str:
        with self.lock:
            number = self._next_po_number
            self._next_po_number += 1
            return str(number)

    def id_taken(self, record_id: int) -> bool:
        with self.lock:
            return any(record_id in bucket for bucket in self._records.values())

    def add(self, kind: str, record: dict, external: dict[str, list[dict]]) -> None:
        """A whole record from a test (Simulator.add_records); new ids and PO numbers continue above its own."""
        with self.lock:
            self._next_id = max(self._next_id, record["id"])
            number = str(record.get("number", "")) if kind == "purchase-orders" else ""
            if number.isdigit():
                self._next_po_number = max(self._next_po_number, int(number) + 1)
            self.insert(kind, record)
            for guid, pairs in external.items():
                self.set_external(kind, record["id"], guid, pairs)

    def insert(self, kind: str, record: dict) -> dict:
        with self.lock:
            self._records.setdefault(kind, {})[record["id"]] = record
            self.changed(kind, record)
            return record

    def remove(self, kind: str, record_id: int) -> dict | None:
        """Delete a record and its externalData: no read finds it again (the code index follows lazily)."""
        with self.lock:
            self._external.get(kind, {}).pop(record_id, None)
            return self._records.get(kind, {}).pop(record_id, None)

    def touch(self, record: dict) -> None:
        record["modifiedOn"] = self.clock.stamp()

    def set_external(self, kind: str, record_id: int, guid: str, pairs: list[dict], merge: bool = False) -> None:
        with self.lock:
            by_guid = self._external.setdefault(kind, {}).setdefault(record_id, {})
            if not merge:
                kept = [{"key": p["key"], "value": p["value"]} for p in pairs if p.get("value") is not None]
            else:
                current = {p["key"]: p["value"] for p in by_guid.get(guid, [])}
                for pair in pairs:
                    if pair.get("value") is None:
                        current.pop(pair["key"], None)
                    else:
                        current[pair["key"]] = pair["value"]
                kept = [{"key": k, "value": v} for k, v in current.items()]
            if kept:
                by_guid[guid] = kept
            else:
                by_guid.pop(guid, None)
