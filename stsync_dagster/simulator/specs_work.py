"""Production's transactional specs (jobs with appointments and assignments, materials, purchase orders), and Specs,
which builds every kind in order. The jobs are drawn by specs_jobs.py, the master data by specs_master.py and
specs_customers.py, the equipment by specs_equipment.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import vocab
from .clock import iso
from .constants import FOREIGN_EXTERNAL_DATA_GUID
from .fill import fill
from .gaps import DELIBERATE_GAPS
from .records import material_fields
from .specs_base import Ref, po_line
from .specs_customers import CustomerSpecs
from .specs_equipment import EquipmentSpecs
from .specs_jobs import JobSpecs
from .specs_master import MasterSpecs

MASTER_KINDS = (
    "categories",
    "vendors",
    "warehouses",
    "purchase-order-types",
    "business-units",
    "job-types",
    "campaign-categories",
    "campaigns",
    "technicians",
    "customers",
    "locations",
)
TRANSACTIONAL_KINDS = ("jobs", "appointments", "appointment-assignments", "materials", "equipment", "purchase-orders")


class Specs(JobSpecs, EquipmentSpecs, MasterSpecs, CustomerSpecs):
    def build(self) -> dict[str, list[dict]]:
        for step in (
            self.categories,
            self.vendors,
            self.warehouses,
            self.po_types,
            self.business_units,
            self.job_types,
            self.campaigns,
            self.technicians,
            self.customers,
            self.jobs,
            self.materials,
            self.purchase_orders,
            self.equipment,
            self.awkward_lines,
        ):
            step()
        fill(self)
        for kind in MASTER_KINDS + TRANSACTIONAL_KINDS:
            self.specs.setdefault(kind, [])
        return self.specs

    def materials(self) -> None:
        gap_vendor = self.key_of("vendors", DELIBERATE_GAPS["missing"]["vendors"][0])
        vendors = self.active_keys("vendors")
        vendor_names = {s["key"]: s["name"] for s in self.specs["vendors"]}
        categories = self.keys("categories")
        codes: set[str] = set()
        for i in range(self.sizes["materials"]):
            cat_index, prefix, pattern, variants, uom, (low, high) = self.rng.choice(vocab.MATERIAL_TEMPLATES)
            v_index = self.rng.randrange(len(variants))
            brand = self.rng.choice(vocab.BRANDS)
            code = f"{prefix}-{v_index + 1:02d}-{brand[:3].upper()}"
            n = 2
            while code.casefold() in codes:
                code = f"{prefix}-{v_index + 1:02d}-{brand[:3].upper()}-{n}"
                n += 1
            codes.add(code.casefold())
            name = pattern.format(v=variants[v_index])
            cost = self.money(low, high)
            price = round(cost * self.rng.uniform(1.4, 2.6), 2)
            vendor = gap_vendor if i == 0 else (self.rng.choice(vendors) if self.rng.random() < 0.85 else None)

            def sku_vendor(vendor_key: Ref, brand: str = brand, cost: float = cost) -> dict:
                return {
                    "id": ("sku-vendors", len(self.specs.get("materials", [])), vendor_key),
                    "vendorName": vendor_names[vendor_key],
                    "vendorId": vendor_key,
                    "memo": self.awkward(0.1),
                    "vendorPart": f"{brand[:2].upper()}{self.rng.randint(10000, 99999)}",
                    "cost": cost,
                    "active": True,
                    "primarySubAccount": None,
                    "otherSubAccounts": None,
                }

            others = []
            if self.rng.random() < 0.15:
                others = [sku_vendor(v) for v in self.rng.sample(vendors, 1) if v != vendor]
            description = f"{brand} {name}"
            roll = self.rng.random()
            if roll < 0.03:
                description += " — " + vocab.LONG_TEXT_UNIT * 30
            elif roll < 0.12:
                description += " · " + self.rng.choice(vocab.AWKWARD_SNIPPETS)
            material = self.add(
                "materials",
                material_fields(
                    code=code,
                    displayName=None if self.rng.random() < 0.15 else name,
                    description=description,
                    cost=cost,
                    active=self.rng.random() > 0.1,
                    price=price,
                    memberPrice=round(price * 0.9, 2),
                    addOnPrice=round(price * 0.95, 2),
                    addOnMemberPrice=round(price * 0.85, 2),
                    paysCommission=self.rng.random() < 0.3,
                    unitOfMeasure=uom if self.rng.random() < 0.9 else None,
                    isInventory=self.rng.random() < 0.6,
                    account=self.rng.choice(vocab.ACCOUNTS),
                    taxable=self.rng.choice((True, True, False, None)),
                    primaryVendor=sku_vendor(vendor) if vendor else None,
                    otherVendors=others if others or self.rng.random() < 0.5 else None,
                    categories=[categories[cat_index % len(categories)]] if cat_index is not None else [],
                    **self.stamps(midnight=i == 5),
                    createdById=self.user(),
                ),
            )
            if i % 40 == 5:
                material["_external"] = {FOREIGN_EXTERNAL_DATA_GUID: [{"key": "erpSku", "value": f"ERP-{i:05d}"}]}

    def purchase_orders(self) -> None:
        gap_vendor = self.key_of("vendors", DELIBERATE_GAPS["missing"]["vendors"][0])
        vendors, types = self.active_keys("vendors"), self.keys("purchase-order-types")
        units, warehouses = self.keys("business-units"), self.keys("warehouses")
        technicians, jobs = self.active_keys("technicians"), self.keys("jobs")
        materials = [s for s in self.specs["materials"] if s["active"]]
        line = 0
        for i in range(self.sizes["purchase-orders"]):
            stamps = self.stamps(midnight=i == 5)
            created = datetime.fromisoformat(stamps["createdOn"])
            status = self.rng.choices(
                ("Pending", "Sent", "Received", "PartiallyReceived", "Exported", "Canceled"), (30, 30, 25, 5, 5, 5)
            )[0]
            items = []
            for material in self.rng.sample(materials, min(len(materials), self.rng.randint(1, 5))):
                line += 1
                quantity = float(self.rng.choice((1, 2, 3, 5, 10, 25, 0.5, 12.5)))
                received = quantity if status in ("Received", "Exported") else 0.0
                items.append(po_line(("po-items", line), material, "Material", stamps, quantity, received))
            tax, shipping = self.money(0, 40), self.rng.choice((0.0, 0.0, 15.0, 49.99))
            self.add(
                "purchase-orders",
                {
                    "number": str(2000 + i),
                    "invoiceId": None,
                    "jobId": self.rng.choice(jobs) if jobs and self.rng.random() < 0.4 else None,
                    "projectId": None,
                    "status": status,
                    "typeId": self.rng.choice(types),
                    "vendorId": gap_vendor if i == 0 else self.rng.choice(vendors),
                    "technicianId": self.rng.choice(technicians) if self.rng.random() < 0.3 else None,
                    "shipTo": self.address(),
                    "businessUnitId": self.rng.choice(units),
                    "inventoryLocationId": self.rng.choice(warehouses),
                    "batchId": None,
                    "budgetCodeId": None,
                    "vendorDocumentNumber": f"INV-{self.rng.randint(100000, 999999)}"
                    if self.rng.random() < 0.4
                    else "",
                    "date": iso(created),
                    "requiredOn": iso(created + timedelta(days=self.rng.randint(1, 14))),
                    "sentOn": stamps["modifiedOn"] if status != "Pending" else None,
                    "receivedOn": stamps["modifiedOn"] if status in ("Received", "Exported") else None,
                    **stamps,
                    "total": round(sum(x["total"] for x in items) + tax + shipping, 2),
                    "tax": tax,
                    "shipping": shipping,
                    "summary": self.awkward(0.2) or self.rng.choice(("", "Restock", "For job")),
                    "items": items,
                    "customFields": [],
                },
            )
