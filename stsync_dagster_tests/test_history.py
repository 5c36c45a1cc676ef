"""The history of writes: every create, adoption, update and status change STSync makes is kept in the
crosswalk database, once, with its run; the materialization shows the step's writes as a table."""

from __future__ import annotations

from collections import Counter

import pytest

from stsync_dagster.sync.crosswalk import Crosswalk, Write
from stsync_dagster_tests.sync_helpers import sync, sync_env

ENTITIES = ("items", "jobs", "pos")


def _stories(env) -> dict[tuple[str, int], list[str]]:
    with Crosswalk(env["STSYNC_DB"]) as crosswalk, crosswalk.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT kind, prod_id, action FROM sync_history ORDER BY at, id").all()
    stories: dict[tuple[str, int], list[str]] = {}
    for kind, prod_id, action in rows:
        stories.setdefault((kind, prod_id), []).append(action)
    return stories


@pytest.fixture
def copied(make_simulator, tmp_path):
    sim = make_simulator(seed=11, scale=0.25)
    env = sync_env(sim, tmp_path, ST_PAGE_SIZE="5000")
    return sim, env, sync(env, ENTITIES)


def test_every_create_is_kept_once_with_its_run_and_the_table_shows_it(copied):
    sim, env, first = copied
    stories = _stories(env)
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        for entity in ENTITIES:
            mapped = {p for p, (_, source) in crosswalk.mapped(entity).items() if source == "sync"}
            created = {p for (kind, p), story in stories.items() if kind == entity and story[0] == "created"}
            assert created == mapped, entity  # every copy made has its create in the history, nothing more
            assert all(story.count("created") == 1 for (kind, _), story in stories.items() if kind == entity)
    made = sum(m["created"] + m["pulled_in"] for m in first.values())
    assert sum(story.count("created") for story in stories.values()) == made
    # Canceled, held and completed records were moved after their create: a status change each.
    moved = sum(1 for story in stories.values() if story[:2] == ["created", "status_changed"])
    assert moved and moved == sum(1 for s in stories.values() if "status_changed" in s)
    table = first["pos"]["writes"]
    assert sum(m["writes_total"] for m in first.values()) == sum(len(story) for story in stories.values())
    assert table and {"kind", "prod_id", "int_id", "action", "fields"} <= set(table[0])
    assert {row["action"] for row in table} >= {"created"}
    # A run that changes nothing writes nothing, and keeps nothing.
    again = sync(env, ENTITIES)
    assert _stories(env) == stories and all(m["writes_total"] == 0 for m in again.values())


def test_updates_and_status_changes_are_kept_with_the_fields_they_wrote(copied):
    sim, env, _ = copied
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        item, int_item = sorted((p, i) for p, (i, s) in crosswalk.mapped("items").items() if s == "sync")[0]
        pending = {r["id"] for r in sim.records("int", "purchase-orders") if r["status"] == "Pending"}
        po = min(p for p, (i, _) in crosswalk.mapped("pos").items() if i in pending)
    price = next(r for r in sim.records("prod", "materials") if r["id"] == item)["price"]
    sim.change("prod", "materials", item, price=round(price + 3.25, 2))
    sim.change("prod", "purchase-orders", po, status="Canceled")
    report = sync(env, ENTITIES)
    assert report["items"]["updated"] == 1 and report["pos"]["status_changed"] == 1
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        story = crosswalk.history("items", item)
        assert [w.action for w in story] == ["created", "updated"]
        assert story[1].fields == ("price",) and story[1].int_id == int_item and story[1].run_id != story[0].run_id
        assert [(w.action, w.detail) for w in crosswalk.history("pos", po)][-1] == ("status_changed", "cancel")
    assert {(row["prod_id"], row["action"]) for row in report["items"]["writes"]} == {(item, "updated")}


def test_adoptions_are_kept_when_the_crosswalk_was_lost(copied, tmp_path):
    sim, env, _ = copied
    lost = dict(env, STSYNC_DB=str(tmp_path / "new.sqlite3"))
    report = sync(lost, ("items",))
    assert report["items"]["adopted"] > 0 and report["items"]["created"] == 0
    kept = Counter(action for story in _stories(lost).values() for action in story)
    assert kept == {"adopted": report["items"]["adopted"]}
    with Crosswalk(lost["STSYNC_DB"]) as crosswalk:
        assert {
            w.detail
            for w in crosswalk.run_writes(crosswalk.history("items", min(crosswalk.mapped("items")))[0].run_id)[0]
        } == {"by stamp"}


def test_a_write_is_kept_in_the_transaction_of_its_crosswalk_change(tmp_path):
    """A history row that cannot be written takes its confirmation with it: never a copy without its story."""
    with Crosswalk(str(tmp_path / "xw.sqlite3")) as crosswalk:
        crosswalk.claim("items", [1, 2], "run")
        with pytest.raises(ValueError, match="not-an-action"):
            crosswalk.confirm("items", {1: 11}, "run", history=[Write("run", "items", 1, 11, "not-an-action")])
        assert crosswalk.lookup("items", [1])[1].state == "pending" and crosswalk.history("items", 1) == []
        # Only what the call changed is kept: 2 was not confirmed; 1, found confirmed the second time, is kept once.
        writes = [Write("run", "items", p, p + 10, "created") for p in (1, 2)]
        assert crosswalk.confirm("items", {1: 11}, "run", history=writes) == {1}
        assert crosswalk.confirm("items", {1: 11}, "other-run", history=writes) == {1}
        assert [w.action for w in crosswalk.history("items", 1)] == ["created"] and crosswalk.history("items", 2) == []


def test_a_record_s_history_is_reachable_from_the_ui_as_a_job_taking_kind_and_id(copied):
    """The `record_history` job (the UI's Launchpad: kind, prod_id) tells what `stsync history` tells, in its
    output's metadata: the writes, what the record is mapped to now, why it is not copied."""
    import dagster as dg

    from stsync_dagster.defs.location import build_defs
    from stsync_dagster.defs.metadata import table_rows
    from stsync_dagster_tests.sync_helpers import pointed_at

    sim, env, _ = copied
    with Crosswalk(env["STSYNC_DB"]) as crosswalk:
        po, int_po = sorted((p, i) for p, (i, s) in crosswalk.mapped("pos").items() if s == "sync")[0]
        expected = [(w.action, w.int_id, w.run_id) for w in crosswalk.history("pos", po)]
        blocked = next(iter(crosswalk.issues(kind="pos", status="blocked")))
    stories = {}
    with pointed_at(env), dg.DagsterInstance.ephemeral() as instance:
        job = build_defs().resolve_job_def("record_history")
        for prod_id in (po, blocked.prod_id):
            config = {"ops": {"history": {"config": {"kind": "pos", "prod_id": prod_id}}}}
            result = job.execute_in_process(run_config=config, instance=instance)
            assert result.success
            (output,) = [e for e in result.all_node_events if e.is_successful_output]
            stories[prod_id] = {k: getattr(v, "value", v) for k, v in output.step_output_data.metadata.items()}
    story = stories[po]
    assert [(r["action"], r["int_id"], r["run_id"]) for r in table_rows(story["history"])] == expected and expected
    assert story["now"] == f"mapped to Integration {int_po} (sync)" and story["not_copied"] == "-"
    other = stories[blocked.prod_id]
    assert other["now"] == "not in the crosswalk" and other["not_copied"].startswith("blocked since")
    assert blocked.reason in other["not_copied"]
