"""Everything a running simulator knows: both tenants, tokens, rate limiter, fault dice, counters."""

from __future__ import annotations

from dataclasses import dataclass, field

from .auth import TokenIssuer
from .faults import FaultDice
from .ratelimit import RateLimiter
from .stats import Stats
from .writes_pricebook_bulk import BulkSettings
from .store import Tenant


@dataclass
class SimState:
    tenants: dict[str, Tenant]
    tokens: TokenIssuer
    limiter: RateLimiter
    dice: FaultDice
    stats: dict[str, Stats]
    export_batch_size: int = 500
    # Seconds of the newest changes an export holds back unless asked `includeRecentChanges=true` (0: none).
    export_recent_hold: float = 0.0
    corruptions: dict[tuple[str, int], str] = field(default_factory=dict)  # (kind, prod id) -> field
    bulk: BulkSettings = field(default_factory=BulkSettings)  # the bulk pricebook endpoints' knobs
    live_edited: dict[str, set[int]] = field(default_factory=dict)  # "env/kind" → ids the live_edits knob edited
