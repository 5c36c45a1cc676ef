"""The report of `sync`, `copy` and `demo`: the counts table and what was not copied (or JSON with --json), the
step errors, and the exit code."""

from __future__ import annotations

import json
import sys

from stsync_dagster import terminal
from stsync_dagster.commands.exit_codes import EXIT_FAILED_RECORDS


def _values(metadata: dict) -> dict:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


def materialized(result, entities: list[str]) -> dict[str, dict | None]:
    """Each asset's metadata, or its plan's for a dry run (None: it reported nothing)."""
    from stsync_dagster.defs.materialize import reported_metadata

    return {entity: reported_metadata(result, entity) for entity in entities}


def step_errors(result) -> list[str]:
    failure = "dagster._core.definitions.events.Failure: "  # the class of dg.Failure says nothing to a user
    return [
        f"step {e.step_key} failed: {e.step_failure_data.error.message.strip().removeprefix(failure)}"
        for e in result.all_events
        if e.is_step_failure
    ]


def show_report(reports: dict[str, dict | None], out, *, verbose: bool = False, details: bool = True) -> None:
    """The counts table, then what was not copied, grouped by reason."""
    values = {entity: None if meta is None else _values(meta) for entity, meta in reports.items()}
    if any(meta is not None and meta.get("dry_run") for meta in values.values()):
        out.print(terminal.DRY_RUN_LINE, markup=False)
    out.print(terminal.counts_table(values))
    for entity, meta in values.items():
        if meta is None:
            out.print(f"{entity}: not materialized (see the errors below)", markup=False)
            continue
        if meta.get("unavailable"):
            out.print(f"{entity}: unavailable: {meta['unavailable']}", markup=False)
        if meta.get("selection"):
            out.print(f"{entity}: {meta['selection']}", markup=False)
            combinations = reports[entity].get("selection_combinations")
            if combinations is not None:
                table = terminal.metadata_table(combinations)
                table.title, table.title_justify = f"{entity}: kept by the sample, per combination", "left"
                out.print(table)
        if not details:
            continue
        if verbose and getattr(reports[entity].get("issues"), "records", None):
            out.print(f"\nNot copied by {entity}:", markup=False)
            out.print(terminal.metadata_table(meta["issues"]), soft_wrap=True)
        elif meta.get("issue_groups"):
            out.print(terminal.issues_table(entity, meta["issue_groups"]))
        if meta.get("dropped_groups"):
            # A plan carries no numbers the UI would plot: its total is its groups' sum.
            total = int(meta.get("dropped_references", sum(g["count"] for g in meta["dropped_groups"])))
            out.print(terminal.dropped_table(entity, meta["dropped_groups"], total, bool(meta.get("dry_run"))))


def finish(command: str, reports: dict[str, dict | None], errors: list[str], args, *, details: bool = True) -> int:
    """Print the report (a table, or JSON with --json) and the step errors; return the exit code (1 when records
    failed, records are left deferred that no other run is working on, or an asset was not materialized)."""
    failed = sum(1 if meta is None else int(_values(meta).get("failed", 0)) for meta in reports.values())
    unfinished = sum(0 if meta is None else int(_values(meta).get("unfinished", 0)) for meta in reports.values())
    code = EXIT_FAILED_RECORDS if failed or errors or unfinished else 0
    if getattr(args, "json", False):
        body = {"command": command, "success": code == 0, "exit_code": code, "errors": errors,
                "assets": {k: None if m is None else terminal.as_json(m) for k, m in reports.items()}}  # fmt: skip
        print(json.dumps(body, indent=2, default=str))
        return code
    show_report(reports, terminal.console(sys.stdout), verbose=getattr(args, "verbose", False), details=details)
    for error in errors:
        print(f"\n{error}", file=sys.stderr)
    return code
