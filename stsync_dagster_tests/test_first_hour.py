"""The first hour of a new user (issue 25, "noise and rough edges"): each rough edge, tried as a user meets it.
Real runs: the `stsync` command and the simulator as subprocesses, the simulator over loopback HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import httpx
import pytest


from stsync_dagster_tests.test_cli import STSYNC, cli_env, run  # noqa: F401 (cli_env: a fixture)

SIMULATOR = [sys.executable, "-m", "stsync_dagster.simulator"]


@pytest.fixture
def busy_port():
    """A port of 127.0.0.1 something else listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def _simulator(args: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*SIMULATOR, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


# -- 1. a busy simulator port ---------------------------------------------------------------------------------------


def test_a_busy_simulator_port_is_one_line_and_exit_code_2(busy_port, tmp_path):
    done = _simulator(["--port", str(busy_port), "--scale", "0.05", "--print-env"], tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""  # no ST_* block naming a port nobody serves
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert str(busy_port) in lines[0] and "already in use" in lines[0] and "--port" in lines[0]


def test_write_env_leaves_the_file_alone_when_the_port_is_busy(busy_port, tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("ST_API_BASE_PROD=http://127.0.0.1:1234/prod\n")
    done = _simulator(["--port", str(busy_port), "--scale", "0.05", "--write-env", str(dotenv)], tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"port {busy_port}" in done.stderr and "Traceback" not in done.stderr
    assert dotenv.read_text() == "ST_API_BASE_PROD=http://127.0.0.1:1234/prod\n"
    assert [p.name for p in tmp_path.iterdir()] == [".env"]  # nothing half-written beside it


def test_write_env_writes_the_block_once_the_port_is_bound_and_keeps_serving(tmp_path):
    assert "--write-env" in _simulator(["--help"], tmp_path).stdout
    dotenv = tmp_path / ".env"
    dotenv.write_text("stale\n")
    server = subprocess.Popen(
        [*SIMULATOR, "--port", "0", "--scale", "0.05", "--write-env", str(dotenv)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while dotenv.read_text() == "stale\n":
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "the .env was never written"
            time.sleep(0.1)
        env = dict(line.split("=", 1) for line in dotenv.read_text().splitlines())
        assert env["ST_API_BASE_INT"].endswith("/int") and env["ST_CLIENT_SECRET_PROD"]
        token = httpx.post(
            env["ST_AUTH_URL_PROD"],
            data={
                "grant_type": "client_credentials",
                "client_id": env["ST_CLIENT_ID_PROD"],
                "client_secret": env["ST_CLIENT_SECRET_PROD"],
            },
        )
        assert token.status_code == 200, token.text  # the file names the port it serves on
    finally:
        server.terminate()
        server.communicate(timeout=30)


# -- 2. master-data warnings once -----------------------------------------------------------------------------------

AMBIGUOUS = "spring tune-up mailer"  # a campaign name Integration holds twice (the simulator's, on purpose)
UNMATCHED = "gulf coast refrigerant supply"  # a vendor Integration lacks


def test_each_master_data_warning_is_said_once_per_run(cli_env, tmp_path):
    dry = run(["sync", "all", "--dry-run"], cli_env, tmp_path)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert dry.stderr.count(AMBIGUOUS) <= 1, dry.stderr  # four times: once for each step that matched it
    done = run(["sync", "all"], cli_env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.count(AMBIGUOUS) == 1 and done.stderr.count(UNMATCHED) == 1, done.stderr


def test_the_master_data_step_logs_each_warning_once_in_the_run_log(simulator, tmp_path):
    from stsync_dagster.defs.assets import master_assets
    from stsync_dagster.defs.resources import build_resources
    from stsync_dagster_tests.sync_helpers import pointed_at, sync_env

    with dg.instance_for_test() as instance, pointed_at(sync_env(simulator, tmp_path)):
        result = dg.materialize(master_assets, selection=["campaigns"], resources=build_resources(), instance=instance)
        assert result.success
        lines = [e.user_message for e in instance.all_logs(result.run_id) if not e.is_dagster_event]
    assert sum(AMBIGUOUS in line for line in lines) == 1, lines


# -- 3. a summary is INFO; a warning says what was left behind -------------------------------------------------------


def test_a_summary_is_info_and_a_warning_says_what_was_left_behind(cli_env, tmp_path):
    done = run(["sync", "all", "--json", "--log-format", "json", "--verbose"], cli_env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assets = json.loads(done.stdout)["assets"]
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    steps = [line for line in lines if line["logger"] == "dagster" and line.get("step_key") in assets]
    assert any(assets[entity]["blocked"] for entity in assets) and not all(assets[e]["blocked"] for e in assets)
    for entity, counts in assets.items():
        mine = [line for line in steps if line["step_key"] == entity]
        (summary,) = [line for line in mine if line["message"].startswith(f"{entity}: created ")]
        assert summary["level"] == "INFO", summary
        left = [line for line in mine if "left behind" in line["message"]]
        if counts["blocked"] or counts["failed"]:
            (warning,) = left
            assert warning["level"] == ("ERROR" if counts["failed"] else "WARNING"), warning
            assert f"{counts['blocked']} blocked" in warning["message"], warning
        else:
            assert not left, left


# -- 4. the demo leaves no folder behind -----------------------------------------------------------------------------


def _demo_env(tmp: Path) -> dict[str, str]:
    tmp.mkdir()
    return {"TMPDIR": str(tmp), "COLUMNS": "200"}


def test_the_demo_removes_its_folder_when_it_ends(tmp_path):
    env = _demo_env(tmp_path / "tmp")
    done = run(["demo", "--scale", "0.1"], env, tmp_path, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stsync-demo-" in done.stdout  # it said where its crosswalk was
    assert not list((tmp_path / "tmp").glob("stsync-demo-*"))


def test_the_demo_removes_its_folder_when_interrupted(tmp_path):
    env = _demo_env(tmp_path / "tmp")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_"))}
    demo = subprocess.Popen(
        [str(STSYNC), "demo", "--scale", "0.25"],
        env={**base, **env},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in demo.stdout:
            if line.startswith("stsync sync all"):  # the first sync is starting
                break
        assert list((tmp_path / "tmp").glob("stsync-demo-*"))
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 130, out + err
    assert "interrupted" in err and "Running the same sync again" not in out
    assert not list((tmp_path / "tmp").glob("stsync-demo-*"))


# -- 5. reconcile's counts, and nothing left deferred -----------------------------------------------------------------

RECONCILED = re.compile(
    r"^  items: (\d+) already mapped, (\d+) adopted by their mark, (\d+) adopted by natural key, "
    r"(\d+) not in Integration yet$",
    re.M,
)


def test_reconcile_counts_what_it_found_and_leaves_nothing_deferred(make_simulator, tmp_path):
    from stsync_dagster.sync.crosswalk import Crosswalk
    from stsync_dagster_tests.sync_helpers import sync_env

    sim = make_simulator(seed=7, scale=0.1, handmade_materials=3)  # 3 made by hand with Production codes
    env = sync_env(sim, tmp_path)
    handmade = {m["code"].strip().casefold() for m in sim.records("int", "materials")}
    ids = sorted(m["id"] for m in sim.records("prod", "materials") if m["code"].strip().casefold() not in handmade)
    copied = run(["copy", "items", *map(str, ids[:10]), "--json"], env, tmp_path)
    assert copied.returncode == 0, copied.stdout + copied.stderr
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        held = sorted(crosswalk.mapped("items"))  # what was copied (and what it pulled in)
        crosswalk.forget("items", held[-4:])  # copied, then the crosswalk forgot them: found again by their mark
    total = len(sim.records("prod", "materials"))
    missing = total - len(held) - 3

    done = run(["reconcile", "items"], env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (found,) = RECONCILED.findall(done.stdout)
    assert tuple(map(int, found)) == (len(held) - 4, 4, 3, missing), done.stdout  # it said "…, 0 already mapped"
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        assert crosswalk.issues(status="deferred") == []  # not unfinished work: a sync of their days creates them
    assert len(sim.records("int", "materials")) == len(held) + 3  # reconcile creates nothing

    again = run(["reconcile", "items"], env, tmp_path)  # a second one finds everything in place
    assert tuple(map(int, RECONCILED.findall(again.stdout)[0])) == (len(held) + 3, 0, 0, missing), again.stdout
    synced = json.loads(run(["sync", "items", "--json"], env, tmp_path).stdout)["assets"]["items"]
    assert (synced["created"], synced["adopted"], synced["deferred"]) == (missing, 0, 0)


# -- 7. a copy_records run is found by its ids ------------------------------------------------------------------------


def test_a_copy_run_is_tagged_with_its_kind_and_ids_and_found_by_them(simulator, tmp_path):
    from stsync_dagster.defs.copy import copy_job
    from stsync_dagster.defs.resources import build_resources
    from stsync_dagster_tests.sync_helpers import pointed_at, sync_env

    ids = sorted(m["id"] for m in simulator.records("prod", "materials"))[:2]
    config = {"ops": {"copy": {"config": {"kind": "items", "ids": [ids[1], ids[0], ids[1]]}}}}
    with pointed_at(sync_env(simulator, tmp_path)), dg.instance_for_test() as instance:
        result = copy_job.execute_in_process(run_config=config, resources=build_resources(), instance=instance)
        assert result.success
        value = f"{ids[0]},{ids[1]}"
        (found,) = instance.get_runs(dg.RunsFilter(tags={"stsync/ids": value}))  # the UI's run list filter
        assert found.run_id == result.run_id and found.tags["stsync/kind"] == "items"


def test_the_ids_tag_of_many_ids_is_cut_short_and_says_how_many_more():
    from stsync_dagster.defs.copy import copy_tags

    assert copy_tags("pos", [3, 1, 2, 1]) == {"stsync/kind": "pos", "stsync/ids": "1,2,3"}
    many = copy_tags("jobs", list(range(1_000_000, 1_000_100)))["stsync/ids"]
    shown = many.split(" ")[0].split(",")
    assert len(many) <= 200 and many.endswith(f"(+{100 - len(shown)} more)") and shown[0] == "1000000", many
    assert all(len(i) == 7 for i in shown)  # no id cut in the middle


# -- 6. a --since after today is refused -----------------------------------------------------------------------------


def _today() -> date:
    return datetime.now(timezone.utc).date()


@pytest.mark.parametrize("command", [["sync", "items"], ["sync", "all", "--dry-run"], ["demo"]])
def test_a_since_after_today_is_refused_in_one_line_naming_the_flag_and_today(command, cli_env, tmp_path):
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    done = run([*command, "--since", tomorrow], cli_env, tmp_path, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "--since" in line and tomorrow in line and _today().isoformat() in line, line
    assert not Path(cli_env["STSYNC_DB"]).exists()  # refused before anything ran


def test_a_since_of_today_is_accepted(cli_env, tmp_path):
    done = run(["sync", "items", "--since", _today().isoformat(), "--json"], cli_env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["assets"]["items"]["created"] == 0  # nothing was modified today


def test_a_run_config_since_after_today_fails_the_run_before_any_request(simulator, tmp_path):
    from stsync_dagster.defs.assets import master_assets, sync_assets
    from stsync_dagster.defs.resources import build_resources
    from stsync_dagster_tests.sync_helpers import pointed_at, sync_env

    tomorrow = (_today() + timedelta(days=1)).isoformat()
    simulator.reset_stats()
    with pointed_at(sync_env(simulator, tmp_path)):
        result = dg.materialize(
            [*master_assets, *sync_assets],
            selection=["items"],
            resources=build_resources(),
            partition_key=_today().isoformat(),
            run_config={"ops": {"items": {"config": {"since": tomorrow}}}},
            raise_on_error=False,
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data
    said = str(failure.error.message) + str(failure.user_failure_data)
    assert f"since {tomorrow} is after today ({_today().isoformat()}" in said, said
    assert simulator.stats("prod")["requests"] == 0


def test_a_missing_env_file_is_one_line_naming_the_folder_looked_in(tmp_path):
    stsync = Path(sys.executable).parent / "stsync"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_"))}
    done = subprocess.run([str(stsync), "sync", "items"], cwd=tmp_path, env={**env, "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"there is none in {tmp_path.resolve()}" in lines[0] and "ST_CLIENT_ID_PROD" in lines[0]
