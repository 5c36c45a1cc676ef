"""One `Definitions` for the UI and the command line: the command runs the code location's own jobs."""

import ast
from pathlib import Path

from stsync_dagster.definitions import defs
from stsync_dagster.defs.materialize import copy_in_process, materialize_sync
from stsync_dagster_tests.sync_helpers import pointed_at, sync_env

PACKAGE = Path(__file__).resolve().parents[1] / "stsync_dagster"


def test_only_definitions_py_builds_a_definitions_object():
    builders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", None)) == "Definitions"
            ):
                builders.append(str(path.relative_to(PACKAGE)))
    assert builders == ["defs/location.py"]


def test_the_command_runs_the_jobs_of_the_code_location(make_simulator, tmp_path):
    sim = make_simulator(seed=3, scale=0.05)
    with pointed_at(sync_env(sim, tmp_path)):
        runs = {
            "sync": materialize_sync(["items"], since=None),
            "dry run": materialize_sync(["items"], since=None, dry_run=True),
            "copy": copy_in_process("items", [sim.records("prod", "materials")[0]["id"]], dry_run=True),
        }
    for what, result in runs.items():
        assert result.success, what
        job = defs.resolve_job_def(result.dagster_run.job_name)  # raises when the code location has no such job
        assert set(
            result.job_def.nodes_in_topological_order and [n.name for n in result.job_def.nodes_in_topological_order]
        ) <= {n.name for n in job.nodes_in_topological_order}, what
    assert runs["sync"].dagster_run.job_name == defs.resolve_implicit_global_asset_job_def().name
    assert {k.to_user_string() for k in runs["sync"].dagster_run.asset_selection} == {"vendors", "categories", "items"}
