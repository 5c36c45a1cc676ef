"""`stsync diff KIND`: how Integration differs from Production over a window of Production's modifiedOn. It reads
both tenants and the crosswalk and writes nothing. Differences are data: it exits 0 when the comparison ran,
1 when it could not be completed (an API error), 2 on a configuration problem."""

from __future__ import annotations

import argparse
import json
import sys

from stsync_dagster import terminal, terminal_diff
from stsync_dagster.commands.exit_codes import EXIT_FAILED_RECORDS
from stsync_dagster.commands.preflight import existing_crosswalk, preflight
from stsync_dagster.config import SYNC_ENTITIES
from stsync_dagster.servicetitan import IntegrationClient, ProductionClient
from stsync_dagster.servicetitan import errors as st
from stsync_dagster.settings import load_settings
from stsync_dagster.sync.window import window_including


def cmd_diff(args: argparse.Namespace) -> int:
    from stsync_dagster.sync.crosswalk import Crosswalk
    from stsync_dagster.sync.diff import diff
    from stsync_dagster.sync.entities import HANDLERS

    window = window_including(args.since, args.until, ("--since", "--until"))
    settings = load_settings(dotenv_path=".env")
    config, _ = preflight(settings, write=False)
    kinds = list(SYNC_ENTITIES) if args.kind == "all" else [args.kind]
    reports, failed = [], []
    with (
        ProductionClient.from_settings(settings) as prod,
        IntegrationClient.from_settings(settings) as intc,
        Crosswalk(existing_crosswalk(settings.db)) as crosswalk,
    ):
        for kind in kinds:
            print(f"{kind}: comparing Production's records of {window} with Integration", file=sys.stderr, flush=True)
            handler = HANDLERS[kind](config, settings.external_data_guid)
            try:
                reports.append(diff(handler, window, prod=prod, intc=intc, crosswalk=crosswalk, config=config))
            except st.ServiceTitanError as exc:  # this kind is not compared; the others are
                print(f"stsync diff: {kind}: could not be compared: {exc}", file=sys.stderr)
                failed.append(kind)
    code = EXIT_FAILED_RECORDS if failed else 0
    if args.json:
        body = {"window": str(window), "max_differences": config.diff.max_differences,
                "kinds": {r.kind: r.as_json() for r in reports}, "not_compared": failed}  # fmt: skip
        print(json.dumps(body, indent=2, default=str))
        return code
    out = terminal.console(sys.stdout)
    out.print(terminal_diff.counts_table(reports))
    for report in reports:
        for table in (terminal_diff.records_table(report), terminal_diff.blocked_table(report)):
            if table is not None:
                out.print(table)
    return code
