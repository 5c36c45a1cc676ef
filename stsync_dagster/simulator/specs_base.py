"""Spec building blocks: seeded dates, money, addresses, references as (kind, index) tuples."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from . import vocab
from .clock import iso

WINDOW_DAYS = 120  # createdOn/modifiedOn of transactional records spread over ~4 months before `until`
Ref = tuple  # (kind, index): a reference resolved to an id per tenant


def pick_names(pool: tuple[str, ...], n: int, must: tuple[str, ...] = ()) -> list[str]:
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


def po_line(line_id: Ref, sku: dict, sku_type: str, stamps: dict, quantity: float, received: float) -> dict:
    """A PO's line on a material or equipment spec (`sku_type` says which), stamped as its PO is."""
    return {
        "id": line_id,
        "skuId": sku["key"],
        "description": sku["description"][:500],
        "createdOn": stamps["createdOn"],
        "modifiedOn": stamps["modifiedOn"],
        "skuName": sku["displayName"] or sku["code"],
        "skuCode": sku["code"],
        "skuType": sku_type,
        "vendorPartNumber": (sku["primaryVendor"] or {}).get("vendorPart") or "",
        "quantity": quantity,
        "quantityReceived": received,
        "cost": sku["cost"],
        "total": round(quantity * sku["cost"], 2),
        "serialNumbers": [],
        "status": "Received" if received else "Pending",
        "chargeable": False,
        "budgetCodeId": None,
    }


class SpecBuilderBase:
    def __init__(
        self, rng: random.Random, sizes: dict[str, int], until: datetime, fill: random.Random | None = None
    ) -> None:
        self.rng, self.sizes, self.until = rng, sizes, until
        # Draws for the fields every copyable field is filled with (fill.py), apart from `rng` so that adding
        # one does not reshuffle the rest of the data.
        self.fill = fill or random.Random(0)
        self.window_start = until - timedelta(days=WINDOW_DAYS)
        self.specs: dict[str, list[dict]] = {}

    # -- helpers --------------------------------------------------------------------------------
    def moment(self, start: datetime, end: datetime, rng: random.Random | None = None) -> datetime:
        span = max(0.0, (end - start).total_seconds())
        moment = start + timedelta(seconds=(rng or self.rng).uniform(0, span))
        return moment.replace(microsecond=(moment.microsecond // 1000) * 1000)

    def stamps(self, midnight: bool = False, rng: random.Random | None = None) -> dict[str, str]:
        """createdOn in the window, modifiedOn at or after it; some modified exactly at midnight UTC (a
        boundary for daily partitions), always so when `midnight`. `rng`: another generator than the main one."""
        rng = rng or self.rng
        created = self.moment(self.window_start, self.until - timedelta(days=2), rng)
        roll = rng.random()
        if midnight or 0.3 <= roll < 0.35:
            days_left = max(1, (self.until.date() - created.date()).days)
            day = created.date() + timedelta(days=rng.randint(1, days_left))
            modified = datetime(day.year, day.month, day.day, tzinfo=created.tzinfo)
        elif roll < 0.3:
            modified = created
        else:
            modified = self.moment(created, self.until, rng)
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

    def add_named(self, kind: str, pool: tuple[str, ...], fields: Callable[[str], dict]) -> None:
        """A master record of `kind` per name picked from `pool` (as many as its size): the name, active, the
        `fields` of that name, the stamps."""
        for name in pick_names(pool, self.sizes[kind]):
            self.add(kind, {"name": name, "active": True, **fields(name), **self.master_stamps()})

    # -- build ----------------------------------------------------------------------------------
