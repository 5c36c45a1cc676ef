"""POST customers (with their locations), locations and campaigns: 200 with the full record."""

from __future__ import annotations

from .shapes import CAMPAIGN_CREATE, CUSTOMER_CREATE, LOCATION_CREATE
from .store import Tenant
from .validate import API_USER_ID, Errors, external_data, require

ADDRESS_FIELDS = ("street", "unit", "city", "state", "zip", "country", "latitude", "longitude")


def _address(errors: Errors, body: dict, field: str) -> dict:
    address = {name: body.get(name) for name in ADDRESS_FIELDS}
    for name in ADDRESS_FIELDS[:6]:
        errors.text(body, name, field=f"{field}.{name}")
    return address


def _contacts(errors: Errors, tenant: Tenant, items: list | None) -> list[dict]:
    return [
        {"id": tenant.new_id(), "type": c.get("type"), "value": c.get("value"), "memo": c.get("memo")}
        for c in items or []
    ]


def _custom_fields(items: list | None) -> list[dict]:
    return [
        {"typeId": f.get("typeId"), "name": f"Custom field {f.get('typeId')}", "value": f.get("value")}
        for f in items or []
    ]


def _location(errors: Errors, tenant: Tenant, body: dict, customer_id: int | None, field: str, now: str) -> dict:
    return {
        "taxZoneId": None,
        "id": tenant.new_id(),
        "customerId": customer_id,
        "active": True,
        "name": errors.text(body, "name", "", f"{field}name"),
        "address": _address(errors, body["address"], f"{field}address"),
        "customFields": _custom_fields(body.get("customFields")),
        "createdOn": now,
        "createdById": API_USER_ID,
        "modifiedOn": now,
        "mergedToId": None,
        "zoneId": None,
        "taxExempt": False,
        "tagTypeIds": errors.id_list(body, "tagTypeIds", f"{field}tagTypeIds"),
        "_contacts": _contacts(errors, tenant, body.get("contacts")),  # create answers only
    }


def _store_location(tenant: Tenant, location: dict, stamp) -> None:
    tenant.insert("locations", location)
    if stamp:
        tenant.set_external("locations", location["id"], stamp[0], stamp[1])


def create_location(tenant: Tenant, body: object) -> tuple[dict, str | None]:
    body = require(body, LOCATION_CREATE)
    errors = Errors(tenant)
    customer_id = errors.integer(body, "customerId")
    errors.ref("customers", "customerId", customer_id)
    location = _location(errors, tenant, body, customer_id, "", tenant.clock.stamp())
    stamp = external_data(errors, body)
    errors.raise_if_any()
    _store_location(tenant, location, stamp)
    return dict(location, contacts=location["_contacts"]), stamp[0] if stamp else None  # CreateLocationResponse


def create_customer(tenant: Tenant, body: object) -> tuple[dict, str | None]:
    body = require(body, CUSTOMER_CREATE)
    errors = Errors(tenant)
    now = tenant.clock.stamp()
    customer_id = tenant.new_id()
    kind = body.get("type") or "Residential"
    if kind not in ("Residential", "Commercial"):
        errors.add("type", f"The value '{kind}' is not valid for type.")
    record = {
        "id": customer_id,
        "active": True,
        "name": errors.text(body, "name", ""),
        "type": kind,
        "address": _address(errors, body["address"], "address"),
        "customFields": _custom_fields(body.get("customFields")),
        "balance": 0.0,
        "taxExempt": bool(body.get("taxExempt")),
        "tagTypeIds": errors.id_list(body, "tagTypeIds"),
        "doNotMail": bool(body.get("doNotMail")),
        "doNotService": bool(body.get("doNotService")),
        "nationalAccount": bool(body.get("nationalAccount")),
        "createdOn": now,
        "createdById": API_USER_ID,
        "modifiedOn": now,
        "mergedToId": None,
        "paymentTermId": errors.integer(body, "paymentTermId"),
        "creditLimit": errors.number(body, "creditLimit"),
        "creditLimitBalance": errors.number(body, "creditLimitBalance"),
        "_contacts": _contacts(errors, tenant, body.get("contacts")),  # create answers only
    }
    if not body["locations"]:
        errors.add("locations", "At least one location is required.")
    locations = []
    for i, location_body in enumerate(body["locations"]):
        location = _location(errors, tenant, location_body, customer_id, f"locations[{i}].", now)
        locations.append((location, external_data(errors, location_body)))
    stamp = external_data(errors, body)
    errors.raise_if_any()
    tenant.insert("customers", record)
    if stamp:
        tenant.set_external("customers", customer_id, stamp[0], stamp[1])
    for location, location_stamp in locations:
        _store_location(tenant, location, location_stamp)
    answer = dict(  # CreatedCustomerResponse: the locations and contacts too
        record,
        contacts=record["_contacts"],
        locations=[
            dict(tenant.render("locations", loc, stamp[0] if stamp else None), contacts=loc["_contacts"])
            for loc, _ in locations
        ],
    )
    return answer, stamp[0] if stamp else None


def create_campaign(tenant: Tenant, body: object) -> dict:
    body = require(body, CAMPAIGN_CREATE)
    errors = Errors(tenant)
    unit = errors.ref("business-units", "businessUnitId", errors.integer(body, "businessUnitId"))
    category = errors.ref("campaign-categories", "categoryId", errors.integer(body, "categoryId"))
    now = tenant.clock.stamp()
    record = {
        "id": None,
        "name": errors.text(body, "name", ""),
        "modifiedOn": now,
        "createdOn": now,
        "active": errors.boolean(body, "active", True),
        "isDefaultCampaign": errors.boolean(body, "isDefaultCampaign"),
        "category": category and {"id": category["id"], "name": category["name"], "active": category["active"]},
        "source": errors.text(body, "source"),
        "otherSource": errors.text(body, "otherSource"),
        "businessUnit": unit and unit["name"],
        "medium": errors.text(body, "medium"),
        "otherMedium": errors.text(body, "otherMedium"),
        "campaignPhoneNumbers": [body["dnis"]] if body.get("dnis") else [],
    }
    errors.raise_if_any()
    record["id"] = tenant.new_id()
    tenant.insert("campaigns", record)
    return record
