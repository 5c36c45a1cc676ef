"""POST / PATCH pricebook equipment: 200 with the full record (API.md, "Beyond create": [client] endpoints).

The cut-down OpenAPI documents have no equipment schema; the request is the material one's fields plus the
equipment's manufacturer and model [assumed], with `code` and `description` required like a material's.
"""

from __future__ import annotations

from .shapes import EQUIPMENT_CREATE, EQUIPMENT_UPDATE
from .store import Tenant
from .validate import API_USER_ID, Errors, external_data, require
from .writes_pricebook import _apply, _code_taken, _duplicate, commit_create, commit_update, prepare_update

KIND = "equipment"
TEXTS = ("manufacturer", "model")


def _apply_equipment(errors: Errors, tenant: Tenant, body: dict, record: dict) -> None:
    _apply(errors, tenant, body, record)
    record.pop("variationsOrConfigurableMaterials", None)
    for name in TEXTS:
        if name in body:
            record[name] = errors.text(body, name)


def create_equipment(tenant: Tenant, body: object) -> tuple[dict, str | None]:
    body = require(body, EQUIPMENT_CREATE)
    errors = Errors(tenant)
    now = tenant.clock.stamp()
    record = {
        "id": None,
        "code": "",
        "displayName": None,
        "description": "",
        "active": True,
        "price": 0.0,
        "memberPrice": 0.0,
        "addOnPrice": 0.0,
        "addOnMemberPrice": 0.0,
        "manufacturer": None,
        "model": None,
        "cost": 0.0,
        "unitOfMeasure": None,
        "isInventory": False,
        "account": None,
        "costOfSaleAccount": None,
        "assetAccount": None,
        "taxable": None,
        "hours": 0.0,
        "bonus": 0.0,
        "commissionBonus": 0.0,
        "paysCommission": False,
        "primaryVendor": None,
        "otherVendors": None,
        "categories": [],
        "assets": [],
        "createdById": API_USER_ID,
        "createdOn": now,
        "modifiedOn": now,
        "source": None,
        "externalId": None,
    }
    _apply_equipment(errors, tenant, body, record)
    stamp = external_data(errors, body)
    errors.raise_if_any()
    if _code_taken(tenant, record["code"], kind=KIND):
        raise _duplicate(record["code"], "equipment")
    return commit_create(tenant, record, stamp, KIND), stamp[0] if stamp else None


def update_equipment(tenant: Tenant, equipment_id: int, body: object) -> tuple[dict, str | None]:
    record, changed, stamp = prepare_update(
        tenant, equipment_id, body, kind=KIND, schema=EQUIPMENT_UPDATE, apply=_apply_equipment, label="equipment"
    )
    return commit_update(tenant, record, changed, stamp, KIND), stamp[0] if stamp else None
