"""Checks shared by the write endpoints: required fields, value types, references within the tenant."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from .clock import iso, parse_instant
from .problems import ApiError, validation
from .shapes import Shape, missing_required
from .store import Tenant

DECIMAL_MAX = 79_228_162_514_264_337_593_543_950_335  # System.Decimal.MaxValue
API_USER_ID = 1_000_001  # createdById of records written through the API (the integration's user)

LABELS = {
    "vendors": "Vendor",
    "purchase-order-types": "Purchase order type",
    "business-units": "Business unit",
    "warehouses": "Inventory location",
    "jobs": "Job",
    "technicians": "Technician",
    "materials": "Sku",
    "customers": "Customer",
    "locations": "Location",
    "job-types": "Job type",
    "campaigns": "Campaign",
    "categories": "Category",
    "campaign-categories": "Campaign category",
}


def require(body: object, shape: Shape) -> dict:
    if not isinstance(body, dict):
        raise validation({"$": ["The request body must be a JSON object."]})
    errors = missing_required(body, shape)
    if errors:
        raise validation(errors)
    return body


def _shown(value: object) -> str:
    return str(value)[:80]


class Errors:
    """Collects field errors; raise_if_any() answers 400 with all of them at once."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise validation(self.errors)

    # -- typed reads: return the value (None when absent/invalid, with an error when invalid) ------
    def _typed(self, body: dict, name: str, default, field: str | None, fits: Callable[[object], bool]):
        value = body.get(name)
        if value is None:
            return default
        if not fits(value):
            self.add(field or name, f"The value '{_shown(value)}' is not valid for {name}.")
            return default
        return value

    def integer(self, body: dict, name: str, field: str | None = None) -> int | None:
        return self._typed(body, name, None, field, lambda v: isinstance(v, int) and not isinstance(v, bool))

    def number(self, body: dict, name: str, default: float | None = None, field: str | None = None):
        return self._typed(
            body, name, default, field, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
        )

    def decimal(self, body: dict, name: str, default: float | None = None, field: str | None = None):
        """A number of the API's `decimal` format: .NET's decimal stops at about 7.9e28, beyond is a 400."""
        value = self.number(body, name, default, field)
        if isinstance(value, (int, float)) and not abs(value) <= DECIMAL_MAX:
            self.add(field or name, f"The value '{_shown(value)}' is not valid for {name}.")
            return default
        return value

    def boolean(self, body: dict, name: str, default: bool | None = None, field: str | None = None):
        return self._typed(body, name, default, field, lambda v: isinstance(v, bool))

    def text(self, body: dict, name: str, default: str | None = None, field: str | None = None):
        return self._typed(body, name, default, field, lambda v: isinstance(v, str))

    def instant(self, body: dict, name: str, field: str | None = None) -> str | None:
        value = body.get(name)
        if value is None:
            return None
        try:
            if not isinstance(value, str):
                raise ValueError
            return iso(parse_instant(value))
        except ValueError:
            self.add(field or name, f"The value '{_shown(value)}' is not a valid date-time for {name}.")
            return None

    def id_list(self, body: dict, name: str, field: str | None = None) -> list[int]:
        value = body.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            self.add(field or name, f"The {name} field must be an array of integers.")
            return []
        return value

    # -- the undocumented rules (strict.py): each applies only while its knob is on ------------------------
    def required_text(self, body: dict, name: str, default: str | None = None, field: str | None = None):
        value = self.text(body, name, default, field)
        if self.tenant.strict.empty_required and name in body and isinstance(value, str) and not value.strip():
            self.add(field or name, f"The {name} field must not be empty.")
        return value

    def active_ref(self, kind: str, field: str, value: int | None) -> dict | None:
        record = self.ref(kind, field, value)
        if record is not None and self.tenant.strict.inactive_references and not record.get("active", True):
            self.add(field, f"{LABELS.get(kind, kind)} {value} is inactive")
        return record

    def window(self, start: str | None, end: str | None, field: str) -> None:
        if self.tenant.strict.window_order and start and end and end < start:
            self.add(field, "The arrival window must not end before it starts.")

    def quantity(self, body: dict, name: str, field: str):
        value = self.decimal(body, name, 0.0, field)
        if self.tenant.strict.negative_quantities and isinstance(value, (int, float)) and value < 0:
            self.add(field, f"The {name} must not be negative.")
        return value

    # -- references ---------------------------------------------------------------------------
    def ref(self, kind: str, field: str, value: int | None, required: bool = True) -> dict | None:
        """The referenced record of this tenant, or None with an error naming the field."""
        if value is None:
            return None
        record = self.tenant.get(kind, value)
        if record is None and required:
            self.add(field, f"{LABELS.get(kind, kind)} {value} not found")
        return record


def external_data(errors: Errors, body: dict, update: bool = False) -> tuple[str, list[dict], bool] | None:
    """(guid, pairs, merge) from a request's externalData, or None when absent."""
    stamp = body.get("externalData")
    if stamp is None:
        return None
    guid = stamp.get("applicationGuid")
    try:
        guid = str(uuid.UUID(str(guid)))
    except ValueError:
        errors.add("externalData.applicationGuid", f"The value '{_shown(guid)}' is not a valid guid.")
        return None
    pairs = []
    for i, pair in enumerate(stamp.get("externalData") or []):
        key, value = pair.get("key"), pair.get("value")
        if not isinstance(key, str) or (value is not None and not isinstance(value, str)):
            errors.add(f"externalData.externalData[{i}]", "key and value must be strings.")
            continue
        pairs.append({"key": key, "value": value})
    merge = update and str(stamp.get("patchMode") or "Replace").lower() == "merge"
    return guid, pairs, merge


def not_found(kind: str, record_id: int) -> ApiError:
    label = LABELS.get(kind, kind)
    return ApiError(404, f"{label} with id {record_id} was not found.", {"id": [f"{label} {record_id} not found"]})
