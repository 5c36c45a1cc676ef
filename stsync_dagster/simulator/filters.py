"""The query parameters ServiceTitan documents for each GET list and export the simulator serves: their types
(a value of the wrong type, or outside its enum, is a 400 as on the API) and what the filters among them do.

The table is the OpenAPI documents' (../shared/servicetitan/openapi/*.json, not shipped with the package), encoded
here; stsync_dagster_tests/test_simulator_filters.py holds it to them. Type codes: i32 / i64 (integers of that
format), bool, dt (date-time), num (double), guid, str, arr (array of int64, repeated or comma-separated), obj (an
object: ASP.NET binds `name[key]=value`), and an enum name of ENUMS. Lists served but not in the cut-down documents
(equipment, job-cancel-reasons, job-hold-reasons) take the common parameters of the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping

from .clock import parse_instant
from .problems import validation
from .store import Tenant

ENUMS: dict[str, tuple[str, ...]] = {
    "ActiveRequestArg": ("True", "Any", "False"),
    "Pricebook.V2.CategoryType": ("Services", "Materials"),
    "Inventory.V2.LogicalOperator": ("And", "Or"),
    "Jpm.V2.JobStatus": ("Scheduled", "Dispatched", "InProgress", "Hold", "Completed", "Canceled"),
    "Jpm.V2.JobAppointmentStatus": ("Scheduled", "Dispatched", "Working", "Hold", "Done", "Canceled"),
    "Jpm.V2.Base.AppointmentStatus": ("Scheduled", "Dispatched", "Working", "Hold", "Done", "Canceled"),
    # Typed `string` in the documents, whose descriptions list the values: "Available values are: …" (PO status),
    # "Supported priorities are …" (jobs' priority). Held to those descriptions by the test.
    "PurchaseOrderStatus": ("Pending", "Sent", "PartiallyReceived", "Received", "Exported", "Canceled"),
    "JobPriority": ("Low", "Normal", "High", "Urgent"),
}
DESCRIBED_ENUMS = ("PurchaseOrderStatus", "JobPriority")

_PAGING = "page:i32 pageSize:i32 includeTotal:bool"
_DATES = "createdBefore:dt createdOnOrAfter:dt modifiedBefore:dt modifiedOnOrAfter:dt"
_EXTERNAL = "externalDataApplicationGuid:guid externalDataKey:str externalDataValues:str"
_ADDRESS = "street:str unit:str city:str state:str zip:str country:str latitude:num longitude:num"
_EXPORT = "from:str includeRecentChanges:bool"
_ACTIVE = "active:ActiveRequestArg"
_UNDOCUMENTED = f"{_PAGING} sort:str ids:str {_ACTIVE} {_DATES}"

# kind (or "export/kind") -> "param:type …", as the documents list them.
QUERY: dict[str, str] = {
    "materials": f"isOtherDirectCost:bool costTypeIds:str {_PAGING} sort:str ids:str {_DATES} {_ACTIVE} {_EXTERNAL} "
    "searchText:str",
    "categories": f"{_PAGING} sort:str categoryType:Pricebook.V2.CategoryType {_ACTIVE} {_DATES}",
    "equipment": f"{_UNDOCUMENTED} {_EXTERNAL}",
    "purchase-orders": "ids:str status:PurchaseOrderStatus number:str jobId:i64 jobIds:str technicianId:i64 "
    f"projectId:i64 {_DATES} dateOnOrAfter:dt dateBefore:dt sentOnOrAfter:dt sentBefore:dt {_PAGING} sort:str",
    "vendors": f"ids:arr {_ACTIVE} {_EXTERNAL} {_DATES} {_PAGING} customField.Fields:obj "
    "customField.Operator:Inventory.V2.LogicalOperator sort:str",
    "warehouses": f"ids:str {_ACTIVE} {_EXTERNAL} {_DATES} {_PAGING} sort:str",
    "purchase-order-types": f"{_ACTIVE} {_DATES} {_PAGING} sort:str",
    "jobs": f"{_PAGING} ids:str number:str projectId:i64 bookingId:i64 jobStatus:Jpm.V2.JobStatus "
    "appointmentStatus:Jpm.V2.JobAppointmentStatus priority:JobPriority firstAppointmentStartsOnOrAfter:dt "
    "firstAppointmentStartsBefore:dt appointmentStartsOnOrAfter:dt appointmentStartsBefore:dt technicianId:i64 "
    "customerId:i64 locationId:i64 soldById:i64 jobTypeId:i64 campaignId:i64 businessUnitId:i64 invoiceId:i64 "
    f"createdFromEstimateId:i64 estimateIds:str {_DATES} completedOnOrAfter:dt completedBefore:dt tagTypeIds:str "
    f"sort:str {_EXTERNAL} hasUnusedAppointments:bool",
    "job-cancel-reasons": _UNDOCUMENTED,
    "job-hold-reasons": _UNDOCUMENTED,
    "job-types": f"name:str minDuration:i32 maxDuration:i32 priority:str ids:str {_PAGING} {_ACTIVE} orderBy:str "
    f"orderByDirection:str {_DATES} externalDataApplicationGuid:guid",
    "appointments": f"ids:str {_ACTIVE} jobId:i64 projectId:i64 number:str status:Jpm.V2.Base.AppointmentStatus "
    f"startsOnOrAfter:dt startsBefore:dt technicianId:i64 customerId:i64 unused:bool {_DATES} {_PAGING} sort:str",
    "appointment-assignments": f"ids:str appointmentIds:str jobId:i64 {_DATES} {_PAGING} sort:str {_ACTIVE}",
    "customers": f"{_PAGING} sort:str ids:str {_DATES} excludeAccountingChangesFromModifiedDateRange:bool name:str "
    f"{_ADDRESS} phone:str {_ACTIVE} {_EXTERNAL}",
    "locations": f"ids:str name:str customerId:i64 {_ADDRESS} {_ACTIVE} {_PAGING} sort:str {_DATES} {_EXTERNAL}",
    "campaigns": f"{_PAGING} {_DATES} {_ACTIVE} ids:str name:str campaignPhoneNumber:str sort:str",
    "business-units": f"ids:str name:str {_ACTIVE} {_PAGING} {_DATES} externalDataApplicationGuid:guid",
    "technicians": f"ids:str userIds:str name:str {_ACTIVE} {_PAGING} {_DATES}",
    "export/materials": _EXPORT,
    "export/purchase-orders": _EXPORT,
    "export/jobs": _EXPORT,
    "export/appointments": f"{_ACTIVE} {_EXPORT}",
    "export/appointment-assignments": f"{_ACTIVE} {_EXPORT}",
    "export/customers": _EXPORT,
    "export/locations": _EXPORT,
    "export/business-units": _EXPORT,
    "export/technicians": _EXPORT,
}
UNDOCUMENTED_LISTS = ("equipment", "job-cancel-reasons", "job-hold-reasons")

# Accepted (and type-checked) with no effect on which records come back, and why.
NO_EFFECT: dict[str, str] = {
    "excludeAccountingChangesFromModifiedDateRange": "the simulator records no accounting-only changes",
    "from": "an export's position, read by query.decode_from",
}


def parse_table(text: str) -> dict[str, str]:
    return dict(item.split(":", 1) for item in text.split())


TYPES: dict[str, dict[str, str]] = {kind: parse_table(text) for kind, text in QUERY.items()}
_INT_RANGE = {"i32": (-(2**31), 2**31 - 1), "i64": (-(2**63), 2**63 - 1)}


def _problem(kind_type: str, raw: str) -> str | None:
    """Why `raw` is not a value of `kind_type`, or None."""
    if kind_type in _INT_RANGE:
        try:
            value = int(raw.strip())
        except ValueError:
            return f"The value '{raw}' is not valid."
        low, high = _INT_RANGE[kind_type]
        return None if low <= value <= high else f"The value '{raw}' is not valid."
    if kind_type == "bool":
        return None if raw.strip().lower() in ("true", "false") else f"The value '{raw}' is not valid."
    if kind_type == "dt":
        try:
            parse_instant(raw)
        except (ValueError, OverflowError):
            return f"The value '{raw}' is not valid."
        return None
    if kind_type == "num":
        try:
            value = float(raw)
        except ValueError:
            return f"The value '{raw}' is not valid."
        return None if value == value and abs(value) != float("inf") else f"The value '{raw}' is not valid."
    if kind_type == "guid":
        try:
            uuid.UUID(raw.strip())
        except ValueError:
            return f"The value '{raw}' is not valid."
        return None
    if kind_type == "arr":
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        bad = [p for p in parts if _problem("i64", p)]
        return f"The value '{raw}' is not valid." if bad else None
    if kind_type in ENUMS:
        allowed = ENUMS[kind_type]
        if raw.strip().lower() in (v.lower() for v in allowed):
            return None
        return f"The value '{raw}' is not valid. Use one of {', '.join(allowed)}."
    return None  # str, obj


def check_types(key: str, params) -> None:
    """400 with every query value of `key`'s documented parameters that is not of its type."""
    types = TYPES.get(key)
    if types is None:
        return
    errors: dict[str, list[str]] = {}
    for name, raw in params.multi_items() if hasattr(params, "multi_items") else params.items():
        kind_type = types.get(name)
        if kind_type is None or raw == "":
            continue  # unknown parameters are ignored, as ASP.NET does; empty means absent (nullable)
        problem = _problem(kind_type, raw)
        if problem:
            errors.setdefault(name, []).append(problem)
    if errors:
        raise validation(errors)


def enum_value(kind_type: str, raw: str) -> str:
    """The enum's own spelling of a (checked) value."""
    return next(v for v in ENUMS[kind_type] if v.lower() == raw.strip().lower())


# -- effects: the filters of each list that need more than equality on one field ----------------------------
Predicate = Callable[[dict], bool]
# (tenant, raw value, the query) -> a predicate over records, or None for no restriction
Effect = Callable[[Tenant, str, Mapping], "Predicate | None"]


def _ids(raw: str) -> set[int]:
    return {int(p) for p in raw.split(",") if p.strip()} if raw else set()


def _int_ids(raw: str, name: str) -> set[int]:
    try:
        return _ids(raw)
    except ValueError:
        raise validation({name: [f"The value '{raw}' is not valid."]}) from None


def _instant(value: object):
    return parse_instant(value) if isinstance(value, str) and value else None


def on_or_after(field: str) -> Effect:
    """Records whose `field` (a date-time) is on or after the bound; a record without one does not match."""

    def effect(_tenant, raw, _params):
        bound = parse_instant(raw)
        return lambda r: (m := _instant(r.get(field))) is not None and m >= bound

    return effect


def before(field: str) -> Effect:
    def effect(_tenant, raw, _params):
        bound = parse_instant(raw)
        return lambda r: (m := _instant(r.get(field))) is not None and m < bound

    return effect


def equals_int(field: str) -> Effect:
    return lambda _t, raw, _p: lambda r, v=int(raw): r.get(field) == v


def equals_bool(field: str) -> Effect:
    return lambda _t, raw, _p: lambda r, v=raw.strip().lower() == "true": bool(r.get(field)) is v


def in_ids(field: str, name: str) -> Effect:
    return lambda _t, raw, _p: lambda r, wanted=_int_ids(raw, name): r.get(field) in wanted


def overlaps(field: str, name: str) -> Effect:
    """At least one of the listed ids is in the record's list `field`."""
    return lambda _t, raw, _p: lambda r, wanted=_int_ids(raw, name): bool(wanted & set(r.get(field) or ()))


def address_text(field: str) -> Effect:
    """Case-insensitive equality on the record's address field (customers, locations)."""
    return lambda _t, raw, _p: (
        lambda r, v=raw.strip().lower(): str((r.get("address") or {}).get(field) or "").strip().lower() == v
    )


def address_number(field: str) -> Effect:
    return lambda _t, raw, _p: lambda r, v=float(raw): (r.get("address") or {}).get(field) == v


def _by_job(tenant: Tenant, kind: str) -> dict[int, list[dict]]:
    grouped: dict[int, list[dict]] = {}
    for record in tenant.all(kind):
        grouped.setdefault(record.get("jobId"), []).append(record)
    return grouped


# A job's technicians are not on the job: they are the technicians of its appointments' assignments (dispatch
# API), active ones only (an unassigned technician's assignment turns inactive).
def _job_technician(tenant, raw, _params):
    wanted = int(raw)
    jobs = {a.get("jobId") for a in tenant.all("appointment-assignments") if a.get("technicianId") == wanted
            and a.get("active", True)}  # fmt: skip
    return lambda r: r["id"] in jobs


def _appointment_technician(tenant, raw, _params):
    wanted = int(raw)
    appointments = {a.get("appointmentId") for a in tenant.all("appointment-assignments")
                    if a.get("technicianId") == wanted and a.get("active", True)}  # fmt: skip
    return lambda r: r["id"] in appointments


def _job_appointments(test: Callable[[dict, str], bool]) -> Effect:
    """Jobs with any of their appointments (all of them, active or not: the job's own history) passing `test`."""

    def effect(tenant, raw, _params):
        grouped = _by_job(tenant, "appointments")
        return lambda r: any(test(a, raw) for a in grouped.get(r["id"], ()))

    return effect


def _first_appointment(compare: Callable[[object, object], bool]) -> Effect:
    """Jobs whose first appointment (firstAppointmentId) starts in the bound's direction."""

    def effect(tenant, raw, _params):
        bound = parse_instant(raw)

        def matches(r: dict) -> bool:
            first = tenant.get("appointments", r.get("firstAppointmentId"))
            start = _instant((first or {}).get("start"))
            return start is not None and compare(start, bound)

        return matches

    return effect


def _appointment_project(tenant, raw, _params):
    # An appointment carries no projectId: it is its job's.
    wanted = int(raw)
    jobs = {j["id"] for j in tenant.all("jobs") if j.get("projectId") == wanted}
    return lambda r: r.get("jobId") in jobs


def _has_unused(tenant, raw, params):
    if raw.strip().lower() != "true":
        return None  # documented: "If set to true, return jobs that have unused appointments"
    return _job_appointments(lambda a, _raw: bool(a.get("unused")))(tenant, raw, params)


def _phone(_tenant, raw, _params):
    # Customers' phone numbers are their contacts of a phone type (kept in the store, not in the read shape).
    wanted = "".join(ch for ch in raw if ch.isdigit()) or raw.strip()

    def matches(r: dict) -> bool:
        for contact in r.get("_contacts") or ():
            value = str(contact.get("value") or "")
            if (
                "phone" in str(contact.get("type") or "").lower()
                and ("".join(ch for ch in value if ch.isdigit()) or value.strip()) == wanted
            ):
                return True
        return False

    return matches


def _custom_fields(_tenant, _raw, params):
    # ASP.NET binds `customField.Fields[name]=value`; Operator And (the default) or Or.
    pairs = [(k[len("customField.Fields[") : -1], v) for k, v in params.multi_items()
             if k.startswith("customField.Fields[") and k.endswith("]")]  # fmt: skip
    if not pairs:
        return None
    operator = (params.get("customField.Operator") or "And").strip().lower()

    def matches(r: dict) -> bool:
        mine = {(str(f.get("name")).lower(), str(f.get("value"))) for f in r.get("customFields") or ()}
        hits = [(name.lower(), value) in mine for name, value in pairs]
        return any(hits) if operator == "or" else all(hits)

    return matches


def _duration(compare: Callable[[int, int], bool]) -> Effect:
    return lambda _t, raw, _p: lambda r, v=int(raw): r.get("duration") is not None and compare(r["duration"], v)


def _contains_in_list(field: str) -> Effect:
    return lambda _t, raw, _p: (
        lambda r, v=raw.strip().lower(): any(v == str(x).strip().lower() for x in r.get(field) or ())
    )


_ADDRESS_EFFECTS: dict[str, Effect] = {
    **{name: address_text(name) for name in ("street", "unit", "city", "state", "zip", "country")},
    "latitude": address_number("latitude"),
    "longitude": address_number("longitude"),
}

EFFECTS: dict[str, dict[str, Effect]] = {
    "materials": {
        "isOtherDirectCost": equals_bool("isOtherDirectCost"),
        "costTypeIds": in_ids("costTypeId", "costTypeIds"),
    },
    "purchase-orders": {
        "projectId": equals_int("projectId"),
        "dateOnOrAfter": on_or_after("date"),
        "dateBefore": before("date"),
        "sentOnOrAfter": on_or_after("sentOn"),  # a PO never sent (sentOn null) matches neither
        "sentBefore": before("sentOn"),
    },
    "vendors": {"customField.Fields": _custom_fields},
    "jobs": {
        "bookingId": equals_int("bookingId"),
        "soldById": equals_int("soldById"),
        "invoiceId": equals_int("invoiceId"),
        "createdFromEstimateId": equals_int("createdFromEstimateId"),
        "estimateIds": overlaps("estimateIds", "estimateIds"),
        "tagTypeIds": overlaps("tagTypeIds", "tagTypeIds"),
        "completedOnOrAfter": on_or_after("completedOn"),  # a job not completed (completedOn null) matches neither
        "completedBefore": before("completedOn"),
        "technicianId": _job_technician,
        "appointmentStatus": _job_appointments(
            lambda a, raw: str(a.get("status") or "").lower() == raw.strip().lower()
        ),
        "appointmentStartsOnOrAfter": _job_appointments(
            lambda a, raw: (s := _instant(a.get("start"))) is not None and s >= parse_instant(raw)
        ),
        "appointmentStartsBefore": _job_appointments(
            lambda a, raw: (s := _instant(a.get("start"))) is not None and s < parse_instant(raw)
        ),
        "firstAppointmentStartsOnOrAfter": _first_appointment(lambda s, b: s >= b),
        "firstAppointmentStartsBefore": _first_appointment(lambda s, b: s < b),
        "hasUnusedAppointments": _has_unused,
    },
    "job-types": {
        "minDuration": _duration(lambda d, v: d >= v),
        "maxDuration": _duration(lambda d, v: d <= v),
        "priority": lambda _t, raw, _p: lambda r, v=raw.strip().lower(): str(r.get("priority") or "").lower() == v,
    },
    "appointments": {
        "projectId": _appointment_project,
        "technicianId": _appointment_technician,
        "startsOnOrAfter": on_or_after("start"),
        "startsBefore": before("start"),
        "unused": equals_bool("unused"),
    },
    "customers": {**_ADDRESS_EFFECTS, "phone": _phone},
    "locations": dict(_ADDRESS_EFFECTS),
    "campaigns": {"campaignPhoneNumber": _contains_in_list("campaignPhoneNumbers")},
    "technicians": {"userIds": in_ids("userId", "userIds")},
}

# job-types' ordering (documented: "Supported fields are id, modifiedOn and createdOn"; "asc"/"ascending",
# "desc"/"descending"); other values are a 400.
ORDER_FIELDS = {"id": "id", "modifiedon": "modifiedOn", "createdon": "createdOn"}
ORDER_DIRECTIONS = {"asc": False, "ascending": False, "desc": True, "descending": True}


def ordering(params) -> tuple[str, bool] | None:
    field = (params.get("orderBy") or "").strip()
    direction = (params.get("orderByDirection") or "").strip()
    if not field and not direction:
        return None
    if field and field.lower() not in ORDER_FIELDS:
        raise validation({"orderBy": [f"The value '{field}' is not valid. Use one of id, modifiedOn, createdOn."]})
    if direction and direction.lower() not in ORDER_DIRECTIONS:
        raise validation({"orderByDirection": [f"The value '{direction}' is not valid. Use asc or desc."]})
    return ORDER_FIELDS[(field or "id").lower()], ORDER_DIRECTIONS[(direction or "asc").lower()]


# `sort=+Field` / `-Field` (a `+` that arrives as a space is ascending too): the fields each document's description
# lists ("Available fields are: …"); the undocumented lists take the common three. Another field is a 400.
_SORT_COMMON = ("Id", "ModifiedOn", "CreatedOn")
SORT_FIELDS: dict[str, tuple[str, ...]] = {
    "customers": _SORT_COMMON,
    "locations": _SORT_COMMON,
    "appointment-assignments": ("Id", "CreatedOn", "ModifiedOn"),
    "purchase-orders": _SORT_COMMON,
    "purchase-order-types": _SORT_COMMON,
    "vendors": _SORT_COMMON,
    "warehouses": _SORT_COMMON,
    "jobs": (*_SORT_COMMON, "Priority"),
    "appointments": _SORT_COMMON,
    "campaigns": ("Id", "Name", "CreatedOn", "ModifiedOn"),
    "categories": ("Id", "Name"),
    "materials": ("Id", "Code", "DisplayName", "CreatedOn", "ModifiedOn", "Price", "MemberPrice", "AddOnPrice",
                  "AddOnMemberPrice", "MaterialsCost", "PrimaryVendor", "Cost", "Manufacturer", "Priority"),
    **{kind: _SORT_COMMON for kind in UNDOCUMENTED_LISTS},
}  # fmt: skip
_PRIORITY_RANK = {p.lower(): i for i, p in enumerate(ENUMS["JobPriority"])}


def _sort_value(kind: str, field: str, record: dict):
    """The value `field` sorts `record` by, or None. Materials carry no priority, manufacturer or materials cost:
    sorting by those keeps the simulator's own order."""
    if field in ("ModifiedOn", "CreatedOn"):
        return _instant(record.get(field[0].lower() + field[1:]))
    if field == "PrimaryVendor":
        return str((record.get("primaryVendor") or {}).get("vendorName") or "").casefold() or None
    if field == "Priority":
        return _PRIORITY_RANK.get(str(record.get("priority") or "").lower()) if kind == "jobs" else None
    value = record.get(field[0].lower() + field[1:])
    return value.casefold() if isinstance(value, str) else value


def sort_records(kind: str, params, records: list[dict]) -> list[dict]:
    raw = params.get("sort")
    if raw is None or not raw.strip():
        return records
    text = raw.strip()
    descending = text.startswith("-")
    name = text.lstrip("+-").strip()
    allowed = SORT_FIELDS.get(kind, _SORT_COMMON)
    field = next((f for f in allowed if f.lower() == name.lower()), None)
    if field is None:
        raise validation({"sort": [f"The value '{raw}' is not valid. Sort by one of {', '.join(allowed)}."]})

    def key(record: dict) -> tuple:
        value = _sort_value(kind, field, record)
        return (0, 0) if value is None else (1, value)

    # None sorts first ascending (last descending); a stable sort keeps the simulator's order among equals.
    return sorted(records, key=key, reverse=descending)


def apply_effects(tenant: Tenant, kind: str, params, records: Iterable[dict]) -> list[dict]:
    records = list(records)
    for name, effect in EFFECTS.get(kind, {}).items():
        raw = params.get(name)
        if name == "customField.Fields":
            raw = "?"  # bound from `customField.Fields[...]` keys
        elif raw is None or raw == "":
            continue
        predicate = effect(tenant, raw, params)
        if predicate is not None:
            records = [r for r in records if predicate(r)]
    return records
