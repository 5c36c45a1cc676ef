"""Master data specs, continued: the customers and their locations (one customer missing from Integration, one
merged into another, some locations closed)."""

from __future__ import annotations

from . import vocab
from .gaps import DELIBERATE_GAPS, MERGED_CUSTOMER
from .specs_base import Ref, SpecBuilderBase


class CustomerSpecs(SpecBuilderBase):
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

        for name, kind in self.customer_names():
            address = unique_address()
            customer = self.add(
                "customers",
                {
                    "active": True,
                    "name": name,
                    "type": kind,
                    "address": address,
                    "customFields": [],
                    "balance": self.money(0, 900) if self.rng.random() < 0.3 else 0.0,
                    "taxExempt": False,
                    "tagTypeIds": [],
                    "doNotMail": self.rng.random() < 0.1,
                    "doNotService": False,
                    "nationalAccount": False,
                    **self.master_stamps(),
                    "createdById": self.user(),
                    "mergedToId": None,
                    "paymentTermId": None,
                    "creditLimit": None,
                    "creditLimitBalance": None,
                },
            )
            n_locations = 2 if name == MERGED_CUSTOMER or self.rng.random() >= 0.6 else 1
            for k in range(n_locations):
                location_name = name if k == 0 else self.rng.choice(vocab.LOCATION_EXTRA_NAMES)
                closed = k == 1 and (name == MERGED_CUSTOMER or self.rng.random() < 0.1)
                self.add(
                    "locations",
                    {
                        "customerId": customer["key"],
                        "active": not closed,
                        "name": location_name,
                        "address": address if k == 0 else unique_address(),
                        "customFields": [],
                        **self.master_stamps(),
                        "createdById": self.user(),
                        "mergedToId": None,
                        "zoneId": None,
                        "taxExempt": False,
                        "tagTypeIds": [],
                        "taxZoneId": None,
                    },
                )
        merged = next(s for s in self.specs["customers"] if s["name"] == MERGED_CUSTOMER)
        merged.update(active=False, mergedToId=self.specs["customers"][2]["key"])

    def locations_of(self) -> dict[Ref, list[Ref]]:
        out: dict[Ref, list[Ref]] = {}
        for loc in self.specs["locations"]:
            out.setdefault(loc["customerId"], []).append(loc["key"])
        return out
