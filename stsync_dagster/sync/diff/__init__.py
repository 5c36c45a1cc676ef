"""How Integration differs from Production, after the fact (`stsync diff`, the `diff` job): per kind and window,
every Production record in sync, differing (which fields, both values, and whether Integration was edited since
STSync's write or Production changed since), missing or blocked, and the marked copies whose Production record is
gone. The comparison is the read-back check's (fidelity.py); the cause is the one a sync would act on."""

from stsync_dagster.sync.diff.report import CAUSES, STATES, DiffReport, Orphan, RecordDiff, rows
from stsync_dagster.sync.diff.run import diff

__all__ = ["CAUSES", "STATES", "DiffReport", "Orphan", "RecordDiff", "diff", "rows"]
