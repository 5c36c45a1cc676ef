"""The `copy_records` job of the code location: ids in its config, run as the UI launches it (in process)."""

from __future__ import annotations

import dagster as dg
import pytest

from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster_tests.sync_helpers import pointed_at, sync_env


def _run(env, config: dict):
    from stsync_dagster.defs.copy import copy_job
    from stsync_dagster.defs.resources import build_resources
    from stsync_dagster.definitions import defs

    dg.Definitions.validate_loadable(defs)  # the code location loads, with the job the UI lists
    assert defs.resolve_job_def("copy_records") is not None
    with pointed_at(env), dg.DagsterInstance.ephemeral() as instance:
        return copy_job.execute_in_process(
            run_config={"ops": {"copy": {"config": config}}},
            resources=build_resources(),
            instance=instance,
            raise_on_error=False,
        )


def _output_metadata(result) -> dict:
    (event,) = [e for e in result.all_node_events if e.is_successful_output]
    return {k: getattr(v, "value", v) for k, v in event.step_output_data.metadata.items()}


def test_the_job_copies_the_ids_of_its_config_and_shows_its_writes(simulator, tmp_path):
    env = sync_env(simulator, tmp_path)
    ids = sorted(m["id"] for m in simulator.records("prod", "materials") if m.get("primaryVendor") is None)[:3]
    plan = _run(env, {"kind": "items", "ids": ids, "dry_run": True})
    assert plan.success and _output_metadata(plan)["created"] == 3 and simulator.records("int", "materials") == []
    result = _run(env, {"kind": "items", "ids": ids})
    assert result.success
    meta = _output_metadata(result)
    assert meta["created"] == 3 and meta["writes_total"] == 3
    assert sorted(r.data["prod_id"] for r in meta["writes"].records) == ids
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        assert sorted(crosswalk.int_ids("items", ids)) == ids
        assert all([w.action for w in crosswalk.history("items", i)] == ["created"] for i in ids)
    assert len(simulator.records("int", "materials")) == 3


def test_records_that_failed_fail_the_run_with_their_reasons(simulator, tmp_path):
    result = _run(sync_env(simulator, tmp_path), {"kind": "jobs", "ids": [999999999]})
    assert not result.success
    assert _output_metadata(result)["failed"] == 1  # the report is there all the same
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "jobs 999999999: id: not found in Production" in failure.step_failure_data.error.message


def test_bad_config_is_refused_before_the_run(simulator, tmp_path):
    env = sync_env(simulator, tmp_path)
    for config in ({"kind": "vendors", "ids": [1]}, {"kind": "items", "ids": ["x"]}, {"kind": "items"}):
        with pytest.raises(dg.DagsterInvalidConfigError):
            _run(env, config)
    empty = _run(env, {"kind": "items", "ids": []})
    (failure,) = [e for e in empty.all_events if e.is_step_failure]
    assert "ids: give at least one Production id" in failure.step_failure_data.error.message
    assert simulator.stats("prod")["requests"] == 0
