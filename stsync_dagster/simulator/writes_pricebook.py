"""POST / PATCH / DELETE materials: 201 (create) or 200 (update) with the full record, 204 (delete) with none."""

from __future__ import annotations

from .problems import ApiError
from .records import material_fields
from .shapes import MATERIAL_CREATE, MATERIAL_UPDATE
from .store import Tenant
from .validate import API_USER_ID, Errors, external_data, not_found, require

KIND = "materials"
NUMBERS = ("cost", "price", "memberPrice", "addOnPrice", "addOnMemberPrice", "hours", "bonus", "commissionBonus")
FLAGS = (
    "active",
    "paysCommission",
    "deductAsJobCost",
    "isInventory",
    "isConfigurableMaterial",
    "chargeableByDefault",
    "isOtherDirectCost",
)
TEXTS = (
    "displayName",
    "unitOfMeasure",
    "account",
    "costOfSaleAccount",
    "assetAccount",
    "intacctGlGroupAccount",
    "budgetCostCode",
    "budgetCostType",
)
WRITE_ONLY = {"intacctGlGroupAccount": "_intacctGlGroupAccount"}
DEFAULT_FLAGS = {"active": True, "chargeableByDefault": True}


def _sku_vendor(errors: Errors, tenant: Tenant, body: dict, field: str) -> dict | None:
    vendor_id = errors.integer(body, "vendorId", f"{field}.vendorId")
    vendor = errors.ref("vendors", f"{field}.vendorId", vendor_id)
    return {
        "id": tenant.new_id(),
        "vendorName": vendor["name"] if vendor else "",
        "vendorId": vendor_id,
        "memo": errors.text(body, "memo", field=f"{field}.memo"),
        "vendorPart": errors.text(body, "vendorPart", field=f"{field}.vendorPart"),
        "cost": errors.number(body, "cost", 0.0, f"{field}.cost"),
        "active": errors.boolean(body, "active", True, f"{field}.active"),
        "primarySubAccount": _sub_account(errors, tenant, body.get("primarySubAccount"), f"{field}.primarySubAccount"),
        "otherSubAccounts": (
            None
            if body.get("otherSubAccounts") is None
            else [
                _sub_account(errors, tenant, sub, f"{field}.otherSubAccounts[{i}]")
                for i, sub in enumerate(body["otherSubAccounts"])
            ]
        ),
    }


def _sub_account(errors: Errors, tenant: Tenant, body: object, field: str) -> dict | None:
    """SkuVendorSubAccountResponse: the request's cost and accountName, with an id of its own."""
    if body is None:
        return None
    if not isinstance(body, dict):
        errors.add(field, "The sub-account must be an object.")
        return None
    return {
        "id": tenant.new_id(),
        "cost": errors.number(body, "cost", 0.0, f"{field}.cost"),
        "accountName": errors.text(body, "accountName", "", f"{field}.accountName"),
    }


def _code_taken(tenant: Tenant, code: str, except_id: int | None = None, kind: str = KIND) -> bool:
    return any(r["id"] != except_id for r in tenant.with_code(kind, code))


def _apply(errors: Errors, tenant: Tenant, body: dict, record: dict) -> None:
    """Copy the writable fields present in body onto record (validated)."""
    if "code" in body:
        record["code"] = errors.required_text(body, "code", record.get("code"))
    if "description" in body:
        record["description"] = errors.required_text(body, "description", record.get("description"))
    for name in NUMBERS:
        if name in body:
            record[name] = errors.number(body, name, record.get(name, 0.0))
    for name in FLAGS:
        if name in body:
            record[name] = errors.boolean(body, name, record.get(name, DEFAULT_FLAGS.get(name, False)))
    for name in TEXTS:
        if name in body:
            # intacctGlGroupAccount is writable but in no material read shape: kept as `_…`, never answered.
            record[WRITE_ONLY.get(name, name)] = errors.text(body, name)
    if "taxable" in body:
        record["taxable"] = errors.boolean(body, "taxable")
    if "costTypeId" in body:
        record["costTypeId"] = errors.integer(body, "costTypeId")
    if "primaryVendor" in body:
        value = body["primaryVendor"]
        record["primaryVendor"] = _sku_vendor(errors, tenant, value, "primaryVendor") if value else None
    if "otherVendors" in body:
        others = body["otherVendors"]
        record["otherVendors"] = (
            None
            if others is None
            else [_sku_vendor(errors, tenant, v, f"otherVendors[{i}]") for i, v in enumerate(others)]
        )
    if "categories" in body:
        categories = errors.id_list(body, "categories")
        for i, category in enumerate(categories):
            errors.ref("categories", f"categories[{i}]", category)
        record["categories"] = categories
    if "assets" in body:
        record["assets"] = [
            {
                "alias": a.get("alias"),
                "fileName": None,
                "isDefault": bool(a.get("isDefault")),
                "type": a.get("type"),
                "url": a.get("url"),
            }
            for a in body.get("assets") or []
        ]
    if "variationMaterials" in body:
        record["variationsOrConfigurableMaterials"] = errors.id_list(body, "variationMaterials")


def new_material(now: str) -> dict:
    """A material as it stands before the create request's fields are applied."""
    return {"id": None, **material_fields(createdOn=now, modifiedOn=now, createdById=API_USER_ID)}


def prepare_create(
    tenant: Tenant,
    body: object,
    *,
    kind: str = KIND,
    schema=MATERIAL_CREATE,
    new_record=new_material,
    apply=None,
    label: str = "material",
) -> tuple[dict, tuple | None]:
    """A new record checked but not stored (ApiError when invalid): (record without id, stamp). A material by
    default; equipment passes its kind, schema, starting record, fields and label."""
    body = require(body, schema)
    errors = Errors(tenant)
    record = new_record(tenant.clock.stamp())
    (apply or _apply)(errors, tenant, body, record)
    stamp = external_data(errors, body)
    errors.raise_if_any()
    if _code_taken(tenant, record["code"], kind=kind):
        raise _duplicate(record["code"], label)
    return record, stamp


def commit_create(tenant: Tenant, record: dict, stamp: tuple | None, kind: str = KIND) -> dict:
    record["id"] = tenant.new_id()
    tenant.insert(kind, record)
    if stamp:
        tenant.set_external(kind, record["id"], stamp[0], stamp[1])
    return record


def create_material(tenant: Tenant, body: object) -> tuple[dict, str | None]:
    record, stamp = prepare_create(tenant, body)
    return commit_create(tenant, record, stamp), stamp[0] if stamp else None


def prepare_update(
    tenant: Tenant,
    material_id: int,
    body: object,
    *,
    kind: str = KIND,
    schema=MATERIAL_UPDATE,
    apply=None,
    label: str = "material",
) -> tuple[dict, dict, tuple | None]:
    """The change checked but not applied (ApiError when invalid): (record, changed copy, stamp). A material's by
    default; equipment passes its kind, schema, fields and label."""
    body = require(body, schema)
    record = tenant.get(kind, material_id)
    if record is None:
        raise not_found(kind, material_id)
    errors = Errors(tenant)
    changed = dict(record)
    (apply or _apply)(errors, tenant, body, changed)
    stamp = external_data(errors, body, update=True)
    errors.raise_if_any()
    if _code_taken(tenant, changed["code"], except_id=material_id, kind=kind):
        raise _duplicate(changed["code"], label)
    return record, changed, stamp


def commit_update(tenant: Tenant, record: dict, changed: dict, stamp: tuple | None, kind: str = KIND) -> dict:
    record.update(changed)
    tenant.changed(kind, record)
    tenant.touch(record)
    if stamp:
        tenant.set_external(kind, record["id"], stamp[0], stamp[1], merge=stamp[2])
    return record


def update_material(tenant: Tenant, material_id: int, body: object) -> tuple[dict, str | None]:
    record, changed, stamp = prepare_update(tenant, material_id, body)
    return commit_update(tenant, record, changed, stamp), stamp[0] if stamp else None


def delete_material(tenant: Tenant, material_id: int, _body: object) -> None:
    """Materials_Delete: 204, and no read finds the material again; 404 when there is none. A material on a line of
    a purchase order that is not canceled is refused (400) [assumed: the document does not say]."""
    if tenant.get(KIND, material_id) is None:
        raise not_found(KIND, material_id)
    for po in tenant.all("purchase-orders"):
        on_line = any(line.get("skuId") == material_id and line.get("active", True) for line in po.get("items") or [])
        if on_line and po.get("status") != "Canceled":
            raise ApiError(
                400,
                f"Material {material_id} is used by purchase order {po['id']} and cannot be deleted.",
                {"id": [f"The material is on a line of purchase order {po['id']}."]},
            )
    tenant.remove(KIND, material_id)


def _duplicate(code: str, label: str = "material") -> ApiError:
    # 409 Conflict (the API's documented status for conflicts): codes are unique per tenant, compared
    # case-insensitively and ignoring surrounding spaces.
    article = "An" if label[0] in "aeiou" else "A"
    return ApiError(
        409,
        f"{article} {label} with code '{code}' already exists.",
        {"code": [f"The code '{code}' is already used by another {label}."]},
    )
