"""List and export queries over a tenant: filters, paging, stable order, continuation tokens."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from .clock import iso, parse_instant
from .filters import TYPES, apply_effects, check_types, ordering, sort_records
from .problems import ApiError, validation
from .store import Tenant, order_key

MAX_PAGE_SIZE = 5000
DEFAULT_PAGE_SIZE = 50
MAX_IDS = 50
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ListSpec:
    active: bool = True  # has an `active` filter (True|Any|False, default True)
    external: bool = False  # externalDataApplicationGuid/Key/Values filters
    ints: Mapping[str, str] = field(default_factory=dict)  # query param -> field, equality
    int_lists: Mapping[str, str] = field(default_factory=dict)  # comma-separated param -> field, membership
    strings: Mapping[str, str] = field(default_factory=dict)  # param -> field, case-insensitive equality
    contains: Mapping[str, str] = field(default_factory=dict)  # param -> field, case-insensitive substring
    # param -> fields: a case-insensitive partial match on any of them (materials' searchText, 2 to 200 characters)
    search: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


LIST_SPECS: dict[str, ListSpec] = {
    "materials": ListSpec(external=True, search={"searchText": ("displayName", "code", "description")}),
    "equipment": ListSpec(external=True),
    "purchase-orders": ListSpec(
        active=False,
        ints={"jobId": "jobId", "technicianId": "technicianId"},
        int_lists={"jobIds": "jobId"},
        strings={"status": "status", "number": "number"},
    ),
    "jobs": ListSpec(
        active=False,
        external=True,
        ints={
            "customerId": "customerId",
            "locationId": "locationId",
            "jobTypeId": "jobTypeId",
            "campaignId": "campaignId",
            "businessUnitId": "businessUnitId",
            "projectId": "projectId",
        },
        strings={"number": "jobNumber", "jobStatus": "jobStatus", "priority": "priority"},
    ),
    "appointments": ListSpec(
        ints={"jobId": "jobId", "customerId": "customerId"}, strings={"status": "status", "number": "appointmentNumber"}
    ),
    "appointment-assignments": ListSpec(ints={"jobId": "jobId"}, int_lists={"appointmentIds": "appointmentId"}),
    "vendors": ListSpec(external=True),
    "warehouses": ListSpec(external=True),
    "purchase-order-types": ListSpec(),
    "job-cancel-reasons": ListSpec(),
    "job-hold-reasons": ListSpec(),
    "business-units": ListSpec(contains={"name": "name"}),
    "customers": ListSpec(external=True, contains={"name": "name"}),
    "locations": ListSpec(external=True, ints={"customerId": "customerId"}, contains={"name": "name"}),
    "job-types": ListSpec(contains={"name": "name"}),
    "campaigns": ListSpec(contains={"name": "name"}),
    "technicians": ListSpec(contains={"name": "name"}),
    "categories": ListSpec(strings={"categoryType": "categoryType"}),
}
SEARCH_LENGTH = (2, 200)  # the OpenAPI document's minLength and maxLength of materials' searchText
# Exports that take an `active` filter; for every export the default is all records, inactive included.
EXPORT_ACTIVE_FILTER = ("appointments", "appointment-assignments")

T = TypeVar("T")


def _invalid(name: str, value: str) -> ApiError:
    return validation({name: [f"The value '{value}' is not valid."]})


def _parsed(params: Mapping[str, str], name: str, parse: Callable[[str], T], default: T | None = None) -> T | None:
    """The parameter parsed; `default` when absent or empty; 400 when `parse` refuses it."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError:
        raise _invalid(name, raw) from None


def int_param(params: Mapping[str, str], name: str, default: int | None = None) -> int | None:
    return _parsed(params, name, int, default)


def bool_param(params: Mapping[str, str], name: str) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return False
    if raw.lower() not in ("true", "false"):
        raise _invalid(name, raw)
    return raw.lower() == "true"


def active_param(params: Mapping[str, str], default: bool | None) -> bool | None:
    """True / False, or None for Any (case-insensitive)."""
    raw = params.get("active")
    if raw is None or raw == "":
        return default
    value = {"true": True, "false": False, "any": None}.get(raw.strip().lower(), "bad")
    if value == "bad":
        raise _invalid("active", raw)
    return value


def id_list(params, name: str, limit: int | None = MAX_IDS) -> set[int] | None:
    raws = params.getlist(name) if hasattr(params, "getlist") else [params.get(name)]
    parts = [p.strip() for raw in raws if raw for p in raw.split(",") if p.strip()]
    if not parts:
        return None
    if limit is not None and len(parts) > limit:
        raise validation({name: [f"The maximum number of ids is {limit}, got {len(parts)}."]})
    try:
        return {int(p) for p in parts}
    except ValueError:
        raise _invalid(name, ",".join(parts)) from None


def instant_param(params: Mapping[str, str], name: str) -> datetime | None:
    return _parsed(params, name, parse_instant)


def _date_filters(params) -> list:
    checks = []
    for name, fld, inclusive in (
        ("modifiedOnOrAfter", "modifiedOn", True),
        ("modifiedBefore", "modifiedOn", False),
        ("createdOnOrAfter", "createdOn", True),
        ("createdBefore", "createdOn", False),
    ):
        bound = instant_param(params, name)
        if bound is not None:
            checks.append((fld, bound, inclusive))
    return checks


def _external_filter(tenant: Tenant, kind: str, params) -> tuple[str | None, object]:
    guid = params.get("externalDataApplicationGuid") or None
    key = params.get("externalDataKey") or None
    raw_values = params.get("externalDataValues") or None
    if raw_values and not key:
        raise validation({"externalDataKey": ["'externalDataKey' must also be provided with 'externalDataValues'."]})
    if key and not guid:
        raise validation(
            {"externalDataApplicationGuid": ["'externalDataApplicationGuid' is required to filter on external data."]}
        )
    values = None
    if raw_values:
        values = {v for v in raw_values.split(",")}
        if len(values) > MAX_IDS:
            raise validation({"externalDataValues": [f"The maximum number of values is {MAX_IDS}."]})
    if not key:
        return guid, None

    def matches(record: dict) -> bool:
        pairs = tenant.external(kind, record["id"]).get(guid, [])
        return any(p["key"] == key and (values is None or p["value"] in values) for p in pairs)

    return guid, matches


def list_records(tenant: Tenant, kind: str, params) -> dict:
    spec = LIST_SPECS[kind]
    check_types(kind, params)
    page = int_param(params, "page", 1)
    page_size = int_param(params, "pageSize", DEFAULT_PAGE_SIZE)
    if page < 1:
        raise validation({"page": ["The page must be 1 or greater."]})
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise validation({"pageSize": [f"The pageSize must be between 1 and {MAX_PAGE_SIZE}."]})
    include_total = bool_param(params, "includeTotal")
    records = tenant.all(kind)
    if spec.active:
        active = active_param(params, True)
        if active is not None:
            records = [r for r in records if r.get("active", True) is active]
    ids = id_list(params, "ids")
    if ids is not None:
        records = [r for r in records if r["id"] in ids]
    for fld, bound, inclusive in _date_filters(params):
        records = [
            r for r in records if (parse_instant(r[fld]) >= bound if inclusive else parse_instant(r[fld]) < bound)
        ]
    for name, fld in spec.ints.items():
        wanted = int_param(params, name)
        if wanted is not None:
            records = [r for r in records if r.get(fld) == wanted]
    for name, fld in spec.int_lists.items():
        wanted_set = id_list(params, name, limit=None)
        if wanted_set is not None:
            records = [r for r in records if r.get(fld) in wanted_set]
    for name, fld in spec.strings.items():
        wanted_text = params.get(name)
        if wanted_text:
            records = [r for r in records if str(r.get(fld) or "").lower() == wanted_text.lower()]
    for name, fld in spec.contains.items():
        needle = params.get(name)
        if needle:
            records = [r for r in records if needle.lower() in str(r.get(fld) or "").lower()]
    for name, fields in spec.search.items():
        needle = params.get(name)
        if needle:
            if not SEARCH_LENGTH[0] <= len(needle) <= SEARCH_LENGTH[1]:
                raise validation({name: [f"The length of '{name}' must be between {SEARCH_LENGTH[0]} and "
                                         f"{SEARCH_LENGTH[1]} characters."]})  # fmt: skip
            needle = needle.lower()
            records = [r for r in records if any(needle in str(r.get(f) or "").lower() for f in fields)]
    records = apply_effects(tenant, kind, params, records)
    guid = params.get("externalDataApplicationGuid") or None
    if spec.external:
        guid, matches = _external_filter(tenant, kind, params)
        if matches is not None:
            records = [r for r in records if matches(r)]
    records.sort(key=lambda r: order_key(kind, r["id"]))
    if "sort" in TYPES.get(kind, {}):
        records = sort_records(kind, params, records)
    order = ordering(params) if kind == "job-types" else None
    if order is not None:
        records.sort(key=lambda r: parse_instant(r[order[0]]) if order[0] != "id" else r["id"], reverse=order[1])
    start = (page - 1) * page_size
    chunk = records[start : start + page_size]
    return {
        "page": page,
        "pageSize": page_size,
        "hasMore": start + page_size < len(records),
        "totalCount": len(records) if include_total else None,
        "data": [tenant.render(kind, r, guid) for r in chunk],
    }


# -- exports ---------------------------------------------------------------------------------------
def encode_position(modified_on: str, record_id: int) -> str:
    raw = json.dumps({"v": 1, "m": modified_on, "i": record_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_from(raw: str | None) -> tuple[datetime, int]:
    """The position after which an export continues: (modifiedOn, id), exclusive."""
    if raw is None or raw.strip() == "":
        return EPOCH, -1
    try:
        return parse_instant(raw), -1  # a date: records modified on or after it
    except ValueError:
        pass
    try:
        padded = raw.strip() + "=" * (-len(raw.strip()) % 4)
        token = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return parse_instant(token["m"]), int(token["i"])
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
        raise validation({"from": [f"The value '{raw}' is neither a date nor a continuation token."]}) from None


def export_records(tenant: Tenant, kind: str, params, batch_size: int, recent_hold: float = 0.0) -> dict:
    """`recent_hold`: seconds of the newest changes held back unless `includeRecentChanges=true` (SimState)."""
    check_types(f"export/{kind}", params)
    after = decode_from(params.get("from"))
    records = tenant.all(kind)
    if recent_hold > 0 and not bool_param(params, "includeRecentChanges"):
        settled = tenant.clock.peek() - timedelta(seconds=recent_hold)
        records = [r for r in records if parse_instant(r["modifiedOn"]) <= settled]
    if kind in EXPORT_ACTIVE_FILTER:
        active = active_param(params, None)
        if active is not None:
            records = [r for r in records if r.get("active", True) is active]
    keyed = sorted(((parse_instant(r["modifiedOn"]), r["id"], r) for r in records), key=lambda x: x[:2])
    pending = [x for x in keyed if x[:2] > after]
    batch = pending[:batch_size]
    if batch:
        last = batch[-1][2]
        token = encode_position(last["modifiedOn"], last["id"])
    else:
        token = encode_position(iso(after[0]), after[1])
    return {
        "hasMore": len(pending) > len(batch),
        "continueFrom": token,
        "data": [tenant.render(kind, x[2], None, export=True) for x in batch],
    }
