"""Promise 9: a value in Integration is overwritten only when STSync knows it wrote that value itself. Records
whose last STSync write is unknown (adopted after the crosswalk was lost, reconciled) are compared field by field
first: a difference is a conflict, reported with both values, until a person decides (`conflicts: overwrite`).
Real syncs (Dagster runs) against the simulator; the testers edit through the API; `reconcile` is the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stsync_dagster.servicetitan import IntegrationClient
from stsync_dagster.settings import load_settings
from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster_tests.conftest import REPO_ROOT
from stsync_dagster_tests.sync_helpers import sync, sync_env

MATERIALS = "/pricebook/v2/tenant/{tenant}/materials"


def _int_materials(sim) -> dict[int, dict]:
    return {r["id"]: r for r in sim.records("int", "materials")}


def _patches(sim) -> int:
    return sum(n for route, n in sim.stats("int")["by_route"].items() if route.startswith("PATCH"))


@pytest.fixture
def repriced(make_simulator, tmp_path):
    """Materials copied; then 10 repriced by testers in Integration (PATCH through the API); then the crosswalk
    lost. Returns (sim, env, {Integration id: the tester's price}, {Integration id: Production's price})."""
    sim = make_simulator(seed=11, scale=0.25)
    env = sync_env(sim, tmp_path)
    sync(env, ("items",))
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        mapped = sorted(crosswalk.mapped("items").items())
    prod = {r["id"]: r for r in sim.records("prod", "materials")}
    chosen = [(p, i) for p, (i, _) in mapped if prod[p]["active"]][:10]
    testers = {}
    with IntegrationClient.from_settings(load_settings(environ=env, dotenv_path=None)) as intc:
        for prod_id, int_id in chosen:
            testers[int_id] = round(prod[prod_id]["price"] + 7.25, 2)
            intc.patch(MATERIALS, int_id, {"price": testers[int_id]})
    assert {i: _int_materials(sim)[i]["price"] for i in testers} == testers
    db = Path(env["STSYNC_DB"])
    for path in db.parent.glob(db.name + "*"):
        path.unlink()  # the crosswalk lost
    return sim, env, testers, {i: prod[p]["price"] for p, i in chosen}


def _reconcile(env: dict, cwd) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_"))}
    done = subprocess.run(
        [sys.executable, "-m", "stsync_dagster.cli", "reconcile", "items"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("reconciled", [False, True], ids=["adopted-by-sync", "reconciled"])
def test_testers_edits_are_kept_and_reported_after_the_crosswalk_was_lost(repriced, tmp_path, reconciled):
    sim, env, testers, production = repriced
    if reconciled:
        sim.reset_stats()
        out = _reconcile(env, tmp_path)
        assert _patches(sim) == 0, (sim.stats("int")["by_route"], out)  # every copy carries its stamp: nothing to patch
        assert {i: _int_materials(sim)[i]["price"] for i in testers} == testers
    for attempt in (1, 2):  # each sync after the loss keeps them and reports them
        report = sync(env, ("items",))["items"]
        assert {i: _int_materials(sim)[i]["price"] for i in testers} == testers, attempt
        assert report["conflict"] == 10 and report["updated"] == 0, (attempt, report["conflict"], report["updated"])
        conflicts = [row for row in report["issues"] if row["outcome"] == "conflict"]
        assert len(conflicts) == 10
        for row in conflicts:  # both values in the reason: Production's, then Integration's
            int_id = next(i for i in testers if f"Integration {testers[i]}" in row["reason"])
            assert row["field"] == "price" and f"Production {production[int_id]}" in row["reason"], row
        if attempt == 2:  # the copies equal to Production were noted as STSync's on the first comparison
            assert report["compared"] == 10, report["compared"]


def test_with_conflicts_overwrite_the_testers_edits_are_replaced(repriced, tmp_path):
    sim, env, testers, production = repriced
    config = json.loads((REPO_ROOT / "stsync.config.json").read_text())
    config["updates"] = {"conflicts": "overwrite"}
    path = Path(tmp_path) / "overwrite.json"
    path.write_text(json.dumps(config))
    report = sync({**env, "STSYNC_CONFIG": str(path)}, ("items",))["items"]
    assert report["updated"] == 10 and report["conflict"] == 0
    assert {i: _int_materials(sim)[i]["price"] for i in testers} == production
    # Written by STSync now: the normal rule applies, and with the default config nothing is left to do.
    again = sync(env, ("items",))["items"]
    assert again["updated"] == again["conflict"] == again["compared"] == 0
