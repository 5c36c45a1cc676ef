"""The first hour, walked as a newcomer would, with a browser: the simulator, `dg dev` and the terminal sharing
one DAGSTER_HOME, a sync from the terminal, then the UI (Debian's Chromium through Playwright) showing that run,
its partition and a record's history. Saves docs/images/first-hour-*.png and says what it saw.

    uv run --group docs python -m stsync_dagster_tests.first_hour [--out docs/images]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from stsync_dagster.simulator import Simulator
from stsync_dagster_tests.screenshots import CHROMIUM, CHROMIUM_ARGS, DEFAULT_OUT, NUX_SEEN, VIEWPORT, Camera
from stsync_dagster_tests.test_ui_graphql import LAUNCH_RUN, DagsterDev, data_days, stsync_env

RUNS = "query Runs { runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }"


def terminal(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    stsync = Path(sys.executable).with_name("stsync")
    done = subprocess.run([str(stsync), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    print(f"$ stsync {' '.join(args)}  → exit {done.returncode}; stderr's first line: "
          f"{(done.stderr.splitlines() or [''])[0]}", flush=True)  # fmt: skip
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stsync_dagster_tests.first_hour", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} not found: apt-get install chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with Simulator(seed=7, scale=0.2).start() as sim, tempfile.TemporaryDirectory() as tmp:
        first_day, last_day = data_days(sim, ("materials",))
        env = stsync_env(sim, Path(tmp), first_day)
        home, work = Path(tmp) / "dagster_home", Path(tmp) / "work"
        work.mkdir()
        with DagsterDev(env, home) as dagster:
            dagster.graphql(NUX_SEEN)
            shell = {**os.environ, **env, "DAGSTER_HOME": str(home)}
            synced = terminal(["sync", "items", "--since", first_day, "--json"], shell, work)
            created = json.loads(synced.stdout)["assets"]["items"]["created"]
            prod_id = next(r["id"] for r in sim.records("prod", "materials"))
            selector = {"repositoryLocationName": dagster.location, "repositoryName": dagster.repository,
                        "pipelineName": "record_history"}  # fmt: skip
            launched = dagster.graphql(LAUNCH_RUN, executionParams={
                "selector": selector, "runConfigData": {"ops": {"history": {"config": {"kind": "items", "prod_id": prod_id}}}}
            })["launchRun"]  # fmt: skip
            history_run = launched["run"]["runId"]
            status = dagster.wait_for_run(history_run, timeout=120)
            runs = dagster.graphql(RUNS)["runsOrError"]["results"]
            print(f"the UI's runs: {[(r['jobName'], r['status']) for r in runs]}; items created from the terminal: "
                  f"{created}; record_history {status}", flush=True)  # fmt: skip
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    camera = Camera(browser.new_page(viewport=VIEWPORT), dagster.url, args.out)
                    camera.open("/runs", "record_history")
                    camera.shoot("first-hour-runs.png")
                    camera.open("/assets/items?view=partitions", "Materialized")
                    camera.shoot("first-hour-partitions.png")
                    camera.open(f"/runs/{history_run}", "Success")
                    camera.page.get_by_text("now", exact=True).first.wait_for(timeout=30_000)
                    camera.shoot("first-hour-history.png")
                finally:
                    browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
