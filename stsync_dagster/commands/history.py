"""`stsync history`: what STSync wrote for one record, run by run, what the crosswalk maps it to now, and why it
is not copied if it is not."""

from __future__ import annotations

import argparse
import json
import os
import sys

from stsync_dagster import terminal
from stsync_dagster.commands.preflight import existing_crosswalk, load_env
from stsync_dagster.sync.crosswalk import setting as database


def cmd_history(args: argparse.Namespace) -> int:
    from stsync_dagster.settings import default_db
    from stsync_dagster.sync.crosswalk import Crosswalk
    from stsync_dagster.sync.record_history import record_history

    load_env()
    value = existing_crosswalk(os.environ.get(database.ENV_VAR, "").strip() or default_db())
    with Crosswalk(value) as crosswalk:
        story = record_history(crosswalk, args.kind, args.prod_id)
    writes, now, waiting = story.writes, story.now, story.waiting
    if args.json:
        body = {"kind": args.kind, "prod_id": args.prod_id, "now": now, "issue": waiting,
                "writes": [{**{k: getattr(w, k) for k in ("at", "run_id", "asset", "action", "int_id", "detail")},
                            "fields": list(w.fields)} for w in writes]}  # fmt: skip
        print(json.dumps(body, indent=2, default=str))
        return 0
    out = terminal.console(sys.stdout)
    if writes:
        out.print(terminal.history_table(args.kind, args.prod_id, writes))
    else:
        out.print(f"{args.kind} {args.prod_id}: STSync has written nothing for it", markup=False)
    out.print(f"Now: {now}", markup=False)
    if waiting:
        out.print(f"Not copied: {waiting}", markup=False)
    return 0
