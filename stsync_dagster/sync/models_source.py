"""Shapes of what is read from Production: lenient. They keep unknown fields and take enums as plain strings,
because ServiceTitan adds fields and enum values without notice. The `_...Fields` bases hold what the create models
of models.py declare alike."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from stsync_dagster.sync.models_sku import _MaterialFields, _SkuFields


class _Source(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _SkuVendorFields(BaseModel):
    """A material's or equipment's vendor, read and sent alike (Production's defaults its cost and active)."""

    vendorId: int
    cost: float
    active: bool
    memo: str | None = None
    vendorPart: str | None = None


class _SkuAssetFields(BaseModel):
    """A material's asset, read and sent alike but for isDefault (each side has a default of its own)."""

    type: str
    url: str
    alias: str | None = None


class SourceSubAccount(_Source):
    cost: float = 0.0
    accountName: str


class SourceSkuVendor(_SkuVendorFields, _Source):
    cost: float = 0.0
    active: bool = True
    primarySubAccount: SourceSubAccount | None = None
    otherSubAccounts: list[SourceSubAccount] | None = None


class SourceSkuAsset(_SkuAssetFields, _Source):
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


class _LeadSourceFields(BaseModel):
    """A job's lead source, read from Production and sent to Integration alike."""

    jobId: int | None = None
    employeeId: int | None = None


class SourceLeadSource(_LeadSourceFields, _Source):
    pass


class _JobFields(BaseModel):
    """What a Production job and a job create request share (the priority is checked on the way out only)."""

    customerId: int
    locationId: int
    businessUnitId: int
    jobTypeId: int
    campaignId: int
    summary: str | None = None
    customerPo: str | None = None
    soldById: int | None = None


class SourceJob(_JobFields, _Source):
    id: int
    jobNumber: str | None = None
    priority: str
    jobStatus: str | None = None
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
