"""A selection made ready for a run: each filter checked against the kind's filters, names of business units, job
types, vendors… found in Production's master data, and split into what the API is asked for (one value of a
parameter it has) and what STSync checks on every record it reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from stsync_dagster.sync.adoption import fold
from stsync_dagster.sync.select.filters import ListFilter, matcher
from stsync_dagster.sync.select.spec import Sample, Selection
from stsync_dagster.sync.timefmt import instant, rfc3339


class SelectionError(ValueError):
    """A selection that cannot be run: names the key (its JSON path) and what it may be."""


@dataclass
class Resolved:
    api_params: dict[str, str] = field(default_factory=dict)
    checks: list[tuple[str, Callable[[dict], bool]]] = field(default_factory=list)  # (filter key, predicate)
    only_api: list[str] = field(default_factory=list)  # filters STSync cannot check (the record lacks the field)
    sample: Sample | None = None
    per: list[ListFilter] = field(default_factory=list)  # the sample's combination fields
    shown: list[str] = field(default_factory=list)  # each filter as said to the user

    def passes(self, raw: dict) -> bool:
        return all(check(raw) for _, check in self.checks)


def at(path: str, *parts: str) -> str:
    """Where a key is, as its origin spells it: a JSON path ($.entities.jobs.select.where.jobType), else the
    origin then the key (run config: jobs: where.jobType)."""
    joined = ".".join(parts)
    return f"{path}.{joined}" if path.startswith("$") else f"{path}: {joined}"


def _filters(handler) -> dict[str, ListFilter]:
    return {key: spec for spec in handler.filters for key in spec.keys}


def _values(value) -> list:
    return list(value) if isinstance(value, list) else [value]


def _typed(spec: ListFilter, key: str, value, path: str) -> Any:
    """One value of the filter as STSync compares it."""
    where = at(path, "where", key)
    if spec.type == "id" and key == spec.name:
        if isinstance(value, bool) or not str(value).strip().lstrip("-").isdigit():
            raise SelectionError(f"{where}: {value!r} is not an id (give the name under '{spec.alias}')"
                                 if spec.alias else f"{where}: {value!r} is not an id")  # fmt: skip
        return int(str(value).strip())
    if spec.type == "enum":
        found = next((v for v in spec.values if v.casefold() == str(value).strip().casefold()), None)
        if found is None:
            raise SelectionError(f"{where}: {value!r} is not one of {', '.join(spec.values)}")
        return found
    if spec.type == "bool":
        text = str(value).strip().casefold()
        if text not in ("true", "false"):
            raise SelectionError(f"{where}: {value!r} is not true or false")
        return text == "true"
    if spec.type in ("after", "before"):
        moment = instant(str(value)) if len(str(value)) >= 10 else None
        if moment is None:
            raise SelectionError(f"{where}: {value!r} is not a date (YYYY-MM-DD) or a date-time")
        return moment
    return str(value)


def check(selection: Selection, handler, path: str) -> None:
    """What can be checked without Production: the keys, the values' types, the sample's fields."""
    known = _filters(handler)
    for key, value in selection.where.items():
        spec = known.get(key)
        if spec is None:
            raise SelectionError(
                f"{at(path, 'where', key)}: {handler.kind} have no filter {key!r}; their filters: {', '.join(sorted(known))}"
            )
        values = _values(value)
        if not values:
            raise SelectionError(f"{at(path, 'where', key)}: give at least one value")
        if key != spec.alias or spec.type != "id":
            for one in values:
                _typed(spec, key, one, path)
        if spec.field is None and len(values) > 1:
            raise SelectionError(f"{at(path, 'where', key)}: takes one value (the API filters by it, and a {handler.kind} "
                                 "record does not show it for STSync to check another)")  # fmt: skip
        if spec.type in ("after", "before", "text") and len(values) > 1:
            raise SelectionError(f"{at(path, 'where', key)}: takes one value")
        if spec.type == "text" and not 2 <= len(str(values[0])) <= 200:  # the API's bounds (materials' searchText)
            raise SelectionError(f"{at(path, 'where', key)}: give 2 to 200 characters")
    sample = selection.sample
    for name in sample.per if sample else ():
        spec = known.get(name)
        if spec is None or spec.field is None or spec.type not in ("id", "enum", "bool"):
            fields = sorted(k for k, s in known.items() if s.field and s.type in ("id", "enum", "bool"))
            raise SelectionError(f"{at(path, 'sample', 'per')}: {handler.kind} cannot be sampled per {name!r}; per one of "
                                 f"{', '.join(fields)}")  # fmt: skip


def _ids_named(prod, master_cfg, kind: str, names: list[str], where: str) -> list[int]:
    """Production ids of the master-data records with these names (a name several records share: all of them),
    compared as natural keys are (case, accents and spacing aside). Each name is asked for with the list's `name`
    filter (the API's own matching is not documented); a name that finds nothing that way is looked for in the
    whole list."""
    wanted = {fold(str(n)): str(n) for n in names}
    found: dict[str, set[int]] = {}
    others: list[str] = []

    def take(params: dict) -> None:
        for page in prod.iter_pages(master_cfg.path, params):
            for record in page.records:
                key = fold(str(record.get("name") or ""))
                if key in wanted:
                    found.setdefault(key, set()).add(int(record["id"]))
                elif len(others) < 8:
                    others.append(str(record.get("name")))

    for name in wanted.values():
        take({**master_cfg.list_params, "name": " ".join(name.split())})
    if len(found) < len(wanted):
        others.clear()
        take(dict(master_cfg.list_params))
    missing = [wanted[k] for k in wanted if k not in found]
    if missing:
        personal = kind in ("customers", "locations")  # people's names and addresses stay out of errors and logs
        hint = f" (Production has, among others: {', '.join(others)})" if others and not personal else ""
        raise SelectionError(f"{where}: no {kind.replace('_', ' ').removesuffix('s')} in Production is named "
                             f"{', '.join(repr(m) for m in missing)}{hint}")  # fmt: skip
    return sorted({i for ids in found.values() for i in ids})


def resolve(selection: Selection, handler, prod, config, path: str) -> Resolved:
    check(selection, handler, path)
    known = _filters(handler)
    resolved = Resolved(sample=selection.sample)
    for key, value in selection.where.items():
        spec, values = known[key], _values(value)
        if spec.type == "id" and key == spec.alias:
            typed = _ids_named(prod, config.master(spec.master), spec.master, values, f"{at(path, 'where', key)}")
            if spec.field is None and len(typed) > 1:  # the API takes one, and STSync cannot check the others
                raise SelectionError(f"{at(path, 'where', key)}: {values} names {len(typed)} records {typed}: give "
                                     f"one of them as {spec.name}")  # fmt: skip
        else:
            typed = [_typed(spec, key, one, path) for one in values]
        resolved.shown.append(f"{key}={'|'.join(str(v) for v in values)}")
        if spec.param and len(typed) == 1:
            one = typed[0]
            # A bool as True/False: ASP.NET binds it so, and the ActiveRequestArg enum (True, False, Any) too.
            resolved.api_params[spec.name] = rfc3339(one) if spec.type in ("after", "before") else str(one)
        if spec.field is not None or spec.type == "text":
            resolved.checks.append((key, matcher(spec, typed)))
        else:
            resolved.only_api.append(key)
    if selection.sample:
        resolved.per = [known[name] for name in selection.sample.per]
    return resolved
