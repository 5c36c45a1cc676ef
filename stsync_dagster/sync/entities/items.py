"""Pricebook materials."""

from __future__ import annotations

from typing import Iterable

from stsync_dagster.sync.entities import selectable
from stsync_dagster.sync.entities.base import EntityHandler
from stsync_dagster.sync.models import (
    MaterialCreate,
    SkuAssetCreate,
    SkuVendorCreate,
    SourceMaterial,
    SourceSkuVendor,
    SubAccountCreate,
)
from stsync_dagster.sync.outcome import Invalid
from stsync_dagster.sync.policy import references
from stsync_dagster.sync.references import Ref, RefMap
from stsync_dagster.sync.stamps import external_data

# Copied as they are; ids (vendors, categories, variations) are translated below.
_PLAIN_FIELDS = (
    "displayName", "cost", "price", "memberPrice", "addOnPrice", "addOnMemberPrice", "hours", "bonus",
    "commissionBonus", "paysCommission", "deductAsJobCost", "isInventory", "unitOfMeasure", "account",
    "costOfSaleAccount", "assetAccount", "taxable", "active", "isConfigurableMaterial", "chargeableByDefault",
    "isOtherDirectCost", "budgetCostCode", "budgetCostType",
)  # fmt: skip


def vendor_references(record) -> Iterable[Ref]:
    """A SKU's vendors (a material's, an equipment's)."""
    if record.primaryVendor is not None:
        yield Ref("primaryVendor.vendorId", "vendors", record.primaryVendor.vendorId)
    for i, vendor in enumerate(record.otherVendors or []):
        yield Ref(f"otherVendors[{i}].vendorId", "vendors", vendor.vendorId)


def require_description(record) -> None:
    if not (record.description or "").strip():
        raise Invalid("description", "required by the Integration API, empty in Production")


def sku_vendors(record, refs: RefMap, *, sub_accounts: bool = True) -> tuple[SkuVendorCreate | None, list | None]:
    """A SKU's primary and other vendors as the create sends them (a material's, an equipment's); a vendor
    without an Integration counterpart is left out when the reference's policy drops it."""

    def vendor(v: SourceSkuVendor, field: str) -> SkuVendorCreate | None:
        vendor_id = refs.get(Ref(field, "vendors", v.vendorId))
        if vendor_id is None:
            return None
        accounts = (
            {}
            if not sub_accounts
            else {
                "primarySubAccount": _sub_account(v.primarySubAccount) if v.primarySubAccount else None,
                "otherSubAccounts": [_sub_account(a) for a in v.otherSubAccounts or []] or None,
            }
        )
        return SkuVendorCreate(
            vendorId=vendor_id, cost=v.cost, active=v.active, memo=v.memo, vendorPart=v.vendorPart, **accounts
        )

    primary = vendor(record.primaryVendor, "primaryVendor.vendorId") if record.primaryVendor else None
    others = [c for i, v in enumerate(record.otherVendors or []) if (c := vendor(v, f"otherVendors[{i}].vendorId"))]
    return primary, others or None


def variations(record: SourceMaterial) -> list[int]:
    """A configurable material's variations (the same read field lists, on a variation, the configurable
    materials it belongs to: not something a create sets)."""
    return list(record.variationsOrConfigurableMaterials or []) if record.isConfigurableMaterial else []


def _sub_account(account) -> SubAccountCreate:
    return SubAccountCreate(cost=account.cost, accountName=account.accountName)


class ItemsHandler(EntityHandler):
    kind = "items"
    filters = selectable.MATERIALS
    model = SourceMaterial
    bulk_create = True  # the pricebook's bulk endpoint: many materials per request
    reference_fields = references(
        optional={"primaryVendor.vendorId": "vendors", "otherVendors.vendorId": "vendors", "categories": "categories"}
    )
    read_names = {"variationMaterials": "variationsOrConfigurableMaterials"}
    not_updatable = frozenset({"externalData", "isOtherDirectCost"})  # MaterialUpdateRequest has no such field
    search_param = "searchText"  # a case-insensitive partial match on these (the materials list's OpenAPI)
    searched_fields = frozenset({"displayName", "code", "description"})

    def needs(self, records: list[SourceMaterial]) -> dict[str, set[int]]:
        """A configurable material names its variations: they are copied first."""
        return {"items": {v for record in records for v in variations(record)}}

    def references(self, record: SourceMaterial, extra=None) -> Iterable[Ref]:
        yield from vendor_references(record)
        for category in record.categories or []:
            yield Ref("categories", "categories", category)
        for variation in variations(record):
            yield Ref("variationMaterials", "items", variation)

    def build(self, record: SourceMaterial, refs: RefMap, extra=None) -> MaterialCreate:
        require_description(record)
        primary, others = sku_vendors(record, refs)
        # Optional references: one without an Integration counterpart is left out (and counted), not blocking.
        categories = [refs.get(Ref("categories", "categories", c)) for c in record.categories or []]  # policy: drop
        variation_ids = [refs.optional("items", v) for v in variations(record)]
        return MaterialCreate(
            code=record.code,
            description=record.description,
            **{name: getattr(record, name) for name in _PLAIN_FIELDS},
            primaryVendor=primary,
            otherVendors=others,
            categories=[c for c in categories if c is not None] or None,
            assets=[
                SkuAssetCreate(type=a.type, url=a.url, alias=a.alias, isDefault=a.isDefault)
                for a in record.assets or []
            ]
            or None,
            variationMaterials=[v for v in variation_ids if v is not None] or None,
            externalData=external_data(self.guid, record.id),
        )
