"""Deterministic data for both tenants, from a seed.

Records are first built as *specs* whose references are tuples ``(kind, index)``; each tenant then
materializes them with its own ids. Production gets everything; Integration gets the master data only
(under different, non-overlapping ids), minus the deliberate gaps, plus one duplicated campaign name.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime

from .constants import DEFAULT_UNTIL, INT_ID_START, PROD_ID_RANGE
from .gaps import DELIBERATE_GAPS, MERGED_CUSTOMER
from .specs_base import Ref
from .specs_work import MASTER_KINDS, Specs

__all__ = ["BASE_COUNTS", "DELIBERATE_GAPS", "MERGED_CUSTOMER", "generate", "resolve_counts"]

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
    specs = Specs(random.Random(seed), resolve_counts(scale, counts), until or DEFAULT_UNTIL).build()
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
