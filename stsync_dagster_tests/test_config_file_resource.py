"""stsync.config.json is a resource: the steps use the file it names (STSYNC_CONFIG, as a dg.EnvVar), read once per
run, so an edit while a run goes on changes nothing halfway."""

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg

from stsync_dagster.definitions import defs
from stsync_dagster.defs.assets import master_assets, sync_assets
from stsync_dagster.defs.config_file import ConfigFileResource
from stsync_dagster.defs.resources import build_resources
from stsync_dagster_tests.sync_helpers import pointed_at, sync_env

REPO = Path(__file__).resolve().parents[1]
SELECTION = ["vendors", "categories", "items"]


def _materialize(env: dict, extra_assets=(), **resources):
    day = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%d")
    with pointed_at(env):
        return dg.materialize(
            [*master_assets, *sync_assets, *extra_assets],
            selection=[*SELECTION, *(a.key.to_user_string() for a in extra_assets)],
            resources={**build_resources(), **resources},
            partition_key=day,
            raise_on_error=False,
            run_config={"ops": {"items": {"config": {"since": env["STSYNC_START_DATE"], "limit": 5}}}},
        )


def test_the_code_location_reads_the_path_from_stsync_config_when_the_run_starts(tmp_path):
    with pointed_at({"STSYNC_CONFIG": str(tmp_path / "mine.json")}):
        from stsync_dagster.defs.location import build_defs

        resource = build_defs().resources["config_file"]
    assert isinstance(resource, ConfigFileResource) and resource.path == dg.EnvVar("STSYNC_CONFIG")
    assert "config_file" in defs.resources


def test_the_steps_use_the_file_the_resource_names(make_simulator, tmp_path):
    sim = make_simulator(seed=11, scale=0.05)
    env = sync_env(sim, tmp_path, STSYNC_CONFIG=str(tmp_path / "absent.json"))
    result = _materialize(env, config_file=ConfigFileResource(path=str(REPO / "stsync.config.json")))
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert result.asset_materializations_for_node("items")


def test_a_config_file_edited_during_a_run_changes_nothing_halfway(make_simulator, tmp_path):
    sim = make_simulator(seed=11, scale=0.05)
    config = tmp_path / "stsync.config.json"
    shutil.copy(REPO / "stsync.config.json", config)

    @dg.asset(deps=["vendors"], op_tags={"dagster/priority": "10"})  # after the master data, before items
    def someone_edits_the_config() -> None:
        config.write_text("{ half-written", encoding="utf-8")

    result = _materialize(sync_env(sim, tmp_path, STSYNC_CONFIG=str(config)), [someone_edits_the_config])
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    order = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
    assert order.index("someone_edits_the_config") < order.index("items")
