"""What `stsync diff` shows: the counts per kind (states, orphans, and why the differing copies differ), then per
kind its records not in sync, a row per differing field."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from stsync_dagster.sync.diff import CAUSES, STATES, DiffReport, rows
from stsync_dagster.sync.diff.report import COLUMNS, ORPHANED, blocked_groups

SHOWN_ROWS = 50  # per kind; `--json` lists every record


def counts_table(reports: list[DiffReport]) -> Table:
    window = reports[0].window if reports else ""
    table = Table(title=f"Integration compared with Production, modified in {window}", title_justify="left")
    table.add_column("records")
    for report in reports:
        table.add_column(report.kind, justify="right")
    counts = [report.counts() for report in reports]
    causes = [report.causes() for report in reports]
    for state in (*STATES, ORPHANED):
        table.add_row(state, *(str(c[state]) for c in counts))
    for cause in CAUSES:
        table.add_row(Text(f"  differs: {cause}", style="dim"), *(str(c[cause]) for c in causes))
    table.add_row("requests", *(str(r.requests) for r in reports))
    table.add_row("seconds", *(f"{r.seconds:g}" for r in reports))
    return table


def records_table(report: DiffReport) -> Table | None:
    found = rows(report)
    if not found:
        return None
    more = len(found) - SHOWN_ROWS
    shown = f" (the first {SHOWN_ROWS} rows of {len(found)}; --json lists all)" if more > 0 else ""
    table = Table(title=f"{report.kind}: differences{shown}", title_justify="left")
    for name in COLUMNS:
        table.add_column(name, overflow="fold", justify="right" if name.endswith("_id") else "left")
    for row in found[:SHOWN_ROWS]:
        table.add_row(*(Text(row[name]) for name in COLUMNS))  # Text: brackets in values are not markup
    return table


def blocked_table(report: DiffReport) -> Table | None:
    groups = blocked_groups(report)
    if not groups:
        return None
    table = Table(title=f"{report.kind}: blocked, by reason (the crosswalk's issues)", title_justify="left")
    for name, justify in (("records", "right"), ("reason", "left"), ("for example", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for g in groups:
        more = ", …" if g["count"] > len(g["examples"]) else ""
        table.add_row(str(g["count"]), Text(g["why"]), ", ".join(map(str, g["examples"])) + more)
    return table
