"""References from a Production record to other records, and their translation into Integration ids."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable

from stsync_dagster.sync.configfile import MASTER_KINDS
from stsync_dagster.sync.masterdata import UNAVAILABLE, WHOLE_KIND, never_matched
from stsync_dagster.sync.outcome import Blocked, Deferred
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


@dataclass(frozen=True)
class Claims:
    """What a run knows of the claims in the crosswalk: a reference whose target is claimed (pending) waits for
    that create instead of being blocked."""

    run_id: str  # this run
    is_live: Callable[[str | None], bool | None]  # whether another run's claims may still be in flight
    server_timeout: timedelta  # how long after a create was sent ServiceTitan may still commit it

    def waiting(self, kind: str, entry, now: datetime) -> str | None:
        """Why a reference to this pending record waits (it is being created), or None: a claim left by a run
        that is gone, which the next sync of its kind resolves (until then the reference has no counterpart)."""
        what = f"{_singular(kind)} {entry.prod_id}"
        if entry.run_id == self.run_id:
            return f"{what} is being created by this run (its answer is awaited); copied by a later run"
        if self.is_live(entry.run_id):
            return f"{what} is being created by run {entry.run_id}; copied by a later run"
        if entry.claimed_at is not None and now - entry.claimed_at < self.server_timeout:
            return (
                f"{what} was claimed by run {entry.run_id} at {entry.claimed_at:%H:%M:%S} UTC; its create may still "
                "be committing; copied by a later run"
            )
        return None


NEVER_MATCHED = "matched into the crosswalk yet"  # a reason's words for a kind never matched (checks.py reads them)


def _singular(kind: str) -> str:
    one = kind[:-3] + "y" if kind.endswith("ies") else kind.rstrip("s")
    return one.replace("_", " ")


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
        unavailable: dict[str, str] | None = None,
    ):
        self._ids = ids
        self._reasons = reasons or {}
        self._planned = planned or {}
        self._entity = entity
        self._policies = policies
        self._unmatched = unmatched  # master-data kinds never matched into the crosswalk
        self._unavailable = unavailable or {}  # kinds whose endpoint is refused: kind → the refusal
        self._waiting: dict[str, dict[int, str]] = {}  # targets being created: why the record waits (see Claims)
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
        claims: Claims | None = None,
        unavailable: dict[str, str] | None = None,
    ) -> "RefMap":
        """`overlay`: pairs known to the run but not written (a dry run's master-data matches); `policies`: what
        a reference of `entity` without counterpart does (block, drop, a default); `claims`: tells a target being
        created (the record is deferred) from one without counterpart; `unavailable`: kinds whose endpoint is
        refused, by the refusal."""
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
        short = [  # master-data kinds with references that have no counterpart
            kind
            for kind, prod_ids in wanted.items()
            if kind in MASTER_KINDS and prod_ids - ids[kind].keys() and not (overlay or {}).get(kind)
        ]
        refused = {  # a master-data kind the last match could not read: its endpoint's refusal
            issue.kind: issue.reason.removeprefix(UNAVAILABLE)
            for kind in short
            for issue in crosswalk.issues(kind=kind, prod_ids=[WHOLE_KIND])
            if issue.reason.startswith(UNAVAILABLE)
        }
        unmatched = frozenset(kind for kind in short if kind not in refused and never_matched(crosswalk, kind))
        unavailable = {**refused, **(unavailable or {})}
        refmap = cls(
            ids, reasons, planned, entity=entity, policies=policies, unmatched=unmatched, unavailable=unavailable
        )
        if claims is not None:
            refmap._waiting = _being_created(
                crosswalk, claims, {k: p - ids[k].keys() for k, p in wanted.items()}, refmap._reasons
            )
        return refmap

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
        waiting = self._waiting.get(ref.kind, {}).get(ref.prod_id)
        if waiting is not None:  # whatever its policy: the counterpart exists soon
            raise Deferred(ref.field, waiting)
        singular = _singular(ref.kind)
        if ref.kind in self._unavailable:
            reason = f"{singular} {ref.prod_id}: {ref.kind} unavailable ({self._unavailable[ref.kind]})"
        elif ref.kind in self._unmatched:
            reason = (
                f"{singular} {ref.prod_id}: no {ref.kind} {NEVER_MATCHED}: materialize master_data first, "
                f"or, if that step said {ref.kind} unavailable, grant the app its scope: stsync verify names it"
            )
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
                raise Blocked(ref.field, f"{reason}, and {found}", (ref.kind, ref.prod_id))
            self._dropped.append(Dropped(ref, f"{DEFAULT} {' | '.join(policy.parts())}", reason))
            return found
        raise Blocked(ref.field, reason, (ref.kind, ref.prod_id))


def _being_created(
    crosswalk, claims: Claims, missing: dict[str, set[int]], reasons: dict[str, dict[int, str]]
) -> dict[str, dict[int, str]]:
    """Of the targets without counterpart, those claimed (pending) in the crosswalk: why a record waits for each.
    A claim left by a run that is gone adds its story to the reason the record is blocked with."""
    pending = {
        kind: [e for e in crosswalk.lookup(kind, sorted(ids)).values() if e.state == "pending"]
        for kind, ids in missing.items()
        if ids and kind not in MASTER_KINDS
    }
    if not any(pending.values()):
        return {}
    now = crosswalk.now()
    waiting: dict[str, dict[int, str]] = {}
    for kind, entries in pending.items():
        for entry in entries:
            why = claims.waiting(kind, entry, now)
            if why is not None:
                waiting.setdefault(kind, {})[entry.prod_id] = why
            else:
                reasons.setdefault(kind, {}).setdefault(
                    entry.prod_id,
                    f"left claimed by run {entry.run_id}, which is gone: the next {kind} sync looks it up",
                )
    return waiting
