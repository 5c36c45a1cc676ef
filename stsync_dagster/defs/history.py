"""A record's history from the UI: the `record_history` job, launched from the Launchpad with a kind and a
Production id, tells what `stsync history KIND ID` tells (stsync_dagster.sync.record_history) in its output's
metadata: the writes STSync made to the record's Integration copy, what the crosswalk maps it to now, and why
it is not copied if it is not. It reads only the crosswalk."""

import dagster as dg
from pydantic import Field

from stsync_dagster.defs.copy import Kind
from stsync_dagster.defs.metadata import masked
from stsync_dagster.defs.resources import CrosswalkResource
from stsync_dagster.sync.record_history import record_history

HISTORY_OP = "history"
HISTORY_JOB = "record_history"
COLUMNS = (("at", "string"), ("run_id", "string"), ("asset", "string"), ("action", "string"),
           ("int_id", "int"), ("fields", "string"), ("detail", "string"))  # fmt: skip


class HistoryConfig(dg.Config):
    kind: Kind = Field(description="What the id is: items (materials), equipment, jobs or pos (purchase orders).")
    prod_id: int = Field(description="The record's Production id.")


@dg.op(name=HISTORY_OP, out=dg.Out(dg.Nothing), description=__doc__.split("\n\n")[0])
def history(context: dg.OpExecutionContext, config: HistoryConfig, crosswalk: CrosswalkResource):
    story = record_history(crosswalk.get(), config.kind.value, config.prod_id)
    rows = [
        dg.TableRecord(
            {
                "at": f"{w.at:%Y-%m-%d %H:%M:%S}",
                "run_id": w.run_id or "",
                "asset": w.asset or "",
                "action": w.action,
                "int_id": w.int_id,
                "fields": ", ".join(w.fields),
                "detail": w.detail,
            }
        )  # fmt: skip
        for w in story.writes
    ]
    context.log.info(f"{story.kind} {story.prod_id}: {len(rows)} writes; now {story.now}")
    metadata = {
        "record": dg.MetadataValue.text(f"{story.kind} {story.prod_id}"),
        "now": dg.MetadataValue.text(story.now),
        "not_copied": dg.MetadataValue.text(story.waiting or "-"),
        "history": dg.MetadataValue.table(rows, schema=dg.TableSchema([dg.TableColumn(n, t) for n, t in COLUMNS])),
    }
    yield dg.Output(None, metadata=masked(metadata, crosswalk.redactor()))


@dg.job(name=HISTORY_JOB, description=__doc__.split("\n\n")[0], tags={"stsync/kind": "history"})
def history_job():
    history()
