"""`stsync reconcile`: rebuild or repair the crosswalk from the marks in Integration, then adopt by natural key
what Integration holds without them. It creates nothing; per kind it says how many records were already mapped,
adopted by their mark, adopted by natural key, and are not in Integration yet (not left in the backlog: a sync of
their days creates them)."""

from __future__ import annotations

import argparse

from stsync_dagster.commands.exit_codes import EXIT_FAILED_RECORDS
from stsync_dagster.commands.preflight import preflight
from stsync_dagster.config import SYNC_ENTITIES
from stsync_dagster.servicetitan import IntegrationClient, ProductionClient
from stsync_dagster.settings import load_settings


def cmd_reconcile(args: argparse.Namespace) -> int:
    import uuid

    from stsync_dagster.config import MASTER_KINDS
    from stsync_dagster.defs.partitions import start_date
    from stsync_dagster.sync.crosswalk import Crosswalk
    from stsync_dagster.sync.engine import SyncOptions
    from stsync_dagster.sync.entities import HANDLERS
    from stsync_dagster.sync.masterdata import match_master
    from stsync_dagster.sync.reconcile import forget_not_in_integration, reconcile, tally
    from stsync_dagster.sync.runner import run_entity
    from stsync_dagster.sync.window import window_for

    settings = load_settings(dotenv_path=".env")
    config, shown = preflight(settings, write=True)
    entities = list(SYNC_ENTITIES) if args.entity == "all" else [args.entity]
    duplicates = 0
    with (
        ProductionClient.from_settings(settings) as prod,
        IntegrationClient.from_settings(settings) as intc,
        Crosswalk(settings.db) as crosswalk,
    ):
        run_id = f"reconcile-{uuid.uuid4().hex[:12]}"
        print(f"Reconciling the crosswalk {shown} with what Integration holds (it creates nothing)")
        mapped_before = {entity: set(crosswalk.mapped(entity)) for entity in entities}
        marks = {}
        for entity in entities:  # First the records that carry STSync's mark.
            marks[entity] = reconcile(HANDLERS[entity](config, settings.external_data_guid), intc, crosswalk, run_id)
            duplicates += len(marks[entity].duplicates)
            for prod_id, int_ids in marks[entity].duplicates.items():
                print(f"  {entity} {prod_id} → Integration {int_ids}: duplicates made outside this crosswalk")
        # Then what Integration holds without STSync's marks (a refresh, hand-made records), by natural key.
        for kind in MASTER_KINDS:
            matched = match_master(kind, config.master(kind), prod, intc, crosswalk)
            if matched.unavailable or matched.unmatched or matched.ambiguous:
                print(f"  {matched.summary()}")
            for prod_id, key, int_ids in matched.ambiguous:
                print(f"    {kind} {prod_id} ({key!r}): Integration holds {int_ids}: not guessed")
        backlog = {(issue.kind, issue.prod_id) for issue in crosswalk.issues()}
        options = SyncOptions(run_id=run_id, create=False)
        window = window_for(None, start_date())
        missing = 0
        for entity in entities:
            report = run_entity(
                entity, window, prod=prod, intc=intc, crosswalk=crosswalk, config=config, options=options,
                guid=settings.external_data_guid,
            )  # fmt: skip
            told = tally(entity, mapped_before[entity], marks[entity], report, crosswalk, run_id)
            missing += told.not_in_integration
            print(f"  {told.summary()}")
        forget_not_in_integration(crosswalk, run_id, backlog)
        if missing:
            print("Records not in Integration yet are created by the next sync of their days (`stsync sync all`).")
    return EXIT_FAILED_RECORDS if duplicates else 0
