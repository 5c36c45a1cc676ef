"""One record on demand: the `copy_records` job copies given Production records with everything they need
(a PO's materials and job are pulled in; the master data they reference is matched first), whatever day they
were modified. `stsync copy KIND ID…` runs the same job in process (stsync_dagster.defs.materialize).

A job of its own, not a materialization: copying a few ids says nothing about a day's partition. Its report
(counts, what was not copied, the writes) is the metadata of its output; records that failed fail the run.
"""

from enum import Enum

import dagster as dg
from pydantic import Field

from stsync_dagster.config import SYNC_ENTITIES
from stsync_dagster.defs.assets import needed_master_data, secrets
from stsync_dagster.defs.config_file import ConfigFileResource
from stsync_dagster.defs.logs import engine_logs
from stsync_dagster.defs.metadata import sync_metadata
from stsync_dagster.defs.run_config import SelectRunConfig, fail_on_bad_run_config
from stsync_dagster.defs.resources import CrosswalkResource, IntegrationResource, ProductionResource
from stsync_dagster.defs.writes import writes_metadata
from stsync_dagster.servicetitan.redact import redacting
from stsync_dagster.sync.outcome import Outcome
from stsync_dagster.sync.runner import run_copy, run_master
from stsync_dagster.sync.select import SelectionError

COPY_OP = "copy"  # the op; the job is copy_records (an op and its job cannot share a name)
COPY_JOB = "copy_records"
KIND_TAG, IDS_TAG = "stsync/kind", "stsync/ids"
IDS_TAG_LENGTH = 200  # the ids that fit, whole, then "(+N more)"


def copy_tags(kind: str, ids: list[int]) -> dict[str, str]:
    """The run's tags: its kind, and its ids (distinct, ascending, comma-separated: what the UI's run list filter
    `stsync/ids=…` matches; a copy of one record is found by its id), cut short after the ids that fit."""
    distinct = [str(i) for i in sorted(set(ids))]
    text = ",".join(distinct)
    if len(text) > IDS_TAG_LENGTH:
        room = IDS_TAG_LENGTH - len(f" (+{len(distinct)} more)")
        shown = 0
        while len(",".join(distinct[: shown + 1])) <= room:
            shown += 1
        text = f"{','.join(distinct[:shown])} (+{len(distinct) - shown} more)"
    return {KIND_TAG: kind, IDS_TAG: text}


Kind = Enum("Kind", {entity: entity for entity in SYNC_ENTITIES})


class CopyConfig(SelectRunConfig):
    kind: Kind = Field(description="What the ids are: items (materials), jobs or pos (purchase orders).")
    ids: list[int] = Field(description="Production ids to copy (at least one).")
    dry_run: bool = Field(
        default=False, description="Build and validate every payload, report the plan, write nothing."
    )


@dg.op(name=COPY_OP, out=dg.Out(dg.Nothing), description=__doc__.split("\n\n")[0])
def copy_records(
    context: dg.OpExecutionContext,
    config: CopyConfig,
    production: ProductionResource,
    integration: IntegrationResource,
    crosswalk: CrosswalkResource,
    config_file: ConfigFileResource,
):
    if not config.ids:  # Dagster's config schema cannot say "at least one": said here, before any request
        raise dg.Failure(description="run config: ids: give at least one Production id")
    fail_on_bad_run_config(context)  # a selection the kind cannot take: before any request
    entity = config.kind.value
    # Tagged once it starts (a tag cannot be computed from the run config at launch): the UI's run list finds it.
    context.instance.add_run_tags(context.run_id, copy_tags(entity, config.ids))
    mask = secrets(integration, crosswalk)
    with redacting(mask), engine_logs(context, mask), production.client() as prod, integration.client() as intc:
        needs = dict(prod=prod, intc=intc, crosswalk=crosswalk.get(), config=config_file.get())
        for kind in needed_master_data([entity]):
            matched = run_master(kind, **needs, dry_run=config.dry_run)
            context.log.info(mask(matched.summary()))
        options = integration.sync_options(context.run.run_id, dry_run=config.dry_run)
        selection, where = config.selection(entity, None)  # given ids: the config file's `select` is for windows
        try:
            report = run_copy(
                entity, config.ids, **needs, options=options, guid=integration.guid(), selection=selection, where=where
            )
        except SelectionError as exc:  # a name Production does not have
            raise dg.Failure(description=mask(f"{entity}: selection: {exc}"), allow_retries=False) from None
        context.log.info(mask(report.summary()))
    metadata = {
        **sync_metadata(report, f"ids {', '.join(map(str, sorted(set(config.ids))))}", mask),
        **writes_metadata(crosswalk.get(), context.run.run_id, entity, mask),
    }
    yield dg.Output(None, metadata=metadata)
    failed = report.count(Outcome.FAILED)
    if failed:
        reasons = "; ".join(
            f"{i.kind} {i.prod_id}: {i.field}: {i.reason}" for i in report.issues if i.outcome is Outcome.FAILED
        )
        raise dg.Failure(description=mask(f"{failed} of the records failed: {reasons[:2000]}"))


@dg.job(name=COPY_JOB, description="Copy given Production records (config: kind, ids) with everything they need.")
def copy_job():
    copy_records()
