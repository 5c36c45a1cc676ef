"""Materialization metadata: numeric counts the UI plots, and tables of what was not copied."""

from __future__ import annotations

import dagster as dg

from stsync_dagster.servicetitan.redact import Redactor

from stsync_dagster.sync.fieldmap import FIELD_MAPS
from stsync_dagster.sync.masterdata import MatchReport
from stsync_dagster.sync.outcome import Outcome, SyncReport

MAX_ROWS = 200


def _md_cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def issues_table(report: SyncReport) -> str:
    rows = report.issues[:MAX_ROWS]
    if not rows:
        return "Nothing blocked, failed or deferred."
    lines = ["| kind | Production id | outcome | field or reference | reason |", "|---|---|---|---|---|"]
    lines += [
        f"| {i.kind} | {i.prod_id} | {i.outcome.value} | {_md_cell(i.field)} | {_md_cell(i.reason)} |" for i in rows
    ]
    if len(report.issues) > MAX_ROWS:
        lines.append(f"\n…and {len(report.issues) - MAX_ROWS} more (see the run log).")
    return "\n".join(lines)


def dropped_table(report: SyncReport) -> str:
    """Copied records that went without a reference (or with a default), as the reference policy says."""
    rows = report.dropped[:MAX_ROWS]
    if not rows:
        return "No reference dropped or defaulted."
    lines = ["| kind | Production id | reference | policy | why |", "|---|---|---|---|---|"]
    lines += [f"| {d.kind} | {d.prod_id} | {_md_cell(d.field)} | {_md_cell(d.how)} | {_md_cell(d.reason)} |" for d in rows]
    if len(report.dropped) > MAX_ROWS:
        lines.append(f"\n…and {len(report.dropped) - MAX_ROWS} more (see the run log).")
    return "\n".join(lines)


def left_out_table(report: SyncReport) -> str:
    """The Production values left out of the records created, per field, with the reason (fieldmap.py)."""
    if not report.left_out:
        return "Every Production value of the records created was copied."
    rules = FIELD_MAPS[report.kind]
    lines = ["| field | values left out | why |", "|---|---|---|"]
    for name, n in sorted(report.left_out.items()):
        rule = rules.rule(name)
        lines.append(f"| {_md_cell(name)} | {n} | {_md_cell(rule.note if rule else '')} |")
    return "\n".join(lines)


def check_details(lines: list[str]) -> str:
    if not lines:
        return "No problem found."
    shown = [f"- {_md_cell(line)}" for line in lines[:MAX_ROWS]]
    if len(lines) > MAX_ROWS:
        shown.append(f"- …and {len(lines) - MAX_ROWS} more")
    return "\n".join(shown)


def masked(metadata: dict, redactor: Redactor) -> dict:
    """`metadata` with every secret masked in its text, markdown and JSON values."""
    out = {}
    for key, value in metadata.items():
        if isinstance(value, dg.MarkdownMetadataValue):
            value = dg.MetadataValue.md(redactor(value.md_str))
        elif isinstance(value, dg.TextMetadataValue):
            value = dg.MetadataValue.text(redactor(value.text))
        elif isinstance(value, dg.JsonMetadataValue):
            value = dg.MetadataValue.json(redactor.data(value.data))
        out[key] = value
    return out


def sync_metadata(report: SyncReport, window: str, redactor: Redactor | None = None) -> dict:
    metadata: dict = {name: dg.MetadataValue.int(count) for name, count in report.counts.items()}
    metadata.update(
        pulled_in=dg.MetadataValue.int(sum(report.pulled_in.values())),
        **{f"pulled_in_{kind}": dg.MetadataValue.int(n) for kind, n in report.pulled_in.items()},
        recovered=dg.MetadataValue.int(report.recovered),
        status_changes=dg.MetadataValue.int(report.status_changes),
        compared=dg.MetadataValue.int(report.compared),
        dropped_values=dg.MetadataValue.int(sum(report.left_out.values())),
        dropped_by_field=dg.MetadataValue.md(left_out_table(report)),
        requests=dg.MetadataValue.int(report.requests),
        rate_limited=dg.MetadataValue.int(report.rate_limited),
        seconds=dg.MetadataValue.float(report.seconds),
        dry_run=dg.MetadataValue.bool(report.dry_run),
        window=dg.MetadataValue.text(window),
        issues=dg.MetadataValue.md(issues_table(report)),
        issue_groups=dg.MetadataValue.json(report.grouped_issues()),
        dropped_references=dg.MetadataValue.int(len(report.dropped)),
        dropped=dg.MetadataValue.md(dropped_table(report)),
        dropped_groups=dg.MetadataValue.json(report.grouped_dropped()),
    )
    if report.dry_run:
        metadata["plan"] = dg.MetadataValue.md(
            f"A dry run: {report.count(Outcome.CREATED)} would be created, {report.count(Outcome.ADOPTED)} adopted "
            f"(Integration already holds them), {report.count(Outcome.SKIPPED)} skipped "
            f"(already in Integration), {report.count(Outcome.BLOCKED)} blocked, {report.count(Outcome.FAILED)} "
            "failed; nothing was written. The issues table lists the records that would not be copied."
        )
        metadata["sample_diffs"] = dg.MetadataValue.json(report.sample_diffs)
        metadata["sample_payloads"] = dg.MetadataValue.json(report.sample_payloads)
    return masked(metadata, redactor or Redactor())


def master_metadata(report: MatchReport, dry_run: bool, redactor: Redactor | None = None) -> dict:
    lines = ["| Production id | natural key | problem |", "|---|---|---|"]
    lines += [f"| {pid} | {_md_cell(key)} | no Integration counterpart |" for pid, key in report.unmatched]
    lines += [f"| {pid} | {_md_cell(key)} | matches {ids} |" for pid, key, ids in report.ambiguous]
    return masked({
        "matched": dg.MetadataValue.int(report.matched),
        "unmatched": dg.MetadataValue.int(len(report.unmatched)),
        "ambiguous": dg.MetadataValue.int(len(report.ambiguous)),
        "requests": dg.MetadataValue.int(report.requests),
        "dry_run": dg.MetadataValue.bool(dry_run),
        "problems": dg.MetadataValue.md("\n".join(lines) if len(lines) > 2 else "Every record matched."),
    }, redactor or Redactor())
