"""Screenshots of the Dagster UI for the README, taken from a real run against the simulator.

    uv run --group docs python -m stsync_dagster_tests.screenshots [--out docs/images]

Starts the simulator and `dg dev` (as the GraphQL test does), materializes every asset (master data,
items, jobs, purchase orders) for one partition with `since` at the first day of data, then drives Debian's
Chromium (`apt-get install chromium`; Playwright's own browsers are not used) through Playwright and saves:

    asset-graph.png       the global asset lineage: master data, then items and jobs, then purchase orders
    materialization.png   the latest materialization of `pos`: its counts
    issues.png            the same materialization's table of records not copied, and why
    run.png               the run's event log for `items`: progress batch by batch, summary, blocked records
    checks.png            the asset checks of `pos` (when the code location defines checks)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from stsync_dagster.simulator import Simulator
from stsync_dagster_tests.test_ui_graphql import REPO_ROOT, DagsterDev, check_evaluations, data_days, stsync_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1600, "height": 1000}
DEFAULT_OUT = REPO_ROOT / "docs" / "images"
SYNC_ASSETS = ("items", "equipment", "jobs", "pos")
KINDS = ("materials", "jobs", "purchase-orders")
PAGE_SIZE = "20"  # small pages, so the run log shows several progress lines per asset

# The lineage opens with the `sync` group expanded and `master_data` collapsed into one box, laid out left to
# right: the whole story fits the window at a readable size. (Keys of the UI's own local storage.)
GRAPH_STORAGE = """
localStorage.setItem("asset-graph-direction", JSON.stringify("horizontal"));
localStorage.setItem("asset-graph-open-graph-nodes-global-__GLOBAL__", JSON.stringify({expanded: "global@global:sync"}));
"""

ASSET_KEYS = "query AssetKeys { assetNodes { assetKey { path } } }"
NUX_SEEN = "mutation NuxSeen { setNuxSeen }"  # no "Join the Dagster community" dialog over the screenshots


def materialize_everything(dagster: DagsterDev, sim: Simulator) -> str:
    """One run of every asset for the last day of data, `since` its first day; the run id."""
    first_day, last_day = data_days(sim, KINDS)
    assets = ["/".join(node["assetKey"]["path"]) for node in dagster.graphql(ASSET_KEYS)["assetNodes"]]
    sync_config = {"config": {"since": first_day, "limit": 0}}
    run_id = dagster.launch_assets(assets, last_day, {"ops": {name: sync_config for name in SYNC_ASSETS}})
    print(f"run {run_id}: {len(assets)} assets, partition {last_day}, since {first_day}", flush=True)
    status = dagster.wait_for_run(run_id, timeout=600)
    if status != "SUCCESS":
        raise SystemExit(f"run {run_id} ended {status}\n{dagster.log_tail()}")
    return run_id


class Camera:
    """One Chromium page on the Dagster UI, saving 1600x1000 PNGs into `out`."""

    def __init__(self, page, base_url: str, out: Path):
        self.page, self.base_url, self.out = page, base_url, out

    def open(self, path: str, *texts: str) -> None:
        """Go to a UI path and wait until it has loaded and shows every one of `texts`."""
        self.page.goto(self.base_url + path)
        self.settle()
        for text in texts:
            self.page.get_by_text(text).first.wait_for(state="visible", timeout=60_000)
        self.settle()

    def settle(self) -> None:
        try:  # the UI polls, so the network may never be idle for long: wait for it, but not forever
            self.page.wait_for_load_state("networkidle", timeout=10_000)
        except Exception:
            pass
        self.page.wait_for_timeout(1_000)  # let charts and graph layout finish animating

    def shoot(self, name: str) -> Path:
        path = self.out / name
        self.page.mouse.move(100, 650)  # park the pointer on the empty part of the navigation: no hover marks
        self.page.wait_for_timeout(300)
        self.page.screenshot(path=str(path))
        print(f"saved {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}", flush=True)
        return path


def take_screenshots(camera: Camera, run_id: str, has_checks: bool) -> list[Path]:
    page, saved = camera.page, []

    page.add_init_script(GRAPH_STORAGE)
    camera.open("/asset-groups", "Global asset lineage", "master_data", "pos", "jobs", "items")
    saved.append(camera.shoot("asset-graph.png"))

    camera.open("/assets/pos?view=events", "materialized in run", "created", "issue_groups")
    saved.append(camera.shoot("materialization.png"))

    # The records not copied: a table, shown in place (its header row has the column prod_id).
    header = page.get_by_text("prod_id", exact=True).first
    header.wait_for(timeout=30_000)
    header.scroll_into_view_if_needed()
    page.mouse.wheel(0, -120)  # the row's label too
    page.wait_for_timeout(500)
    saved.append(camera.shoot("issues.png"))

    camera.open(f"/runs/{run_id}", "Success", "STEP_SUCCESS")
    page.get_by_placeholder("Filter", exact=False).first.fill("step:items")
    page.keyboard.press("Enter")
    page.get_by_text("items: created").first.wait_for(timeout=30_000)  # the step's summary
    page.mouse.move(1000, 800)
    page.mouse.wheel(0, -50_000)  # the log follows its tail: scroll back to the step's start
    page.get_by_text('Started execution of step "items"').first.wait_for(timeout=30_000)
    saved.append(camera.shoot("run.png"))

    if has_checks:
        camera.open("/assets/pos?view=checks", "Latest execution")
        blocked = page.get_by_text("blocked_records")  # a warning: the records blocked, with the reasons
        if blocked.count():
            blocked.first.click()
            camera.settle()
        saved.append(camera.shoot("checks.png"))
    else:
        print("no asset checks ran: checks.png not taken", flush=True)
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stsync_dagster_tests.screenshots", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder of the PNGs (default {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=0.2)
    args = parser.parse_args(argv)

    if not CHROMIUM.exists():
        print(
            f"{CHROMIUM} not found: install Debian's Chromium (apt-get install chromium), then run again.",
            file=sys.stderr,
        )
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print(
            "Playwright is missing: run with `uv run --group docs python -m stsync_dagster_tests.screenshots`.",
            file=sys.stderr,
        )
        return 2

    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with Simulator(seed=args.seed, scale=args.scale).start() as sim, tempfile.TemporaryDirectory() as tmp:
        env = {**stsync_env(sim, Path(tmp), data_days(sim, KINDS)[0]), "ST_PAGE_SIZE": PAGE_SIZE}
        with DagsterDev(env, Path(tmp) / "dagster_home") as dagster:
            dagster.graphql(NUX_SEEN)
            run_id = materialize_everything(dagster, sim)
            has_checks = bool(check_evaluations(dagster.run_events(run_id)))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page(viewport=VIEWPORT)
                    take_screenshots(Camera(page, dagster.url, args.out), run_id, has_checks)
                finally:
                    browser.close()
    print(f"done in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
