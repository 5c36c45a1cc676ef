"""Shared fixtures: a simulated ServiceTitan on a loopback port, its environment, the OpenAPI documents."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from stsync_dagster.simulator import Simulator

REPO_ROOT = Path(__file__).resolve().parents[1]
OPENAPI_DIR = Path(__file__).resolve().parents[2] / "shared" / "servicetitan" / "openapi"

# The pacer's default folder is shared by every STSync process of the machine, whoever runs it; the
# simulators of this test session are no real tenant, so the session (and its subprocesses) keeps its own.
os.environ.setdefault("STSYNC_PACER_DIR", tempfile.mkdtemp(prefix="stsync-test-pacer-"))
# Nor does a test that forgets STSYNC_DB write into the user's own default crosswalk (~/.local/share/stsync).
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="stsync-test-data-")


@pytest.fixture
def simulator():
    """A fresh Simulator(seed=7, scale=0.25) on a free port, stopped after the test."""
    sim = Simulator(seed=7, scale=0.25).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def make_simulator():
    """make_simulator(**kwargs) -> a started Simulator; every one is stopped at teardown."""
    started: list[Simulator] = []

    def make(**kwargs) -> Simulator:
        sim = Simulator(**kwargs).start()
        started.append(sim)
        return sim

    try:
        yield make
    finally:
        for sim in started:
            sim.stop()


@pytest.fixture
def sim_env(simulator, tmp_path):
    """simulator.env() plus STSYNC_DB (a fresh SQLite file) and STSYNC_CONFIG (the repo's config)."""
    env = simulator.env()
    env["STSYNC_DB"] = str(tmp_path / "stsync.sqlite3")
    env["STSYNC_CONFIG"] = str(REPO_ROOT / "stsync.config.json")
    return env


def locate_openapi(path: Path = OPENAPI_DIR, environ=os.environ) -> Path:
    """The OpenAPI folder; skips the test when it is absent, fails it when absent on CI (CI=true)."""
    if not path.is_dir():
        message = f"OpenAPI documents not found at {path}"
        if environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def openapi_dir() -> Path:
    """The shared OpenAPI documents: skipped when absent, a failure when absent on CI."""
    return locate_openapi()
