"""Required fields of the write requests, as plain Python (a test proves they match the OpenAPI documents).

A Shape mirrors one request schema: its required fields, and the shapes of its nested objects and of the
items of its nested arrays of objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar


@dataclass(frozen=True)
class Shape:
    schema: str
    required: tuple[str, ...] = ()
    objects: Mapping[str, Shape] = field(default_factory=dict)
    lists: Mapping[str, Shape] = field(default_factory=dict)


def _external_data(prefix: str, update: bool = False) -> Shape:
    if update:
        return Shape(
            f"{prefix}.ExternalDataUpdateRequest",
            ("applicationGuid", "externalData"),
            lists={"externalData": Shape(f"{prefix}.ExternalDataUpdateModel", ("key",))},
        )
    return Shape(
        f"{prefix}.ExternalDataCreateRequest",
        ("applicationGuid", "externalData"),
        lists={"externalData": Shape(f"{prefix}.ExternalDataModel", ("key", "value"))},
    )


# -- pricebook ----------------------------------------------------------------------------------------
_SUB_ACCOUNT = Shape("Pricebook.V2.SkuVendorSubAccountRequest", ("cost", "accountName"))
_SKU_VENDOR = Shape(
    "Pricebook.V2.SkuVendorRequest",
    ("vendorId", "cost", "active"),
    objects={"primarySubAccount": _SUB_ACCOUNT},
    lists={"otherSubAccounts": _SUB_ACCOUNT},
)
_SKU_ASSET = Shape("Pricebook.V2.SkuAssetRequest", ("type", "url"))
MATERIAL_CREATE = Shape(
    "Pricebook.V2.MaterialCreateRequest",
    ("code", "description"),
    objects={"primaryVendor": _SKU_VENDOR, "externalData": _external_data("Pricebook.V2")},
    lists={"otherVendors": _SKU_VENDOR, "assets": _SKU_ASSET},
)
MATERIAL_UPDATE = Shape(
    "Pricebook.V2.MaterialUpdateRequest",
    (),
    objects={"primaryVendor": _SKU_VENDOR, "externalData": _external_data("Pricebook.V2", update=True)},
    lists={"otherVendors": _SKU_VENDOR, "assets": _SKU_ASSET},
)
# Not in the cut-down documents ([client]): the material request's shape, under the equipment's names.
EQUIPMENT_CREATE = Shape(
    "Pricebook.V2.EquipmentCreateRequest",
    ("code", "description"),
    objects=MATERIAL_CREATE.objects,
    lists=MATERIAL_CREATE.lists,
)
EQUIPMENT_UPDATE = Shape(
    "Pricebook.V2.EquipmentUpdateRequest", (), objects=MATERIAL_UPDATE.objects, lists=MATERIAL_UPDATE.lists
)

# -- inventory ----------------------------------------------------------------------------------------
_ADDRESS = Shape("Inventory.V2.AddressRequest", ("street", "unit", "city", "state", "zip", "country"))
_PO_ITEM = Shape(
    "Inventory.V2.CreatePurchaseOrderItemRequest", ("skuId", "description", "vendorPartNumber", "quantity", "cost")
)
PURCHASE_ORDER_CREATE = Shape(
    "Inventory.V2.CreatePurchaseOrderRequest",
    (
        "vendorId",
        "typeId",
        "businessUnitId",
        "inventoryLocationId",
        "shipTo",
        "impactsTechnicianPayroll",
        "date",
        "requiredOn",
        "tax",
        "shipping",
        "items",
    ),
    objects={
        "shipTo": Shape("Inventory.V2.CreateAddressRequest", ("description", "address"), objects={"address": _ADDRESS})
    },
    lists={"items": _PO_ITEM},
)
PURCHASE_ORDER_UPDATE = Shape(
    "Inventory.V2.UpdatePurchaseOrderRequest",
    (),
    objects={
        "shipTo": Shape("Inventory.V2.UpdateAddressRequest", ("description", "address"), objects={"address": _ADDRESS})
    },
    lists={
        "items": Shape(
            "Inventory.V2.UpdatePurchaseOrderItemRequest",
            ("id", "skuId", "description", "vendorPartNumber", "quantity", "cost"),
        )
    },
)
VENDOR_CREATE = Shape(
    "Inventory.V2.CreateVendorRequest",
    ("name", "active", "isTruckReplenishment", "taxRate", "restrictedMobileCreation", "address"),
    objects={"address": _ADDRESS, "externalData": _external_data("Inventory.V2")},
    lists={
        "tags": Shape("Inventory.V2.TagRequest", ("tagTypeId",)),
        "vendorContacts": Shape("Inventory.V2.CreateVendorContactRequest", ("name", "email")),
    },
)

# -- jpm ----------------------------------------------------------------------------------------------
_LEAD_SOURCE = Shape("Jpm.V2.Base.JobGeneratedLeadSource", ())
_JOB_CUSTOM_FIELD = Shape("Jpm.V2.CustomFieldModel", ("typeId",))
JOB_CREATE = Shape(
    "Jpm.V2.JobCreateRequest",
    ("customerId", "locationId", "businessUnitId", "jobTypeId", "priority", "campaignId", "appointments"),
    objects={"jobGeneratedLeadSource": _LEAD_SOURCE, "externalData": _external_data("Jpm.V2")},
    lists={"appointments": Shape("Jpm.V2.AppointmentInformation", ("start", "end")), "customFields": _JOB_CUSTOM_FIELD},
)
JOB_UPDATE = Shape(
    "Jpm.V2.UpdateJobRequest",
    (),
    objects={"jobGeneratedLeadSource": _LEAD_SOURCE, "externalData": _external_data("Jpm.V2", update=True)},
    lists={"customFields": _JOB_CUSTOM_FIELD},
)
APPOINTMENT_ADD = Shape("Jpm.V2.AppointmentAddRequest", ("jobId", "start", "end"))

# -- crm ----------------------------------------------------------------------------------------------
_CRM_ADDRESS = Shape("Crm.V2.Customers.CustomerAddress", ("street", "city", "state", "zip", "country"))
_CRM_CONTACT = Shape("Crm.V2.Customers.NewCustomerContact", ("type", "value"))
_CRM_CUSTOM_FIELD = Shape("Crm.V2.Customers.CustomFieldUpdateModel", ("typeId", "value"))
_CRM_EXTERNAL = _external_data("Crm.V2")
CUSTOMER_CREATE = Shape(
    "Crm.V2.Customers.CreateCustomerRequest",
    ("name", "locations", "address"),
    objects={"address": _CRM_ADDRESS, "externalData": _CRM_EXTERNAL},
    lists={
        "locations": Shape(
            "Crm.V2.Customers.NewLocation",
            ("name", "address"),
            objects={"address": _CRM_ADDRESS, "externalData": _CRM_EXTERNAL},
            lists={"contacts": _CRM_CONTACT, "customFields": _CRM_CUSTOM_FIELD},
        ),
        "contacts": _CRM_CONTACT,
        "customFields": _CRM_CUSTOM_FIELD,
    },
)
LOCATION_CREATE = Shape(
    "Crm.V2.Locations.CreateLocationRequest",
    ("name", "address", "customerId"),
    objects={"address": _CRM_ADDRESS, "externalData": _CRM_EXTERNAL},
    lists={"contacts": _CRM_CONTACT, "customFields": _CRM_CUSTOM_FIELD},
)

# -- marketing ----------------------------------------------------------------------------------------
CAMPAIGN_CREATE = Shape("Marketing.V2.CampaignUpsertRequest", ("name", "businessUnitId", "categoryId", "active"))

# Its reason is optional in the document (an enum when given).
PO_CANCEL = Shape("Inventory.V2.CancelResourceRequest_Of_Inventory.V2.PurchaseOrderCancellationReason", ())

T = TypeVar("T")


def endpoint(document: str, call: str) -> tuple[str, str, str]:
    """A "method resource" call of an OpenAPI document as (document, method, path), e.g. "post materials" in
    pricebook-v2.json → ("pricebook-v2.json", "post", "/tenant/{tenant}/materials")."""
    method, resource = call.split(" ", 1)
    return document, method, f"/tenant/{{tenant}}/{resource}"


def endpoints(document: str, calls: Mapping[str, T]) -> dict[tuple[str, str, str], T]:
    """{"method resource": value} of one document as {(document, method, path): value}."""
    return {endpoint(document, call): value for call, value in calls.items()}


# (OpenAPI document, method, path) -> the shape its request body must satisfy.
WRITE_SHAPES: dict[tuple[str, str, str], Shape] = {
    **endpoints(
        "inventory-v2.json",
        {
            "patch purchase-orders/{id}/cancellation": PO_CANCEL,
            "post purchase-orders": PURCHASE_ORDER_CREATE,
            "patch purchase-orders/{id}": PURCHASE_ORDER_UPDATE,
            "post vendors": VENDOR_CREATE,
        },
    ),
    **endpoints("pricebook-v2.json", {"post materials": MATERIAL_CREATE, "patch materials/{id}": MATERIAL_UPDATE}),
    **endpoints(
        "jpm-v2.json", {"post jobs": JOB_CREATE, "patch jobs/{id}": JOB_UPDATE, "post appointments": APPOINTMENT_ADD}
    ),
    **endpoints("crm-v2.json", {"post customers": CUSTOMER_CREATE, "post locations": LOCATION_CREATE}),
    **endpoints("marketing-v2.json", {"post campaigns": CAMPAIGN_CREATE}),
}


def missing_required(payload: object, shape: Shape, prefix: str = "") -> dict[str, list[str]]:
    """ApiErrorResponse-style errors for every required field absent or null, nested objects included."""
    errors: dict[str, list[str]] = {}
    if not isinstance(payload, dict):
        where = prefix.rstrip(".")
        return {where or "$": [f"The {where or 'request body'} field must be a JSON object."]}
    for name in shape.required:
        if payload.get(name) is None:
            errors[f"{prefix}{name}"] = [f"The {name} field is required."]
    for name, child in shape.objects.items():
        value = payload.get(name)
        if value is not None:
            errors.update(missing_required(value, child, f"{prefix}{name}."))
    for name, child in shape.lists.items():
        value = payload.get(name)
        if value is None:
            continue
        if not isinstance(value, list):
            errors[f"{prefix}{name}"] = [f"The {name} field must be an array."]
            continue
        for i, item in enumerate(value):
            errors.update(missing_required(item, child, f"{prefix}{name}[{i}]."))
    return errors
