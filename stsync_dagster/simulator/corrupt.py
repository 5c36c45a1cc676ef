"""Invalid Production records on purpose (the `invalid_fraction` knob).

Values a real API could plausibly return and a client's validation must catch: a material without a code,
a cost of "n/a", a purchase order without lines, a job whose priority no create accepts... Each corrupted
record gets exactly one bad field, named in the returned map as a dotted path ("code", "items[0].quantity").

Only records that nothing else depends on, and that depend on no deliberate gap, are corrupted: materials on
no PO line and in no configurable material (as it or a variation), jobs on no PO and no job's origin, and no
record that references a master record missing from (or duplicated or merged in) Integration. So a sync should report each corrupted record for its bad field, and nothing else
for it, and no other record because of it.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterator

from .gaps import DELIBERATE_GAPS, MERGED_CUSTOMER

FUZZ_KINDS = ("materials", "purchase-orders", "jobs")
# Fields a Tenant keeps (ordering, date filters, export positions) but leaves out of every answer.
OMIT_KEY = "_omit"
UNKNOWN_PRIORITY = "Critical"  # looks like an enum value; Integration's job create refuses it

Corruption = Callable[[dict, random.Random, dict], str]  # (record, rng, context) -> the field it broke


def _set(field: str, value) -> Corruption:
    def corrupt(record: dict, _rng: random.Random, _context: dict) -> str:
        record[field] = value
        return field

    return corrupt


def _omit(field: str) -> Corruption:
    def corrupt(record: dict, _rng: random.Random, _context: dict) -> str:
        record[OMIT_KEY] = (*record.get(OMIT_KEY, ()), field)
        return field

    return corrupt


def _line_quantity(record: dict, rng: random.Random, _context: dict) -> str:
    line = rng.randrange(len(record["items"]))
    record["items"][line]["quantity"] = "lots"
    return f"items[{line}].quantity"


def _campaign_name(record: dict, _rng: random.Random, context: dict) -> str:
    # The campaign's name where its id belongs: a string no id parser accepts (a numeric string could be).
    record["campaignId"] = context["campaign_names"].get(record["campaignId"], "(unknown campaign)")
    return "campaignId"


CORRUPTIONS: dict[str, tuple[Corruption, ...]] = {
    "materials": (
        _set("code", None),
        _set("code", ""),
        _set("description", None),
        _set("cost", "n/a"),
        _omit("modifiedOn"),
    ),
    "purchase-orders": (_set("items", []), _set("vendorId", None), _line_quantity),
    "jobs": (_set("priority", UNKNOWN_PRIORITY), _set("customerId", None), _campaign_name),
}


def corrupt(prod: dict[str, list[dict]], fraction: float, seed: int) -> dict[tuple[str, int], str]:
    """Corrupt ceil(fraction × count) records of each FUZZ_KIND in place (fewer if fewer are eligible).

    Returns {(kind, id): field}. Every kind of corruption occurs once before any occurs twice.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"invalid_fraction must be between 0 and 1, got {fraction!r}")
    if fraction == 0.0:
        return {}
    rng = random.Random(f"stsync-simulator-invalid:{seed}")
    context = {"campaign_names": {c["id"]: c["name"] for c in prod.get("campaigns", [])}}
    out: dict[tuple[str, int], str] = {}
    for kind, candidates in _eligible(prod).items():
        # round first: 0.2 × 50 is 10.000000000000002 in floating point, and should be 10
        wanted = min(len(candidates), math.ceil(round(fraction * len(prod.get(kind, [])), 9)))
        chosen = rng.sample(candidates, wanted)
        kinds_of_damage = list(CORRUPTIONS[kind])
        rng.shuffle(kinds_of_damage)
        for i, record in enumerate(chosen):
            out[(kind, record["id"])] = kinds_of_damage[i % len(kinds_of_damage)](record, rng, context)
    return out


def ints_in(value) -> Iterator[int]:
    """Every int in a JSON-like value (not booleans), nested dicts and lists included."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from ints_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from ints_in(item)


def _eligible(prod: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Per kind, the records (in id order) that may be corrupted without side effects (see the module doc)."""
    # Ids are unique across kinds within a tenant, so any int equal to a tainted id is a reference to it.
    tainted = _gap_ids(prod)
    appointments = defaultdict(list)
    for kind in ("appointments", "appointment-assignments"):
        for record in prod.get(kind, []):
            appointments[record.get("jobId")].append(record)

    def taints(record: dict, *more: dict) -> bool:
        return any(i in tainted for r in (record, *more) for i in ints_in({k: v for k, v in r.items() if k != "id"}))

    for job in prod.get("jobs", []):
        if taints(job, *appointments[job["id"]]):
            tainted.add(job["id"])
    for material in prod.get("materials", []):
        if taints(material):
            tainted.add(material["id"])
    pos = prod.get("purchase-orders", [])
    # A configurable material and its variations are copied together; a job names the one it came from.
    paired = {
        i
        for m in prod.get("materials", [])
        if m.get("variationsOrConfigurableMaterials")
        for i in (m["id"], *m["variationsOrConfigurableMaterials"])
    }
    on_po_lines = tainted | paired | {line.get("skuId") for po in pos for line in po.get("items") or []}
    origins = {(j.get("jobGeneratedLeadSource") or {}).get("jobId") for j in prod.get("jobs", [])}
    on_pos = tainted | origins | {po.get("jobId") for po in pos}
    return {
        "materials": [r for r in _by_id(prod, "materials") if r["id"] not in on_po_lines],
        # with at least one line: emptying `items` or breaking a line's quantity must change something
        "purchase-orders": [r for r in _by_id(prod, "purchase-orders") if r.get("items") and not taints(r)],
        "jobs": [r for r in _by_id(prod, "jobs") if r["id"] not in on_pos],
    }


def _gap_ids(prod: dict[str, list[dict]]) -> set[int]:
    """Ids of the Production master records a sync cannot match one-to-one in Integration, and their locations."""
    names: dict[str, set[str]] = defaultdict(set)
    for kind, kind_names in DELIBERATE_GAPS["missing"].items():
        names[kind].update(kind_names)
    for kind, kind_names in DELIBERATE_GAPS["duplicated"].items():
        names[kind].update(kind_names)
    names["customers"].add(MERGED_CUSTOMER)
    ids = {r["id"] for kind, wanted in names.items() for r in prod.get(kind, []) if r.get("name") in wanted}
    ids |= {r["id"] for r in prod.get("locations", []) if r.get("customerId") in ids}
    return ids


def _by_id(prod: dict[str, list[dict]], kind: str) -> list[dict]:
    return sorted(prod.get(kind, []), key=lambda r: r["id"])
