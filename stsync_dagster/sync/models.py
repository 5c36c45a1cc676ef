"""Shapes of what is read from Production (lenient) and of what is sent to Integration (strict).

Source models keep unknown fields and take enums as plain strings, because ServiceTitan adds fields and
enum values without notice. Create models follow the create-request schemas of the OpenAPI documents:
required fields are required here too, and unknown fields are refused so a typo cannot slip through.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Source(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _Create(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _SkuFields(BaseModel):
    """What materials and equipment share, read from Production and sent to Integration alike."""

    displayName: str | None = None
    cost: float | None = None
    price: float | None = None
    memberPrice: float | None = None
    addOnPrice: float | None = None
    addOnMemberPrice: float | None = None
    hours: float | None = None
    bonus: float | None = None
    commissionBonus: float | None = None
    paysCommission: bool | None = None
    isInventory: bool | None = None
    unitOfMeasure: str | None = None
    account: str | None = None
    costOfSaleAccount: str | None = None
    assetAccount: str | None = None
    taxable: bool | None = None


class _MaterialFields(_SkuFields):
    """What a Production material and a material create request share."""

    deductAsJobCost: bool | None = None
    categories: list[int] | None = None
    isConfigurableMaterial: bool | None = None
    chargeableByDefault: bool | None = None
    isOtherDirectCost: bool | None = None
    budgetCostCode: str | None = None
    budgetCostType: str | None = None


# ---- read from Production -------------------------------------------------------------------------


class SourceSubAccount(_Source):
    cost: float = 0.0
    accountName: str


class SourceSkuVendor(_Source):
    vendorId: int
    cost: float = 0.0
    active: bool = True
    memo: str | None = None
    vendorPart: str | None = None
    primarySubAccount: SourceSubAccount | None = None
    otherSubAccounts: list[SourceSubAccount] | None = None


class SourceSkuAsset(_Source):
    type: str
    url: str
    alias: str | None = None
    isDefault: bool = False


class _SourceSku(_SkuFields, _Source):
    """A Production material or equipment: what both kinds have."""

    id: int
    code: str = Field(min_length=1)
    description: str | None = None
    active: bool = True
    primaryVendor: SourceSkuVendor | None = None
    otherVendors: list[SourceSkuVendor] | None = None
    createdOn: datetime | None = None
    modifiedOn: datetime


class SourceMaterial(_MaterialFields, _SourceSku):
    assets: list[SourceSkuAsset] | None = None
    variationsOrConfigurableMaterials: list[int] | None = None


class SourceAddress(_Source):
    street: str | None = None
    unit: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None


class SourcePurchaseOrderItem(_Source):
    skuId: int
    skuCode: str | None = None
    description: str | None = None
    vendorPartNumber: str | None = None
    quantity: float
    cost: float


class SourcePurchaseOrder(_Source):
    id: int
    number: str | None = None
    status: str | None = None
    vendorId: int
    typeId: int
    businessUnitId: int | None = None
    inventoryLocationId: int | None = None
    jobId: int | None = None
    technicianId: int | None = None
    shipTo: SourceAddress | None = None
    vendorDocumentNumber: str | None = None
    impactsTechnicianPayroll: bool | None = None
    date: datetime
    requiredOn: datetime | None = None
    tax: float = 0.0
    shipping: float = 0.0
    summary: str | None = None
    items: list[SourcePurchaseOrderItem] = Field(min_length=1)
    createdOn: datetime | None = None
    modifiedOn: datetime


class SourceLeadSource(_Source):
    jobId: int | None = None
    employeeId: int | None = None


class SourceJob(_Source):
    id: int
    jobNumber: str | None = None
    customerId: int
    locationId: int
    businessUnitId: int
    jobTypeId: int
    priority: str
    campaignId: int
    jobStatus: str | None = None
    summary: str | None = None
    customerPo: str | None = None
    soldById: int | None = None
    jobGeneratedLeadSource: SourceLeadSource | None = None
    appointmentCount: int = 0
    firstAppointmentId: int | None = None
    lastAppointmentId: int | None = None
    createdOn: datetime | None = None
    modifiedOn: datetime


class SourceAppointment(_Source):
    id: int
    jobId: int
    start: datetime
    end: datetime
    arrivalWindowStart: datetime | None = None
    arrivalWindowEnd: datetime | None = None
    active: bool = True


class SourceAssignment(_Source):
    appointmentId: int
    technicianId: int
    jobId: int | None = None
    active: bool = True


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


class SkuVendorCreate(_Create):
    vendorId: int
    cost: float
    active: bool
    memo: str | None = None
    vendorPart: str | None = None
    primarySubAccount: SubAccountCreate | None = None
    otherSubAccounts: list[SubAccountCreate] | None = None


class SkuAssetCreate(_Create):
    type: str
    url: str
    alias: str | None = None
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


class LeadSourceCreate(_Create):
    jobId: int | None = None
    employeeId: int | None = None


class JobCreate(_Create):
    customerId: int
    locationId: int
    businessUnitId: int
    jobTypeId: int
    priority: Literal["Low", "Normal", "High", "Urgent"]
    campaignId: int
    appointments: list[AppointmentCreate] = Field(min_length=1)
    summary: str | None = None
    customerPo: str | None = None
    soldById: int | None = None
    jobGeneratedLeadSource: LeadSourceCreate | None = None
    externalData: ExternalDataCreate | None = None


def payload(model: BaseModel) -> dict:
    """The JSON body of a create request: optional fields left unset are not sent."""
    return model.model_dump(mode="json", exclude_none=True)
