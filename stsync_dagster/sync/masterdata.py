"""Master data (vendors, customers, …) is matched between the tenants by natural keys, never created.

Matching logs nothing per record: its report lists the keys without a counterpart and the ambiguous ones, and the
step that asked for it says them, once (the master_data asset, its plan, `stsync reconcile`). A dry run matches in
memory in every step that needs the pairs: a line from here would be said once per step."""

from __future__ import annotations

from stsync_dagster.servicetitan.errors import ScopeRefused

from collections import defaultdict
from dataclasses import dataclass, field

from stsync_dagster.sync.adoption import fold, joined_key
from stsync_dagster.sync.configfile import MasterConfig


@dataclass
class MatchReport:
    kind: str
    matched: int = 0
    unmatched: list[tuple[int, str]] = field(default_factory=list)  # (prod id, key) with no counterpart
    ambiguous: list[tuple[int, str, list[int]]] = field(default_factory=list)  # (prod id, key, int ids)
    changed: dict[str, int] = field(default_factory=dict)  # crosswalk rows inserted / updated / unchanged
    pairs: dict[int, int] = field(default_factory=dict, repr=False)  # Production id → Integration id
    requests: int = 0
    seconds: float = 0.0
    unavailable: str | None = None  # its endpoint refused (a scope not granted): nothing matched, one line

    def summary(self) -> str:
        if self.unavailable:
            return f"{self.kind}: unavailable: {self.unavailable}"
        return (
            f"{self.kind}: matched {self.matched}, no counterpart {len(self.unmatched)}, "
            f"ambiguous {len(self.ambiguous)}"
        )


def _value(record: dict, dotted: str):
    value = record
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def natural_key(record: dict, fields: list[str]) -> str | None:
    """Casefolded, whitespace-collapsed values of the key fields (any value as its text: master data keys are
    names, not instants); None when the first field is empty. Records' keys (adoption.natural_key) need every part."""
    values = (_value(record, name) for name in fields)
    return joined_key([fold(str(value)) if value is not None else "" for value in values], required=1)


def _keys(client, cfg: MasterConfig) -> list[tuple[int, str | None]]:
    """(id, natural key) of every record of the kind, page by page: what matching needs, not the records (a
    tenant's customers and locations are tens of thousands)."""
    return [
        (int(record["id"]), natural_key(record, cfg.natural_key))
        for page in client.iter_pages(cfg.path, dict(cfg.list_params))
        for record in page.records
    ]


def never_matched(crosswalk, kind: str) -> bool:
    """No match of the kind ever left a trace: no mapping, and no issue (a key unmatched or ambiguous, the endpoint
    refused). A match that paired nothing still leaves its issues."""
    return not crosswalk.has_mappings(kind) and not crosswalk.has_issues(kind)


WHOLE_KIND = 0  # the issue row of a master-data kind as a whole (its endpoint refused), not of one record
UNAVAILABLE = "unavailable: "


def match_master(kind: str, cfg: MasterConfig, prod, intc, crosswalk, *, write: bool = True) -> MatchReport:
    """Pair every Production record of `kind` with the one Integration record of the same natural key."""
    report = MatchReport(kind)
    try:
        held, wanted = _keys(intc, cfg), _keys(prod, cfg)
    except ScopeRefused as exc:  # the kind cannot be read: unavailable, and what needs it is blocked
        report.unavailable = str(exc)
        if write:  # remembered, so that a later run's records blocked on it say why (references.RefMap)
            crosswalk.set_issues(kind, {WHOLE_KIND: ("failed", f"{UNAVAILABLE}{exc}", "(endpoint)")}, None)
        return report
    by_key: dict[str, list[int]] = defaultdict(list)
    for int_id, key in held:
        if key is not None:
            by_key[key].append(int_id)
    pairs: dict[int, int] = {}
    issues: dict[int, tuple[str, str, str]] = {}
    for prod_id, key in wanted:
        candidates = by_key.get(key, []) if key is not None else []
        shown = key or "(empty key)"
        if len(candidates) == 1:
            pairs[prod_id] = candidates[0]
        elif not candidates:
            report.unmatched.append((prod_id, shown))
            issues[prod_id] = (
                "blocked",
                f"{kind}: no Integration record with key '{shown}'",
                ",".join(cfg.natural_key),
            )
        else:
            report.ambiguous.append((prod_id, shown, sorted(candidates)))
            issues[prod_id] = (
                "blocked",
                f"{kind}: key '{shown}' matches {len(candidates)} Integration records {sorted(candidates)}: not guessed",
                ",".join(cfg.natural_key),
            )
    report.matched = len(pairs)
    report.pairs = pairs
    if write:
        report.changed = crosswalk.record(kind, pairs, source="masterdata")
        crosswalk.clear_issues(kind, [*pairs, WHOLE_KIND])
        if issues:
            crosswalk.set_issues(kind, issues, None)
    return report
