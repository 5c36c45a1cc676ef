"""The deployment of deploy/dagster.yaml, for real: PostgreSQL storage, the daemon, pools, a backfill.

`dagster-webserver` and `dagster-daemon run` start as subprocesses on a fresh PostgreSQL database, with
DAGSTER_HOME holding deploy/dagster.yaml byte for byte (its connection values are `env:` references, given
here through the DAGSTER_PG_* variables, as the README tells operators to). The crosswalk lives in the same
database (STSYNC_DB=postgresql://…). A backfill of three days of `items`, `jobs` and `pos`, with the master
data they need, is launched through the webserver's GraphQL API as the UI does, and the daemon runs it.
Then: the backfill and every one of its runs succeeded; no two steps of one pool ever ran at once; nothing
was created twice in Integration; the crosswalk holds exactly the pairs Integration holds, none pending.

Skipped when PostgreSQL does not answer (a failure under CI=true), like the other PostgreSQL tests.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import httpx
import psycopg
import yaml
from sqlalchemy.engine import make_url

from stsync_dagster.settings import DEFAULT_EXTERNAL_DATA_GUID as GUID
from stsync_dagster.sync.stamps import marked_prod_id, stamped_prod_id
from stsync_dagster_tests import pg
from stsync_dagster_tests.sync_helpers import KIND_OF, _stamp_view, pointed_at, stamp_duplicates

REPO = Path(__file__).resolve().parents[1]
DEPLOY_YAML = REPO / "deploy" / "dagster.yaml"
BIN = Path(sys.executable).parent  # dagster-webserver and dagster-daemon of this environment

SYNC_ASSETS = ("items", "equipment", "jobs", "pos")
MASTER_ASSETS = (
    "vendors", "warehouses", "po_types", "business_units", "customers", "locations", "job_types", "campaigns",
    "technicians",
)  # fmt: skip
POOLS = {entity: f"stsync_{entity}" for entity in SYNC_ASSETS}
DAYS = 3
STARTUP_TIMEOUT_S = 120
BACKFILL_TIMEOUT_S = 360

# Steps in the run's own process instead of one process each (the default multiprocess executor): the same
# queue, pools and storage, minus a Python start per step, which is most of the time on a small machine.
# Pool slots are claimed from the instance by either executor. Nothing of the sync's own config is set.
RUN_CONFIG = {"execution": {"config": {"in_process": {}}}}

LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
  }
}
"""


# -- set-up helpers ----------------------------------------------------------------------------------------


def _days_with_data(sim, count: int = DAYS) -> list[str]:
    """The `count` consecutive days with the most records, each day having some and each kind some."""
    per_kind = {k: Counter(r["modifiedOn"][:10] for r in sim.records("prod", k)) for k in KIND_OF.values()}
    every_day = sorted(set().union(*per_kind.values()))
    first, last = dt.date.fromisoformat(every_day[0]), dt.date.fromisoformat(every_day[-1])
    best: tuple[int, list[str]] | None = None
    for offset in range((last - first).days + 1):
        days = [(first + dt.timedelta(offset + i)).isoformat() for i in range(count)]
        if not all(sum(c[d] for c in per_kind.values()) for d in days):
            continue
        if not all(sum(c[d] for d in days) for c in per_kind.values()):
            continue
        total = sum(c[d] for c in per_kind.values() for d in days)
        if best is None or total > best[0]:
            best = (total, days)
    assert best is not None, f"no {count} consecutive days with data in the simulator"
    return best[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _fresh_database() -> Iterator[str]:
    """A new database on the test server, yielded by name; dropped afterwards (its connections cut)."""
    pg.require()
    admin = pg.base_url()
    name = f"stsync_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (Linux /proc), so that code servers and run workers are stopped too."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM each process group we started (and every descendant), then SIGKILL what is left."""
    doomed: set[int] = set()
    for proc in procs:
        doomed.update(_descendants(proc.pid))
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
    for pid in doomed:  # a code server or run worker that left the group, or outlived its parent
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    answer = httpx.post(
        f"http://127.0.0.1:{port}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
    )
    answer.raise_for_status()
    body = answer.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


def _check_alive(procs: dict[str, subprocess.Popen], logs: dict[str, Path]) -> None:
    for name, proc in procs.items():
        assert proc.poll() is None, f"{name} exited with {proc.returncode}:\n{_tail(logs[name])}"


def _wait_for_webserver(port: int, procs: dict[str, subprocess.Popen], logs: dict[str, Path]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        _check_alive(procs, logs)
        try:
            if httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"dagster-webserver not up after {STARTUP_TIMEOUT_S}s:\n{_tail(logs['webserver'])}")


# -- reading the outcome -----------------------------------------------------------------------------------


def _step_intervals(instance: dg.DagsterInstance, run_ids: list[str]) -> dict[str, list[tuple[float, float, str]]]:
    """Per step key, (start, end, run id) of every execution: STEP_START to STEP_SUCCESS or STEP_FAILURE."""
    ends = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    intervals: dict[str, list[tuple[float, float, str]]] = {}
    for run_id in run_ids:
        started: dict[str, float] = {}
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None or entry.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                started[entry.step_key] = entry.timestamp
            elif event.event_type in ends:
                assert entry.step_key in started, f"{entry.step_key} ended without a start in run {run_id}"
                begin = started.pop(entry.step_key)
                intervals.setdefault(entry.step_key, []).append((begin, entry.timestamp, run_id))
        assert not started, f"steps started but never ended in run {run_id}: {sorted(started)}"
    return intervals


def _blocked_messages(instance: dg.DagsterInstance, run_ids: list[str]) -> Counter:
    """How often a step was told to wait for its pool ("Step blocked by limit for pool …"), per pool."""
    waits: Counter = Counter()
    for run_id in run_ids:
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
            message = entry.dagster_event.message or ""
            if "blocked by limit for pool" in message:
                waits[message.rsplit(" ", 1)[-1]] += 1
    return waits


def _failure_messages(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """What went wrong in a run: its failure events, with the end of each error's stack."""
    messages = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not (event.is_failure or event.event_type == dg.DagsterEventType.ENGINE_EVENT):
            continue
        error = getattr(event.event_specific_data, "error", None)
        if event.is_failure or error is not None:
            detail = error.to_string() if error is not None else ""
            messages.append(f"{entry.step_key or 'run'}: {event.message}\n{detail[-2000:]}")
    return messages


def _timeline(intervals: dict[str, list[tuple[float, float, str]]], runs: dict[str, tuple]) -> str:
    """Runs and steps, in seconds from the first step: for the assertion messages and `pytest -s`."""
    origin = min(begin for spans in intervals.values() for begin, _, _ in spans)
    lines = [f"run {run_id[:8]}: {begin - origin:6.1f} .. {end - origin:6.1f}" for run_id, (begin, end) in runs.items()]
    for step, spans in sorted(intervals.items()):
        shown = ", ".join(f"{run[:8]} {begin - origin:.1f}..{end - origin:.1f}" for begin, end, run in sorted(spans))
        lines.append(f"  {step}: {shown}")
    return "\n".join(lines)


def _integration_copies(sim, kind: str) -> dict[int, int]:
    """Production id -> Integration id of the records STSync created in Integration (by their stamp)."""
    copies: dict[int, int] = {}
    for record in sim.records("int", kind):
        if kind == "purchase-orders":
            prod_id = marked_prod_id(record.get("summary"))
        else:
            prod_id = stamped_prod_id(_stamp_view(record, GUID), GUID)
        if prod_id is not None:
            copies[prod_id] = int(record["id"])
    return copies


def _crosswalk_rows(database: str) -> list[tuple[str, int, int | None, str]]:
    url = make_url(pg.base_url()).set(database=database).render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT kind, prod_id, int_id, state FROM id_map").fetchall()


# -- the test ----------------------------------------------------------------------------------------------


def test_documented_deployment_runs_a_backfill_on_postgres(make_simulator, tmp_path):
    pg.require()
    documented = yaml.safe_load(DEPLOY_YAML.read_text())
    # The file the README documents: PostgreSQL from the environment only, the queue, a limit of 1 per pool.
    assert set(documented["storage"]["postgres"]["postgres_db"]) >= {"hostname", "port", "username", "db_name"}
    for key in ("hostname", "port", "username", "password", "db_name"):
        assert set(documented["storage"]["postgres"]["postgres_db"][key]) == {"env"}, f"{key} is not an env: ref"
    assert documented["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert documented["concurrency"]["pools"]["default_limit"] == 1

    sim = make_simulator(seed=7, scale=0.2)
    # Every API call takes 0.4 s: a run's steps then last long enough for the next run to start meanwhile (the
    # queue launches one run beyond the pools' limits), so that the pools have something to keep apart.
    sim.set_faults(latency_ms=400)
    days = _days_with_data(sim)
    start_date = min(r["modifiedOn"][:10] for k in KIND_OF.values() for r in sim.records("prod", k))
    assert days[-1] < dt.datetime.now(dt.UTC).date().isoformat(), "the simulator's days must be in the past"

    with _fresh_database() as database:
        server = make_url(pg.base_url())
        home = tmp_path / "dagster_home"
        home.mkdir()
        shutil.copyfile(DEPLOY_YAML, home / "dagster.yaml")  # the documented file itself
        pg_env = {
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_HOST": server.host or "127.0.0.1",
            "DAGSTER_PG_PORT": str(server.port or 5432),
            "DAGSTER_PG_USER": server.username or "postgres",
            "DAGSTER_PG_PASSWORD": server.password or "",
            "DAGSTER_PG_DB": database,
        }
        crosswalk_url = server.set(database=database).render_as_string(hide_password=False)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("ST_", "STSYNC_", "DAGSTER_"))  # nothing of the caller's setup leaks in
        }
        env.update(
            sim.env(),
            **pg_env,
            STSYNC_DB=crosswalk_url,
            STSYNC_CONFIG=str(REPO / "stsync.config.json"),
            STSYNC_START_DATE=start_date,
            STSYNC_PACER_DIR=str(tmp_path / "pacer"),
        )
        port = _free_port()
        logs = {"webserver": tmp_path / "webserver.log", "daemon": tmp_path / "daemon.log"}
        commands = {
            "webserver": [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            "daemon": [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        }
        procs: dict[str, subprocess.Popen] = {}

        def start(name: str) -> None:
            with open(logs[name], "wb") as log:
                procs[name] = subprocess.Popen(
                    commands[name], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )

        try:
            # As the README says: the pools' limits set once, explicitly (this also creates Dagster's tables).
            for pool in POOLS.values():
                done = subprocess.run(
                    [str(BIN / "dagster"), "instance", "concurrency", "set", pool, "1"],
                    cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
                )  # fmt: skip
                assert done.returncode == 0, done.stdout + done.stderr
            start("webserver")
            _wait_for_webserver(port, procs, logs)

            selection = [{"path": [name]} for name in (*MASTER_ASSETS, *SYNC_ASSETS)]
            params = {"partitionNames": days, "assetSelection": selection, "runConfigData": RUN_CONFIG}
            launched = _graphql(port, LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
            assert launched["__typename"] == "LaunchBackfillSuccess", launched
            backfill_id = launched["backfillId"]
            # The daemon only now: its backfill loop looks at storage when it starts, then every 30 s; started
            # first, it would most likely wait out a whole period before seeing the backfill.
            start("daemon")

            with pointed_at(pg_env), dg.DagsterInstance.from_config(str(home)) as instance:
                deadline = time.monotonic() + BACKFILL_TIMEOUT_S
                while True:
                    backfill = instance.get_backfill(backfill_id)
                    if backfill.status.value not in ("REQUESTED", "CANCELING", "FAILING"):  # still in progress
                        break
                    _check_alive(procs, logs)
                    assert time.monotonic() < deadline, (
                        f"backfill {backfill_id} not done after {BACKFILL_TIMEOUT_S}s:\n{_tail(logs['daemon'])}"
                    )
                    time.sleep(2)
                runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
                run_ids = [run.run_id for run in runs]
                failures = {
                    run.run_id: _failure_messages(instance, run.run_id)
                    for run in runs
                    if run.status != dg.DagsterRunStatus.SUCCESS
                }
                enqueued = {
                    entry.run_id
                    for run_id in run_ids
                    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_ENQUEUED)
                }
                intervals = _step_intervals(instance, run_ids)
                waits = _blocked_messages(instance, run_ids)
                spans_of_runs = {
                    record.dagster_run.run_id: (record.start_time, record.end_time)
                    for record in instance.get_run_records(filters=dg.RunsFilter(run_ids=run_ids))
                }
                limits = {
                    pool: (info.slot_count, info.limit, info.using_default_limit)
                    for pool in POOLS.values()
                    for info in [instance.event_log_storage.get_concurrency_info(pool)]
                }
                materialized = {
                    entity: set(instance.get_materialized_partitions(dg.AssetKey(entity))) for entity in SYNC_ASSETS
                }
                masters = [m for m in MASTER_ASSETS if not instance.get_latest_materialization_event(dg.AssetKey(m))]
        finally:
            _stop(list(procs.values()))
        rows = _crosswalk_rows(database)

    # The backfill and every run it made succeeded, each through the queue.
    report = "\n\n".join(f"run {run_id}:\n" + "\n".join(messages) for run_id, messages in failures.items())
    assert backfill.status.value == "COMPLETED_SUCCESS", f"backfill {backfill.status.value}\n{report}"
    assert not failures, report
    assert enqueued == set(run_ids)
    assert not masters, f"master data not materialized: {masters}"
    assert materialized == {entity: set(days) for entity in SYNC_ASSETS}

    # Pools: a limit of 1 each, and no two executions of one sync asset ever overlapped, across all runs...
    assert limits == {pool: (1, 1, False) for pool in POOLS.values()}  # slots, limit, not from default_limit
    timeline = _timeline(intervals, spans_of_runs)
    print(f"{timeline}\nsteps told to wait for their pool: {dict(waits)}")  # timing-dependent, often none
    for entity in SYNC_ASSETS:
        spans = sorted(intervals.get(entity, []))
        assert len(spans) == DAYS, f"{entity}: {len(spans)} executions\n{timeline}"
        for (_, end, run_a), (begin, _, run_b) in zip(spans, spans[1:]):
            assert begin >= end, f"{entity}: run {run_b} started while run {run_a} ran\n{timeline}"
    # ...while the sync runs themselves did overlap in time: the limits had something to keep apart.
    sync_runs = sorted(spans_of_runs[run_id] for run_id in {r for e in SYNC_ASSETS for _, _, r in intervals[e]})
    assert any(later[0] < earlier[1] for earlier, later in zip(sync_runs, sync_runs[1:])), timeline

    # Nothing created twice in Integration.
    assert not stamp_duplicates(sim, GUID)

    # The crosswalk on PostgreSQL: nothing pending, and exactly the pairs that Integration holds.
    assert not [row for row in rows if row[3] != "confirmed"], "pending rows left in the crosswalk"
    for entity, kind in KIND_OF.items():
        confirmed = {prod_id: int_id for k, prod_id, int_id, _ in rows if k == entity}
        existing = {int(r["id"]) for r in sim.records("int", kind)}
        assert set(confirmed.values()) <= existing, f"{entity}: crosswalk ids missing from Integration"
        assert confirmed == _integration_copies(sim, kind), entity
        assert confirmed, f"{entity}: nothing copied, the test proves nothing"
