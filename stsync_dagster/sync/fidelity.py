"""Read-back fidelity: an Integration copy compared with its Production record, field by field, for every field
STSync copies (fieldmap.py), Production's reference ids translated through the crosswalk first. Compared with
Production, not with the request sent, so a field STSync forgets to send shows as a difference."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stsync_dagster.sync.fieldmap import TRANSLATED, FieldMap, FieldRule, applies, values_at
from stsync_dagster.sync.stamps import neutralised, strip_marker
from stsync_dagster.sync.timefmt import instant


def _timestamp(value) -> datetime | None:
    """A value that reads as a date-time (not a bare date or number), to the second in UTC."""
    if not isinstance(value, str) or len(value) < 19 or value[4] != "-" or value[10] not in "T ":
        return None
    moment = instant(value)
    return moment.replace(microsecond=0) if moment else None


def _normal(value):
    """Values as compared: empty text, null and an empty list alike; instants to the second; numbers as floats."""
    if value in (None, "", []):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return round(float(value), 6)
    if isinstance(value, list):
        return sorted((_normal(v) for v in value), key=repr)
    return _timestamp(value) or value


class Translator:
    """Production ids → Integration ids, through the crosswalk, one query per kind and batch of ids."""

    def __init__(self, crosswalk):
        self.crosswalk = crosswalk
        self.known: dict[str, dict[int, int]] = {}

    def load(self, kind: str, ids: set[int]) -> None:
        for one in kind.split("|"):
            have = self.known.setdefault(one, {})
            wanted = sorted(i for i in ids if i not in have)
            if wanted:
                have.update(self.crosswalk.int_ids(one, wanted))

    def __call__(self, kind: str, value):
        """An id or a list of ids in Integration's terms; an unmatched one is None (left out of a list).
        `kind` may name several kinds, `items|equipment`: a PO line's SKU is either."""
        if isinstance(value, list):
            return [t for t in (self(kind, v) for v in value) if t is not None]
        if value is None:
            return None
        return next((found for one in kind.split("|") if (found := self.known.get(one, {}).get(int(value)))), None)


def _ids(values: list) -> set[int]:
    return {int(v) for value in values for v in (value if isinstance(value, list) else [value]) if v is not None}


def expected(rule: FieldRule, prod: dict, translate: Translator) -> list:
    """What Integration should hold at the rule's read path, from the Production record."""
    if not applies(rule, prod):
        return []
    values = values_at(prod, rule.read_path, rule.fallback)
    if rule.how == TRANSLATED:
        translate.load(rule.kind, _ids(values))
        values = [translate(rule.kind, v) for v in values]
    if rule.marked:
        values = [neutralised(v) if isinstance(v, str) and v.strip() else None for v in values]
    return values


def held(rule: FieldRule, prod: dict, copy: dict) -> list:
    if not applies(rule, prod):
        return []
    values = values_at(copy, rule.read_path)
    return [strip_marker(v) if rule.marked and isinstance(v, str) else v for v in values] if rule.marked else values


def without_dropped(field_map: FieldMap, prod: dict, translate: Translator) -> dict:
    """The Production record as Integration should hold it: an object or list element whose reference has no
    Integration counterpart (a material's vendor, dropped by the reference policy) left out, as STSync sends it."""
    prod = dict(prod)
    translated = [r for r in field_map.compared() if r.how == TRANSLATED]
    parents = [r.read_path.rpartition(".")[0] for r in translated]
    for rule, parent in zip(translated, parents):
        leaf = rule.read_path.rpartition(".")[2]
        # Only an element that a single reference stands for (a vendor entry); one with several keeps the others.
        if not parent or "." in parent or parents.count(parent) > 1:
            continue
        name = parent.removesuffix("[]")
        value = prod.get(name)
        translate.load(rule.kind, _ids(values_at(prod, rule.read_path)))
        if parent.endswith("[]") and isinstance(value, list):
            prod[name] = [
                e
                for e in value
                if not isinstance(e, dict) or e.get(leaf) is None or translate(rule.kind, e[leaf]) is not None
            ]
        elif isinstance(value, dict) and value.get(leaf) is not None and translate(rule.kind, value[leaf]) is None:
            prod[name] = None
    return prod


@dataclass(frozen=True)
class Difference:
    """One copied field whose values differ: where (`#n`: the nth value of a list path), both values."""

    field: str
    production: Any  # Production's value as Integration should hold it (references translated)
    integration: Any
    translated: bool = False
    count: bool = False  # the path holds a different number of values: `production`, `integration` are the lists

    def __str__(self) -> str:
        if self.count:
            want, got = self.production, self.integration
            return f"{self.field}: Production has {len(want)} values {want!r}, Integration {len(got)} {got!r}"
        shown = "Production (translated)" if self.translated else "Production"
        return f"{self.field}: {shown} {self.production!r}, Integration {self.integration!r}"


def field_differences(field_map: FieldMap, prod: dict, copy: dict, translate: Translator) -> list[Difference]:
    """Every copied field whose values differ between the Production record and its Integration copy."""
    out = []
    prod = without_dropped(field_map, prod, translate)
    for rule in field_map.compared():
        want, got = expected(rule, prod, translate), held(rule, prod, copy)
        translated = rule.how == TRANSLATED
        if len(want) != len(got):
            out.append(Difference(rule.path, want, got, translated, count=True))
            continue
        for i, (a, b) in enumerate(zip(want, got)):
            if _normal(a) != _normal(b):
                where = f"{rule.path}" if len(want) == 1 else f"{rule.path} #{i + 1}"
                out.append(Difference(where, a, b, translated))
    return out


def differences(field_map: FieldMap, prod: dict, copy: dict, translate: Translator) -> list[str]:
    """`field: Production …, Integration …` for every copied field whose values differ."""
    return [str(d) for d in field_differences(field_map, prod, copy, translate)]
