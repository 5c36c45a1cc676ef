"""POST / PATCH purchase orders (answer: 200 {"id": n} only) and POST vendors."""

from __future__ import annotations

from .shapes import PURCHASE_ORDER_CREATE, PURCHASE_ORDER_UPDATE, VENDOR_CREATE
from .store import Tenant
from .validate import Errors, external_data, not_found, require

KIND = "purchase-orders"
ADDRESS_FIELDS = ("street", "unit", "city", "state", "zip", "country")
REFERENCES = (  # (request field, kind)
    ("vendorId", "vendors"),
    ("typeId", "purchase-order-types"),
    ("businessUnitId", "business-units"),
    ("inventoryLocationId", "warehouses"),
    ("jobId", "jobs"),
    ("technicianId", "technicians"),
)


def _address(errors: Errors, address: dict, field: str) -> dict:
    return {name: errors.text(address, name, field=f"{field}.{name}") for name in ADDRESS_FIELDS}


def _item(errors: Errors, tenant: Tenant, body: dict, field: str, now: str, existing: dict | None) -> dict:
    sku_id = errors.integer(body, "skuId", f"{field}.skuId")
    # "any active material or equipment": the line's skuType says which it is.
    equipment = tenant.get("equipment", sku_id) if sku_id is not None else None
    sku = equipment or errors.ref("materials", f"{field}.skuId", sku_id)
    if sku is not None and not sku["active"]:
        errors.add(f"{field}.skuId", f"Sku {sku_id} is inactive")
    quantity = errors.quantity(body, "quantity", f"{field}.quantity")
    cost = errors.decimal(body, "cost", 0.0, f"{field}.cost")
    item = dict(
        existing
        or {
            "id": tenant.new_id(),
            "createdOn": now,
            "quantityReceived": 0.0,
            "serialNumbers": [],
            "status": "Pending",
            "chargeable": False,
        }
    )
    item.update(
        {
            "skuId": sku_id,
            "description": errors.required_text(body, "description", "", f"{field}.description"),
            "modifiedOn": now,
            "skuName": (sku or {}).get("displayName") or (sku or {}).get("code") or "",
            "skuCode": (sku or {}).get("code") or "",
            "skuType": "Equipment" if equipment else "Material",
            "vendorPartNumber": errors.text(body, "vendorPartNumber", "", f"{field}.vendorPartNumber"),
            "quantity": quantity,
            "cost": cost,
            "total": round(quantity * cost, 2),
            "budgetCodeId": errors.integer(body, "budgetCodeId", f"{field}.budgetCodeId"),
        }
    )
    return item


def _apply(errors: Errors, tenant: Tenant, body: dict, record: dict, now: str) -> None:
    for name, kind in REFERENCES:
        if name in body:
            value = errors.integer(body, name)
            errors.ref(kind, name, value)
            record[name] = value
    for name in ("projectId", "budgetCodeId"):
        if name in body:
            record[name] = errors.integer(body, name)
    if body.get("shipTo") is not None:
        ship_to = body["shipTo"]
        errors.required_text(ship_to, "description", "", "shipTo.description")  # not read back: an address
        record["shipTo"] = _address(errors, ship_to.get("address") or {}, "shipTo.address")
    if "vendorInvoiceNumber" in body:  # read back as vendorDocumentNumber
        record["vendorDocumentNumber"] = errors.text(body, "vendorInvoiceNumber") or ""
    if "memo" in body:  # read back as summary
        record["summary"] = errors.text(body, "memo") or ""
    if "impactsTechnicianPayroll" in body:  # validated, not part of the read shape
        errors.boolean(body, "impactsTechnicianPayroll", False)
    for name in ("date", "requiredOn"):
        if name in body:
            record[name] = errors.instant(body, name)
    for name in ("tax", "shipping"):
        if name in body:
            record[name] = errors.decimal(body, name, 0.0)
    if body.get("items") is not None:
        by_id = {item["id"]: item for item in record.get("items", [])}
        items = []
        for i, item_body in enumerate(body["items"]):
            existing = None
            if "id" in item_body:  # update requests name the line they change
                item_id = errors.integer(item_body, "id", f"items[{i}].id")
                existing = by_id.get(item_id)
                if item_id is not None and existing is None:
                    errors.add(f"items[{i}].id", f"Purchase order item {item_id} not found")
            items.append(_item(errors, tenant, item_body, f"items[{i}]", now, existing))
        record["items"] = items
    record["total"] = round(
        sum(x["total"] for x in record.get("items", [])) + (record.get("tax") or 0) + (record.get("shipping") or 0), 2
    )


def create_purchase_order(tenant: Tenant, body: object) -> dict:
    body = require(body, PURCHASE_ORDER_CREATE)
    errors = Errors(tenant)
    now = tenant.clock.stamp()
    record = {
        "id": None,
        "number": "",
        "invoiceId": None,
        "jobId": None,
        "projectId": None,
        "status": "Pending",
        "typeId": None,
        "vendorId": None,
        "technicianId": None,
        "shipTo": {},
        "businessUnitId": None,
        "inventoryLocationId": None,
        "batchId": None,
        "budgetCodeId": None,
        "vendorDocumentNumber": "",
        "date": None,
        "requiredOn": None,
        "sentOn": None,
        "receivedOn": None,
        "createdOn": now,
        "modifiedOn": now,
        "total": 0.0,
        "tax": 0.0,
        "shipping": 0.0,
        "summary": "",
        "items": [],
        "customFields": [],
    }
    _apply(errors, tenant, body, record, now)
    errors.raise_if_any()
    record["id"], record["number"] = tenant.new_id(), tenant.new_po_number()
    tenant.insert(KIND, record)
    return {"id": record["id"]}


def update_purchase_order(tenant: Tenant, po_id: int, body: object) -> dict:
    body = require(body, PURCHASE_ORDER_UPDATE)
    record = tenant.get(KIND, po_id)
    if record is None:
        raise not_found(KIND, po_id)
    errors = Errors(tenant)
    changed = dict(record)
    _apply(errors, tenant, body, changed, tenant.clock.stamp())
    errors.raise_if_any()
    record.update(changed)
    tenant.touch(record)
    return {"id": po_id}


def create_vendor(tenant: Tenant, body: object) -> dict:
    body = require(body, VENDOR_CREATE)
    errors = Errors(tenant)
    now = tenant.clock.stamp()
    record = {
        "id": None,
        "name": errors.text(body, "name", ""),
        "active": errors.boolean(body, "active", True),
        "isTruckReplenishment": errors.boolean(body, "isTruckReplenishment", False),
        "isMobileCreationRestricted": errors.boolean(body, "restrictedMobileCreation", False),
        "memo": errors.text(body, "memo") or "",
        "deliveryOption": errors.text(body, "deliveryOption") or "Manual",
        "defaultTaxRate": errors.number(body, "taxRate", 0.0),
        "contactInfo": {
            name: errors.text(body, name) or "" for name in ("firstName", "lastName", "phone", "email", "fax")
        },
        "address": _address(errors, body["address"], "address"),
        "createdOn": now,
        "modifiedOn": now,
        "customFields": [],
    }
    stamp = external_data(errors, body)
    errors.raise_if_any()
    record["id"] = tenant.new_id()
    tenant.insert("vendors", record)
    if stamp:
        tenant.set_external("vendors", record["id"], stamp[0], stamp[1])
    return {"id": record["id"]}
