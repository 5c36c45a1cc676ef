"""What to do with a reference that has no Integration counterpart: the config's `references` section.

Per entity and reference field (indices left out: `items.skuId`, `appointments.technicianIds`):
- `block`: the record is not sent; it is listed and tried again by later runs (the default for references the
  create requires);
- `drop`: the record is copied without the reference, which is counted and listed (the default for optional
  ones: a material without its vendor rather than no material);
- `{"default": <natural key>}`: the Integration record of that natural key stands in (a default warehouse,
  business unit or campaign), counted and listed like a drop. Master data only: the key is matched as the
  master-data matching matches it (a list for a key of several fields).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync.configfile import BLOCK, DEFAULT, DROP, DefaultPolicy, Policy  # noqa: F401 (the file's types)
from stsync_dagster.sync.masterdata import natural_key  # the key as master data is matched

_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class Reference:
    """A reference field a handler translates: the kind it points at, and whether the create requires it."""

    kind: str
    required: bool
    default: str | None = None  # the policy when the config names none; else block if required, drop if not

    @property
    def default_policy(self) -> str:
        return self.default or (BLOCK if self.required else DROP)


def references(
    required: Mapping[str, str] | None = None,
    optional: Mapping[str, str] | None = None,
) -> dict[str, Reference]:
    """A handler's reference fields, each by the kind it points at: the `required` ones first (the create needs
    them), then the `optional` ones."""
    return {
        **{name: Reference(kind, True) for name, kind in (required or {}).items()},
        **{name: Reference(kind, False) for name, kind in (optional or {}).items()},
    }


def field_name(field: str) -> str:
    """A reference's field without its indices: items[2].skuId → items.skuId."""
    return _INDEX.sub("", field)


def check_policies(
    references: dict[str, dict[str, Policy]], known: dict[str, dict[str, Reference]], master_kinds: tuple[str, ...]
) -> list[str]:
    """Problems with the config's `references` section, each naming its JSON path."""
    problems = []
    for entity, fields in references.items():
        if entity not in known:
            problems.append(f"$.references.{entity}: unknown entity (known: {', '.join(sorted(known))})")
            continue
        for name, policy in fields.items():
            where = f"$.references.{entity}.{name}"
            reference = known[entity].get(name)
            if reference is None:
                problems.append(f"{where}: not a reference of {entity} (known: {', '.join(sorted(known[entity]))})")
            elif policy == DROP and reference.required:
                problems.append(
                    f"{where}: the Integration API requires it, so it cannot be dropped: block, or name a default"
                )
            elif isinstance(policy, DefaultPolicy) and reference.kind not in master_kinds:
                problems.append(f"{where}: a default must be master data; {reference.kind} are copied, not matched")
    return problems


def _nested(flat: dict[str, str]) -> dict:
    """{"address.city": "Austin"} → {"address": {"city": "Austin"}}: a key's parts as a record holds them."""
    out: dict = {}
    for dotted, value in flat.items():
        *path, last = dotted.split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return out


class Policies:
    """The policy of every reference, and the Integration ids of the defaults (each read once, when first used)."""

    def __init__(self, config, known: dict[str, dict[str, Reference]], intc=None):
        self._config = config
        self._known = known
        self._intc = intc
        self._defaults: dict[tuple[str, tuple[str, ...]], int | str] = {}
        self._lock = threading.Lock()

    def policy(self, entity: str, field: str) -> Policy:
        name = field_name(field)
        configured = self._config.references.get(entity, {}).get(name)
        if configured is not None:
            return configured
        reference = self._known.get(entity, {}).get(name)
        return reference.default_policy if reference is not None else BLOCK

    def default_id(self, kind: str, policy: DefaultPolicy) -> int | str:
        """The Integration id of the default, or why there is none (a reason to block with)."""
        key = (kind, tuple(policy.parts()))
        with self._lock:
            if key not in self._defaults:
                self._defaults[key] = self._find(kind, policy)
            return self._defaults[key]

    def _find(self, kind: str, policy: DefaultPolicy) -> int | str:
        cfg = self._config.master(kind)
        if len(policy.parts()) != len(cfg.natural_key):
            return f"its default {policy.parts()} has {len(policy.parts())} parts; the key is {cfg.natural_key}"
        wanted = natural_key(_nested(dict(zip(cfg.natural_key, policy.parts()))), cfg.natural_key)
        if self._intc is None:
            return "defaults are not looked up here"
        try:
            found = [
                int(r["id"])
                for page in self._intc.iter_pages(cfg.path, dict(cfg.list_params))
                for r in page.records
                if natural_key(r, cfg.natural_key) == wanted
            ]
        except st.ServiceTitanError as exc:
            return f"reading its default from Integration: {exc}"
        if len(found) != 1:
            what = "no" if not found else f"{len(found)}"
            return f"its default '{' | '.join(policy.parts())}': {what} Integration {kind} with that key"
        return found[0]
