"""How far Integration is from Production, from the UI: the `diff` job, launched with a kind and a window
(since, until: ISO dates, both days included; none: every record), tells what `stsync diff KIND` tells
(stsync_dagster.sync.diff) in its output's metadata: the counts per state, why the differing copies differ, and
the first differences as a table. It reads both tenants and the crosswalk, and writes nothing.

Its check: the run fails when more records than the config's `diff.max_differences` differ, are missing in
Integration, or are marked copies whose Production record is gone (blocked records have a check of their own)."""

import dagster as dg
from pydantic import Field

from stsync_dagster.defs.assets import secrets
from stsync_dagster.defs.config_file import ConfigFileResource
from stsync_dagster.defs.copy import Kind
from stsync_dagster.defs.logs import engine_logs
from stsync_dagster.defs.metadata import masked
from stsync_dagster.defs.resources import CrosswalkResource, IntegrationResource, ProductionResource
from stsync_dagster.servicetitan.redact import redacting
from stsync_dagster.sync.diff import DiffReport, diff, rows
from stsync_dagster.sync.diff.report import COLUMNS
from stsync_dagster.sync.window import window_including

DIFF_OP = "compare"  # the op; the job is `diff` (an op and its job cannot share a name)
DIFF_JOB = "diff"
SHOWN_ROWS = 20  # the markdown table's rows: the first differences


class DiffConfig(dg.Config):
    kind: Kind = Field(description="What to compare: items (materials), equipment, jobs or pos (purchase orders).")
    since: str | None = Field(default=None, description="YYYY-MM-DD: records Production modified on or after it.")
    until: str | None = Field(default=None, description="YYYY-MM-DD: records Production modified on or before it.")


def _markdown(report: DiffReport) -> str:
    found = rows(report)
    if not found:
        return "No difference: every record of the window is in sync, or blocked (see the counts)."
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in found[:SHOWN_ROWS]:
        lines.append("| " + " | ".join(row[c].replace("|", "\\|").replace("\n", " ") for c in COLUMNS) + " |")
    if len(found) > SHOWN_ROWS:
        lines.append(f"\n{len(found) - SHOWN_ROWS} more rows: `stsync diff {report.kind} --json` lists them all.")
    return "\n".join(lines)


def diff_metadata(report: DiffReport, limit: int) -> dict:
    counts = report.counts()
    return {
        "window": dg.MetadataValue.text(report.window),
        **{state: dg.MetadataValue.int(n) for state, n in counts.items()},
        "causes": dg.MetadataValue.json(report.causes()),
        "differences": dg.MetadataValue.int(report.differences()),
        "max_differences": dg.MetadataValue.int(limit),
        "first_differences": dg.MetadataValue.md(_markdown(report)),
        "requests": dg.MetadataValue.int(report.requests),
        "seconds": dg.MetadataValue.float(report.seconds),
    }


@dg.op(name=DIFF_OP, out=dg.Out(dg.Nothing), description=__doc__.split("\n\n")[0])
def compare(
    context: dg.OpExecutionContext,
    config: DiffConfig,
    production: ProductionResource,
    integration: IntegrationResource,
    crosswalk: CrosswalkResource,
    config_file: ConfigFileResource,
):
    try:
        window = window_including(config.since, config.until)
    except ValueError as exc:  # said before any request
        raise dg.Failure(description=f"run config: {exc}") from None
    from stsync_dagster.sync.entities import HANDLERS

    settings = config_file.get()
    handler = HANDLERS[config.kind.value](settings, integration.guid())
    mask = secrets(integration, crosswalk)
    with redacting(mask), engine_logs(context, mask), production.client() as prod, integration.client() as intc:
        report = diff(handler, window, prod=prod, intc=intc, crosswalk=crosswalk.get(), config=settings)
    limit = settings.diff.max_differences
    context.log.info(mask(f"{report.kind}: {report.counts()}, {report.differences()} differences (at most {limit})"))
    yield dg.Output(None, metadata=masked(diff_metadata(report, limit), mask))
    if report.differences() > limit:
        raise dg.Failure(
            description=mask(
                f"{report.kind}: {report.differences()} records differ, are missing in Integration or are orphaned "
                f"copies, more than diff.max_differences ({limit}) in stsync.config.json"
            ),
            metadata={"differences": report.differences(), "max_differences": limit},
        )


@dg.job(name=DIFF_JOB, description=__doc__.split("\n\n")[0], tags={"stsync/kind": "diff"})
def diff_job():
    compare()
