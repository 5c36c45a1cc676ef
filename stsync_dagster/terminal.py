"""What the command line shows, with Rich: a progress bar per asset while it works, tables at the end, the
report as JSON (`--json`) and logs as JSON lines (`--log-format json`). No Dagster here: the command's
results arrive as plain dicts of metadata values."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from stsync_dagster.sync.outcome import SyncReport

COUNT_ROWS = (
    "created",
    "adopted",
    "updated",
    "status_changed",
    "unchanged",
    "conflict",
    "skipped",
    "blocked",
    "failed",
    "deferred",
    "not_replayable",
    "pulled_in",
    "writes_total",
    "requests",
    "rate_limited",
    "seconds",
)
PIPE_WIDTH = 120  # tables written to a file or a pipe: wide enough for a line per group of reasons


def console(stream) -> Console:
    """A console on `stream` (stdout or stderr as the command wrapped them): colours only on a terminal."""
    out = Console(file=stream, highlight=False, soft_wrap=False)
    if not out.is_terminal:
        out.width = PIPE_WIDTH
    return out


def _cell(value) -> Text:
    return Text("" if value is None else str(value))  # Text: square brackets in reasons are not markup


# ---- while it works ----------------------------------------------------------------------------------


class _Rate(ProgressColumn):
    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} records/s" if speed else "", style="progress.data.speed")


class ProgressBars:
    """A bar per asset: records of the window done of those in it, their rate and the time left. Watches the
    engine (`stsync_dagster.sync.progress`); draws only on a terminal."""

    def __init__(self, out: Console):
        self.progress = Progress(
            TextColumn("{task.description:<6}"), BarColumn(), MofNCompleteColumn(), TextColumn("records"), _Rate(),
            TimeRemainingColumn(), TextColumn("{task.fields[summary]}"), console=out, disable=not out.is_terminal,
        )  # fmt: skip
        self._tasks: dict[int, int] = {}

    def __enter__(self) -> "ProgressBars":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def __call__(self, report: SyncReport, finished: bool) -> None:
        counts = report.counts
        shown = ("created", "updated", "blocked", "failed")
        summary = "  ".join(f"{name} {counts[name]}" for name in shown if counts.get(name))
        task = self._tasks.get(id(report))
        if task is None:
            task = self._tasks[id(report)] = self.progress.add_task(report.kind, total=report.window_total, summary="")
        total = report.window_total if report.window_total is not None else (report.window_done if finished else None)
        self.progress.update(task, completed=report.window_done, total=total, summary=summary)


def log_handler(fmt: str, err: Console) -> logging.Handler:
    """Text: Rich's handler on the console the bars use (lines appear above them). JSON: one object a line."""
    if fmt == "json":
        return stderr_handler(JsonLines())
    if not err.is_terminal:  # a file or a pipe: whole lines, never wrapped, for whoever greps them
        return stderr_handler(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler = RichHandler(console=err, show_path=False, markup=False)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    return handler


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (the bars redirect it while they draw)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def stderr_handler(formatter: logging.Formatter) -> logging.Handler:
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    return handler


class JsonLines(logging.Formatter):
    """A log record as one JSON object: time (UTC), level, logger, message, and Dagster's run and step."""

    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": meta.get("orig_message") or record.getMessage(),
        }
        for key in ("run_id", "step_key", "dagster_event_type"):
            if meta.get(key):
                line[key] = str(getattr(meta[key], "value", meta[key]))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


# ---- at the end --------------------------------------------------------------------------------------


DRY_RUN_TITLE = "STSync dry run"
DRY_RUN_LINE = "A dry run: nothing was written; the counts say what a real run would do."


def counts_table(reports: dict[str, dict | None]) -> Table:
    """A row per count, a column per asset (an asset that was not materialized: a dash); a dry run says so."""
    dry = any(meta is not None and meta.get("dry_run") for meta in reports.values())
    table = Table(title=DRY_RUN_TITLE if dry else "STSync", title_justify="left")
    table.add_column("would be" if dry else "count")  # a plan's rows read "would be created 155"
    for entity in reports:
        table.add_column(entity, justify="right")
    for name in COUNT_ROWS:
        table.add_row(_cell(name), *(_cell("-" if meta is None else meta.get(name, 0)) for meta in reports.values()))
    return table


def issues_table(entity: str, groups: list[dict]) -> Table:
    table = Table(title=f"Not copied by {entity} (grouped; --verbose lists every record)", title_justify="left")
    for name, justify, widest in (
        ("records", "right", None),
        ("kind", "left", None),
        ("outcome", "left", None),
        ("fields", "left", 24),
        ("reason", "left", None),
        ("for example", "left", 20),
    ):
        table.add_column(name, justify=justify, overflow="fold", max_width=widest)  # the reason gets the room
    for g in groups:
        more = ", …" if g["count"] > len(g["examples"]) else ""
        table.add_row(*map(_cell, (g["count"], g["kind"], g["outcome"], ", ".join(g["fields"]), g["reason"],
                                   ", ".join(str(i) for i in g["examples"]) + more)))  # fmt: skip
    return table


def dropped_table(entity: str, groups: list[dict], total: int, dry_run: bool = False) -> Table:
    copied = "Would be copied" if dry_run else "Copied"
    table = Table(
        title=f"{copied} by {entity} without a reference ({total}; the config's `references` policy)",
        title_justify="left",
    )
    for name, justify in (("references", "right"), ("field", "left"), ("policy", "left"), ("reason", "left"),
                          ("for example", "left")):  # fmt: skip
        table.add_column(name, justify=justify, overflow="fold")
    for g in groups:
        more = ", …" if g["count"] > len(g["examples"]) else ""
        table.add_row(*map(_cell, (g["count"], g["field"], g["policy"], g["reason"],
                                   ", ".join(str(i) for i in g["examples"]) + more)))  # fmt: skip
    return table


def history_table(kind: str, prod_id: int, writes: list) -> Table:
    table = Table(title=f"{kind} {prod_id}: what STSync wrote, oldest first", title_justify="left")
    for name in ("when (UTC)", "run", "action", "Integration id", "fields", "detail"):
        table.add_column(name, overflow="fold")
    for w in writes:
        via = f"by the {w.asset} step" if w.asset and w.asset != kind else ""  # pulled in, e.g. a PO's material
        detail = "; ".join(part for part in (w.detail, via) if part)
        table.add_row(
            *map(_cell, (f"{w.at:%Y-%m-%d %H:%M:%S}", w.run_id, w.action, w.int_id, ", ".join(w.fields), detail))
        )
    return table


def as_json(value):
    """Metadata values as JSON: tables become lists of rows, markdown (made for the UI) is left out."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items() if type(v).__name__ != "MarkdownMetadataValue"}
    records = getattr(value, "records", None)
    if records is not None and hasattr(value, "schema"):
        return [dict(r.data) for r in records]
    return getattr(value, "value", value)


def metadata_table(value):
    """A metadata value as the terminal shows it: a table's rows as a table, anything else as its text."""
    records = getattr(value, "records", None)
    if records is None or not hasattr(value, "schema"):
        return _cell(value)
    table = Table()
    names = [column.name for column in value.schema.columns]
    for name in names:
        table.add_column(name, overflow="fold")
    for record in records:
        table.add_row(*(_cell(record.data.get(name)) for name in names))
    return table
