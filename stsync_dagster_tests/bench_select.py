"""What each example selection copies of the demo tenant (seed 7, scale 1): records kept of those read, pulled
in, created, and the requests of the run, each on a fresh simulator and crosswalk, against the whole kind.

    uv run python -m stsync_dagster_tests.bench_select
"""

from __future__ import annotations

import tempfile
from collections import Counter

from stsync_dagster.simulator import Simulator
from stsync_dagster_tests.sync_helpers import sync, sync_env


def _examples(sim) -> list[tuple[str, str, dict]]:
    jobs = sim.records("prod", "jobs")
    units = {b["id"]: b["name"] for b in sim.records("prod", "business-units")}
    unit = units[Counter(j["businessUnitId"] for j in jobs).most_common(1)[0][0]]
    vendors = {v["id"]: v["name"] for v in sim.records("prod", "vendors")}
    top = [vendors[v] for v, _ in Counter(p["vendorId"] for p in sim.records("prod", "purchase-orders")).most_common(3)]
    return [
        ("jobs", "(everything)", {}),
        ("jobs", f'where businessUnit="{unit}"', {"where": {"businessUnit": unit}}),
        ("jobs", "where jobStatus=Completed, priority=High", {"where": {"jobStatus": "Completed", "priority": "High"}}),
        ("jobs", "sample per jobTypeId,jobStatus: 5", {"sample_per": ["jobTypeId", "jobStatus"], "sample_count": 5}),
        ("jobs", "sample per jobTypeId,jobStatus: 2", {"sample_per": ["jobTypeId", "jobStatus"], "sample_count": 2}),
        ("pos", "(everything)", {}),
        ("pos", f"where vendor in {top}", {"where": {"vendor": top}}),
        ("pos", "where status=Received", {"where": {"status": "Received"}}),
        ("pos", "sample: 10", {"sample_count": 10}),
        ("items", "(everything)", {}),
        ("items", "sample share 0.1", {"sample_share": 0.1}),
        ("items", "where searchText=pipe", {"where": {"searchText": "pipe"}}),
    ]


def main() -> None:
    rows = []
    with Simulator(seed=7, scale=1.0).start() as probe:
        examples = _examples(probe)
    for kind, said, select in examples:
        with Simulator(seed=7, scale=1.0).start() as sim, tempfile.TemporaryDirectory() as folder:
            report = sync(sync_env(sim, folder), (kind,), select=select)[kind]
            read = report.get("selection_read", "-")
            kept = report.get("selection_kept", "-")
            rows.append((kind, said, read, kept, report["pulled_in"], report["created"], report["requests"]))
            print(rows[-1], flush=True)
    print("\n| kind | selection | read | kept | pulled in | created | requests |\n|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(v) for v in row) + " |")


if __name__ == "__main__":
    main()
