"""The filters a selection may use for a kind: the list filter the API offers under its own name (`param`), the
Production record's field STSync checks itself (`field`), and for a reference, the master-data kind whose *name*
a user may give instead of the id (`businessUnit: "HVAC"` for `businessUnitId`).

Each entity handler declares its filters (entities/*.py), held to ServiceTitan's OpenAPI documents by
stsync_dagster_tests/test_selection.py. A filter is sent to the API when it takes one value and the API has it,
and checked by STSync on every record it reads whenever the record holds the field: the API's answer is not
trusted to have applied it (ASP.NET ignores a parameter it does not know), and records read by id (`copy`)
went through no list filter at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Literal

from stsync_dagster.sync.timefmt import instant

Type = Literal["id", "enum", "bool", "after", "before", "text"]


@dataclass(frozen=True)
class ListFilter:
    name: str  # as the API spells the parameter (businessUnitId, jobStatus, completedOnOrAfter)
    type: Type
    field: str | None = None  # the record's field STSync compares; None: only the API can apply it
    master: str | None = None  # a reference: the master-data kind a name may stand for
    alias: str | None = None  # the name-based key (businessUnit, jobType, vendor)
    values: tuple[str, ...] = ()  # an enum's values
    param: bool = True  # False: the list endpoint has no such parameter, STSync alone applies it
    searched: tuple[str, ...] = ()  # a text search: the fields it looks in

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.name, self.alias) if self.alias else (self.name,)


def reference(name: str, master: str, alias: str, field: str | None = "", param: bool = True) -> ListFilter:
    return ListFilter(name, "id", name if field == "" else field, master, alias, param=param)


def _text(value) -> str:
    return "" if value is None else str(value)


def _when(value) -> datetime | None:
    return instant(value) if isinstance(value, str) and value else None


def matcher(spec: ListFilter, wanted: list[Any]) -> Callable[[dict], bool]:
    """A predicate over a Production record (as read) that holds when the record passes the filter."""
    field = spec.field
    if spec.type == "text":
        needle = _text(wanted[0]).casefold()
        return lambda r: any(needle in _text(r.get(f)).casefold() for f in spec.searched)
    if spec.type in ("after", "before"):
        bound = wanted[0]
        if spec.type == "after":
            return lambda r: (m := _when(r.get(field))) is not None and m >= bound
        return lambda r: (m := _when(r.get(field))) is not None and m < bound
    if spec.type == "enum":
        allowed = {_text(v).casefold() for v in wanted}
        return lambda r: _text(r.get(field)).casefold() in allowed
    allowed_values = set(wanted)
    return lambda r: r.get(field) in allowed_values
