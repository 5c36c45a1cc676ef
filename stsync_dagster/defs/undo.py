"""Take a run back from the UI: the `undo_run` job, launched from the Launchpad with a run id (every
materialization's metadata and `stsync history KIND ID` show them), does what `stsync undo RUN_ID` does
(stsync_dagster.sync.undo): what that run wrote to Integration taken back as far as the API allows, its report
(per record what was done, what could not be and why) in its output's metadata. Records edited in Integration
since that run are left alone unless `force`; `dry_run` shows the plan and writes nothing. Conflicts and failures
fail the run (after its report)."""

import dagster as dg
from pydantic import Field

from stsync_dagster.defs.assets import secrets
from stsync_dagster.defs.config_file import ConfigFileResource
from stsync_dagster.defs.metadata import masked
from stsync_dagster.defs.resources import CrosswalkResource, IntegrationResource
from stsync_dagster.sync.undo import Result, undo

UNDO_OP = "undo"
UNDO_JOB = "undo_run"
COLUMNS = (("kind", "string"), ("prod_id", "int"), ("int_id", "int"), ("wrote", "string"), ("step", "string"),
           ("result", "string"), ("why", "string"))  # fmt: skip


class UndoConfig(dg.Config):
    run_id: str = Field(description="The run to take back (its id, or a unique beginning of it).")
    dry_run: bool = Field(default=False, description="Show what it would do; write nothing.")
    force: bool = Field(default=False, description="Take back records edited in Integration since the run too.")


def _row(item) -> dict:
    wrote = ", ".join(item.wrote)
    return {"kind": item.kind, "prod_id": item.prod_id, "int_id": item.int_id, "wrote": wrote, "step": item.what(),
            "result": item.result.value, "why": item.why()}  # fmt: skip


@dg.op(name=UNDO_OP, out=dg.Out(dg.Nothing), description=__doc__.split("\n\n")[0])
def undo_op(
    context: dg.OpExecutionContext,
    config: UndoConfig,
    integration: IntegrationResource,
    crosswalk: CrosswalkResource,
    config_file: ConfigFileResource,
):
    mask = secrets(integration, crosswalk)
    with integration.client() as intc:
        report = undo(
            crosswalk.get(), intc, config_file.get(), integration.guid(), config.run_id,
            undo_run_id=context.run.run_id, dry_run=config.dry_run, force=config.force,
        )  # fmt: skip
    context.log.info(mask(report.summary()))
    rows = [dg.TableRecord(_row(item)) for item in report.items]
    counts = report.counts()
    metadata = {
        "undone_run": dg.MetadataValue.text(report.run_id),
        "dry_run": dg.MetadataValue.bool(report.dry_run),
        **{name: dg.MetadataValue.int(n) for name, n in counts.items()},
        "taken_back_in_part": dg.MetadataValue.int(len(report.partly())),
        "requests": dg.MetadataValue.int(report.requests),
        "records": dg.MetadataValue.table(rows, schema=dg.TableSchema([dg.TableColumn(n, t) for n, t in COLUMNS])),
    }
    yield dg.Output(None, metadata=masked(metadata, crosswalk.redactor()))
    if report.unfinished():
        stuck = [i for i in report.items if i.result in (Result.CONFLICT, Result.FAILED)]
        told = "; ".join(f"{i.kind} {i.prod_id}: {i.result.value}: {i.reason}" for i in stuck[:20])
        raise dg.Failure(description=mask(f"{len(stuck)} records not taken back: {told}"))


@dg.job(name=UNDO_JOB, description=__doc__.split("\n\n")[0], tags={"stsync/kind": "undo"})
def undo_job():
    undo_op()
