"""The run's writes as a table on its materialization (from the crosswalk's history, where they are kept)."""

from __future__ import annotations

import dagster as dg

from stsync_dagster.defs.metadata import masked
from stsync_dagster.servicetitan.redact import Redactor
from stsync_dagster.sync.crosswalk import Crosswalk

MAX_ROWS = 200
COLUMNS = (
    ("kind", "string"),
    ("prod_id", "int"),
    ("int_id", "int"),
    ("action", "string"),
    ("fields", "string"),
    ("detail", "string"),
    ("at", "string"),
)


def writes_metadata(crosswalk: Crosswalk, run_id: str, asset: str, redactor: Redactor | None = None) -> dict:
    """`writes`: what this step of the run wrote to Integration (the first 200), `writes_total`: how many."""
    writes, total = crosswalk.run_writes(run_id, asset, limit=MAX_ROWS)
    rows = [
        dg.TableRecord(
            {
                "kind": w.kind,
                "prod_id": w.prod_id,
                "int_id": w.int_id,
                "action": w.action,
                "fields": ", ".join(w.fields),
                "detail": w.detail,
                "at": f"{w.at:%Y-%m-%d %H:%M:%S}",
            }
        )  # fmt: skip
        for w in writes
    ]
    schema = dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in COLUMNS])
    return masked(
        {
            "writes": dg.MetadataValue.table(rows, schema=schema),
            "writes_total": dg.MetadataValue.int(total),
        },
        redactor or Redactor(),
    )
