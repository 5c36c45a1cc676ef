"""Metadata of real runs (numeric counts the UI plots, tables of what was not copied) and of dry runs (the plan:
tables and samples only, no numeric entry, so a plan never joins the plots of real copies)."""

from __future__ import annotations

import dagster as dg

from stsync_dagster.servicetitan.redact import Redactor
from stsync_dagster.sync.fieldmap import FIELD_MAPS
from stsync_dagster.sync.masterdata import MatchReport
from stsync_dagster.sync.outcome import Outcome, RecordIssue, SyncReport


def lines_table(lines: list[str], column: str = "problem") -> dg.TableMetadataValue:
    return table({column: "string"}, [{column: line} for line in lines])


def _masked_table(value: dg.TableMetadataValue, redactor: Redactor) -> dg.TableMetadataValue:
    records = [
        dg.TableRecord({k: redactor(v) if isinstance(v, str) else v for k, v in record.data.items()})
        for record in value.records
    ]
    return dg.MetadataValue.table(records=records, schema=value.schema)


DROPPED_COLUMNS = {"kind": "string", "prod_id": "int", "reference": "string", "policy": "string", "reason": "string"}
LEFT_OUT_COLUMNS = {"field": "string", "values_left_out": "int", "why": "string"}


def dropped_table(report: SyncReport) -> dg.TableMetadataValue:
    """Copied records that went without a reference (or with a default), as the reference policy says."""
    rows = [
        {"kind": d.kind, "prod_id": d.prod_id, "reference": d.field, "policy": d.how, "reason": d.reason}
        for d in report.dropped
    ]
    return table(DROPPED_COLUMNS, rows)


def left_out_table(report: SyncReport) -> dg.TableMetadataValue:
    """The Production values left out of the records created, per field, with the reason (fieldmap.py)."""
    rules = FIELD_MAPS[report.kind]
    rows = []
    for name, n in sorted(report.left_out.items()):
        rule = rules.rule(name)
        rows.append({"field": name, "values_left_out": n, "why": rule.note if rule else ""})
    return table(LEFT_OUT_COLUMNS, rows)


MAX_ROWS = 200

ISSUE_COLUMNS = {"kind": "string", "prod_id": "int", "outcome": "string", "field": "string", "reason": "string"}
MASTER_COLUMNS = {"prod_id": "int", "natural_key": "string", "problem": "string", "integration_ids": "string"}


def table(columns: dict[str, str], rows: list[dict]) -> dg.TableMetadataValue:
    """A sortable table of the UI; at most MAX_ROWS rows (the run log and the CLI have the rest)."""
    schema = dg.TableSchema(columns=[dg.TableColumn(name, type=kind) for name, kind in columns.items()])
    return dg.MetadataValue.table(records=[dg.TableRecord(row) for row in rows[:MAX_ROWS]], schema=schema)


def table_rows(value) -> list[dict]:
    """The rows of a table metadata value as plain dicts."""
    return [dict(record.data) for record in value.records]


def issues_table(issues: list[RecordIssue]) -> dg.TableMetadataValue:
    rows = [
        {"kind": i.kind, "prod_id": i.prod_id, "outcome": i.outcome.value, "field": i.field, "reason": i.reason}
        for i in issues
    ]
    return table(ISSUE_COLUMNS, rows)


def masked(metadata: dict, redactor: Redactor) -> dict:
    """`metadata` with every secret masked in its text, markdown, JSON and table values."""
    out = {}
    for key, value in metadata.items():
        if isinstance(value, dg.MarkdownMetadataValue):
            value = dg.MetadataValue.md(redactor(value.md_str))
        elif isinstance(value, dg.TextMetadataValue):
            value = dg.MetadataValue.text(redactor(value.text))
        elif isinstance(value, dg.JsonMetadataValue):
            value = dg.MetadataValue.json(redactor.data(value.data))
        elif isinstance(value, dg.TableMetadataValue):
            value = _masked_table(value, redactor)
        out[key] = value
    return out


def sync_metadata(report: SyncReport, window: str, redactor: Redactor | None = None) -> dict:
    """Of a real run's materialization: every count, plotted by the UI over time."""
    metadata: dict = {name: dg.MetadataValue.int(count) for name, count in report.counts.items()}
    metadata.update(
        pulled_in=dg.MetadataValue.int(sum(report.pulled_in.values())),
        **{f"pulled_in_{kind}": dg.MetadataValue.int(n) for kind, n in report.pulled_in.items()},
        recovered=dg.MetadataValue.int(report.recovered),
        status_changes=dg.MetadataValue.int(report.status_changes),
        unfinished=dg.MetadataValue.int(report.unfinished),
        compared=dg.MetadataValue.int(report.compared),
        dropped_values=dg.MetadataValue.int(sum(report.left_out.values())),
        dropped_by_field=left_out_table(report),
        requests=dg.MetadataValue.int(report.requests),
        rate_limited=dg.MetadataValue.int(report.rate_limited),
        seconds=dg.MetadataValue.float(report.seconds),
        dry_run=dg.MetadataValue.bool(False),
        window=dg.MetadataValue.text(window),
        issues=issues_table(report.issues),
        issue_groups=dg.MetadataValue.json(report.grouped_issues()),
        dropped_references=dg.MetadataValue.int(len(report.dropped)),
        dropped=dropped_table(report),
        dropped_groups=dg.MetadataValue.json(report.grouped_dropped()),
    )
    if report.unavailable:
        metadata["unavailable"] = dg.MetadataValue.text(report.unavailable)
    metadata.update(selection_metadata(report))
    return masked(metadata, redactor or Redactor())


SELECTION_COLUMNS = {"combination": "string", "kept": "int", "present": "int"}


def selection_metadata(report: SyncReport, prefix: str = "") -> dict:
    """What the run's selection kept: a line, and per combination of a sample the records kept and present."""
    chosen = report.selection
    if chosen is None:
        return {}
    metadata = {
        f"{prefix}selection": dg.MetadataValue.text(chosen.summary()),
        f"{prefix}selection_read": dg.MetadataValue.int(chosen.read),
        f"{prefix}selection_passed": dg.MetadataValue.int(chosen.passed),  # of those read, by the filters
        f"{prefix}selection_kept": dg.MetadataValue.int(chosen.kept),  # then by the sample
        f"{prefix}selection_api_filters": dg.MetadataValue.json(chosen.api_params),
    }
    if chosen.combinations:
        rows = [{"combination": c, "kept": k, "present": n} for c, (k, n) in chosen.combinations.items()]
        metadata[f"{prefix}selection_combinations"] = table(SELECTION_COLUMNS, rows)
    return metadata


def counts_table(counts: dict[str, int]) -> dg.TableMetadataValue:
    return table({"outcome": "string", "records": "int"}, [{"outcome": k, "records": n} for k, n in counts.items()])


PLAN_PREFIX = "plan_"  # the UI's asset overview shows the latest observation over a materialization's same label


def plan_metadata(report: SyncReport, window: str, redactor: Redactor | None = None) -> dict:
    """Of a dry run's observation: what a real run would do, with nothing the UI would plot, under labels of
    its own."""
    text = (
        f"A dry run: {report.count(Outcome.CREATED)} would be created, {report.count(Outcome.ADOPTED)} adopted "
        f"(Integration already holds them), {report.count(Outcome.UPDATED)} updated, "
        f"{report.count(Outcome.BLOCKED)} blocked, {report.count(Outcome.FAILED)} failed; nothing was written."
    )
    pulled_in = {f"pulled_in_{kind}": n for kind, n in report.pulled_in.items()}
    return masked(
        {
            "plan": dg.MetadataValue.text(text),
            "plan_counts": counts_table({**report.counts, **pulled_in}),
            "plan_window": dg.MetadataValue.text(window),
            "plan_issues": issues_table(report.issues),
            "plan_issue_groups": dg.MetadataValue.json(report.grouped_issues()),
            "plan_dropped": dropped_table(report),
            "plan_dropped_groups": dg.MetadataValue.json(report.grouped_dropped()),
            "plan_dropped_by_field": left_out_table(report),
            "sample_diffs": dg.MetadataValue.json(report.sample_diffs),
            "sample_payloads": dg.MetadataValue.json(report.sample_payloads),
            **selection_metadata(report, PLAN_PREFIX),
        },
        redactor or Redactor(),
    )


def master_problems(report: MatchReport) -> list[dict]:
    rows = [
        {"prod_id": pid, "natural_key": key, "problem": "no Integration counterpart", "integration_ids": ""}
        for pid, key in report.unmatched
    ]
    rows += [
        {"prod_id": pid, "natural_key": key, "problem": "ambiguous", "integration_ids": ", ".join(map(str, ids))}
        for pid, key, ids in report.ambiguous
    ]
    return rows


def master_metadata(report: MatchReport, redactor: Redactor | None = None) -> dict:
    return masked(
        {
            "matched": dg.MetadataValue.int(report.matched),
            "unmatched": dg.MetadataValue.int(len(report.unmatched)),
            "ambiguous": dg.MetadataValue.int(len(report.ambiguous)),
            "requests": dg.MetadataValue.int(report.requests),
            "problems": table(MASTER_COLUMNS, master_problems(report)),
            **({"unavailable": dg.MetadataValue.text(report.unavailable)} if report.unavailable else {}),
        },
        redactor or Redactor(),
    )


def master_plan_metadata(report: MatchReport, redactor: Redactor | None = None) -> dict:
    counts = {"matched": report.matched, "unmatched": len(report.unmatched), "ambiguous": len(report.ambiguous)}
    return masked(
        {
            "plan_counts": counts_table(counts),
            "plan_problems": table(MASTER_COLUMNS, master_problems(report)),
        },
        redactor or Redactor(),
    )
