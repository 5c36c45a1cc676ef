"""One state for the UI and the command line: with DAGSTER_HOME set, `stsync` records its runs in that instance.

The commands run as a user runs them (subprocesses, the simulator on loopback); the instance is then opened as the
UI opens it (`dg.DagsterInstance.from_config` on the folder) and read: the run, its materialization for today's
partition, its check evaluations, and the UI's own GraphQL answers about them. Without DAGSTER_HOME: see
test_cli.test_sync_runs_in_memory_without_a_dagster_home.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pytest
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

from stsync_dagster.defs.assets import needed_master_data
from stsync_dagster.defs.copy import COPY_JOB
from stsync_dagster.defs.location import build_defs
from stsync_dagster.defs.plan import PLAN_JOB
from stsync_dagster_tests.sync_helpers import pointed_at
from stsync_dagster_tests.test_cli import REPO, STSYNC, cli_env, run  # noqa: F401 (cli_env: a fixture)

ASSET_JOB = "__ASSET_JOB"  # the implicit asset job: what the UI's Materialize launches, and `stsync sync`

UI_QUERY = """
query OneState($key: AssetKeyInput!, $partition: String!) {
  assetOrError(assetKey: $key) {
    __typename
    ... on Asset { assetMaterializations(partitions: [$partition]) { partition runId } }
  }
  assetNodeOrError(assetKey: $key) {
    __typename
    ... on AssetNode { partitionStats { numMaterialized } }
  }
  runsOrError {
    __typename
    ... on Runs { results { runId jobName status } }
  }
}
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh DAGSTER_HOME as `dg dev` would make it: an empty folder, no dagster.yaml (Dagster's defaults:
    SQLite files under it)."""
    folder = tmp_path / "dagster_home"
    folder.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(folder))  # the subprocesses inherit it (test_cli.run keeps it)
    return folder


def today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


def said(done: subprocess.CompletedProcess, home: Path) -> None:
    """The command succeeded and said first, on stderr, where its runs go; stdout holds only the JSON report."""
    assert done.returncode == 0, done.stdout + done.stderr
    line = f"runs recorded in the Dagster instance at {home} (DAGSTER_HOME): the UI shows them"
    assert done.stderr.splitlines()[0] == line, done.stderr
    assert "telemetry" not in done.stdout.lower()
    json.loads(done.stdout)  # nothing else on stdout


def check_names(asset: str) -> set[str]:
    graph = build_defs().resolve_asset_graph()
    return {key.name for key in graph.asset_check_keys if key.asset_key == dg.AssetKey(asset)}


def test_a_sync_is_a_run_of_the_uis_instance_with_its_partition_and_checks(cli_env, home, tmp_path):
    done = run(["sync", "items", "--json"], cli_env, tmp_path)
    said(done, home)
    report = json.loads(done.stdout)["assets"]["items"]
    assert report["created"] > 5

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert [(r.job_name, r.status) for r in runs] == [(ASSET_JOB, dg.DagsterRunStatus.SUCCESS)]
        run_id = runs[0].run_id
        assert runs[0].tags.get("dagster/partition") == today()

        items = dg.AssetKey("items")
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=items, asset_partitions=[today()]), limit=10
        ).records
        assert [r.run_id for r in records] == [run_id]
        materialization = records[0].asset_materialization
        assert materialization.partition == today()
        assert materialization.metadata["created"].value == report["created"]  # the run the terminal reported
        assert today() in instance.get_materialized_partitions(items)  # the UI's partition status reads this
        for kind in needed_master_data(["items"]):  # matched first, in the same run
            assert [r.run_id for r in instance.fetch_materializations(dg.AssetKey(kind), limit=10).records] == [run_id]

        evaluations = [
            e.dagster_event.event_specific_data
            for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        ]
        of_items = {e.check_name: e for e in evaluations if e.asset_key == items}
        assert set(of_items) == check_names("items") and len(of_items) >= 5
        assert all(e.target_materialization_data.run_id == run_id for e in of_items.values())

        # What the UI shows, asked as the UI asks (GraphQL against the code location, as `dg dev` loads it).
        with pointed_at(cli_env), define_out_of_process_context(str(REPO / "workspace.yaml"), None, instance) as ctx:
            answer = execute_dagster_graphql(ctx, UI_QUERY, {"key": {"path": ["items"]}, "partition": today()})
    assert not answer.errors, answer.errors
    assert answer.data["assetOrError"]["assetMaterializations"] == [{"partition": today(), "runId": run_id}]
    assert answer.data["assetNodeOrError"]["partitionStats"]["numMaterialized"] == 1
    assert answer.data["runsOrError"]["results"] == [{"runId": run_id, "jobName": ASSET_JOB, "status": "SUCCESS"}]


def test_a_dry_run_and_a_copy_are_runs_of_their_jobs(cli_env, home, tmp_path, simulator):
    dry = run(["sync", "items", "--dry-run", "--json"], cli_env, tmp_path)
    said(dry, home)
    prod_id = simulator.records("prod", "materials")[0]["id"]
    copy = run(["copy", "items", str(prod_id), "--dry-run", "--json", "--log-format", "json"], cli_env, tmp_path)
    assert copy.returncode == 0, copy.stdout + copy.stderr
    first = json.loads(copy.stderr.splitlines()[0])  # with --log-format json, the line is a JSON object too
    assert first["message"].startswith(f"runs recorded in the Dagster instance at {home}") and first["level"] == "INFO"

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = {r.job_name: r for r in instance.get_runs()}
        assert set(runs) == {PLAN_JOB, COPY_JOB}
        assert {r.status for r in runs.values()} == {dg.DagsterRunStatus.SUCCESS}
        plan = runs[PLAN_JOB].run_id
        assert instance.all_logs(plan, of_type=dg.DagsterEventType.ASSET_OBSERVATION)  # the plan, observed
        # An observation, never a materialization of the partition (a dry run writes nothing).
        assert instance.fetch_materializations(dg.AssetKey("items"), limit=10).records == []
        assert instance.get_materialized_partitions(dg.AssetKey("items")) == set()


def test_two_syncs_started_together_on_one_fresh_home_both_succeed(cli_env, home, tmp_path):
    """Both open the instance when its SQLite files do not exist yet: Dagster's first opening is not safe from two
    processes at once (the folder would be left with two schema versions), so `stsync` serializes the opening."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_"))}
    procs = [
        subprocess.Popen(
            [str(STSYNC), "sync", entity, "--json"],
            env={**base, **cli_env},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for entity in ("items", "pos")
    ]
    done = [subprocess.CompletedProcess(p.args, p.wait(timeout=600), *p.communicate()) for p in procs]
    for each in done:
        said(each, home)
        assert json.loads(each.stdout)["success"]
    with dg.DagsterInstance.from_config(str(home)) as instance:  # still opens: one schema version
        runs = instance.get_runs()
        assert len(runs) == 2 and {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
        assert {r.run_id for r in runs} == {r.run_id for r in instance.get_runs(dg.RunsFilter(job_name=ASSET_JOB))}
        for entity in ("items", "pos"):
            assert today() in instance.get_materialized_partitions(dg.AssetKey(entity))


OPEN_AND_RUN = """
import sys
from pathlib import Path
import dagster as dg
from stsync_dagster.defs.materialize import run_instance

@dg.asset
def touched():
    return 1

with run_instance(Path(sys.argv[1])) as instance:
    assert dg.materialize([touched], instance=instance).success
"""


def test_the_instance_opened_by_several_processes_at_once_stays_usable(tmp_path):
    """The opening itself, raced harder than two syncs race it: four processes on each of three fresh homes.
    (Without the lock, about one home in three is left with two schema versions.)"""
    for attempt in range(3):
        folder = tmp_path / f"home{attempt}"
        folder.mkdir()
        procs = [
            subprocess.Popen([sys.executable, "-c", OPEN_AND_RUN, str(folder)], stderr=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        errors = [p.communicate(timeout=300)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, "\n".join(errors)
        assert not any("No dagster instance configuration file" in e for e in errors)  # said once by `dg dev`
        with dg.DagsterInstance.from_config(str(folder)) as instance:
            assert len(instance.get_runs()) == 4


def test_an_instance_that_cannot_be_opened_is_one_line_naming_dagster_home(cli_env, home, tmp_path, monkeypatch):
    """A dagster.yaml whose PostgreSQL storage reads variables that are not set (the deployment's file, on a machine
    without its environment): exit 2, one line naming them, no traceback, nothing written."""
    for name in [name for name in os.environ if name.startswith("DAGSTER_PG_")]:
        monkeypatch.delenv(name)
    (home / "dagster.yaml").write_text((REPO / "deploy" / "dagster.yaml").read_text())
    done = run(["sync", "items", "--dry-run", "--json"], cli_env, tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    error = done.stderr.splitlines()[-1]
    assert error.startswith(f"stsync: DAGSTER_HOME: the Dagster instance at {home} cannot be opened (its "), error
    assert "DAGSTER_PG_HOST" in error and "DAGSTER_PG_PASSWORD" in error and error.endswith("in memory"), error
    assert list(home.iterdir()) == [home / "dagster.yaml"]
