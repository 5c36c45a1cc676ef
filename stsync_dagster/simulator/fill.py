"""Production's materials, POs and jobs with every optional field of their create requests filled, as a busy
tenant has them: accounts, assets, configurable materials and their variations, vendor sub-accounts, budget
codes, projects, tags, custom fields, who sold a job and which job it came from.

Draws come from the builder's `fill` generator, not its main one, so the rest of the data stays as it was.
Ids of things the simulator does not model (tag types, projects, budget codes, calls…) are references to
kinds with no records: each tenant gives them ids of its own.
"""

from __future__ import annotations

from datetime import datetime

from .specs_base import SpecBuilderBase

COST_OF_SALE_ACCOUNTS = ("5100 · Cost of Goods Sold", "5150 · Materials – COGS", "5200 · Subcontracted Parts")
ASSET_ACCOUNTS = ("1400 · Inventory Asset", "1410 · Truck Stock Inventory")
BUDGET_CODES = (("01-410", "M"), ("02-220", "L"), ("15-100", "M"), ("26-050", "S"))
SUB_ACCOUNTS = ("Truck Stock", "Warehouse Bin A", "Special Order", "Rebate Program")
CUSTOM_FIELDS = (
    ("Gate Code", ("#4471", "1234*", "none")),
    ("Pets on Site", ("Dog", "Cat", "No")),
    ("Preferred Contact", ("Text", "Call", "Email")),
)
TAG_TYPES = 6


def fill(builder: SpecBuilderBase) -> None:
    _materials(builder)
    _purchase_orders(builder)
    _jobs(builder)


def _chance(builder: SpecBuilderBase, p: float) -> bool:
    return builder.fill.random() < p


def _sub_accounts(builder: SpecBuilderBase, vendor: dict, m: int) -> None:
    rng = builder.fill
    if _chance(builder, 0.3):
        vendor["primarySubAccount"] = {
            "id": ("sub-accounts", m, 0),
            "cost": round(vendor["cost"] * 0.95, 2),
            "accountName": rng.choice(SUB_ACCOUNTS),
        }
    if _chance(builder, 0.2):
        vendor["otherSubAccounts"] = [
            {
                "id": ("sub-accounts", m, k + 1),
                "cost": round(vendor["cost"] * rng.uniform(0.9, 1.1), 2),
                "accountName": name,
            }
            for k, name in enumerate(rng.sample(SUB_ACCOUNTS, rng.randint(1, 2)))
        ]


def _materials(builder: SpecBuilderBase) -> None:
    rng = builder.fill
    materials = builder.specs.get("materials", [])
    for m, material in enumerate(materials):
        code = material["code"].lower()
        material["costOfSaleAccount"] = rng.choice((*COST_OF_SALE_ACCOUNTS, None))
        material["assetAccount"] = rng.choice(ASSET_ACCOUNTS) if material["isInventory"] else None
        material["chargeableByDefault"] = _chance(builder, 0.85)
        if _chance(builder, 0.4):
            material["assets"] = [
                {
                    "alias": f"{material['code']} spec sheet",
                    "fileName": f"{code}-spec.pdf",
                    "isDefault": False,
                    "type": "Attachment",
                    "url": f"https://assets.example.com/pricebook/{code}-spec.pdf",
                },
                {
                    "alias": None,
                    "fileName": f"{code}.jpg",
                    "isDefault": True,
                    "type": "Image",
                    "url": f"https://assets.example.com/pricebook/{code}.jpg",
                },
            ][: rng.randint(1, 2)]
        if _chance(builder, 0.3):
            material["budgetCostCode"], material["budgetCostType"] = rng.choice(BUDGET_CODES)
        if _chance(builder, 0.05):
            material["isOtherDirectCost"], material["costTypeId"] = True, ("cost-types", rng.randint(0, 3))
        for vendor in [material["primaryVendor"], *(material["otherVendors"] or [])]:
            if vendor:
                _sub_accounts(builder, vendor, m)
    _configurable(builder, materials)


def _configurable(builder: SpecBuilderBase, materials: list[dict]) -> None:
    """A few configurable materials, each with two or three variations (which name it back)."""
    rng = builder.fill
    free = [m for m in materials[10:] if not m["variationsOrConfigurableMaterials"]]
    rng.shuffle(free)
    for _ in range(max(1, len(materials) // 40) if len(free) >= 4 else 0):
        parent, variations = free.pop(), [free.pop() for _ in range(rng.randint(2, 3)) if free]
        parent["isConfigurableMaterial"] = True
        parent["variationsOrConfigurableMaterials"] = [v["key"] for v in variations]
        for variation in variations:
            variation["variationsOrConfigurableMaterials"] = [parent["key"]]
        if len(free) < 4:
            break


def _purchase_orders(builder: SpecBuilderBase) -> None:
    rng = builder.fill
    for po in builder.specs.get("purchase-orders", []):
        if _chance(builder, 0.1):
            po["projectId"] = ("projects", rng.randint(0, 9))
        if _chance(builder, 0.2):
            po["budgetCodeId"] = ("budget-codes", rng.randint(0, 5))
        for item in po["items"]:
            if _chance(builder, 0.15):
                item["budgetCodeId"] = ("budget-codes", rng.randint(0, 5))


def _jobs(builder: SpecBuilderBase) -> None:
    rng = builder.fill
    jobs = builder.specs.get("jobs", [])
    technicians = builder.keys("technicians")
    created_on = [datetime.fromisoformat(j["createdOn"]) for j in jobs]
    for i, job in enumerate(jobs):
        created = created_on[i]
        if _chance(builder, 0.5):
            job["soldById"] = rng.choice(technicians)
        if _chance(builder, 0.4):
            job["tagTypeIds"] = [("tag-types", t) for t in rng.sample(range(TAG_TYPES), rng.randint(1, 2))]
        if _chance(builder, 0.3):
            job["customFields"] = [
                {"typeId": ("custom-field-types", k), "name": name, "value": rng.choice(values)}
                for k, (name, values) in enumerate(CUSTOM_FIELDS)
                if _chance(builder, 0.6)
            ]
        if _chance(builder, 0.1):
            job["projectId"] = ("projects", rng.randint(0, 9))
        if _chance(builder, 0.2):
            job["leadCallId"] = ("calls", i)
        if _chance(builder, 0.05):
            job["partnerLeadCallId"] = ("calls", 10_000 + i)
        if _chance(builder, 0.1):
            job["bookingId"] = ("bookings", i)
        if i and _chance(builder, 0.15):  # a follow-up sold on an earlier visit, by a technician or the office
            earlier = [k for k in range(i) if created_on[k] < created][-20:]
            if earlier:
                employee = rng.choice(technicians) if _chance(builder, 0.7) else ("users", rng.randint(0, 4))
                job["jobGeneratedLeadSource"] = {"jobId": jobs[rng.choice(earlier)]["key"], "employeeId": employee}
