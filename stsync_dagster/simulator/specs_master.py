"""Master data specs: the same in both tenants (under different ids), apart from the deliberate gaps. The customers
and their locations are drawn by specs_customers.py."""

from __future__ import annotations

from . import vocab
from .gaps import DELIBERATE_GAPS
from .specs_base import SpecBuilderBase, pick_names


class MasterSpecs(SpecBuilderBase):
    def categories(self) -> None:
        for i, name in enumerate(pick_names(vocab.CATEGORIES, self.sizes["categories"])):
            self.add(
                "categories",
                {
                    "name": name,
                    "active": True,
                    "description": None,
                    "image": None,
                    "parentId": None,
                    "position": i + 1,
                    "categoryType": "Materials",
                    "subcategories": [],
                    "businessUnitIds": [],
                    "skuImages": [],
                    "skuVideos": [],
                    "source": None,
                    "externalId": None,
                    "hideInMobile": False,
                    **self.master_stamps(),
                },
            )

    def vendors(self) -> None:
        must = DELIBERATE_GAPS["missing"]["vendors"]
        for name in pick_names(vocab.VENDORS, self.sizes["vendors"], must):
            first, last = self.rng.choice(vocab.FIRST_NAMES), self.rng.choice(vocab.LAST_NAMES)
            self.add(
                "vendors",
                {
                    "name": name,
                    "active": name not in vocab.INACTIVE_VENDORS,
                    "isTruckReplenishment": self.rng.random() < 0.2,
                    "isMobileCreationRestricted": False,
                    "memo": self.awkward(0.3) or "",
                    "deliveryOption": self.rng.choice(("Manual", "EmailAsPdf")),
                    "defaultTaxRate": self.rng.choice((0.0, 0.0625, 0.0825)),
                    "contactInfo": {
                        "firstName": first,
                        "lastName": last,
                        "phone": f"555-01{self.rng.randint(10, 99)}",
                        "email": f"orders{self.rng.randint(1, 99)}@example.com",
                        "fax": "",
                    },
                    "address": self.address(),
                    **self.master_stamps(),
                    "customFields": [],
                },
            )

    def warehouses(self) -> None:
        self.add_named(
            "warehouses", vocab.WAREHOUSES, lambda _name: {"address": self.address(), "inventoryTemplateId": None}
        )

    def po_types(self) -> None:
        self.add_named(
            "purchase-order-types",
            vocab.PO_TYPES,
            lambda name: {
                "automaticallyReceive": name == "Drop Ship",
                "displayToTechnician": True,
                "impactToTechnicianPayroll": False,
                "allowTechniciansToSendPo": name != "Special Order",
                "defaultRequiredDateDaysOffset": 3,
                "skipWeekends": True,
                "excludeTaxFromJobCosting": False,
            },
        )

    def business_units(self) -> None:
        for name in pick_names(vocab.BUSINESS_UNITS, self.sizes["business-units"]):
            address = self.address()
            self.add(
                "business-units",
                {
                    "active": True,
                    "name": name,
                    "officialName": f"Acme Home Services LLC – {name}",
                    "email": "office@example.com",
                    "currency": "USD",
                    "phoneNumber": "555-0100",
                    "invoiceHeader": None,
                    "invoiceMessage": "Thank you for your business!",
                    "defaultTaxRate": 0.0625,
                    "authorizationParagraph": None,
                    "acknowledgementParagraph": None,
                    "address": {
                        **address,
                        "latitude": None,
                        "longitude": None,
                        "isManualCoordinates": False,
                        "isMilitary": False,
                    },
                    "materialSku": None,
                    "quickbooksClass": None,
                    "accountCode": None,
                    "franchiseId": None,
                    "conceptCode": None,
                    "corporateContractNumber": None,
                    "trade": None,
                    "division": None,
                    "tagTypeIds": [],
                    "tenant": None,
                    **self.master_stamps(),
                },
            )

    def job_types(self) -> None:
        must = DELIBERATE_GAPS["missing"]["job-types"]
        units = self.keys("business-units")
        for name in pick_names(vocab.JOB_TYPES, self.sizes["job-types"], must):
            self.add(
                "job-types",
                {
                    "name": name,
                    "businessUnitIds": self.rng.sample(units, min(2, len(units))),
                    "skills": [],
                    "tagTypeIds": [],
                    "priority": "Normal",
                    "duration": self.rng.choice((3600, 5400, 7200)),
                    "soldThreshold": None,
                    "class": "Service",
                    "summary": "",
                    "noCharge": False,
                    "enforceRecurringServiceEventSelection": None,
                    "invoiceSignaturesRequired": False,
                    **self.master_stamps(),
                    "active": name not in vocab.INACTIVE_JOB_TYPES,
                    "isSmartDispatched": False,
                },
            )

    def campaigns(self) -> None:
        for name in ("Online", "Offline"):
            self.add("campaign-categories", {"name": name, "active": True})
        cats = self.keys("campaign-categories")
        must = DELIBERATE_GAPS["duplicated"]["campaigns"]
        for name in pick_names(vocab.CAMPAIGNS, self.sizes["campaigns"], must):
            cat = self.rng.choice(cats)
            self.add(
                "campaigns",
                {
                    "name": name,
                    **self.master_stamps(),
                    "active": name not in vocab.INACTIVE_CAMPAIGNS,
                    "isDefaultCampaign": False,
                    "category": {"id": cat, "name": ("Online", "Offline")[cat[1]], "active": True},
                    "source": None,
                    "otherSource": None,
                    "businessUnit": None,
                    "medium": None,
                    "otherMedium": None,
                    "campaignPhoneNumbers": [f"555-02{self.rng.randint(10, 99)}"],
                },
            )

    def technicians(self) -> None:
        must = DELIBERATE_GAPS["missing"]["technicians"]
        units = self.keys("business-units")
        for i, name in enumerate(pick_names(vocab.TECHNICIANS, self.sizes["technicians"], must)):
            first, _, last = name.partition(" ")
            self.add(
                "technicians",
                {
                    "userId": ("users", 100 + i),
                    "name": name,
                    "roleIds": [],
                    "businessUnitId": self.rng.choice(units),
                    "mainZoneId": None,
                    "zoneIds": [],
                    **self.master_stamps(),
                    "email": f"tech{i + 1}@example.com",
                    "phoneNumber": f"555-03{i:02d}",
                    "loginName": f"tech{i + 1}",
                    "home": None,
                    "dailyGoal": 1500.0,
                    "isManagedTech": True,
                    "licenseType": "ManagedTech",
                    "customFields": [],
                    "active": name not in vocab.INACTIVE_TECHNICIANS,
                    "aadUserId": None,
                    "burdenRate": 0.0,
                    "team": self.rng.choice(("Red Team", "Blue Team", None)),
                    "jobFilter": None,
                    "permissions": [],
                    "accountLocked": False,
                    "commissionRate": 0.05,
                    "currentValue": None,
                    "firstName": first,
                    "lastName": last,
                    "hourlyRate": float(self.rng.randint(24, 48)),
                    "jobId": None,
                    "mobilePhone": None,
                    "outboundCallerId": None,
                    "payrollId": f"P{1000 + i}",
                    "payrollProfileId": None,
                    "appoitmentId": None,
                    "shiftStart": "07:00:00",
                    "shiftEnd": "15:30:00",
                    "soldByRate": 0.0,
                    "startDate": None,
                    "status": "Idle",
                    "skills": [],
                    "positions": ["Service"],
                    "location": None,
                    "bio": None,
                    "memo": None,
                },
            )
