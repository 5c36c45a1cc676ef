"""Deterministic data for both tenants, from a seed.

Records are first built as *specs* whose references are tuples ``(kind, index)``; each tenant then
materializes them with its own ids. Production gets everything. A clean Integration gets the master data only
(under different, non-overlapping ids), minus the deliberate gaps, plus one duplicated campaign name. A
refreshed Integration is what ServiceTitan makes on request: a copy of Production as of a moment, master data
and every material, PO and job created by then, with Production's ids kept or with new ones (both happen, as
far as anyone can tell). Either can also hold materials made by hand that reuse Production codes.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from .constants import INT_ID_START, PROD_ID_RANGE, default_until
from .gaps import DELIBERATE_GAPS, MERGED_CUSTOMER
from .specs_base import Ref
from .specs_work import MASTER_KINDS, Specs

__all__ = ["BASE_COUNTS", "DELIBERATE_GAPS", "MERGED_CUSTOMER", "Refresh", "generate", "resolve_counts"]

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
    "equipment": 30,
    "purchase-orders": 150,
    "jobs": 200,
}
SCALED_KINDS = ("materials", "equipment", "purchase-orders", "jobs", "customers")


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


@dataclass(frozen=True)
class Refresh:
    """Integration as a copy of Production made at `as_of`; `keep_ids`: whether the copy kept Production's ids."""

    as_of: datetime
    keep_ids: bool = True


def generate(
    seed: int,
    scale: float = 1.0,
    counts: Mapping[str, int] | None = None,
    until: datetime | None = None,
    refresh: Refresh | None = None,
    handmade_materials: int = 0,
) -> dict[str, dict[str, list[dict]]]:
    """Both tenants' records: {"prod": {kind: [record, ...]}, "int": {...}} (externalData under "_external")."""
    specs = Specs(
        random.Random(seed),
        resolve_counts(scale, counts),
        until or default_until(),
        fill=random.Random(seed * 104_729 + 3),
    ).build()
    rng = random.Random(seed * 7919 + 1)
    prod_ids = _Ids(rng, PROD_ID_RANGE[0])
    prod = _materialize(specs, prod_ids, shuffle=None)
    int_specs = _integration_specs(specs) if refresh is None else _refreshed_specs(specs, refresh.as_of)
    int_specs["materials"] = int_specs.get("materials", []) + _handmade(specs, int_specs, handmade_materials)
    if refresh is not None and refresh.keep_ids:
        return {"prod": prod, "int": _materialize(int_specs, prod_ids, shuffle=None)}
    return {"prod": prod, "int": _materialize(int_specs, _Ids(rng, INT_ID_START), shuffle=rng)}


def _refs(value) -> list[tuple]:
    if isinstance(value, tuple):
        return [value]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs(v)]
    return []


def _refreshed_specs(specs: dict[str, list[dict]], as_of: datetime) -> dict[str, list[dict]]:
    """Everything of Production's master data, and the materials, POs and jobs created by `as_of` whose
    references were copied too (a PO line's material, an appointment's job)."""
    out = {kind: list(specs[kind]) for kind in MASTER_KINDS}
    copied = {s["key"] for kind_specs in out.values() for s in kind_specs}
    children = {"jobs": ("appointments",)}  # a job names its appointments, which are copied after it
    for kind in ("jobs", "appointments", "appointment-assignments", "materials", "equipment", "purchase-orders"):
        kept = []
        for spec in specs.get(kind, []):
            created = datetime.fromisoformat(spec["createdOn"].replace("Z", "+00:00"))
            # A configurable material and its variations name each other: neither waits for the other.
            needed = [
                r
                for r in _refs({k: v for k, v in spec.items() if k not in ("key", "variationsOrConfigurableMaterials")})
                if r[0] in specs and r[0] not in children.get(kind, ())
            ]
            if created <= as_of and all(r in copied for r in needed):
                kept.append(spec)
                copied.add(spec["key"])
        out[kind] = kept
    return out


def _handmade(specs: dict[str, list[dict]], int_specs: dict[str, list[dict]], count: int) -> list[dict]:
    """Materials a tester made in Integration with the codes of Production materials it does not hold (in
    another case, with stray spaces: codes are unique regardless), no vendor, no stamp."""
    held = {s["key"] for s in int_specs.get("materials", [])}
    chosen = [s for s in specs["materials"] if s["key"] not in held][:count]
    return [
        {
            **{
                k: v
                for k, v in spec.items()
                if k
                not in (
                    "primaryVendor",
                    "otherVendors",
                    "categories",
                    "_external",
                    "variationsOrConfigurableMaterials",
                    "assets",
                )
            },
            "key": ("handmade-materials", i),
            "code": f" {spec['code'].swapcase()} ",
            "description": f"Made by hand for a test: {spec['description']}"[:2000],
            "primaryVendor": None,
            "otherVendors": [],
            "categories": [],
            "assets": [],
            "isConfigurableMaterial": False,
            "variationsOrConfigurableMaterials": [],
        }
        for i, spec in enumerate(chosen)
    ]


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
    out = {
        kind: [s for s in specs[kind] if s["name"] not in missing.get(kind, ())]
        for kind in MASTER_KINDS
        if kind != "locations"
    }
    kept_customers = {s["key"] for s in out["customers"]}
    out["locations"] = [s for s in specs["locations"] if s["customerId"] in kept_customers]
    for name in DELIBERATE_GAPS["duplicated"]["campaigns"]:
        original = next(s for s in specs["campaigns"] if s["name"] == name)
        twin = dict(original, key=("campaigns", "duplicate"), createdOn=original["modifiedOn"])
        out["campaigns"].append(twin)
    return out
