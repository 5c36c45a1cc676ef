"""Purchase orders: every reference translated, line materials pulled in first when they are missing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from stsync_dagster.sync.adoption import key_part
from stsync_dagster.sync.entities import selectable
from stsync_dagster.sync.entities.base import EntityHandler
from stsync_dagster.sync.models import (
    AddressCreate,
    PurchaseOrderCreate,
    PurchaseOrderItemCreate,
    ShipToCreate,
    SourcePurchaseOrderItem,
    SourcePurchaseOrder,
)
from stsync_dagster.sync.outcome import Invalid
from stsync_dagster.sync.policy import Reference, references
from stsync_dagster.sync.references import Ref, RefMap
from stsync_dagster.sync.stamps import marked_prod_id, memo_with_marker, strip_marker
from stsync_dagster.sync.timefmt import rfc3339


def sku_kind(line: SourcePurchaseOrderItem) -> str:
    """The kind a line's SKU is copied as: its `skuType` says material or equipment."""
    sku_type = str((line.model_extra or {}).get("skuType") or "Material")
    return "equipment" if sku_type.casefold() == "equipment" else "items"


# How far before a claim to look for the PO it may have created (clock skew between us and the API).
_RECOVERY_SLACK = timedelta(minutes=10)


class PurchaseOrdersHandler(EntityHandler):
    kind = "pos"
    filters = selectable.POS
    model = SourcePurchaseOrder
    key_refs = {"vendorId": "vendors"}
    reference_fields = {
        **references(
            required={
                "vendorId": "vendors",
                "typeId": "po_types",
                "businessUnitId": "business_units",
                "inventoryLocationId": "warehouses",
                "items.skuId": "items",
            }
        ),
        "jobId": Reference("jobs", False, default="block"),  # pulled in first; a PO is about its job
        "technicianId": Reference("technicians", False),
    }

    read_names = {"memo": "summary", "vendorInvoiceNumber": "vendorDocumentNumber"}
    not_read_back = frozenset({"shipTo", "impactsTechnicianPayroll"})  # no read source for the payroll flag

    def read_back_pairs(self, sent: dict, got: dict | None = None):
        for name, read_name, value in super().read_back_pairs(sent, got):
            if name == "memo" and got is not None and marked_prod_id(got.get("summary")) is None:
                # A PO Integration held before (adopted) has no marker: its memo is compared without ours.
                value = strip_marker(value)
            yield name, read_name, value
        if sent.get("shipTo"):  # read back as the address alone, without its description
            yield "shipTo", "shipTo", sent["shipTo"]["address"]

    marks_filterable = False  # the mark is memo text: no list filter finds it

    def index_params(self) -> dict:
        return dict(self.cfg.list_params)

    def mark_of(self, raw: dict) -> int | None:
        return marked_prod_id(raw.get("summary"))

    # A memo is text anyone can type: a marker counts only on a PO of the same date as the Production one.
    def int_evidence(self, raw: dict) -> str | None:
        return key_part(raw.get("date"))

    def prod_evidence(self, record: SourcePurchaseOrder) -> str | None:
        return key_part(record.date)

    def adoption_stamp(self, prod_id: int) -> dict | None:
        return None  # no externalData; writing the memo would change what testers see

    # Created-only: the payroll flag has no read source to compare with.
    not_updatable = frozenset({"impactsTechnicianPayroll"})
    initial_status = "Open"  # a new PO starts Pending

    def patch_body(self, body: dict, fields: set[str], int_record: dict) -> dict:
        """Lines are a whole list ("every active PO item not on this list is marked inactive"): every line is
        sent, each with the id of Integration's line in the same place (a line added in Production has none)."""
        patch = super().patch_body(body, fields, int_record)
        if "items" in patch:
            lines = [line for line in int_record.get("items") or [] if line.get("active", True)]
            patch["items"] = [
                {**item, **({"id": lines[i]["id"]} if i < len(lines) else {})} for i, item in enumerate(body["items"])
            ]
        return patch

    def desired_status(self, po: SourcePurchaseOrder) -> str:
        return "Canceled" if po.status == "Canceled" else "Open"

    def current_status(self, int_record: dict) -> str:
        return "Canceled" if int_record.get("status") == "Canceled" else "Open"

    def status_steps(self, po: SourcePurchaseOrder, target: str, current: str) -> list[tuple[str, dict]]:
        if target == "Canceled" and current != "Canceled":
            return [("cancel", {})]  # the reason: the config's canceled_reason (Production's is not readable)
        return []

    def needs(self, records: list[SourcePurchaseOrder]) -> dict[str, set[int]]:
        skus = {
            kind: {line.skuId for po in records for line in po.items if sku_kind(line) == kind}
            for kind in ("items", "equipment")
        }
        return skus | {"jobs": {po.jobId for po in records if po.jobId is not None}}

    def needs_active(self, po: SourcePurchaseOrder) -> list[tuple[str, int]]:
        return sorted({(sku_kind(line), line.skuId) for line in po.items})  # "any active material or equipment"

    def references(self, po: SourcePurchaseOrder, extra=None) -> Iterable[Ref]:
        yield Ref("vendorId", "vendors", po.vendorId)
        yield Ref("typeId", "po_types", po.typeId)
        if po.businessUnitId is not None:
            yield Ref("businessUnitId", "business_units", po.businessUnitId)
        if po.inventoryLocationId is not None:
            yield Ref("inventoryLocationId", "warehouses", po.inventoryLocationId)
        if po.jobId is not None:
            yield Ref("jobId", "jobs", po.jobId)
        if po.technicianId is not None:
            yield Ref("technicianId", "technicians", po.technicianId)
        for i, line in enumerate(po.items):
            yield Ref(f"items[{i}].skuId", sku_kind(line), line.skuId)

    def build(self, po: SourcePurchaseOrder, refs: RefMap, extra=None) -> PurchaseOrderCreate:
        for field in ("businessUnitId", "inventoryLocationId"):
            if getattr(po, field) is None:
                raise Invalid(field, "required by the Integration API, empty in Production")
        address = po.shipTo
        if address is None:
            raise Invalid("shipTo", "required by the Integration API, empty in Production")
        ship_description = (
            (address.model_extra or {}).get("description")
            or ", ".join(part for part in (address.street, address.city) if part)
            or "Ship to"
        )
        return PurchaseOrderCreate(
            vendorId=refs.get(Ref("vendorId", "vendors", po.vendorId)),
            typeId=refs.get(Ref("typeId", "po_types", po.typeId)),
            businessUnitId=refs.get(Ref("businessUnitId", "business_units", po.businessUnitId)),
            inventoryLocationId=refs.get(Ref("inventoryLocationId", "warehouses", po.inventoryLocationId)),
            jobId=refs.get(Ref("jobId", "jobs", po.jobId)) if po.jobId is not None else None,
            technicianId=refs.get(Ref("technicianId", "technicians", po.technicianId))
            if po.technicianId is not None
            else None,
            shipTo=ShipToCreate(
                description=ship_description,
                address=AddressCreate(
                    street=address.street or "",
                    unit=address.unit or "",
                    city=address.city or "",
                    state=address.state or "",
                    zip=address.zip or "",
                    country=address.country or "",
                ),
            ),
            impactsTechnicianPayroll=bool(po.impactsTechnicianPayroll),
            date=rfc3339(po.date),
            requiredOn=rfc3339(po.requiredOn or po.date),
            tax=po.tax,
            shipping=po.shipping,
            vendorInvoiceNumber=po.vendorDocumentNumber or None,
            memo=memo_with_marker(po.summary, po.id),
            items=[
                PurchaseOrderItemCreate(
                    skuId=refs.get(Ref(f"items[{i}].skuId", sku_kind(line), line.skuId)),
                    description=line.description or line.skuCode or "",
                    vendorPartNumber=line.vendorPartNumber or "",
                    quantity=line.quantity,
                    cost=line.cost,
                )
                for i, line in enumerate(po.items)
            ],
        )

    def find_existing(self, intc, claims: dict[int, datetime | None]) -> dict[int, int]:
        """POs have no externalData: list those created since the earliest claim and read their memo marker."""
        since = min((t for t in claims.values() if t is not None), default=None)
        params = dict(self.cfg.list_params)
        if since is not None:
            params["createdOnOrAfter"] = rfc3339(since - _RECOVERY_SLACK)
        found: dict[int, int] = {}
        for page in intc.iter_pages(self.cfg.int_list_path, params):
            for record in page.records:
                prod_id = marked_prod_id(record.get("summary"))
                if prod_id in claims:
                    found.setdefault(prod_id, int(record["id"]))
        return found
