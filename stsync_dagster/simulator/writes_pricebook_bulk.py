"""POST / PATCH /pricebook (PricebookBulk_Create, PricebookBulk_Update): many materials in one request.

Each item is checked exactly as the single create or update checks it. What the real API does past its batch
limit or with one invalid item is not documented, so both are knobs (`BulkSettings`): by default a batch over
the limit is refused whole, and so is a batch with any invalid item (all or nothing, the stricter
assumption), every problem named by its item (`materials[3].code`). With all_or_nothing off, the valid items
are written and only they appear in the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from .problems import ApiError, validation
from .store import Tenant
from .writes_pricebook import commit_create, commit_update, prepare_create, prepare_update

OTHER_SECTIONS = ("services", "equipment", "discountAndFees")  # not simulated: must be absent or empty


@dataclass
class BulkSettings:
    enabled: bool = True  # False: the endpoint answers 404, as an API without it would
    limit: int = 100  # most items per request
    all_or_nothing: bool = True

    def update(self, **fields) -> "BulkSettings":
        unknown = set(fields) - {"enabled", "limit", "all_or_nothing"}
        if unknown:
            raise ValueError(f"unknown bulk settings: {sorted(unknown)}")
        if "limit" in fields and int(fields["limit"]) < 1:
            raise ValueError("the bulk limit must be at least 1")
        for name, value in fields.items():
            setattr(self, name, int(value) if name == "limit" else bool(value))
        return self


def _materials(body: object, settings: BulkSettings) -> list:
    if not isinstance(body, dict):
        raise validation({"$": ["The request body must be a JSON object."]})
    for section in OTHER_SECTIONS:
        if body.get(section):
            raise validation({section: [f"The simulator serves materials only, not {section}."]})
    items = body.get("materials") or []
    if not isinstance(items, list):
        raise validation({"materials": ["The materials field must be an array."]})
    if len(items) > settings.limit:
        raise validation({"materials": [f"At most {settings.limit} items per request, got {len(items)}."]})
    return items


def _checked(items: list, prepare, settings: BulkSettings) -> list[tuple[int, tuple]]:
    """(index, prepared) of the items that passed; raises for the whole batch under all_or_nothing."""
    passed, errors, codes = [], {}, {}
    for i, item in enumerate(items):
        try:
            prepared = prepare(item)
        except ApiError as error:
            for field, messages in (error.errors or {"$": [error.title]}).items():
                errors[f"materials[{i}].{field}"] = messages
            continue
        code = (prepared[-2].get("code") or "").strip().casefold()  # the record (or changed copy)
        if code in codes:  # two items of one batch may not share a code either
            errors[f"materials[{i}].code"] = [f"The code is also used by materials[{codes[code]}]."]
            continue
        codes[code] = i
        passed.append((i, prepared))
    if errors and (settings.all_or_nothing or not passed):
        raise validation(errors)
    return passed


def bulk_create(tenant: Tenant, body: object, settings: BulkSettings) -> dict:
    items = _materials(body, settings)
    passed = _checked(items, lambda item: prepare_create(tenant, item), settings)
    created = [
        {"customId": items[i].get("customId"), "id": commit_create(tenant, *prepared)["id"]} for i, prepared in passed
    ]
    return {"materials": created, "services": [], "equipment": [], "discountAndFees": []}


def bulk_update(tenant: Tenant, body: object, settings: BulkSettings) -> None:
    items = _materials(body, settings)

    def prepare(item):
        if not isinstance(item, dict) or isinstance(item.get("id"), bool) or not isinstance(item.get("id"), int):
            raise validation({"id": ["The id field is required."]})
        return prepare_update(tenant, item["id"], {k: v for k, v in item.items() if k != "id"})

    for _, prepared in _checked(items, prepare, settings):
        commit_update(tenant, *prepared)
