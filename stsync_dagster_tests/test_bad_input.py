"""Bad input gets a clear error and loses nothing (secrets: test_secrets.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from stsync_dagster.settings import DEFAULT_EXTERNAL_DATA_GUID as GUID
from stsync_dagster.simulator import Simulator
from stsync_dagster_tests.sync_helpers import KIND_OF, copied_ids, counts, sync, sync_env

REPO = Path(__file__).resolve().parents[1]
STSYNC = Path(sys.executable).parent / "stsync"
ENTITY_OF = {v: k for k, v in KIND_OF.items()}


def _issue_rows(rows: list[dict]) -> dict[int, tuple[str, str, str]]:
    """The issues table (one row per record not copied) by Production id."""
    return {row["prod_id"]: (row["outcome"], row["field"], row["reason"]) for row in rows}


def test_invalid_production_records_are_failed_with_their_field_and_the_rest_is_copied(tmp_path):
    with (
        Simulator(seed=31, scale=0.2, invalid_fraction=0.08).start() as sim,
        Simulator(seed=31, scale=0.2).start() as clean,
    ):
        corrupted = sim.corruptions
        assert len(corrupted) >= 9
        report = sync(sync_env(sim, tmp_path / "fuzz"))
        sync(sync_env(clean, tmp_path / "clean"))
        for (kind, prod_id), field in corrupted.items():
            rows = _issue_rows(report[ENTITY_OF[kind]]["issues"])
            assert prod_id in rows, (kind, prod_id, field)
            outcome, reported_field, reason = rows[prod_id]
            assert outcome == "failed" and reported_field == field, (kind, prod_id, field, rows[prod_id])
            assert reason
        # Everything else arrives as in a clean run.
        bad = {kind: {pid for (k, pid) in corrupted if k == kind} for kind in KIND_OF.values()}
        got, want = copied_ids(sim, GUID), copied_ids(clean, GUID)
        for kind in KIND_OF.values():
            assert got[kind] == want[kind] - bad[kind], kind
        assert sum(counts(r)["failed"] for r in report.values()) == len(corrupted)


def test_a_malformed_config_file_stops_before_any_request(tmp_path):
    with Simulator(seed=32, scale=0.05).start() as sim:
        bad = tmp_path / "broken.json"
        config = (REPO / "stsync.config.json").read_text()
        bad.write_text(config.replace('"natural_key": ["name"]', '"natural_key": "name"', 1))
        env = {**sync_env(sim, tmp_path), "STSYNC_CONFIG": str(bad)}
        done = _run(["sync", "all"], env, tmp_path)
        assert done.returncode == 2
        assert str(bad) in done.stderr and "master_data.vendors.natural_key" in done.stderr
        assert sim.stats("prod")["requests"] == 0 and sim.stats("int")["requests"] == 0


def test_a_malformed_dotenv_stops_before_any_request(tmp_path):
    with Simulator(seed=33, scale=0.05).start() as sim:
        env = sync_env(sim, tmp_path)
        lines = [f"{k}={v}" for k, v in env.items() if k != "ST_TENANT_ID_INT"] + ["ST_TENANT_ID_INT=twenty"]
        (tmp_path / ".env").write_text("\n".join(lines) + "\n")
        done = _run(["sync", "all"], {}, tmp_path)
        assert done.returncode == 2
        assert "ST_TENANT_ID_INT" in done.stderr and ".env" in done.stderr
        assert sim.stats("prod")["requests"] == 0 and sim.stats("int")["requests"] == 0


def _run(args, env, cwd):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_", "DAGSTER_HOME"))}
    return subprocess.run(
        [str(STSYNC), *args], env={**base, **env}, cwd=cwd, capture_output=True, text=True, timeout=600
    )
