"""References from a Production record to other records, and their translation into Integration ids."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from stsync_dagster.config import MASTER_KINDS
from stsync_dagster.sync.outcome import Blocked
from stsync_dagster.sync.policy import BLOCK, DEFAULT, DROP, DefaultPolicy, Policies


@dataclass(frozen=True)
class Ref:
    field: str  # where the reference sits in the Production record, e.g. "items[2].skuId"
    kind: str  # crosswalk kind of the referenced record, e.g. "vendors"
    prod_id: int


@dataclass(frozen=True)
class Dropped:
    """A reference a record was copied without (`how`: drop) or with a stand-in (`default <key>`)."""

    ref: Ref
    how: str
    reason: str


class RefMap:
    """Production → Integration ids for the references of one page, loaded with one query per kind."""

    # A dry run plans records without creating them; references to them resolve to this placeholder.
    PLANNED = 0

    def __init__(
        self,
        ids: dict[str, dict[int, int]],
        reasons: dict[str, dict[int, str]] | None = None,
        planned: dict[str, set[int]] | None = None,
        *,
        entity: str = "",
        policies: Policies | None = None,
        unmatched: frozenset[str] = frozenset(),
    ):
        self._ids = ids
        self._reasons = reasons or {}
        self._planned = planned or {}
        self._entity = entity
        self._policies = policies
        self._unmatched = unmatched  # master-data kinds never matched into the crosswalk
        # References the record being built goes without (drop) or with a stand-in (default): see take_dropped.
        self._dropped: list[Dropped] = []

    @classmethod
    def load(
        cls,
        crosswalk,
        refs: Iterable[Ref],
        planned: dict[str, set[int]] | None = None,
        overlay: dict[str, dict[int, int]] | None = None,
        *,
        entity: str = "",
        policies: Policies | None = None,
    ) -> "RefMap":
        """`overlay`: pairs known to the run but not written (a dry run's master-data matches); `policies`: what
        a reference of `entity` without counterpart does (block, drop, a default)."""
        wanted: dict[str, set[int]] = defaultdict(set)
        for ref in refs:
            wanted[ref.kind].add(ref.prod_id)
        ids = {kind: crosswalk.int_ids(kind, sorted(prod_ids)) for kind, prod_ids in wanted.items()}
        for kind, pairs in (overlay or {}).items():
            if kind in ids:
                ids[kind] = {**{p: pairs[p] for p in wanted[kind] if p in pairs}, **ids[kind]}
        reasons: dict[str, dict[int, str]] = {}
        for kind, prod_ids in wanted.items():
            missing = prod_ids - ids[kind].keys()
            if missing:
                reasons[kind] = {issue.prod_id: issue.reason for issue in crosswalk.issues(kind=kind, prod_ids=missing)}
        unmatched = frozenset(
            kind for kind, prod_ids in wanted.items()
            if kind in MASTER_KINDS and prod_ids - ids[kind].keys() and not (overlay or {}).get(kind)
            and not crosswalk.counts(kind)
        )
        return cls(ids, reasons, planned, entity=entity, policies=policies, unmatched=unmatched)

    def take_dropped(self) -> list[Dropped]:
        """The references dropped or defaulted since the last call (one record's build)."""
        dropped, self._dropped = self._dropped, []
        return dropped

    def find(self, kind: str, prod_id: int) -> int | None:
        """The Integration id, or None when the reference is not mapped (no exception, no placeholder)."""
        return self._ids.get(kind, {}).get(prod_id)

    def optional(self, kind: str, prod_id: int | None) -> int | None:
        """An optional reference: the Integration id (the placeholder for a record a dry run plans), or None
        when it has no counterpart: the field is left out, not the record."""
        if prod_id is None:
            return None
        if prod_id in self._planned.get(kind, ()) and self.find(kind, prod_id) is None:
            return self.PLANNED
        return self.find(kind, prod_id)

    def get(self, ref: Ref) -> int | None:
        """The Integration id; without a counterpart, what the reference's policy says: Blocked raised (block),
        None (drop) or the default's id, the last two noted for take_dropped."""
        int_id = self._ids.get(ref.kind, {}).get(ref.prod_id)
        if int_id is None and ref.prod_id in self._planned.get(ref.kind, ()):
            return self.PLANNED
        if int_id is not None:
            return int_id
        singular = ref.kind.rstrip("s").replace("_", " ")
        if ref.kind in self._unmatched:
            reason = (f"{singular} {ref.prod_id}: no {ref.kind} matched into the crosswalk yet: materialize "
                      f"master_data first")
        else:
            why = self._reasons.get(ref.kind, {}).get(ref.prod_id)
            reason = f"{singular} {ref.prod_id} has no Integration counterpart"
            reason = f"{reason} ({why})" if why else reason
        policy = self._policies.policy(self._entity, ref.field) if self._policies else BLOCK
        if policy == DROP:
            self._dropped.append(Dropped(ref, DROP, reason))
            return None
        if isinstance(policy, DefaultPolicy):
            found = self._policies.default_id(ref.kind, policy)
            if isinstance(found, str):
                raise Blocked(ref.field, f"{reason}, and {found}")
            self._dropped.append(Dropped(ref, f"{DEFAULT} {' | '.join(policy.parts())}", reason))
            return found
        raise Blocked(ref.field, reason)
