"""Deterministic data for both tenants, from a seed.

Records are first built as *specs* whose references are tuples ``(kind, index)``; each tenant then
materializes them with its own ids. Production gets everything; Integration gets the master data only
(under different, non-overlapping ids), minus the deliberate gaps, plus one duplicated campaign name.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime, timedelta

from . import vocab
from .clock import iso
from .constants import DEFAULT_UNTIL, FOREIGN_EXTERNAL_DATA_GUID, INT_ID_START, PROD_ID_RANGE

BASE_COUNTS = {
    "vendors": 12,
    "warehouses": 3,
    "purchase-order-types": 4,
    "business-units": 6,
    "customers": 80,
    "job-types": 10,
    "campaigns": 8,
    "technicians": 15,
    "categories": 8,
    "materials": 400,
    "purchase-orders": 150,
    "jobs": 200,
}
SCALED_KINDS = ("materials", "purchase-orders", "jobs", "customers")
MASTER_KINDS = (
    "categories", "vendors", "warehouses", "purchase-order-types", "business-units", "job-types",
    "campaign-categories", "campaigns", "technicians", "customers", "locations",
)
TRANSACTIONAL_KINDS = ("jobs", "appointments", "appointment-assignments", "materials", "purchase-orders")

# Present in Production, absent from Integration ("missing"), or present twice in Integration ("duplicated").
DELIBERATE_GAPS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "missing": {
        "vendors": ("Gulf Coast Refrigerant Supply",),
        "customers": ("Harborview Dental Group",),
        "job-types": ("Water Heater Flush",),
        "technicians": ("Dmitri Volkov",),
    },
    "duplicated": {"campaigns": ("Spring Tune-Up Mailer",)},
}
# A Production customer merged into another one (inactive, mergedToId set); present in both tenants.
MERGED_CUSTOMER = "Riverside Dental Group (old account)"
WINDOW_DAYS = 120

Ref = tuple  # (kind, index): a reference resolved to an id per tenant


def resolve_counts(scale: float, counts: Mapping[str, int] | None) -> dict[str, int]:
    if scale <= 0:
        raise ValueError("scale must be positive")
    unknown = set(counts or {}) - set(BASE_COUNTS)
    if unknown:
        raise ValueError(f"unknown kinds in counts: {sorted(unknown)} (known: {sorted(BASE_COUNTS)})")
    sizes = {k: (max(1, round(v * scale)) if k in SCALED_KINDS else v) for k, v in BASE_COUNTS.items()}
    sizes.update(counts or {})
    sizes["customers"] = max(sizes["customers"], 4)  # the gap customer, the merged pair, one more
    return sizes


def generate(seed: int, scale: float = 1.0, counts: Mapping[str, int] | None = None,
             until: datetime | None = None) -> dict[str, dict[str, list[dict]]]:
    """Both tenants' records: {"prod": {kind: [record, ...]}, "int": {...}} (externalData under "_external")."""
    specs = _SpecBuilder(random.Random(seed), resolve_counts(scale, counts), until or DEFAULT_UNTIL).build()
    rng = random.Random(seed * 7919 + 1)
    prod = _materialize(specs, _Ids(rng, PROD_ID_RANGE[0]), shuffle=None)
    int_specs = _integration_specs(specs)
    return {"prod": prod, "int": _materialize(int_specs, _Ids(rng, INT_ID_START), shuffle=rng)}


class _Ids:
    """Sparse increasing ids (gaps like a real, busy database)."""

    def __init__(self, rng: random.Random, start: int) -> None:
        self.rng, self.next = rng, start + rng.randint(1, 5000)
        self.assigned: dict[Ref, int] = {}

    def of(self, ref: Ref) -> int:
        if ref not in self.assigned:
            self.assigned[ref] = self.next
            self.next += self.rng.randint(1, 40)
        return self.assigned[ref]


def _materialize(specs: dict[str, list[dict]], ids: _Ids, shuffle: random.Random | None) -> dict[str, list[dict]]:
    order = [(kind, spec) for kind in specs for spec in specs[kind]]
    if shuffle is not None:  # so Integration ids are not Production ids plus a constant
        shuffle.shuffle(order)
    for _kind, spec in order:
        ids.of(spec["key"])

    def resolve(value):
        if isinstance(value, tuple):
            return ids.of(value)
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    out: dict[str, list[dict]] = {}
    for kind, kind_specs in specs.items():
        records = []
        for spec in kind_specs:
            record = {"id": ids.of(spec["key"])}
            record.update(resolve({k: v for k, v in spec.items() if k != "key"}))
            records.append(record)
        out[kind] = records
    return out


def _integration_specs(specs: dict[str, list[dict]]) -> dict[str, list[dict]]:
    missing = DELIBERATE_GAPS["missing"]
    out = {kind: [s for s in specs[kind] if s["name"] not in missing.get(kind, ())] for kind in MASTER_KINDS
           if kind != "locations"}
    kept_customers = {s["key"] for s in out["customers"]}
    out["locations"] = [s for s in specs["locations"] if s["customerId"] in kept_customers]
    for name in DELIBERATE_GAPS["duplicated"]["campaigns"]:
        original = next(s for s in specs["campaigns"] if s["name"] == name)
        twin = dict(original, key=("campaigns", "duplicate"), createdOn=original["modifiedOn"])
        out["campaigns"].append(twin)
    return out


def _pick_names(pool: tuple[str, ...], n: int, must: tuple[str, ...] = ()) -> list[str]:
    """n names from pool (in pool order), always including `must`; numbered extras when n > len(pool)."""
    chosen = list(must)
    for name in pool:
        if len(chosen) >= n:
            break
        if name not in chosen:
            chosen.append(name)
    chosen.sort(key=pool.index)
    while len(chosen) < n:
        chosen.append(f"{pool[len(chosen) % len(pool)]} #{len(chosen) // len(pool) + 1}")
    return chosen


class _SpecBuilder:
    def __init__(self, rng: random.Random, sizes: dict[str, int], until: datetime) -> None:
        self.rng, self.sizes, self.until = rng, sizes, until
        self.window_start = until - timedelta(days=WINDOW_DAYS)
        self.specs: dict[str, list[dict]] = {}

    # -- helpers --------------------------------------------------------------------------------
    def moment(self, start: datetime, end: datetime) -> datetime:
        span = max(0.0, (end - start).total_seconds())
        moment = start + timedelta(seconds=self.rng.uniform(0, span))
        return moment.replace(microsecond=(moment.microsecond // 1000) * 1000)

    def stamps(self, start: datetime | None = None) -> dict[str, str]:
        created = self.moment(start or self.window_start, self.until)
        roll = self.rng.random()
        if roll < 0.3:
            modified = created
        elif roll < 0.33:  # exactly midnight: a boundary for daily partitions
            modified = self.moment(created, self.until).replace(hour=0, minute=0, second=0, microsecond=0)
            modified = max(modified, created)
        else:
            modified = self.moment(created, self.until)
        return {"createdOn": iso(created), "modifiedOn": iso(modified)}

    def master_stamps(self) -> dict[str, str]:
        created = self.moment(self.until - timedelta(days=3 * 365), self.window_start)
        modified = created if self.rng.random() < 0.5 else self.moment(created, self.until)
        return {"createdOn": iso(created), "modifiedOn": iso(modified)}

    def money(self, low: float, high: float) -> float:
        return round(self.rng.uniform(low, high), 2)

    def address(self) -> dict:
        city, state, zip_code = self.rng.choice(vocab.CITIES)
        return {
            "street": f"{self.rng.randint(1, 9899)} {self.rng.choice(vocab.STREETS)}",
            "unit": self.rng.choice(vocab.UNITS),
            "city": city,
            "state": state,
            "zip": zip_code,
            "country": "USA",
        }

    def awkward(self, chance: float) -> str | None:
        return self.rng.choice(vocab.AWKWARD_SNIPPETS) if self.rng.random() < chance else None

    def user(self) -> Ref:
        return ("users", self.rng.randint(0, 4))

    def keys(self, kind: str) -> list[Ref]:
        return [s["key"] for s in self.specs[kind]]

    def active_keys(self, kind: str) -> list[Ref]:
        return [s["key"] for s in self.specs[kind] if s["active"]]

    def key_of(self, kind: str, name: str) -> Ref:
        return next(s["key"] for s in self.specs[kind] if s["name"] == name)

    def add(self, kind: str, spec: dict) -> dict:
        bucket = self.specs.setdefault(kind, [])
        spec = {"key": (kind, len(bucket)), **spec}
        bucket.append(spec)
        return spec

    # -- build ----------------------------------------------------------------------------------
    def build(self) -> dict[str, list[dict]]:
        for step in (self.categories, self.vendors, self.warehouses, self.po_types, self.business_units,
                     self.job_types, self.campaigns, self.technicians, self.customers, self.jobs,
                     self.materials, self.purchase_orders):
            step()
        for kind in MASTER_KINDS + TRANSACTIONAL_KINDS:
            self.specs.setdefault(kind, [])
        return self.specs

    def categories(self) -> None:
        for i, name in enumerate(_pick_names(vocab.CATEGORIES, self.sizes["categories"])):
            self.add("categories", {
                "name": name, "active": True, "description": None, "image": None, "parentId": None,
                "position": i + 1, "categoryType": "Materials", "subcategories": [], "businessUnitIds": [],
                "skuImages": [], "skuVideos": [], "source": None, "externalId": None, "hideInMobile": False,
                **self.master_stamps(),
            })

    def vendors(self) -> None:
        must = DELIBERATE_GAPS["missing"]["vendors"]
        for name in _pick_names(vocab.VENDORS, self.sizes["vendors"], must):
            first, last = self.rng.choice(vocab.FIRST_NAMES), self.rng.choice(vocab.LAST_NAMES)
            self.add("vendors", {
                "name": name, "active": name not in vocab.INACTIVE_VENDORS,
                "isTruckReplenishment": self.rng.random() < 0.2, "isMobileCreationRestricted": False,
                "memo": self.awkward(0.3) or "", "deliveryOption": self.rng.choice(("Manual", "EmailAsPdf")),
                "defaultTaxRate": self.rng.choice((0.0, 0.0625, 0.0825)),
                "contactInfo": {"firstName": first, "lastName": last, "phone": f"555-01{self.rng.randint(10, 99)}",
                                "email": f"orders{self.rng.randint(1, 99)}@example.com", "fax": ""},
                "address": self.address(), **self.master_stamps(), "customFields": [],
            })

    def warehouses(self) -> None:
        for name in _pick_names(vocab.WAREHOUSES, self.sizes["warehouses"]):
            self.add("warehouses", {"name": name, "active": True, "address": self.address(),
                                    "inventoryTemplateId": None, **self.master_stamps()})

    def po_types(self) -> None:
        for name in _pick_names(vocab.PO_TYPES, self.sizes["purchase-order-types"]):
            self.add("purchase-order-types", {
                "name": name, "active": True, "automaticallyReceive": name == "Drop Ship",
                "displayToTechnician": True, "impactToTechnicianPayroll": False,
                "allowTechniciansToSendPo": name != "Special Order", "defaultRequiredDateDaysOffset": 3,
                "skipWeekends": True, "excludeTaxFromJobCosting": False, **self.master_stamps(),
            })

    def business_units(self) -> None:
        for name in _pick_names(vocab.BUSINESS_UNITS, self.sizes["business-units"]):
            address = self.address()
            self.add("business-units", {
                "active": True, "name": name, "officialName": f"Acme Home Services LLC – {name}",
                "email": "office@example.com", "currency": "USD", "phoneNumber": "555-0100",
                "invoiceHeader": None, "invoiceMessage": "Thank you for your business!", "defaultTaxRate": 0.0625,
                "authorizationParagraph": None, "acknowledgementParagraph": None,
                "address": {**address, "latitude": None, "longitude": None, "isManualCoordinates": False,
                            "isMilitary": False},
                "materialSku": None, "quickbooksClass": None, "accountCode": None, "franchiseId": None,
                "conceptCode": None, "corporateContractNumber": None, "trade": None, "division": None,
                "tagTypeIds": [], "tenant": None, **self.master_stamps(),
            })

    def job_types(self) -> None:
        must = DELIBERATE_GAPS["missing"]["job-types"]
        units = self.keys("business-units")
        for name in _pick_names(vocab.JOB_TYPES, self.sizes["job-types"], must):
            self.add("job-types", {
                "name": name, "businessUnitIds": self.rng.sample(units, min(2, len(units))), "skills": [],
                "tagTypeIds": [], "priority": "Normal", "duration": self.rng.choice((3600, 5400, 7200)),
                "soldThreshold": None, "class": "Service", "summary": "", "noCharge": False,
                "enforceRecurringServiceEventSelection": None, "invoiceSignaturesRequired": False,
                **self.master_stamps(), "active": name not in vocab.INACTIVE_JOB_TYPES,
                "isSmartDispatched": False,
            })

    def campaigns(self) -> None:
        for name in ("Online", "Offline"):
            self.add("campaign-categories", {"name": name, "active": True})
        cats = self.keys("campaign-categories")
        must = DELIBERATE_GAPS["duplicated"]["campaigns"]
        for name in _pick_names(vocab.CAMPAIGNS, self.sizes["campaigns"], must):
            cat = self.rng.choice(cats)
            self.add("campaigns", {
                "name": name, **self.master_stamps(), "active": name not in vocab.INACTIVE_CAMPAIGNS,
                "isDefaultCampaign": False,
                "category": {"id": cat, "name": ("Online", "Offline")[cat[1]], "active": True},
                "source": None, "otherSource": None, "businessUnit": None, "medium": None, "otherMedium": None,
                "campaignPhoneNumbers": [f"555-02{self.rng.randint(10, 99)}"],
            })

    def technicians(self) -> None:
        must = DELIBERATE_GAPS["missing"]["technicians"]
        units = self.keys("business-units")
        for i, name in enumerate(_pick_names(vocab.TECHNICIANS, self.sizes["technicians"], must)):
            first, _, last = name.partition(" ")
            self.add("technicians", {
                "userId": ("users", 100 + i), "name": name, "roleIds": [], "businessUnitId": self.rng.choice(units),
                "mainZoneId": None, "zoneIds": [], **self.master_stamps(), "email": f"tech{i + 1}@example.com",
                "phoneNumber": f"555-03{i:02d}", "loginName": f"tech{i + 1}", "home": None,
                "dailyGoal": 1500.0, "isManagedTech": True, "licenseType": "ManagedTech", "customFields": [],
                "active": name not in vocab.INACTIVE_TECHNICIANS, "aadUserId": None, "burdenRate": 0.0,
                "team": self.rng.choice(("Red Team", "Blue Team", None)), "jobFilter": None, "permissions": [],
                "accountLocked": False, "commissionRate": 0.05, "currentValue": None, "firstName": first,
                "lastName": last, "hourlyRate": float(self.rng.randint(24, 48)), "jobId": None,
                "mobilePhone": None, "outboundCallerId": None, "payrollId": f"P{1000 + i}",
                "payrollProfileId": None, "appoitmentId": None, "shiftStart": "07:00:00", "shiftEnd": "15:30:00",
                "soldByRate": 0.0, "startDate": None, "status": "Idle", "skills": [], "positions": ["Service"],
                "location": None, "bio": None, "memo": None,
            })

    def customer_names(self) -> list[tuple[str, str]]:
        names = [(DELIBERATE_GAPS["missing"]["customers"][0], "Commercial"), (MERGED_CUSTOMER, "Commercial")]
        seen = {n for n, _ in names}
        while len(names) < self.sizes["customers"]:
            if self.rng.random() < 0.25:
                first, second = self.rng.choice(vocab.BUSINESS_WORDS)
                name, kind = f"{first} {second}", "Commercial"
            else:
                name = f"{self.rng.choice(vocab.FIRST_NAMES)} {self.rng.choice(vocab.LAST_NAMES)}"
                kind = "Residential"
            suffix = 2
            base = name
            while name in seen:  # keep natural keys unique (except the deliberate duplicate)
                name = f"{base} ({suffix})"
                suffix += 1
            seen.add(name)
            names.append((name, kind))
        return names

    def customers(self) -> None:
        addresses: set[tuple] = set()

        def unique_address() -> dict:
            while True:
                address = self.address()
                key = (address["street"], address["unit"], address["city"])
                if key not in addresses:
                    addresses.add(key)
                    return {**address, "latitude": None, "longitude": None}

        for index, (name, kind) in enumerate(self.customer_names()):
            address = unique_address()
            customer = self.add("customers", {
                "active": True, "name": name, "type": kind, "address": address, "customFields": [],
                "balance": self.money(0, 900) if self.rng.random() < 0.3 else 0.0, "taxExempt": False,
                "tagTypeIds": [], "doNotMail": self.rng.random() < 0.1, "doNotService": False,
                "nationalAccount": False, **self.master_stamps(), "createdById": self.user(), "mergedToId": None,
                "paymentTermId": None, "creditLimit": None, "creditLimitBalance": None,
            })
            n_locations = 1 if self.rng.random() < 0.6 else 2
            for k in range(n_locations):
                location_name = name if k == 0 else self.rng.choice(vocab.LOCATION_EXTRA_NAMES)
                self.add("locations", {
                    "customerId": customer["key"], "active": not (k == 1 and self.rng.random() < 0.1),
                    "name": location_name, "address": address if k == 0 else unique_address(), "customFields": [],
                    **self.master_stamps(), "createdById": self.user(), "mergedToId": None, "zoneId": None,
                    "taxExempt": False, "tagTypeIds": [], "taxZoneId": None,
                })
        merged = next(s for s in self.specs["customers"] if s["name"] == MERGED_CUSTOMER)
        merged.update(active=False, mergedToId=self.specs["customers"][2]["key"])

    def locations_of(self) -> dict[Ref, list[Ref]]:
        out: dict[Ref, list[Ref]] = {}
        for loc in self.specs["locations"]:
            out.setdefault(loc["customerId"], []).append(loc["key"])
        return out

    def jobs(self) -> None:
        gaps = DELIBERATE_GAPS
        customers, locations = self.keys("customers"), self.locations_of()
        units, campaigns = self.keys("business-units"), self.keys("campaigns")
        job_types = self.active_keys("job-types")
        technicians = self.active_keys("technicians")
        forced = {
            0: {"customer": self.key_of("customers", gaps["missing"]["customers"][0])},
            1: {"jobType": self.key_of("job-types", gaps["missing"]["job-types"][0])},
            2: {"campaign": self.key_of("campaigns", gaps["duplicated"]["campaigns"][0])},
            3: {"technician": self.key_of("technicians", gaps["missing"]["technicians"][0])},
            4: {"customer": self.key_of("customers", MERGED_CUSTOMER)},
        }
        for i in range(self.sizes["jobs"]):
            force = forced.get(i, {})
            customer = force.get("customer") or self.rng.choice(customers)
            stamps = self.stamps()
            created = datetime.fromisoformat(stamps["createdOn"])
            status = self.rng.choices(("Scheduled", "Dispatched", "InProgress", "Hold", "Completed", "Canceled"),
                                      (30, 8, 7, 5, 40, 10))[0]
            job = self.add("jobs", {
                "jobNumber": str(52_000 + i), "projectId": None, "customerId": customer,
                "locationId": self.rng.choice(locations[customer]), "jobStatus": status,
                "completedOn": iso(self.moment(created, self.until)) if status == "Completed" else None,
                "businessUnitId": self.rng.choice(units),
                "jobTypeId": force.get("jobType") or self.rng.choice(job_types),
                "priority": self.rng.choices(("Low", "Normal", "High", "Urgent"), (15, 60, 20, 5))[0],
                "campaignId": force.get("campaign") or self.rng.choice(campaigns),
                "appointmentCount": 0, "firstAppointmentId": None, "lastAppointmentId": None,
                "recallForId": None, "warrantyId": None, "jobGeneratedLeadSource": None,
                "noCharge": self.rng.random() < 0.05, "notificationsEnabled": True, **stamps,
                "createdById": self.user(), "tagTypeIds": [], "leadCallId": None, "partnerLeadCallId": None,
                "bookingId": None, "soldById": None,
                "customerPo": f"PO-{self.rng.randint(1000, 9999)}" if self.rng.random() < 0.2 else "",
                "invoiceId": ("invoices", i), "membershipId": None,
                "total": self.money(0, 4500) if status == "Completed" else None, "createdFromEstimateId": None,
                "estimateIds": [],
                "summary": self.job_summary(),
                "customFields": [], "active": self.rng.random() > 0.03,
            })
            if i % 25 == 7:
                job["_external"] = {FOREIGN_EXTERNAL_DATA_GUID: [{"key": "crmId", "value": f"CRM-{i}"}]}
            self.appointments(job, created, status, technicians, force.get("technician"))

    def job_summary(self) -> str | None:
        roll = self.rng.random()
        if roll < 0.1:
            return None
        if roll < 0.13:
            return vocab.LONG_TEXT_UNIT * 25
        return self.awkward(0.3) or self.rng.choice(
            ("No cooling upstairs", "Annual maintenance", "Water heater leaking", "Breaker keeps tripping",
             "<p>Replace capacitor &amp; contactor</p>", "Kitchen sink backed up"))

    def appointments(self, job: dict, created: datetime, status: str, technicians: list[Ref],
                     forced_technician: Ref | None) -> None:
        count = 1 if self.rng.random() < 0.7 else 2
        appointment_status = {"Completed": "Done", "Canceled": "Canceled", "InProgress": "Working",
                              "Dispatched": "Dispatched", "Hold": "Hold"}.get(status, "Scheduled")
        keys = []
        for k in range(count):
            start = (created + timedelta(days=self.rng.randint(0, 10) + 7 * k)).replace(
                hour=self.rng.choice((13, 15, 17, 19)), minute=0, second=0, microsecond=0)
            has_window = self.rng.random() < 0.8
            appointment = self.add("appointments", {
                "jobId": job["key"], "appointmentNumber": f"{job['jobNumber']}-{k + 1}", "start": iso(start),
                "end": iso(start + timedelta(hours=2)),
                "arrivalWindowStart": iso(start) if has_window else None,
                "arrivalWindowEnd": iso(start + timedelta(hours=4)) if has_window else None,
                "status": appointment_status, "specialInstructions": self.awkward(0.15),
                "createdOn": job["createdOn"], "modifiedOn": job["modifiedOn"], "customerId": job["customerId"],
                "unused": False, "createdById": job["createdById"], "isConfirmed": self.rng.random() < 0.5,
                "active": job["active"],
            })
            keys.append(appointment["key"])
            crew = self.rng.sample(technicians, min(len(technicians), 1 if self.rng.random() < 0.6 else 2))
            if forced_technician is not None and k == 0:
                crew = [forced_technician]
            for technician in crew:
                name = next(s["name"] for s in self.specs["technicians"] if s["key"] == technician)
                self.add("appointment-assignments", {
                    "technicianId": technician, "technicianName": name, "assignedById": job["createdById"],
                    "assignedOn": job["createdOn"],
                    "status": {"Done": "Done", "Working": "Working", "Dispatched": "Dispatched"}.get(
                        appointment_status, "Scheduled"),
                    "isPaused": False, "jobId": job["key"], "appointmentId": appointment["key"],
                    "createdOn": job["createdOn"], "modifiedOn": job["modifiedOn"], "active": job["active"],
                })
        job.update(appointmentCount=count, firstAppointmentId=keys[0], lastAppointmentId=keys[-1])

    def materials(self) -> None:
        gap_vendor = self.key_of("vendors", DELIBERATE_GAPS["missing"]["vendors"][0])
        vendors = self.active_keys("vendors")
        vendor_names = {s["key"]: s["name"] for s in self.specs["vendors"]}
        categories = self.keys("categories")
        codes: set[str] = set()
        link = 0
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

            def sku_vendor(vendor_key: Ref) -> dict:
                nonlocal link
                link += 1
                return {"id": ("sku-vendors", link), "vendorName": vendor_names[vendor_key], "vendorId": vendor_key,
                        "memo": self.awkward(0.1), "vendorPart": f"{brand[:2].upper()}{self.rng.randint(10000, 99999)}",
                        "cost": cost, "active": True, "primarySubAccount": None, "otherSubAccounts": None}

            others = [sku_vendor(v) for v in self.rng.sample(vendors, 1) if v != vendor] if self.rng.random() < 0.15 else []
            description = f"{brand} {name}"
            roll = self.rng.random()
            if roll < 0.03:
                description += " — " + vocab.LONG_TEXT_UNIT * 30
            elif roll < 0.12:
                description += " · " + self.rng.choice(vocab.AWKWARD_SNIPPETS)
            material = self.add("materials", {
                "code": code, "displayName": None if self.rng.random() < 0.15 else name, "description": description,
                "cost": cost, "active": self.rng.random() > 0.1, "price": price,
                "memberPrice": round(price * 0.9, 2), "addOnPrice": round(price * 0.95, 2),
                "addOnMemberPrice": round(price * 0.85, 2), "hours": 0.0, "bonus": 0.0, "commissionBonus": 0.0,
                "paysCommission": self.rng.random() < 0.3, "deductAsJobCost": False,
                "unitOfMeasure": uom if self.rng.random() < 0.9 else None, "isInventory": self.rng.random() < 0.6,
                "account": self.rng.choice(vocab.ACCOUNTS), "costOfSaleAccount": None, "assetAccount": None,
                "taxable": self.rng.choice((True, True, False, None)),
                "primaryVendor": sku_vendor(vendor) if vendor else None,
                "otherVendors": others if others or self.rng.random() < 0.5 else None,
                "categories": [categories[cat_index % len(categories)]] if cat_index is not None else [],
                "assets": [], **self.stamps(), "source": None, "externalId": None,
                "isConfigurableMaterial": False, "chargeableByDefault": True,
                "variationsOrConfigurableMaterials": [], "businessUnitId": None, "createdById": self.user(),
                "displayInAmount": False, "generalLedgerAccountId": None, "isOtherDirectCost": False,
                "costTypeId": None, "defaultAssetUrl": None, "budgetCostCode": None, "budgetCostType": None,
            })
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
            stamps = self.stamps()
            created = datetime.fromisoformat(stamps["createdOn"])
            status = self.rng.choices(("Pending", "Sent", "Received", "PartiallyReceived", "Exported", "Canceled"),
                                      (30, 30, 25, 5, 5, 5))[0]
            items = []
            for material in self.rng.sample(materials, min(len(materials), self.rng.randint(1, 5))):
                line += 1
                quantity = float(self.rng.choice((1, 2, 3, 5, 10, 25, 0.5, 12.5)))
                cost = material["cost"]
                received = quantity if status in ("Received", "Exported") else 0.0
                vendor_part = (material["primaryVendor"] or {}).get("vendorPart") or ""
                items.append({
                    "id": ("po-items", line), "skuId": material["key"], "description": material["description"][:500],
                    "createdOn": stamps["createdOn"], "modifiedOn": stamps["modifiedOn"],
                    "skuName": material["displayName"] or material["code"], "skuCode": material["code"],
                    "skuType": "Material", "vendorPartNumber": vendor_part, "quantity": quantity,
                    "quantityReceived": received, "cost": cost, "total": round(quantity * cost, 2),
                    "serialNumbers": [], "status": "Received" if received else "Pending", "chargeable": False,
                    "budgetCodeId": None,
                })
            tax, shipping = self.money(0, 40), self.rng.choice((0.0, 0.0, 15.0, 49.99))
            self.add("purchase-orders", {
                "number": str(2000 + i), "invoiceId": None,
                "jobId": self.rng.choice(jobs) if jobs and self.rng.random() < 0.4 else None, "projectId": None,
                "status": status, "typeId": self.rng.choice(types),
                "vendorId": gap_vendor if i == 0 else self.rng.choice(vendors),
                "technicianId": self.rng.choice(technicians) if self.rng.random() < 0.3 else None,
                "shipTo": self.address(), "businessUnitId": self.rng.choice(units),
                "inventoryLocationId": self.rng.choice(warehouses), "batchId": None, "budgetCodeId": None,
                "vendorDocumentNumber": f"INV-{self.rng.randint(100000, 999999)}" if self.rng.random() < 0.4 else "",
                "date": iso(created), "requiredOn": iso(created + timedelta(days=self.rng.randint(1, 14))),
                "sentOn": stamps["modifiedOn"] if status != "Pending" else None,
                "receivedOn": stamps["modifiedOn"] if status in ("Received", "Exported") else None,
                **stamps, "total": round(sum(x["total"] for x in items) + tax + shipping, 2), "tax": tax,
                "shipping": shipping, "summary": self.awkward(0.2) or self.rng.choice(("", "Restock", "For job")),
                "items": items, "customFields": [],
            })
