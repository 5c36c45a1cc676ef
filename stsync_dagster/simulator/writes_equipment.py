"""POST / PATCH pricebook equipment: 200 with the full record (API.md, "Beyond create": [client] endpoints).

The cut-down OpenAPI documents have no equipment schema; the request is the material one's fields plus the
equipment's manufacturer and model [assumed], with `code` and `description` required like a material's.
"""

from __future__ import annotations

from .shapes import EQUIPMENT_CREATE, EQUIPMENT_UPDATE
from .store import Tenant
from .validate import Errors
from .writes_pricebook import _apply, commit_create, commit_update, new_material, prepare_create, prepare_update

KIND = "equipment"
TEXTS = ("manufacturer", "model")
# An equipment record's fields, in the order it is sent: a material's (same starting values) and TEXTS.
RECORD_FIELDS = (
    "id", "code", "displayName", "description", "active", "price", "memberPrice", "addOnPrice", "addOnMemberPrice",
    "manufacturer", "model", "cost", "unitOfMeasure", "isInventory", "account", "costOfSaleAccount", "assetAccount",
    "taxable", "hours", "bonus", "commissionBonus", "paysCommission", "primaryVendor", "otherVendors", "categories",
    "assets", "createdById", "createdOn", "modifiedOn", "source", "externalId",
)  # fmt: skip


def _new_equipment(now: str) -> dict:
    material = new_material(now)
    return {name: material.get(name) for name in RECORD_FIELDS}


def _apply_equipment(errors: Errors, tenant: Tenant, body: dict, record: dict) -> None:
    _apply(errors, tenant, body, record)
    record.pop("variationsOrConfigurableMaterials", None)
    for name in TEXTS:
        if name in body:
            record[name] = errors.text(body, name)


def create_equipment(tenant: Tenant, body: object) -> tuple[dict, str | None]:
    record, stamp = prepare_create(
        tenant,
        body,
        kind=KIND,
        schema=EQUIPMENT_CREATE,
        new_record=_new_equipment,
        apply=_apply_equipment,
        label="equipment",
    )
    return commit_create(tenant, record, stamp, KIND), stamp[0] if stamp else None


def update_equipment(tenant: Tenant, equipment_id: int, body: object) -> tuple[dict, str | None]:
    record, changed, stamp = prepare_update(
        tenant, equipment_id, body, kind=KIND, schema=EQUIPMENT_UPDATE, apply=_apply_equipment, label="equipment"
    )
    return commit_update(tenant, record, changed, stamp, KIND), stamp[0] if stamp else None
