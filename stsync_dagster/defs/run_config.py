"""Run config of the sync assets and of the plan job, and the rules it must follow.

Dagster checks the run config against its schema when a run is launched: a wrong type or an unknown key is
refused by the Launchpad and by `launchRun`, before any run exists. The rules beyond types (a date that is a
date, a limit that is not negative) are not part of that schema: Dagster runs pydantic's validators only when a
step builds its config. So every step checks the whole run's config first, before any request, and fails with
one line naming every bad key and its rule (`dg.Failure`, not a pydantic traceback).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field, model_validator

from stsync_dagster.sync.entities import HANDLERS
from stsync_dagster.sync.select import Selection, check, chosen
from stsync_dagster.sync.window import AfterToday, parse_since

SINCE_RULE = "an ISO date YYYY-MM-DD, or empty"
LIMIT_RULE = "a whole number, 0 or more (0 = no limit)"


def _since_problem(value) -> str | None:
    if value in ("", None):
        return None
    try:
        parse_since(str(value))
    except AfterToday as exc:
        return str(exc)
    except (TypeError, ValueError):
        return f"since must be {SINCE_RULE} (got {str(value)[:40]!r})"
    return None


def _limit_problem(value) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return None
    return f"limit must be {LIMIT_RULE} (got {value!r})"


def _count_problem(value) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return None
    return f"sample_count must be a whole number, 0 or more (0 = no sample by count; got {value!r})"


def _share_problem(value) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
        return None
    return f"sample_share must be a fraction between 0 and 1 (0 = no sample by share; got {value!r})"


RULES = {
    "since": _since_problem,
    "limit": _limit_problem,
    "sample_count": _count_problem,
    "sample_share": _share_problem,
}


def config_problems(values: Mapping) -> list[str]:
    """What is wrong with one step's config values (keys absent take their defaults, which are valid)."""
    return [problem for key, rule in RULES.items() if key in values and (problem := rule(values[key]))]


def _selection_problem(step: str, values: Mapping) -> str | None:
    """A step's selection (where, sample_*) against the filters of its kind: the sync step of a kind, its plan
    step (`plan_<kind>`) or the copy step (its `kind`). Names are found in Production by the step itself."""
    kind = values.get("kind") if isinstance(values.get("kind"), str) else step.removeprefix("plan_")
    if kind not in HANDLERS:
        return None
    try:
        selection, path = chosen(kind, None, values.get("where"), values.get("sample_per"),
                                 values.get("sample_count") or 0, values.get("sample_share") or 0.0)  # fmt: skip
        if selection is not None:
            check(selection, HANDLERS[kind], path)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def run_config_problems(run_config: Mapping) -> list[str]:
    """Every problem of the run's config, step by step: `items: limit must be …` (only the sync steps take
    `since` and `limit`), and every selection against its kind's filters: a bad one fails the run before any
    step writes."""
    found = []
    for step, entry in sorted((run_config.get("ops") or {}).items()):
        values = (entry or {}).get("config") if isinstance(entry, Mapping) else None
        if isinstance(values, Mapping):
            problems = config_problems(values)
            found += [f"{step}: {problem}" for problem in problems]
            if not problems and (selection := _selection_problem(step, values)):
                found.append(selection)
    return found


def bad_run_config(problems: list[str]) -> dg.Failure:
    return dg.Failure(description="invalid run config: " + "; ".join(problems), allow_retries=False)


def fail_on_bad_run_config(context) -> None:
    """Raise before the step does anything when any step of this run has bad config."""
    problems = run_config_problems(context.run.run_config)
    if problems:
        raise bad_run_config(problems)


class SelectRunConfig(dg.Config):
    """A one-off selection (docs/selection.md): given here, it replaces the config file's `select` for the run."""

    where: dict[str, Any] = Field(
        default_factory=dict,
        description='Filters: {jobType: "Water Heater Install", jobStatus: Completed}; a list of values takes any '
        "of them. The kind's filters are in docs/selection.md.",
    )
    sample_per: list[str] = Field(
        default_factory=list, description="Sample per combination of these fields (jobTypeId, jobStatus)."
    )
    sample_count: int = Field(default=0, description="Records kept per combination (0: no sample by count).")
    sample_share: float = Field(default=0.0, description="Share of the records kept, 0 < share <= 1 (0: none).")

    def selection(self, kind: str, config) -> tuple[Selection | None, str]:
        try:
            return chosen(kind, config, self.where, self.sample_per, self.sample_count, self.sample_share)
        except ValueError as exc:
            raise bad_run_config([str(exc)]) from None


class SyncRunConfig(SelectRunConfig):
    """Of `items`, `jobs` and `pos` (real runs) and of the plan job's steps (dry runs)."""

    since: str = Field(
        default="",
        description=f"The window starts on this day (UTC) instead of the partition's day: {SINCE_RULE}; not after "
        "today.",
    )
    limit: int = Field(
        default=0, description=f"Most records created in the run, pulled-in ones included: {LIMIT_RULE}."
    )
    retry_all: bool = Field(
        default=False,
        description="Try again every record left behind by earlier runs, due or not (by default a record the "
        "API refused waits for its backoff, a blocked one for its reference).",
    )

    @model_validator(mode="before")
    @classmethod
    def _follow_the_rules(cls, values):
        # Raised as dg.Failure, not ValueError: pydantic would turn a ValueError into its own traceback.
        problems = config_problems(values) if isinstance(values, Mapping) else []
        if problems:
            raise bad_run_config(problems)
        return values
