"""Pricebook materials."""

from __future__ import annotations

from typing import Iterable

from stsync_dagster.sync.entities.base import EntityHandler
from stsync_dagster.sync.models import MaterialCreate, SkuVendorCreate, SourceMaterial, SourceSkuVendor
from stsync_dagster.sync.outcome import Invalid
from stsync_dagster.sync.policy import Reference
from stsync_dagster.sync.references import Ref, RefMap
from stsync_dagster.sync.stamps import external_data

# Copied as they are; ids (vendors, categories) are translated or left out below.
_PLAIN_FIELDS = (
    "displayName", "cost", "price", "memberPrice", "addOnPrice", "addOnMemberPrice", "hours", "bonus",
    "commissionBonus", "paysCommission", "deductAsJobCost", "isInventory", "unitOfMeasure", "account",
    "taxable", "active",
)  # fmt: skip


class ItemsHandler(EntityHandler):
    kind = "items"
    model = SourceMaterial
    bulk_create = True  # the pricebook's bulk endpoint: many materials per request
    reference_fields = {"primaryVendor.vendorId": Reference("vendors", False),
                        "otherVendors.vendorId": Reference("vendors", False)}

    def references(self, record: SourceMaterial, extra=None) -> Iterable[Ref]:
        if record.primaryVendor is not None:
            yield Ref("primaryVendor.vendorId", "vendors", record.primaryVendor.vendorId)
        for i, vendor in enumerate(record.otherVendors or []):
            yield Ref(f"otherVendors[{i}].vendorId", "vendors", vendor.vendorId)

    def build(self, record: SourceMaterial, refs: RefMap, extra=None) -> MaterialCreate:
        if not (record.description or "").strip():
            raise Invalid("description", "required by the Integration API, empty in Production")

        def vendor(v: SourceSkuVendor, field: str) -> SkuVendorCreate | None:
            vendor_id = refs.get(Ref(field, "vendors", v.vendorId))
            if vendor_id is None:  # dropped (the reference's policy): the material is copied without it
                return None
            return SkuVendorCreate(
                vendorId=vendor_id,
                cost=v.cost,
                active=v.active,
                memo=v.memo,
                vendorPart=v.vendorPart,
            )

        # Categories are tenant-specific ids with no counterpart table: they are not copied.
        return MaterialCreate(
            code=record.code,
            description=record.description,
            **{name: getattr(record, name) for name in _PLAIN_FIELDS},
            primaryVendor=vendor(record.primaryVendor, "primaryVendor.vendorId") if record.primaryVendor else None,
            otherVendors=[
                copy for i, v in enumerate(record.otherVendors or []) if (copy := vendor(v, f"otherVendors[{i}].vendorId"))
            ]
            or None,
            externalData=external_data(self.guid, record.id),
        )
