"""What goes from stage to stage: a kind's context, a batch planned, each record's plan, and the typed answers
its writes get."""

from __future__ import annotations

from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Union

from stsync_dagster.sync.entities import EntityHandler
from stsync_dagster.sync.outcome import SyncReport


@dataclass(frozen=True)
class Created:
    int_id: int


@dataclass(frozen=True)
class _Said:
    field: str  # where: the request field, or (request), (claim)…
    reason: str


class Refused(_Said):
    """The API refused the write (or it could not be sent): the record fails."""


class Postponed(_Said):
    """Not written now, for a reason that passes (a claim held elsewhere, a lost answer): a later run does it."""


@dataclass(frozen=True)
class Unanswered:
    """The answer was lost: the write may still commit; looked up once ServiceTitan is done with it."""

    sent_at: datetime


Answer = Union[Created, Refused, Postponed, Unanswered]


def nothing(*_) -> None:
    """What is left to do for a batch that wrote nothing."""


def tell(created: Future, int_id: int | None) -> None:
    """A record's first create answered (its Integration id, or None: not created by it); told once."""
    try:
        created.set_result(int_id)
    except InvalidStateError:
        pass


@dataclass
class Plan:
    prod_id: int
    body: dict
    record: object = None  # the Production record (for the status it should get once created)
    target_print: str | None = None
    # The Integration id its create answered, before the batch confirms it (None: not created by that send): a
    # record of the next batch that references it need not wait for the whole batch.
    created: Future = field(default_factory=Future)


@dataclass
class Context:
    """One kind being synced (or pulled in): its handler, its report and what its batches share."""

    handler: EntityHandler
    report: SyncReport
    on_page: Callable[[SyncReport], None] | None = None
    steps_sent: dict[int, list[str]] = field(default_factory=dict)  # status actions sent, by Production id
    not_replayable: set[int] = field(default_factory=set)  # records whose status Integration cannot take
    # Records of this kind copied ahead of the page they are on, because another record needs them first.
    pulled_ahead: set[int] = field(default_factory=set)
    # Production id → its plan and its batch, while the batch is in flight (created, then mapped) and another
    # batch is planned.
    in_flight: dict[int, tuple[Plan, "Batch"]] = field(default_factory=dict)
    # Records of the batches in flight created in Integration, not yet confirmed in the crosswalk: id → id.
    fresh: dict[int, int] = field(default_factory=dict)
    batch: set[int] = field(default_factory=set)  # the Production ids being processed
    dropped: dict[int, list] = field(default_factory=dict)  # references a record is sent without (or defaulted)
    left_out: set[int] = field(default_factory=set)  # ids asked for (`copy`) that the selection leaves out

    @property
    def kind(self) -> str:
        return self.handler.kind


# What is left to do for records pulled in while a batch is planned (their status moves, their follow-up): the
# batch's finish stage runs it, so the planning waits only for their mappings. None: nothing is being planned.
Rest = Union[list[Callable[[], None]], None]


@dataclass
class Batch:
    """One batch, planned: what to create, and the copied records to follow. Its writes come later (pipelined)."""

    ctx: Context
    plans: list[Plan] = field(default_factory=list)
    wanted: list[tuple] = field(default_factory=list)  # (record, crosswalk entry, body) of records copied before
    taken_over: set[int] = field(default_factory=set)  # stale claims of this batch that this run now holds
    land: Callable[[], Callable[[int], None]] = lambda: nothing  # creates sent: wait, confirm; then moves, notes
    size: int = 0  # the window's records it holds (progress)
    mapped: Future = field(default_factory=Future)  # done once its creates are confirmed (before its status moves)
    pulled_rest: list[Callable[[], None]] = field(default_factory=list)


@dataclass
class Lost:
    """A create whose answer never came: its claim stays ours until ServiceTitan is certainly done with it."""

    ctx: Context
    plan: Plan
    sent_at: datetime
    settle_at: float  # time.monotonic() after which the server cannot still be working on it


def nothing_left() -> Callable[[int], None]:
    """`land` of a batch that sent nothing."""
    return nothing
