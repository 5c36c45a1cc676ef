"""Production's pricebook equipment, and the awkward PO lines real tenants have: lines on equipment, lines on
materials deactivated since the PO was made.

Drawn from a generator of their own (seeded from the main one's state, without consuming it), so adding them
leaves every other record of a seed as it was.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .clock import iso
from .specs_base import SpecBuilderBase, po_line

EQUIPMENT_TEMPLATES = (  # (code prefix, name, manufacturers, cost range)
    ("AC", "{t}-ton split AC condenser", ("Carrier", "Trane", "Lennox", "Goodman"), (1800, 4200)),
    ("FUR", "{t}k BTU gas furnace", ("Carrier", "Rheem", "Lennox"), (1200, 3100)),
    ("WH", "{t}-gallon water heater", ("Rheem", "A. O. Smith", "Bradford White"), (600, 1900)),
    ("HP", "{t}-ton heat pump", ("Trane", "Daikin", "Mitsubishi"), (2400, 5600)),
)
SIZES = ("2", "2.5", "3", "4", "5", "40", "50", "60", "80", "100")
EQUIPMENT_LINE_SHARE = 0.15  # POs that also order a piece of equipment
INACTIVE_LINE_SHARE = 0.10  # POs with a line on a material deactivated after the PO was made


class EquipmentSpecs(SpecBuilderBase):
    def _extra_rng(self) -> random.Random:
        if not hasattr(self, "_extra"):
            self._extra = random.Random(repr(self.rng.getstate()[1][:8]))
        return self._extra

    def equipment(self) -> None:
        rng = self._extra_rng()
        vendors = self.active_keys("vendors")
        for i in range(self.sizes.get("equipment", 0)):
            prefix, pattern, makers, (low, high) = rng.choice(EQUIPMENT_TEMPLATES)
            size, maker = rng.choice(SIZES), rng.choice(makers)
            cost = round(rng.uniform(low, high), 2)
            price = round(cost * rng.uniform(1.3, 2.0), 2)
            vendor = rng.choice(vendors)
            self.add(
                "equipment",
                {
                    "code": f"EQ-{prefix}-{i + 1:03d}",
                    "displayName": pattern.format(t=size),
                    "description": f"{maker} {pattern.format(t=size)}",
                    "active": rng.random() > 0.1,
                    "price": price,
                    "memberPrice": round(price * 0.9, 2),
                    "addOnPrice": price,
                    "addOnMemberPrice": round(price * 0.9, 2),
                    "manufacturer": maker,
                    "model": f"{maker[:3].upper()}-{rng.randint(1000, 9999)}",
                    "cost": cost,
                    "unitOfMeasure": "Each",
                    "isInventory": rng.random() < 0.5,
                    "account": "Equipment – COGS",
                    "costOfSaleAccount": None,
                    "assetAccount": None,
                    "taxable": True,
                    "hours": 0.0,
                    "bonus": 0.0,
                    "commissionBonus": 0.0,
                    "paysCommission": False,
                    "primaryVendor": {
                        "id": ("sku-vendors", "equipment", i),
                        "vendorName": "",
                        "vendorId": vendor,
                        "memo": None,
                        "vendorPart": f"{maker[:2].upper()}{rng.randint(10000, 99999)}",
                        "cost": cost,
                        "active": True,
                        "primarySubAccount": None,
                        "otherSubAccounts": None,
                    },
                    "otherVendors": [],
                    "categories": [],
                    "assets": [],
                    "createdById": self.user(),
                    **self.stamps(midnight=i == 1, rng=rng),
                    "source": None,
                    "externalId": None,
                },
            )
        names = {s["key"]: s["name"] for s in self.specs["vendors"]}
        for spec in self.specs.get("equipment", []):
            spec["primaryVendor"]["vendorName"] = names[spec["primaryVendor"]["vendorId"]]

    def awkward_lines(self) -> None:
        """Lines on equipment, and on materials deactivated after the PO was made (their modifiedOn later)."""
        rng = self._extra_rng()
        equipment = self.specs.get("equipment", [])
        active_equipment = [s for s in equipment if s["active"]]
        inactive = [s for s in self.specs["materials"] if not s["active"]]
        extra = 0
        for po in self.specs["purchase-orders"]:
            added = []
            existing = [e for e in active_equipment if e["createdOn"] <= po["createdOn"]]
            if existing and rng.random() < EQUIPMENT_LINE_SHARE:
                added.append((rng.choice(existing), "Equipment"))
            if inactive and rng.random() < INACTIVE_LINE_SHARE:
                material = rng.choice(inactive)
                created = datetime.fromisoformat(po["createdOn"])
                material["modifiedOn"] = max(material["modifiedOn"], iso(created + timedelta(hours=1)))
                added.append((material, "Material"))
            for sku, sku_type in added:
                extra += 1
                received = po["items"][0]["quantityReceived"] > 0
                quantity = 1.0
                po["items"].append(
                    po_line(("po-items-extra", extra), sku, sku_type, po, quantity, quantity if received else 0.0)
                )
                po["total"] = round(po["total"] + round(quantity * sku["cost"], 2), 2)
