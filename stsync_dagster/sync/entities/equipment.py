"""Pricebook equipment: copied like materials (stamped with externalData, matched by code), one per request.

A PO line's `skuId` may be "any active material or equipment" (its `skuType` says which), so POs pull
equipment in as they pull materials. The cut-down OpenAPI documents have no equipment schema (API.md: a
[client] endpoint); the request models here take the material request's fields that equipment shares, plus
its manufacturer and model.
"""

from __future__ import annotations

from typing import Iterable


from stsync_dagster.sync.entities import selectable
from stsync_dagster.sync.entities.base import EntityHandler
from stsync_dagster.sync.entities.items import ItemsHandler, require_description, sku_vendors, vendor_references
from stsync_dagster.sync.models import _SkuCreate, _SkuFields, _SourceSku
from stsync_dagster.sync.references import Ref, RefMap
from stsync_dagster.sync.stamps import external_data


class _EquipmentFields(_SkuFields):
    """What a Production equipment record and an equipment create request share."""

    manufacturer: str | None = None
    model: str | None = None


# Copied as they are: the shared fields, and whether it is active.
EQUIPMENT_FIELDS = (*_EquipmentFields.model_fields, "active")


class SourceEquipment(_EquipmentFields, _SourceSku):
    pass


class EquipmentCreate(_EquipmentFields, _SkuCreate):
    pass


class EquipmentHandler(EntityHandler):
    kind = "equipment"
    filters = selectable.EQUIPMENT
    model = SourceEquipment

    reference_fields = {name: ref for name, ref in ItemsHandler.reference_fields.items() if ref.kind == "vendors"}

    def references(self, record: SourceEquipment, extra=None) -> Iterable[Ref]:
        return vendor_references(record)

    def build(self, record: SourceEquipment, refs: RefMap, extra=None) -> EquipmentCreate:
        require_description(record)
        primary, others = sku_vendors(record, refs, sub_accounts=False)
        return EquipmentCreate(
            code=record.code,
            description=record.description,
            **{name: getattr(record, name) for name in EQUIPMENT_FIELDS},
            primaryVendor=primary,
            otherVendors=others,
            externalData=external_data(self.guid, record.id),
        )
