"""Shapes of what is read from Production (lenient) and of what is sent to Integration (strict).

Source models (models_source.py, re-exported here) keep unknown fields and take enums as plain strings, because
ServiceTitan adds fields and enum values without notice. Create models (here) follow the create-request schemas
of the OpenAPI documents: required fields are required here too, and unknown fields are refused so a typo cannot
slip through. What materials and equipment share on both sides is in models_sku.py; what a SKU's vendor and asset,
a lead source and a job share, in models_source.py (its `_...Fields` bases).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from stsync_dagster.sync.models_sku import _MaterialFields, _SkuFields
from stsync_dagster.sync.models_source import (
    SourceAddress,
    SourceAppointment,
    SourceAssignment,
    SourceJob,
    SourceLeadSource,
    SourceMaterial,
    SourcePurchaseOrder,
    SourcePurchaseOrderItem,
    SourceSkuAsset,
    SourceSkuVendor,
    SourceSubAccount,
)
from stsync_dagster.sync.models_source import _JobFields, _LeadSourceFields, _SkuAssetFields, _SkuVendorFields
from stsync_dagster.sync.models_source import _SourceSku as _SourceSku  # entities/equipment.py takes it from here

__all__ = [  # the read side too (models_source.py), as before it moved there
    "AddressCreate",
    "AppointmentCreate",
    "ExternalDataCreate",
    "ExternalDataPair",
    "JobCreate",
    "LeadSourceCreate",
    "MaterialCreate",
    "PurchaseOrderCreate",
    "PurchaseOrderItemCreate",
    "ShipToCreate",
    "SkuAssetCreate",
    "SkuVendorCreate",
    "SourceAddress",
    "SourceAppointment",
    "SourceAssignment",
    "SourceJob",
    "SourceLeadSource",
    "SourceMaterial",
    "SourcePurchaseOrder",
    "SourcePurchaseOrderItem",
    "SourceSkuAsset",
    "SourceSkuVendor",
    "SourceSubAccount",
    "SubAccountCreate",
    "payload",
]


class _Create(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- sent to Integration ---------------------------------------------------------------------------


class ExternalDataPair(_Create):
    key: str
    value: str


class ExternalDataCreate(_Create):
    applicationGuid: str
    externalData: list[ExternalDataPair]


class SubAccountCreate(_Create):
    cost: float
    accountName: str


class SkuVendorCreate(_SkuVendorFields, _Create):
    primarySubAccount: SubAccountCreate | None = None
    otherSubAccounts: list[SubAccountCreate] | None = None


class SkuAssetCreate(_SkuAssetFields, _Create):
    isDefault: bool | None = None


class _SkuCreate(_SkuFields, _Create):
    """A material's or equipment's create request: what both kinds have."""

    code: str
    description: str
    active: bool | None = None
    primaryVendor: SkuVendorCreate | None = None
    otherVendors: list[SkuVendorCreate] | None = None
    externalData: ExternalDataCreate | None = None


class MaterialCreate(_MaterialFields, _SkuCreate):
    assets: list[SkuAssetCreate] | None = None
    variationMaterials: list[int] | None = None


class AddressCreate(_Create):
    street: str
    unit: str
    city: str
    state: str
    zip: str
    country: str


class ShipToCreate(_Create):
    description: str
    address: AddressCreate


class PurchaseOrderItemCreate(_Create):
    skuId: int
    description: str
    vendorPartNumber: str
    quantity: float
    cost: float


class PurchaseOrderCreate(_Create):
    vendorId: int
    typeId: int
    businessUnitId: int
    inventoryLocationId: int
    shipTo: ShipToCreate
    impactsTechnicianPayroll: bool
    date: str
    requiredOn: str
    tax: float
    shipping: float
    items: list[PurchaseOrderItemCreate] = Field(min_length=1)
    jobId: int | None = None
    technicianId: int | None = None
    vendorInvoiceNumber: str | None = None
    memo: str | None = None


class AppointmentCreate(_Create):
    start: str
    end: str
    arrivalWindowStart: str | None = None
    arrivalWindowEnd: str | None = None
    technicianIds: list[int] | None = None


class LeadSourceCreate(_LeadSourceFields, _Create):
    pass


class JobCreate(_JobFields, _Create):
    priority: Literal["Low", "Normal", "High", "Urgent"]
    appointments: list[AppointmentCreate] = Field(min_length=1)
    jobGeneratedLeadSource: LeadSourceCreate | None = None
    externalData: ExternalDataCreate | None = None


def payload(model: BaseModel) -> dict:
    """The JSON body of a create request: optional fields left unset are not sent."""
    return model.model_dump(mode="json", exclude_none=True)
