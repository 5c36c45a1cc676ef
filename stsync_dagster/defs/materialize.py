"""In-process runs of the code location's jobs: what `stsync sync`, `stsync copy` and `stsync demo` run.

They resolve their jobs from the one `Definitions` (stsync_dagster.definitions), as the UI does: a sync is the
implicit asset job (the UI's Materialize) over the assets it selects, a dry run the `sync_plan` job's steps, a
copy the `copy_records` job. Only what a terminal needs differs: the console loggers (stsync_dagster.defs.logs),
the instance (below), and resources built from the environment when the command runs (it has read `.env` by
then; the code location's were built when it was imported).

The instance: the UI's when there is one, so the UI shows what the terminal did (its runs, materializations,
partitions, check evaluations). `stsync sync` and `stsync copy` pass `instance_home()`: DAGSTER_HOME when it
names an existing folder (Dagster's own rule, the one `dg dev` follows), its dagster.yaml read as Dagster reads
it (SQLite files by default, PostgreSQL in a deployment). Otherwise, and for the demo (a throwaway simulator)
and every other caller, an in-memory instance: nothing written anywhere, no telemetry notice.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
from dagster._core.instance.ref import InstanceRef  # dg exports DagsterInstance, not its ref

from stsync_dagster.config import SYNC_ENTITIES
from stsync_dagster.errors import ConfigError
from stsync_dagster.defs.location import build_defs
from stsync_dagster.defs.assets import needed_master_data
from stsync_dagster.defs.copy import COPY_JOB, COPY_OP
from stsync_dagster.defs.logs import cli_loggers
from stsync_dagster.defs.metadata import PLAN_PREFIX, table_rows
from stsync_dagster.defs.partitions import start_date
from stsync_dagster.defs.plan import PLAN_JOB, plan_step

__all__ = [
    "copy_in_process",
    "copy_report",
    "instance_home",
    "instance_line",
    "materialize_sync",
    "needed_master_data",
    "reported",
    "reported_metadata",
    "run_instance",
]

# The terminal's runs keep their output on the terminal. Dagster's compute log capture would route the process's
# stdout and stderr through a `tail -F` of a file for the run's length (lines late, the last ones lost when the run
# ends, `--json` no longer this process's own writes): the run's event log (every line logged, each
# materialization, observation and check evaluation) is recorded all the same; only the raw stdout/stderr view of
# these runs stays empty in the UI.
_NO_CAPTURE = {
    "compute_logs": {"module": "dagster._core.storage.noop_compute_log_manager", "class": "NoOpComputeLogManager"}
}


def instance_home(environ=os.environ) -> Path | None:
    """The folder of the Dagster instance the UI reads: DAGSTER_HOME when it is an absolute path to an existing
    folder (what `dg.DagsterInstance.get()` accepts), else None (in memory)."""
    raw = environ.get("DAGSTER_HOME", "").strip()
    home = Path(os.path.expanduser(raw)) if raw else None
    return home if home is not None and home.is_absolute() and home.is_dir() else None


def instance_line(home: Path | None, environ=os.environ) -> str:
    """The one line that says where the runs go."""
    if home is not None:
        return f"runs recorded in the Dagster instance at {home} (DAGSTER_HOME): the UI shows them"
    raw = environ.get("DAGSTER_HOME", "").strip()
    if raw:
        return (
            f"runs kept in memory: DAGSTER_HOME {raw!r} is not an existing folder given by an absolute path "
            "(Dagster would refuse it too)"
        )
    return "runs kept in memory (set DAGSTER_HOME to the UI's to see them there)"


@contextmanager
def run_instance(home: Path | None) -> Iterator[dg.DagsterInstance]:
    """The UI's instance at `home` (as `dg.DagsterInstance.from_config` opens it, without compute log capture),
    or an in-memory one."""
    if home is None:
        with dg.DagsterInstance.ephemeral() as instance:
            yield instance
        return
    try:
        with _one_opening_at_a_time(home), _quiet_defaults():
            instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=_NO_CAPTURE))
    except Exception as exc:  # its dagster.yaml: a variable not set, a database not reachable…
        unset = list(dict.fromkeys(_UNSET.findall(str(exc))))
        raise ConfigError(
            f"DAGSTER_HOME: the Dagster instance at {home} cannot be opened ({_why(exc, unset)}); fix its "
            "dagster.yaml or its environment, or unset DAGSTER_HOME to keep the runs in memory",
            variables=["DAGSTER_HOME", *unset],
        ) from None
    with instance:
        yield instance


_UNSET = re.compile(r'environment variable "([^"]+)" which is not set')
_URL_PASSWORD = re.compile(r"(://[^/\s:@]*:)\S*@")  # scheme://user:password@ -> scheme://user:***@


def _why(exc: Exception, unset: list[str]) -> str:
    """The variables its dagster.yaml reads that are not set, else the error's kind and first line (the password
    of a URL in it masked: a dagster.yaml may hold one)."""
    if unset:
        return f"its dagster.yaml reads {', '.join(unset)}, not set"
    line = next((part.strip() for part in str(exc).splitlines() if part.strip()), "")
    return f"{type(exc).__name__}: " + _URL_PASSWORD.sub(r"\1***@", line)[:300]


@contextmanager
def _one_opening_at_a_time(home: Path) -> Iterator[None]:
    """Processes of this machine open the instance at `home` one after the other (their runs then go on together).

    Opening Dagster's SQLite storage creates its databases the first time, and that is not safe from two processes
    at once: both stamp a schema version, and the folder is left with two (every later open, the UI's included,
    fails with "more than one head"). An exclusive `flock` on the folder itself (no lock file left behind),
    released when the instance is open; a storage that already exists, or lives in PostgreSQL, waits only for the
    other's opening. Where there is no `flock` (Windows), the instance is opened without it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(home, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


class _NoDefaultsNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No dagster instance configuration file")


@contextmanager
def _quiet_defaults() -> Iterator[None]:
    """Without a dagster.yaml, Dagster warns on every opening that it stores everything under the folder: the
    default the UI uses too, not news for each command."""
    quiet, logger = _NoDefaultsNotice(), logging.getLogger("dagster")
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def _job(name: str | None, log_format: str) -> dg.JobDefinition:
    """A job of the code location (None: the implicit asset job), with the command's console loggers."""
    defs = build_defs(loggers=cli_loggers(log_format))
    return defs.resolve_job_def(name) if name else defs.resolve_implicit_global_asset_job_def()


def materialize_sync(
    entities: list[str],
    *,
    since: str | None,
    limit: int = 0,
    dry_run: bool = False,
    verbose: bool = False,
    partition: str | None = None,
    retry_all: bool = False,
    log_format: str = "text",
    home: Path | None = None,
    select: dict | None = None,
) -> dg.ExecuteInProcessResult:
    """Match the master data they need, then the chosen sync assets, on today's partition (UTC); a dry run
    runs their steps of the `sync_plan` job instead (observations, no materialization).

    Without `since` the window starts at the first partition's day: everything is considered. The run is recorded
    in the instance at `home` (see instance_home), else kept in memory.
    """
    chosen = [entity for entity in SYNC_ENTITIES if entity in entities]
    sync_config = {"since": since or start_date(), "limit": limit, "retry_all": retry_all, **(select or {})}
    run_config = {
        "ops": {entity: {"config": sync_config} for entity in chosen},
        "loggers": {"console": {"config": {"log_level": "INFO" if verbose else "WARNING"}}},
    }
    partition_key = partition or datetime.now(timezone.utc).strftime("%Y-%m-%d")
    with run_instance(home) as instance:
        if dry_run:
            plan_ops = {plan_step(name): entry for name, entry in run_config["ops"].items()}
            return _job(PLAN_JOB, log_format).execute_in_process(
                run_config={**run_config, "ops": plan_ops},
                instance=instance,
                partition_key=partition_key,
                op_selection=list(plan_ops),
                raise_on_error=False,
            )
        selection = [dg.AssetKey(k) for k in [*needed_master_data(chosen), *chosen]]
        return _job(None, log_format).execute_in_process(
            run_config=run_config,
            instance=instance,
            partition_key=partition_key,
            asset_selection=selection,
            raise_on_error=False,
        )


def copy_in_process(
    entity: str,
    ids: list[int],
    *,
    dry_run: bool = False,
    verbose: bool = False,
    log_format: str = "text",
    home: Path | None = None,
    select: dict | None = None,
) -> dg.ExecuteInProcessResult:
    """The copy job, run here, recorded in the instance at `home` or kept in memory (as `stsync sync`)."""
    run_config = {
        "ops": {COPY_OP: {"config": {"kind": entity, "ids": list(ids), "dry_run": dry_run, **(select or {})}}},
        # Records that failed fail the step: the command shows them in its table, not as Dagster's stack trace.
        "loggers": {"console": {"config": {"log_level": "INFO" if verbose else "CRITICAL"}}},
    }
    with run_instance(home) as instance:
        return _job(COPY_JOB, log_format).execute_in_process(
            run_config=run_config, instance=instance, raise_on_error=False
        )


def copy_report(result: dg.ExecuteInProcessResult) -> dict | None:
    """The metadata of the copy's output (its counts, issues and writes), or None when it never got there."""
    for event in result.all_node_events:
        if event.is_successful_output:
            return dict(event.step_output_data.metadata)
    return None


def reported_metadata(result: dg.ExecuteInProcessResult, entity: str) -> dict | None:
    """What a run reported for an entity: its materialization's metadata, or for a dry run its plan's under the
    same labels (the counts table spread into one int value per outcome, `dry_run` said). None when it reported
    nothing (it failed)."""
    materialized = result.asset_materializations_for_node(entity)
    events = materialized or result.asset_observations_for_node(plan_step(entity))
    if not events:
        return None
    metadata = {label.removeprefix(PLAN_PREFIX): entry for label, entry in events[-1].metadata.items()}
    counts = metadata.pop("counts", None)
    for row in table_rows(counts) if counts is not None else []:
        metadata[row["outcome"]] = dg.MetadataValue.int(row["records"])
    metadata["dry_run"] = dg.MetadataValue.bool(not materialized)
    return metadata


def reported(result: dg.ExecuteInProcessResult, entity: str) -> dict | None:
    """The same as plain values: tables as lists of rows."""
    metadata = reported_metadata(result, entity)
    if metadata is None:
        return None
    return {
        label: table_rows(entry) if isinstance(entry, dg.TableMetadataValue) else getattr(entry, "value", entry)
        for label, entry in metadata.items()
    }
