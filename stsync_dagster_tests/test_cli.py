"""The `stsync` command as a user runs it: a subprocess, the simulator on a loopback port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STSYNC = Path(sys.executable).parent / "stsync"


def run(args, env, cwd, timeout=300):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_"))}
    return subprocess.run(
        [str(STSYNC), *args], env={**base, **env}, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def cli_env(simulator, tmp_path):
    return {
        **simulator.env(),
        "STSYNC_DB": str(tmp_path / "crosswalk.sqlite3"),
        "STSYNC_CONFIG": str(REPO / "stsync.config.json"),
    }


def test_verify_passes_against_the_simulator(cli_env, tmp_path):
    done = run(["verify"], cli_env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all checks passed" in done.stdout
    assert "Production: token and one API call" in done.stdout


def test_verify_names_a_missing_variable(cli_env, tmp_path):
    env = dict(cli_env)
    del env["ST_CLIENT_SECRET_INT"]
    done = run(["verify"], env, tmp_path)
    assert done.returncode != 0
    assert "ST_CLIENT_SECRET_INT" in done.stdout


def test_verify_reports_bad_credentials_without_the_secret(cli_env, tmp_path):
    env = {**cli_env, "ST_CLIENT_SECRET_PROD": "wrong-secret-value-123"}
    done = run(["verify"], env, tmp_path)
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "[FAIL] Production" in out
    assert "ST_CLIENT_ID_PROD" in out or "credentials" in out.lower() or "invalid_client" in out
    assert "wrong-secret-value-123" not in out
    assert "[ok] Integration" in out


def test_verify_reports_an_unreachable_host(cli_env, tmp_path):
    env = {
        **cli_env,
        "ST_AUTH_URL_INT": "http://127.0.0.1:9/int/connect/token",
        "ST_API_BASE_INT": "http://127.0.0.1:9/int",
    }
    done = run(["verify"], env, tmp_path, timeout=600)
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "[FAIL] Integration" in out
    assert "127.0.0.1:9" in out


def test_verify_reads_a_dotenv_file(cli_env, tmp_path):
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in cli_env.items()))
    done = run(["verify"], {}, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_sync_prints_a_summary_and_honours_limit_and_dry_run(cli_env, tmp_path, simulator):
    dry = run(["sync", "items", "--dry-run"], cli_env, tmp_path)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert _table_row(dry.stdout, "would be") == ["items"] and int(_table_row(dry.stdout, "created")[0]) > 5
    assert simulator.records("int", "materials") == []
    done = run(["sync", "items", "--limit", "5", "--json"], cli_env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)  # nothing else on stdout
    assert report["success"] and report["assets"]["items"]["created"] == 5
    assert len(simulator.records("int", "materials")) == 5
    assert {w["action"] for w in report["assets"]["items"]["writes"]} == {"created"}


def _table_row(stdout: str, name: str) -> list[str]:
    """The cells of a row of the report's table (drawn with box characters) after its name."""
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").replace("┃", "│").split("│")]
        if cells[0] == name:
            return cells[1:]
    raise AssertionError(f"no row {name!r} in:\n{stdout}")


def test_sync_runs_in_memory_without_a_dagster_home(cli_env, tmp_path, monkeypatch):
    """No DAGSTER_HOME (or one that is no folder): the runs stay in memory, said in one line, and nothing is written
    anywhere: not the working folder, not the user's home (~/.dagster), not the temporary folder, not the folder
    DAGSTER_HOME names. (With a DAGSTER_HOME, see test_one_state.)"""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    sandbox = {name: tmp_path / name for name in ("work", "user", "tmp")}
    for folder in sandbox.values():
        folder.mkdir()
    env = {**cli_env, "HOME": str(sandbox["user"]), "TMPDIR": str(sandbox["tmp"]),
           "STSYNC_PACER_DIR": str(tmp_path / "pacer")}  # fmt: skip
    for extra, said in (
        ({}, "runs kept in memory (set DAGSTER_HOME to the UI's to see them there)"),
        ({"DAGSTER_HOME": str(tmp_path / "home")}, f"runs kept in memory: DAGSTER_HOME '{tmp_path / 'home'}' is not"),
    ):
        done = run(["sync", "items", "--dry-run"], {**env, **extra}, sandbox["work"])
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stderr.splitlines()[0].startswith(said), done.stderr
        assert {name: list(folder.iterdir()) for name, folder in sandbox.items()} == {name: [] for name in sandbox}
        assert not (tmp_path / "home").exists()  # no instance folder anywhere
        assert "telemetry" not in (done.stdout + done.stderr).lower()


def test_sync_refuses_a_bad_since(cli_env, tmp_path):
    done = run(["sync", "items", "--since", "2026-13-40"], cli_env, tmp_path)
    assert done.returncode == 2
    assert "--since must be an ISO date" in done.stderr


def test_sync_refuses_an_integration_target_that_is_production(cli_env, tmp_path, simulator):
    env = {**cli_env, "ST_API_BASE_INT": cli_env["ST_API_BASE_PROD"], "ST_AUTH_URL_INT": cli_env["ST_AUTH_URL_PROD"]}
    done = run(["sync", "items"], env, tmp_path)
    assert done.returncode != 0
    assert "ST_API_BASE_INT" in done.stdout + done.stderr
    assert simulator.stats("prod")["by_route"].get("POST materials", 0) == 0


def _po_ids_with_jobs(simulator, count: int) -> list[int]:
    missing = {"Gulf Coast Refrigerant Supply"}
    vendors = {v["id"]: v["name"] for v in simulator.records("prod", "vendors")}
    return [p["id"] for p in simulator.records("prod", "purchase-orders")
            if p.get("jobId") and vendors.get(p["vendorId"]) not in missing][:count]  # fmt: skip


def test_copy_copies_given_records_with_what_they_need_once_and_history_tells_their_story(cli_env, tmp_path, simulator):
    ids = _po_ids_with_jobs(simulator, 20)
    done = run(["copy", "pos", *map(str, ids), "--json"], cli_env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    pos = json.loads(done.stdout)["assets"]["pos"]
    assert pos["created"] >= 1 and pos["created"] + pos["blocked"] == len(ids) and pos["failed"] == 0
    assert pos["pulled_in_items"] >= pos["created"]  # a PO's materials come with it
    assert len(simulator.records("int", "purchase-orders")) == pos["created"]
    assert len(simulator.records("int", "materials")) == pos["pulled_in_items"]  # nothing else was copied
    from stsync_dagster.sync.crosswalk import Crosswalk

    with Crosswalk(cli_env["STSYNC_DB"]) as crosswalk:
        copied = crosswalk.int_ids("pos", ids)
        jobs = crosswalk.int_ids(
            "jobs", [p["jobId"] for p in simulator.records("prod", "purchase-orders") if p["id"] in copied]
        )
    assert len(copied) == pos["created"] and jobs  # and the jobs of the copied POs
    again = run(["copy", "pos", *map(str, ids), "--json"], cli_env, tmp_path)
    assert json.loads(again.stdout)["assets"]["pos"]["created"] == 0  # never twice
    assert len(simulator.records("int", "purchase-orders")) == pos["created"]

    po = min(copied)
    story = run(["history", "pos", str(po)], cli_env, tmp_path)
    assert story.returncode == 0, story.stdout + story.stderr
    (row,) = [line for line in story.stdout.splitlines() if "│ created " in line]
    assert str(copied[po]) in row
    assert f"mapped to Integration {copied[po]}" in story.stdout
    told = json.loads(run(["history", "pos", str(po), "--json"], cli_env, tmp_path).stdout)
    assert [(w["action"], w["int_id"]) for w in told["writes"]] == [("created", copied[po])]
    line = next(p for p in simulator.records("prod", "purchase-orders") if p["id"] == po)["items"][0]["skuId"]
    material = run(["history", "items", str(line)], cli_env, tmp_path)
    assert "│ created " in material.stdout and "by the pos step" in material.stdout  # pulled in with its PO
    blocked = next(i for i in ids if i not in copied)
    waiting = run(["history", "pos", str(blocked)], cli_env, tmp_path)
    assert "written nothing" in waiting.stdout and "Not copied: blocked" in waiting.stdout


def test_copy_of_an_unknown_or_unmatched_record_says_why(cli_env, tmp_path, simulator):
    vendors = {v["id"]: v["name"] for v in simulator.records("prod", "vendors")}
    unmatched = next(p["id"] for p in simulator.records("prod", "purchase-orders")
                     if vendors.get(p["vendorId"]) == "Gulf Coast Refrigerant Supply")  # fmt: skip
    done = run(["copy", "pos", str(unmatched), "999999999"], cli_env, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert _table_row(done.stdout, "failed") == ["1"] and _table_row(done.stdout, "blocked") == ["1"]
    reasons = {
        g["reason"]
        for g in json.loads(run(["copy", "pos", str(unmatched), "999999999", "--json"], cli_env, tmp_path).stdout)[
            "assets"
        ]["pos"]["issue_groups"]
    }
    assert "not found in Production" in reasons and any("gulf coast refrigerant supply" in r for r in reasons)
    assert "Traceback" not in done.stderr and "Stack Trace" not in done.stderr
    assert simulator.records("int", "purchase-orders") == []


def test_json_report_and_json_logs_are_all_json(cli_env, tmp_path):
    done = run(["sync", "jobs", "--json", "--log-format", "json", "--verbose"], cli_env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["command"] == "sync" and report["exit_code"] == 0 and report["assets"]["jobs"]["created"] > 0
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]  # every line is an object
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    ours = [line for line in lines if line["logger"] == "dagster" and line.get("step_key") == "jobs"]
    assert ours and all(line["run_id"] for line in ours)  # Dagster's run log, in the same shape
    assert any(line["logger"].startswith("stsync.") for line in lines)


def test_history_of_a_crosswalk_that_does_not_exist_says_so_and_makes_none(cli_env, tmp_path):
    done = run(["history", "items", "1"], cli_env, tmp_path)
    assert done.returncode == 2 and "STSYNC_DB" in done.stderr and "no crosswalk there" in done.stderr
    assert not Path(cli_env["STSYNC_DB"]).exists()


def test_the_demo_copies_and_its_second_sync_writes_nothing(tmp_path):
    # The README's first command: the built-in simulator at its defaults (seed 7, scale 1). Its second sync
    # must find every copy as Production has it: no create, and no update (a job whose origin job was being
    # created by the batch in flight once went without its jobGeneratedLeadSource, then was patched here).
    done = run(["demo"], {"COLUMNS": "200"}, tmp_path, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    first, again = done.stdout.split("Running the same sync again")
    assert sum(int(n) for n in _table_row(first, "created")) > 500
    for row in ("created", "updated", "status_changed", "writes_total"):
        assert _table_row(again, row) == ["0"] * 4, again


def test_retry_all_tries_again_the_records_that_wait_for_their_backoff(make_simulator, tmp_path):
    sim = make_simulator(seed=5, scale=0.1, invalid_fraction=0.2)
    env = {**sim.env(), "STSYNC_DB": str(tmp_path / "cw.sqlite3"), "STSYNC_CONFIG": str(REPO / "stsync.config.json")}
    first = run(["sync", "items", "--json"], env, tmp_path)
    failed = json.loads(first.stdout)["assets"]["items"]["failed"]
    assert failed > 0, first.stdout
    # A window nothing is in (the simulator's data ends yesterday; a later day is refused): only the backlog can
    # bring records back.
    today = datetime.now(timezone.utc).date().isoformat()
    quiet = json.loads(run(["sync", "items", "--since", today, "--json"], env, tmp_path).stdout)
    assert quiet["assets"]["items"]["failed"] == 0
    forced = json.loads(run(["sync", "items", "--since", today, "--retry-all", "--json"], env, tmp_path).stdout)
    assert forced["assets"]["items"]["failed"] == failed


@pytest.mark.parametrize(
    "metadata, code",
    [
        ({"failed": 0, "deferred": 3, "unfinished": 0}, 0),  # deferred to another run, or by --limit
        ({"failed": 0, "deferred": 3, "unfinished": 1}, 1),  # one nobody else will finish: the exit code says so
        ({"failed": 2, "deferred": 0, "unfinished": 0}, 1),
    ],
)
def test_the_exit_code_says_when_records_are_left_unfinished(metadata, code, capsys):
    import argparse

    from stsync_dagster.commands.report import finish

    assert finish("sync", {"items": metadata}, [], argparse.Namespace(json=True)) == code
    assert json.loads(capsys.readouterr().out)["exit_code"] == code


def test_a_command_run_through_uv_prints_nothing_of_uv_s_own(tmp_path):
    """`uv run stsync …` is how the README runs every command: uv's own lines ("Bytecode compiled 4702 files",
    once printed by every command) are noise in front of the tool's output."""
    import os
    import shutil

    uv = shutil.which("uv")
    if uv is None:
        if os.environ.get("CI") == "true":
            pytest.fail("uv is not on PATH under CI")
        pytest.skip("uv is not on PATH")
    repo = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    for _ in range(2):  # the second run is every run after the first
        done = subprocess.run([uv, "run", "--frozen", "stsync", "--help"], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert "Bytecode compiled" not in done.stderr and "usage: stsync" in done.stdout, done.stderr
