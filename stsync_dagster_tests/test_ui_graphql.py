"""The path users take, for real: `dg dev` in a subprocess against the simulator, driven over GraphQL.

The test starts the simulator in process, `dg dev` as a subprocess (its own DAGSTER_HOME, a free port,
the simulator's ST_* variables), launches `vendors` + `items` for one partition through the `launchRun`
mutation, waits for the run, and reads the counts back from the run's event log.

`DagsterDev` is reused by `stsync_dagster_tests.screenshots`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKSPACE = REPO_ROOT / "workspace.yaml"
CONFIG = REPO_ROOT / "stsync.config.json"
ASSET_JOB = "__ASSET_JOB"  # the implicit job of every asset: what the UI's "Materialize" launches
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
COUNTS = ("created", "skipped", "blocked", "failed", "deferred")

# A minimal instance: the defaults of `dg dev` (SQLite storage under DAGSTER_HOME, the queued run
# coordinator dequeued by the daemon), without telemetry.
DAGSTER_YAML = "telemetry:\n  enabled: false\n"


def answer(operation: str, field: str, *cases: str) -> str:
    """A GraphQL document that asks for one field whose answer is a union: its `__typename`, then `... on` each
    case (a type and what to read of it)."""
    on = "".join(f"\n    ... on {case}" for case in cases)
    return f"{operation} {{\n  {field} {{\n    __typename{on}\n  }}\n}}\n"


WORKSPACE_QUERY = answer(
    "query Workspace",
    "workspaceOrError",
    """Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { name repositories { name } }
          ... on PythonError { message stack }
        }
      }
    }""",
    "PythonError { message }",
)

LAUNCH_RUN = answer(
    "mutation LaunchRun($executionParams: ExecutionParams!)",
    "launchRun(executionParams: $executionParams)",
    "LaunchRunSuccess { run { runId } }",
    "RunConfigValidationInvalid { errors { message path } }",
    "PythonError { message stack }",
    "Error { message }",
)

RUN_STATUS = answer(
    "query RunStatus($runId: ID!)", "runOrError(runId: $runId)", "Run { runId status }", "Error { message }"
)

RUN_EVENTS = answer(
    "query RunEvents($runId: ID!, $cursor: String)",
    "logsForRun(runId: $runId, afterCursor: $cursor, limit: 1000)",
    """EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on MessageEvent { message level }
        ... on StepEvent { stepKey }
        ... on MaterializationEvent {
          assetKey { path }
          partition
          metadataEntries {
            __typename
            label
            ... on IntMetadataEntry { intValue intRepr }
            ... on FloatMetadataEntry { floatValue }
            ... on BoolMetadataEntry { boolValue }
            ... on TextMetadataEntry { text }
            ... on MarkdownMetadataEntry { mdStr }
            ... on JsonMetadataEntry { jsonString }
            ... on TableMetadataEntry { table { records } }
          }
        }
        ... on ObservationEvent {
          assetKey { path }
          partition
          metadataEntries {
            __typename
            label
            ... on BoolMetadataEntry { boolValue }
            ... on TextMetadataEntry { text }
            ... on JsonMetadataEntry { jsonString }
            ... on TableMetadataEntry { table { records } }
          }
        }
        ... on AssetCheckEvaluationEvent {
          evaluation {
            checkName assetKey { path } success severity description
            metadataEntries { label ... on TableMetadataEntry { table { records } } }
          }
        }
        ... on ExecutionStepFailureEvent { error { message stack } }
        ... on RunFailureEvent { error { message } }
      }
    }""",
    "Error { message }",
)


# `dg dev` maps SIGTERM to its SIGINT handler; a process started in the background by a non-interactive
# shell inherits SIGINT ignored, and would then ignore both. Reset them, then exec `dg dev`.
EXEC_WITH_DEFAULT_SIGNALS = (
    "import os, signal, sys; "
    "signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "signal.signal(signal.SIGTERM, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def _signal_group(pgid: int, sig: int) -> bool:
    """Send a signal to a process group; False when no process is left in it."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def data_days(sim, kinds: Iterable[str] = ("materials",)) -> tuple[str, str]:
    """The first and last UTC day on which the simulator's Production records of these kinds were modified."""
    days = [r["modifiedOn"][:10] for kind in kinds for r in sim.records("prod", kind)]
    return min(days), max(days)


def stsync_env(sim, tmp: Path, start_date: str) -> dict[str, str]:
    """What a `dg dev` pointed at this simulator needs, beyond the inherited environment."""
    return {
        **sim.env(),
        "STSYNC_DB": str(tmp / "stsync.sqlite3"),
        "STSYNC_CONFIG": str(CONFIG),
        "STSYNC_START_DATE": start_date,
        "STSYNC_PACER_DIR": str(tmp / "pacer"),  # not shared with other STSync processes on the machine
    }


def metadata_value(entry: dict):
    for key in ("intValue", "floatValue", "boolValue", "text", "mdStr"):
        if key in entry:
            return entry[key]
    if "jsonString" in entry:
        return json.loads(entry["jsonString"])
    if "table" in entry:
        return [json.loads(record) for record in entry["table"]["records"]]
    return None


class DagsterDev:
    """`dg dev` as a subprocess, with its own DAGSTER_HOME and port, and a small GraphQL client for it.

    It runs in `home` (not the repository), so a developer's `.env` there, which `dg dev` would load over
    the given environment, cannot point the test elsewhere: the code location is named by the repository's
    `workspace.yaml` (`-w`), the same module as `[tool.dg]` in pyproject.toml.
    """

    def __init__(self, env: dict[str, str], home: Path, port: int | None = None):
        self.home = home
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "DAGSTER_HOME": str(home)}
        self.log_path = home / "dagster-dev.log"
        self.process: subprocess.Popen | None = None
        self.location: str | None = None
        self.repository: str | None = None
        self.http = httpx.Client(base_url=self.url, timeout=30)

    # -- process ------------------------------------------------------------------------------------------

    def start(self, timeout: float = 120) -> DagsterDev:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "dagster.yaml").write_text(DAGSTER_YAML)
        dg = Path(sys.executable).with_name("dg")
        command = [str(dg), "dev", "-w", str(WORKSPACE), "-h", "127.0.0.1", "-p", str(self.port)]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", EXEC_WITH_DEFAULT_SIGNALS, *command],
                cwd=self.home,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() can end every process it started
            )
        try:
            self._wait_until_loaded(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_loaded(self, timeout: float) -> None:
        """Until the webserver answers and the code location has loaded (or failed to: then raise)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"dg dev exited with {self.process.returncode}\n{self.log_tail()}")
            try:
                if self.http.get("/server_info").status_code == 200 and self._location_loaded():
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"dg dev not ready after {timeout:.0f} s\n{self.log_tail()}")
            time.sleep(0.5)

    def _location_loaded(self) -> bool:
        workspace = self.graphql(WORKSPACE_QUERY)["workspaceOrError"]
        if workspace["__typename"] != "Workspace":
            raise RuntimeError(f"workspace: {workspace}")
        for entry in workspace["locationEntries"]:
            if entry["loadStatus"] != "LOADED" or entry["locationOrLoadError"] is None:
                return False
            location = entry["locationOrLoadError"]
            if location["__typename"] == "PythonError":
                raise RuntimeError(f"code location {entry['name']} failed to load: {location['message']}")
            self.location, self.repository = location["name"], location["repositories"][0]["name"]
        return self.location is not None

    def stop(self, timeout: float = 30) -> None:
        """Stop `dg dev` as Ctrl+C does, then end whatever is left of its process group."""
        self.http.close()
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()  # dg dev asks its webserver and daemon to shut down, and waits
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if not _signal_group(self.process.pid, sig):
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                self.process.poll()  # reap the leader as soon as it exits, so the group can empty
                if not _signal_group(self.process.pid, 0):
                    break
                time.sleep(0.1)
        if self.process.poll() is None:
            self.process.wait(5)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> DagsterDev:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    # -- GraphQL ------------------------------------------------------------------------------------------

    def graphql(self, query: str, **variables) -> dict:
        answer = self.http.post("/graphql", json={"query": query, "variables": variables})
        answer.raise_for_status()
        body = answer.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def launch_assets(self, assets: Iterable[str], partition: str, run_config: dict) -> str:
        """Materialize these assets for one partition, as the UI's "Materialize" button does; the run id."""
        return self.launch_job(ASSET_JOB, partition, run_config, assets=assets)

    def launch_job(self, job: str, partition: str, run_config: dict, assets: Iterable[str] | None = None) -> str:
        """Launch a job (or the assets of the asset job) for one partition, as the Launchpad does; the run id."""
        result = self.try_launch(job, partition, run_config, assets)
        if result["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(f"launchRun answered {result}")
        return result["run"]["runId"]

    def try_launch(self, job: str, partition: str, run_config: dict, assets: Iterable[str] | None = None) -> dict:
        """The `launchRun` answer as it is: a run, or the reasons Dagster refused to launch it."""
        selector = {"repositoryLocationName": self.location, "repositoryName": self.repository, "pipelineName": job}
        if assets is not None:
            selector["assetSelection"] = [{"path": [name]} for name in assets]
        params = {
            "selector": selector,
            "runConfigData": run_config,
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
        }
        return self.graphql(LAUNCH_RUN, executionParams=params)["launchRun"]

    def wait_for_run(self, run_id: str, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while True:
            run = self.graphql(RUN_STATUS, runId=run_id)["runOrError"]
            if run["__typename"] != "Run":
                raise RuntimeError(f"run {run_id}: {run}")
            if run["status"] in FINISHED:
                return run["status"]
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {run['status']} after {timeout:.0f} s\n{self.log_tail()}")
            time.sleep(0.5)

    def run_events(self, run_id: str) -> list[dict]:
        """Every event of the run's event log, page by page."""
        events, cursor = [], None
        while True:
            page = self.graphql(RUN_EVENTS, runId=run_id, cursor=cursor)["logsForRun"]
            if page["__typename"] != "EventConnection":
                raise RuntimeError(f"run {run_id} events: {page}")
            events += page["events"]
            cursor = page["cursor"]
            if not page["hasMore"]:
                return events

    def materializations(self, run_id: str) -> dict[str, dict]:
        """The metadata of each asset materialized by the run, read from its event log: {asset: {label: value}}."""
        return self.materializations_from(self.run_events(run_id))

    @staticmethod
    def materializations_from(events: list[dict]) -> dict[str, dict]:
        return {
            "/".join(e["assetKey"]["path"]): {m["label"]: metadata_value(m) for m in e["metadataEntries"]}
            for e in events
            if e["__typename"] == "MaterializationEvent"
        }


def check_evaluations(events: list[dict]) -> list[dict]:
    """The asset check evaluations of a run: [{checkName, assetKey, success, severity, description}]."""
    return [e["evaluation"] for e in events if e["__typename"] == "AssetCheckEvaluationEvent"]


def failure_messages(events: list[dict]) -> list[str]:
    return [e["error"]["message"] for e in events if e.get("error")]


def test_materialize_items_through_graphql(make_simulator, tmp_path):
    sim = make_simulator(seed=7, scale=0.2)
    first_day, last_day = data_days(sim)
    env = stsync_env(sim, tmp_path, first_day)
    prod_materials = sim.records("prod", "materials")
    assert sim.records("int", "materials") == []

    with DagsterDev(env, tmp_path / "dagster_home") as dagster:
        run_id = dagster.launch_assets(
            ["vendors", "items"],
            partition=last_day,
            run_config={"ops": {"items": {"config": {"since": first_day, "limit": 0}}}},
        )
        status = dagster.wait_for_run(run_id)
        events = dagster.run_events(run_id)
        assert status == "SUCCESS", (failure_messages(events), dagster.log_tail())
        found = dagster.materializations(run_id)

    assert set(found) == {"vendors", "items"}
    items = found["items"]
    for label in (*COUNTS, "requests"):
        assert isinstance(items[label], int) and not isinstance(items[label], bool), (label, items[label])
    assert isinstance(items["seconds"], float)
    assert items["dry_run"] is False
    # What the UI shows is what happened in Integration.
    assert items["created"] == len(sim.records("int", "materials")) > 0
    assert sum(items[c] for c in COUNTS) == len(prod_materials)
    assert items["skipped"] == 0
    assert items["requests"] > 0
    assert found["vendors"]["matched"] > 0
    # Progress lines in the run log, page by page.
    assert any("records of the window done" in (e.get("message") or "") for e in events)
    # Nothing failed: no check of severity ERROR fails (blocked records are warnings: see test_ui_truth.py).
    failed_checks = [c for c in check_evaluations(events) if not c["success"] and c["severity"] == "ERROR"]
    assert failed_checks == []


@pytest.mark.parametrize("query", [WORKSPACE_QUERY, LAUNCH_RUN, RUN_STATUS, RUN_EVENTS])
def test_queries_match_the_installed_schema(query):
    """The documents above validate against dagster-graphql's schema, so a Dagster upgrade fails here first."""
    from dagster_graphql.schema import create_schema
    from graphql import parse, validate

    schema = create_schema().graphql_schema
    assert validate(schema, parse(query)) == []


def test_dg_check_defs_loads_the_project(tmp_path):
    """`dg check defs`, as CI runs it: the `[tool.dg]` project of pyproject.toml loads and its definitions are valid."""
    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML)
    dg = Path(sys.executable).with_name("dg")
    done = subprocess.run(
        [str(dg), "check", "defs"],
        cwd=REPO_ROOT,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr
