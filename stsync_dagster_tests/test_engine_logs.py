"""The engine's log lines (Python loggers `stsync.*`) reach the run's event log, as the UI shows it: at their level,
masked, from the engine's worker threads too, never after the step ended; and the command prints each once."""

import logging
import threading

import dagster as dg

from stsync_dagster.defs.assets import master_assets, sync_assets
from stsync_dagster.defs.logs import engine_logs
from stsync_dagster.defs.resources import build_resources
from stsync_dagster.servicetitan.redact import Redactor
from stsync_dagster_tests.sync_helpers import pointed_at, sync_env
from stsync_dagster_tests.test_cli import run as stsync
from stsync_dagster_tests.test_window_complete import day_of_50  # noqa: F401 (a fixture)

SECRET = "hunter2-not-for-logs"


def _logs(instance, run_id) -> list:
    """(step, level, message) of the run's log lines (not its Dagster events)."""
    return [(e.step_key, e.level, e.user_message) for e in instance.all_logs(run_id) if not e.is_dagster_event]


def test_what_the_engine_logs_while_a_window_moves_is_in_the_run_log_at_its_level(day_of_50, tmp_path):
    sim, day, _on_day = day_of_50
    sim.set_faults(live_edits=3, live_edit_limit=12, live_edit_lists=("prod/materials",))
    env = sync_env(sim, tmp_path, ST_PAGE_SIZE="10")
    with dg.instance_for_test() as instance, pointed_at(env):
        result = dg.materialize(
            [*master_assets, *sync_assets],
            selection=["vendors", "categories", "items"],
            resources=build_resources(),
            partition_key=day,
            instance=instance,
            run_config={"ops": {"items": {"config": {"since": "", "limit": 0}}}},
        )
        assert result.success
        logs = _logs(instance, result.run_id)
    items = [(level, message) for step, level, message in logs if step == "items"]
    assert any(
        level == logging.INFO and "the window changed while it was read" in message for level, message in items
    ), items
    assert any(level == logging.INFO and message.startswith("items: reading ") for level, message in items), items
    assert sum("the window changed while it was read" in message for _s, _l, message in logs) == sum(
        "the window changed while it was read" in message for _l, message in items
    )  # in its step's log, once
    assert not any(
        env["ST_CLIENT_SECRET_PROD"] in message or env["ST_CLIENT_SECRET_INT"] in message for *_x, message in logs
    )
    assert logging.getLogger("stsync").level == logging.NOTSET  # as it was: raised to INFO for the step alone


def test_lines_are_masked_and_forwarded_from_worker_threads_and_never_after_the_step(tmp_path):
    engine = logging.getLogger("stsync.sync")
    late = threading.Event()

    def after_the_step():
        late.wait(10)
        engine.warning("a line after the step ended")

    straggler = threading.Thread(target=after_the_step)

    @dg.asset
    def logs_lines(context: dg.AssetExecutionContext) -> None:
        with engine_logs(context, Redactor([SECRET])):
            engine.info("from the step: %s", SECRET)
            worker = threading.Thread(target=lambda: logging.getLogger("stsync.servicetitan").error("from a worker"))
            worker.start()
            worker.join()
            logging.getLogger("other.library").warning("not the engine's")
            straggler.start()

    with dg.instance_for_test() as instance:
        result = dg.materialize([logs_lines], instance=instance)
        late.set()
        straggler.join()
        logs = _logs(instance, result.run_id)
    lines = {(level, message) for _step, level, message in logs}
    assert (logging.INFO, "from the step: ***") in lines
    assert (logging.ERROR, "from a worker") in lines
    assert not any(SECRET in m or "after the step" in m or "not the engine's" in m for _l, m in lines), lines


def test_the_command_prints_an_engine_line_once_and_its_info_lines_only_when_verbose(simulator, tmp_path):
    env = sync_env(simulator, tmp_path)
    verbose = stsync(["sync", "items", "--verbose"], env, tmp_path)
    assert verbose.returncode == 0, verbose.stderr[-3000:]
    assert verbose.stderr.count("items: reading ") == 1, verbose.stderr[-3000:]
    quiet = stsync(["sync", "items"], env, tmp_path)
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert "items: reading " not in quiet.stderr
