"""`stsync diff`: after a sync, Integration is reported in sync with Production (but for what is blocked, with the
crosswalk's reason); Production changes and tester edits are listed, each with its cause, its fields and both
values; a copy whose Production record was deleted is orphaned. Real syncs against the simulator over HTTP, SQLite
and PostgreSQL crosswalks; the command as a subprocess; the `diff` job and its threshold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from stsync_dagster.config import load_config
from stsync_dagster.errors import ConfigError
from stsync_dagster.servicetitan import IntegrationClient, ProductionClient
from stsync_dagster.settings import load_settings
from stsync_dagster.sync.crosswalk import Crosswalk, Entry
from stsync_dagster.sync.diff import diff
from stsync_dagster.sync.diff.causes import cause
from stsync_dagster.sync.crosswalk.history import Write
from stsync_dagster.sync.diff.report import (
    BOTH,
    EDITED_IN_INTEGRATION,
    HISTORY_UNKNOWN,
    NEITHER,
    PRODUCTION_CHANGED,
    UNDONE,
)
from stsync_dagster.sync.entities import HANDLERS
from stsync_dagster.sync.window import Window, window_including
from stsync_dagster_tests import pg
from stsync_dagster_tests.conftest import REPO_ROOT
from stsync_dagster_tests.sync_helpers import KIND_OF, pointed_at, sync, sync_env

KINDS = ("items", "equipment", "pos", "jobs")
EVERYTHING = Window(None, None)


def _diff(env: dict, kind: str, window: Window = EVERYTHING):
    with pointed_at(env):
        settings = load_settings(dotenv_path=None)
        config = load_config(env["STSYNC_CONFIG"])
        with (
            ProductionClient.from_settings(settings) as prod,
            IntegrationClient.from_settings(settings) as intc,
            Crosswalk(env["STSYNC_DB"]) as crosswalk,
        ):
            handler = HANDLERS[kind](config, settings.external_data_guid)
            return diff(handler, window, prod=prod, intc=intc, crosswalk=crosswalk, config=config)


@pytest.fixture(params=["sqlite", "postgresql"])
def synced(request, make_simulator, tmp_path):
    sim = make_simulator(seed=7, scale=0.25)
    if request.param == "sqlite":
        env = sync_env(sim, tmp_path)
        sync(env, KINDS)
        yield sim, env
        return
    with pg.fresh_schema() as url:
        env = sync_env(sim, tmp_path, STSYNC_DB=url)
        sync(env, KINDS)
        yield sim, env


def _mapped(env, kind) -> dict[int, int]:
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        return {p: i for p, (i, _) in crosswalk.mapped(kind).items()}


def _not_in_sync(report) -> dict[int, tuple]:
    return {
        r.prod_id: (r.state, r.cause, {d.field: (d.production, d.integration) for d in r.fields})
        for r in report.records
        if r.state not in ("in_sync", "blocked")
    }


def test_after_a_sync_every_kind_is_in_sync_but_for_what_is_blocked_and_says_why(synced):
    sim, env = synced
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        issues = {(i.kind, i.prod_id): i.reason for i in crosswalk.issues()}
    for kind in KINDS:
        report = _diff(env, kind)
        counts = report.counts()
        assert counts["differs"] == counts["missing"] == counts["orphaned"] == 0, (kind, report.as_json())
        assert counts["in_sync"] + counts["blocked"] == len(sim.records("prod", KIND_OF[kind])) == len(report.records)
        blocked = {r.prod_id: r.why for r in report.records if r.state == "blocked"}
        assert blocked == {p: why for (k, p), why in issues.items() if k == kind}
        assert report.differences() == 0
        # Pages and 50 ids a request: never a request per record.
        assert report.requests <= 10 + len(report.records) / 10, (kind, report.requests, len(report.records))
    assert _diff(env, "jobs").counts()["blocked"] > 0  # the demo tenant's jobs without counterparts


def test_production_changes_and_tester_edits_are_listed_each_with_its_cause_and_both_values(synced):
    sim, env = synced
    items, jobs = sorted(_mapped(env, "items").items()), sorted(_mapped(env, "jobs").items())
    (a, _), (b, b_int), (c, c_int) = items[:3]
    prod = {r["id"]: r for r in sim.records("prod", "materials")}
    prod_jobs = {r["id"]: r for r in sim.records("prod", "jobs")}
    j, k = [p for p, _ in jobs if prod_jobs[p]["jobStatus"] == "Scheduled"][:2]
    k_int = dict(jobs)[k]
    sim.advance_clock(60)  # a tester's edits come a while after the run, not within the clock's slack
    sim.change("prod", "materials", a, price=prod[a]["price"] + 10)
    sim.change("int", "materials", b_int, description="changed by a tester")
    sim.change("prod", "materials", c, cost=prod[c]["cost"] + 1)
    sim.change("int", "materials", c_int, displayName="tester's name")
    sim.change("prod", "jobs", j, jobStatus="Canceled")
    sim.change("int", "jobs", k_int, summary="tester's summary")

    assert _not_in_sync(_diff(env, "items")) == {
        a: ("differs", PRODUCTION_CHANGED, {"price": (prod[a]["price"] + 10, prod[a]["price"])}),
        b: ("differs", EDITED_IN_INTEGRATION, {"description": (prod[b]["description"], "changed by a tester")}),
        c: ("differs", BOTH, {"cost": (prod[c]["cost"] + 1, prod[c]["cost"]),
                              "displayName": (prod[c]["displayName"], "tester's name")}),
    }  # fmt: skip
    summary = prod_jobs[k]["summary"]
    assert _not_in_sync(_diff(env, "jobs")) == {
        j: ("differs", PRODUCTION_CHANGED, {"status": ("Canceled", "Open")}),
        k: ("differs", EDITED_IN_INTEGRATION, {"summary": (summary, "tester's summary")}),
    }
    assert _not_in_sync(_diff(env, "pos")) == {} and _not_in_sync(_diff(env, "equipment")) == {}
    sync(env, ("items", "jobs"))  # the Production changes are followed; the tester's edits are conflicts, left
    assert {p: r[1] for p, r in _not_in_sync(_diff(env, "items")).items()} == {b: EDITED_IN_INTEGRATION, c: BOTH}
    assert {p: r[1] for p, r in _not_in_sync(_diff(env, "jobs")).items()} == {k: EDITED_IN_INTEGRATION}


def test_a_copy_whose_production_record_is_gone_is_orphaned_and_a_lost_copy_missing(synced):
    sim, env = synced
    (gone, gone_int), (lost, lost_int) = sorted(_mapped(env, "items").items())[:2]
    sim.remove_records("prod", "materials", [gone])
    sim.remove_records("int", "materials", [lost_int])
    report = _diff(env, "items")
    assert [(o.prod_id, o.int_id, o.mapped) for o in report.orphans] == [(gone, gone_int, True)]
    assert _not_in_sync(report) == {lost: ("missing", None, {})}
    assert [r.why for r in report.records if r.prod_id == lost] == [
        f"mapped to Integration {lost_int}, which no longer holds it (refreshed? deleted?)"
    ]
    assert report.counts()["orphaned"] == 1 and report.differences() == 2
    # A windowed diff finds the orphan too: a deleted record has no modifiedOn left to fall in a window.
    today = window_including(datetime.now(UTC).date().isoformat(), None)
    assert [o.prod_id for o in _diff(env, "items", today).orphans] == [gone]


def test_the_window_takes_the_records_production_modified_in_it(synced):
    sim, env = synced
    days = sorted({r["modifiedOn"][:10] for r in sim.records("prod", "materials")})
    day = days[len(days) // 2]
    report = _diff(env, "items", window_including(day, day))
    assert {r.prod_id for r in report.records} == {
        r["id"] for r in sim.records("prod", "materials") if r["modifiedOn"][:10] == day
    }
    with pytest.raises(ValueError, match="--until .* is before --since"):
        window_including(days[1], days[0], ("--since", "--until"))


def _cli(env: dict, cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stsync_dagster.cli", "diff", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_the_command_prints_json_alone_on_stdout_and_a_table_otherwise(make_simulator, tmp_path):
    sim = make_simulator(seed=7, scale=0.25)
    env = sync_env(sim, tmp_path)
    sync(env, ("items",))
    (a, a_int) = sorted(_mapped(env, "items").items())[0]
    sim.advance_clock(60)
    sim.change("int", "materials", a_int, description="by hand")
    done = _cli(env, tmp_path, "items", "--json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    items = body["kinds"]["items"]
    assert items["counts"]["differs"] == 1 and items["causes"][EDITED_IN_INTEGRATION] == 1
    (record,) = items["records"]
    assert record["prod_id"] == a and record["int_id"] == a_int and record["cause"] == EDITED_IN_INTEGRATION
    assert record["fields"][0]["field"] == "description" and record["fields"][0]["integration"] == "by hand"
    table = _cli(env, tmp_path, "items")
    assert table.returncode == 0, table.stderr
    assert "differs" in table.stdout and "by hand" in table.stdout and str(a) in table.stdout
    wrong = _cli(env, tmp_path, "items", "--since", "2026-01-02", "--until", "2026-01-01")
    assert wrong.returncode == 2 and "before --since" in wrong.stderr and wrong.stdout == ""


def _job_run(env: dict, tmp_path, limit: int):
    import dagster as dg

    from stsync_dagster.defs.location import build_defs

    config = json.loads((REPO_ROOT / "stsync.config.json").read_text())
    config["diff"] = {"max_differences": limit}
    path = tmp_path / f"config-{limit}.json"
    path.write_text(json.dumps(config))
    with pointed_at({**env, "STSYNC_CONFIG": str(path)}), dg.DagsterInstance.ephemeral() as instance:
        job = build_defs().resolve_job_def("diff")
        result = job.execute_in_process(
            run_config={"ops": {"compare": {"config": {"kind": "items"}}}}, instance=instance, raise_on_error=False
        )
        (output,) = [e for e in result.all_node_events if e.is_successful_output]
        metadata = {k: getattr(v, "value", v) for k, v in output.step_output_data.metadata.items()}
        failure = [e.step_failure_data.error.message for e in result.all_node_events if e.is_step_failure]
        return result.success, metadata, failure


def test_the_job_reports_the_counts_and_fails_above_the_configured_threshold(make_simulator, tmp_path):
    sim = make_simulator(seed=7, scale=0.25)
    env = sync_env(sim, tmp_path)
    sync(env, ("items",))
    (a, _), (_, b_int) = sorted(_mapped(env, "items").items())[:2]
    sim.advance_clock(60)
    sim.change("prod", "materials", a, description="changed in Production")
    sim.change("int", "materials", b_int, description="changed by a tester")
    passed, metadata, failure = _job_run(env, tmp_path, 2)
    assert passed and failure == []
    assert metadata["differs"] == 2 and metadata["missing"] == 0 and metadata["differences"] == 2
    assert metadata["causes"][PRODUCTION_CHANGED] == metadata["causes"][EDITED_IN_INTEGRATION] == 1
    table = metadata["first_differences"]
    assert "changed in Production" in table and "changed by a tester" in table and str(a) in table
    passed, metadata, failure = _job_run(env, tmp_path, 1)
    assert not passed and metadata["differences"] == 2
    assert len(failure) == 1 and "more than diff.max_differences (1)" in failure[0]


def test_a_threshold_that_is_no_count_is_refused_naming_its_path(tmp_path):
    config = json.loads((REPO_ROOT / "stsync.config.json").read_text())
    for bad in (-1, "3", True):
        config["diff"] = {"max_differences": bad}
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        with pytest.raises(ConfigError, match=r"\$\.diff\.max_differences: Input should be"):
            load_config(path)


def test_the_simulator_lets_time_pass_and_deletes_records_over_http(simulator):
    """A simulator run as a process of its own: a tester's edit an hour after a run, a record deleted."""
    answer = httpx.post(f"{simulator.url}/_sim/clock", json={"advance": 3600}).json()
    assert answer["now"] > (datetime.now(UTC) + timedelta(minutes=59)).strftime("%Y-%m-%dT%H:%M:%S")
    vendor = simulator.records("int", "vendors")[0]
    edited = httpx.post(f"{simulator.url}/_sim/change/int/vendors", json=[{"id": vendor["id"], "name": "A tester's"}])
    assert edited.json()[0]["modifiedOn"] > answer["now"] and edited.json()[0]["name"] == "A tester's"
    material = simulator.records("prod", "materials")[0]["id"]
    assert httpx.post(f"{simulator.url}/_sim/remove/prod/materials", json=[material]).json() == {"removed": 1}
    assert material not in {r["id"] for r in simulator.records("prod", "materials")}
    assert httpx.post(f"{simulator.url}/_sim/clock", json={"advance": -1}).status_code == 400


# -- why a copy differs: the decision, record by record --------------------------------------------------------

WRITTEN = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _entry(source="sync", fingerprint="f1", written_at=WRITTEN) -> Entry:
    return Entry(1, 2, "confirmed", "run", None, source, fingerprint, written_at)


def _copy(modified: datetime) -> dict:
    return {"id": 2, "createdOn": "2026-12-01T12:00:00Z", "modifiedOn": modified.isoformat()}


CAUSE_CASES = {
    "Production changed": (_entry(), _copy(WRITTEN), "f2", PRODUCTION_CHANGED),
    "edited in Integration": (_entry(), _copy(WRITTEN + timedelta(hours=1)), "f1", EDITED_IN_INTEGRATION),
    "both": (_entry(), _copy(WRITTEN + timedelta(hours=1)), "f2", BOTH),
    "within the clock's slack": (_entry(), _copy(WRITTEN + timedelta(seconds=1)), "f2", PRODUCTION_CHANGED),
    "adopted": (_entry("adopted", None, None), _copy(WRITTEN), "f1", HISTORY_UNKNOWN),
    "neither": (_entry(), _copy(WRITTEN), "f1", NEITHER),
    "cannot be built now": (_entry(), _copy(WRITTEN), None, PRODUCTION_CHANGED),
}
UNDO = Write("undo-run", "items", 1, 2, "restored", undoes="the-run")
UNDO_CASES = {
    "undone": (_entry(fingerprint=None), _copy(WRITTEN), "f1", UNDO, UNDONE),
    "undone, then edited": (_entry(), _copy(WRITTEN + timedelta(hours=1)), "f1", UNDO, EDITED_IN_INTEGRATION),
    "an ordinary last write": (
        _entry(),
        _copy(WRITTEN),
        "f2",
        Write("r", "items", 1, 2, "updated"),
        PRODUCTION_CHANGED,
    ),
}


@pytest.mark.parametrize("entry, copy, now_print, expected", CAUSE_CASES.values(), ids=CAUSE_CASES.keys())
def test_why_a_copy_differs(entry, copy, now_print, expected):
    assert cause(entry, copy, now_print)[0] == expected


@pytest.mark.parametrize("entry, copy, now_print, last, expected", UNDO_CASES.values(), ids=UNDO_CASES.keys())
def test_a_copy_an_undo_took_back_differs_because_it_was_undone(entry, copy, now_print, last, expected):
    assert cause(entry, copy, now_print, last)[0] == expected


def test_after_an_undo_the_records_it_took_back_differ_as_undone(make_simulator, tmp_path):
    from stsync_dagster.defs.materialize import materialize_sync

    sim = make_simulator(seed=7, scale=0.25)
    env = sync_env(sim, tmp_path)
    sync(env, ("items",))
    a = sorted(_mapped(env, "items"))[0]
    price = next(r["price"] for r in sim.records("prod", "materials") if r["id"] == a)
    sim.change("prod", "materials", a, price=price + 10)  # the simulator's clock stays the crosswalk's
    with pointed_at(env):
        followed = materialize_sync(["items"], since=env["STSYNC_START_DATE"])
    assert followed.success
    assert _not_in_sync(_diff(env, "items")) == {}
    undone = subprocess.run([sys.executable, "-m", "stsync_dagster.cli", "undo", followed.run_id],
                            env={**os.environ, **env}, capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert undone.returncode == 0, undone.stderr
    assert _not_in_sync(_diff(env, "items")) == {a: ("differs", UNDONE, {"price": (price + 10, price)})}
