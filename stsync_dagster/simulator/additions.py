"""Simulator.add_records: whole records put straight into a tenant's store (a test hook, no API checks)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

from .clock import parse_instant
from .constants import INT_ID_START, PROD_ID_RANGE
from .store import EXTERNAL_DATA_KINDS, Tenant

# Ids a caller may choose, per environment: an id that crosses environments must never look valid.
ID_RANGES = {"prod": PROD_ID_RANGE, "int": (INT_ID_START, 2**63 - 1)}
STAMPS = ("createdOn", "modifiedOn")


def add_records(tenant: Tenant, kind: str, records: Sequence[Mapping]) -> list[dict]:
    """Insert copies of `records`; all or none. Returns them as Simulator.records shows them.

    A record without an id gets a new one from the tenant's range; createdOn/modifiedOn default to the
    simulator clock. externalData, if given, is {guid: [{"key", "value"}]} (the Simulator.records form) or
    {"applicationGuid": guid, "externalData": [{"key", "value"}]} (the create-request form).
    """
    if isinstance(records, Mapping) or not isinstance(records, Sequence):
        raise TypeError("records must be a list of dicts")
    with tenant.lock:
        prepared = [_prepare(tenant, kind, raw, i) for i, raw in enumerate(records)]
        given = [p[0]["id"] for p in prepared if p[0].get("id") is not None]
        if len(given) != len(set(given)):
            raise ValueError(f"duplicate ids among the records: {sorted(given)}")
        # Chosen ids first, so that the ids handed out next cannot meet them.
        ids: dict[int, int] = {}  # index in records -> id
        for index, (record, external) in sorted(enumerate(prepared), key=lambda p: p[1][0].get("id") is None):
            record_id = record.pop("id", None)
            while record_id is None or tenant.id_taken(record_id):
                record_id = tenant.new_id()
            tenant.add(kind, {"id": record_id, **record}, external)
            ids[index] = record_id
        by_id = {r["id"]: r for r in tenant.snapshot(kind)}
        return [by_id[ids[index]] for index in range(len(prepared))]


def _prepare(tenant: Tenant, kind: str, raw: object, index: int) -> tuple[dict, dict[str, list[dict]]]:
    where = f"records[{index}]"
    if not isinstance(raw, Mapping):
        raise TypeError(f"{where} must be a dict, got {type(raw).__name__}")
    record = copy.deepcopy(dict(raw))
    external = _external(kind, record.pop("externalData", None), where)
    record_id = record.get("id")
    if record_id is not None:
        low, high = ID_RANGES[tenant.env]
        if isinstance(record_id, bool) or not isinstance(record_id, int) or not low <= record_id <= high:
            raise ValueError(f"{where}.id must be an int in {tenant.env}'s range [{low}, {high}], got {record_id!r}")
        if tenant.id_taken(record_id):
            raise ValueError(f"{where}.id {record_id} is already used in {tenant.env}")
    now = None
    for field in STAMPS:
        if record.get(field) is None:
            now = now or tenant.clock.stamp()
            record[field] = now
        else:
            try:
                parse_instant(record[field])
            except (TypeError, ValueError, AttributeError):
                raise ValueError(f"{where}.{field} is not a date-time: {record[field]!r}") from None
    return record, external


def _external(kind: str, value: object, where: str) -> dict[str, list[dict]]:
    if value is None or value == {} or value == []:
        return {}
    if kind not in EXTERNAL_DATA_KINDS:
        raise ValueError(f"{where}: {kind} have no externalData")
    if isinstance(value, Mapping) and "applicationGuid" in value:
        value = {value["applicationGuid"]: value.get("externalData") or []}
    if not isinstance(value, Mapping):
        raise TypeError(
            f"{where}.externalData must be {{guid: [{{key, value}}]}} or a create-request "
            "{applicationGuid, externalData}"
        )
    out = {}
    for guid, pairs in value.items():
        if not isinstance(pairs, list) or not all(isinstance(p, Mapping) and "key" in p for p in pairs):
            raise TypeError(f"{where}.externalData[{guid!r}] must be a list of {{key, value}}")
        out[str(guid)] = [{"key": p["key"], "value": p.get("value")} for p in pairs]
    return out


def change_record(tenant: Tenant, kind: str, record_id: int, fields: Mapping) -> dict:
    """Edit a record as a user of that tenant would: the fields set, modifiedOn moved on. A job canceled
    (jobStatus="Canceled") has its appointments canceled too, as ServiceTitan does."""
    with tenant.lock:
        record = tenant.get(kind, record_id)
        if record is None:
            raise KeyError(f"no {kind} {record_id} in {tenant.env}")
        record.update(copy.deepcopy(dict(fields)))
        tenant.changed(kind, record)
        tenant.touch(record)
        if kind == "jobs" and fields.get("jobStatus") == "Canceled":
            for appointment in tenant.all("appointments"):
                if appointment["jobId"] == record_id:
                    appointment.update(status="Canceled", active=False)
        return copy.deepcopy(record)


def remove_records(tenant: Tenant, kind: str, ids) -> int:
    """Delete records from a tenant's store (what a refresh, a tester's cleanup or a deletion in Production does);
    returns how many there were."""
    with tenant.lock:
        bucket = tenant._records.get(kind, {})
        return sum(bucket.pop(int(i), None) is not None for i in ids)
