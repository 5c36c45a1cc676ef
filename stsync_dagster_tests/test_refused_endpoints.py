"""An app not granted one API scope: that kind's endpoint answers 403 in both tenants. The kind ends unavailable
(one line naming the endpoint), not a failed step; what depends on it still runs, and only the records that need
it are blocked, with that reason. The `stsync` command as a user runs it: a subprocess, the simulator on a
loopback port with the `refused` fault."""

from __future__ import annotations

import json

from stsync_dagster_tests.test_cli import cli_env, run  # noqa: F401  (cli_env: a fixture)

REFUSED = ("403 GET equipment",)


def _on_equipment(po: dict) -> bool:
    return any(str(line.get("skuType") or "").casefold() == "equipment" for line in po["items"])


def test_sync_all_with_equipment_refused_copies_the_pos_that_do_not_need_it(cli_env, tmp_path, simulator):
    simulator.set_faults(refused=REFUSED)
    done = run(["sync", "all", "--json"], cli_env, tmp_path)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert not [e for e in report["errors"] if "equipment" in e], report["errors"]  # not a failed step
    equipment, pos = report["assets"]["equipment"], report["assets"]["pos"]
    assert "403" in equipment["unavailable"] and "/equipment" in equipment["unavailable"]
    assert pos is not None and pos["created"] > 0  # pos ran
    prod_pos = simulator.records("prod", "purchase-orders")
    on_equipment = {po["id"] for po in prod_pos if _on_equipment(po)}
    assert on_equipment and pos["blocked"] >= len(on_equipment)
    copied_from = {int(line) for po in simulator.records("int", "purchase-orders") for line in _marks(po)}
    assert copied_from and not copied_from & on_equipment


def _marks(po: dict) -> list[str]:
    """The Production id STSync marks a PO copy with (in its summary)."""
    from stsync_dagster.sync.stamps import marked_prod_id

    mark = marked_prod_id(po.get("summary"))
    return [] if mark is None else [str(mark)]


def test_verify_names_each_refused_endpoint_with_the_scope_to_grant(cli_env, tmp_path, simulator):
    simulator.set_faults(refused=REFUSED)
    done = run(["verify"], cli_env, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    failed = [line for line in done.stdout.splitlines() if "[FAIL]" in line]
    assert len(failed) == 2, done.stdout  # equipment, in each environment; every other endpoint answers
    for label, var in (("Production", "ST_APP_KEY_PROD"), ("Integration", "ST_APP_KEY_INT")):
        (line,) = [f for f in failed if f"] {label}: equipment: GET /pricebook/v2/tenant/" in f]
        assert "403" in line and var in line and "scope" in line
    assert "Traceback" not in done.stdout + done.stderr


def test_a_sync_on_a_terminal_says_which_kind_is_unavailable(cli_env, tmp_path, simulator):
    simulator.set_faults(refused=REFUSED)
    done = run(["sync", "equipment"], cli_env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "equipment: unavailable: GET /pricebook/v2/tenant/" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_a_refused_master_data_endpoint_fails_no_step_and_shows_no_trace(cli_env, tmp_path, simulator):
    simulator.set_faults(refused=("403 GET warehouses",))
    done = run(["sync", "all", "--json"], cli_env, tmp_path)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["errors"] == [] and report["assets"]["items"]["created"] > 0
    assert report["assets"]["pos"]["created"] == 0 and report["assets"]["pos"]["blocked"] > 0  # every PO needs one
    assert "warehouses: unavailable: GET /inventory/v2/tenant/" in done.stderr
    reasons = [group["reason"] for group in report["assets"]["pos"]["issue_groups"]]
    refused = [r for r in reasons if "/warehouses: 403 Forbidden" in r and "ST_APP_KEY_INT" in r]
    assert refused and not [r for r in reasons if "no warehouses matched" in r], reasons  # the refusal, not a guess
    again = json.loads(run(["sync", "pos", "--json"], cli_env, tmp_path).stdout)  # a later run, master data not re-read
    assert any("/warehouses: 403" in g["reason"] for g in again["assets"]["pos"]["issue_groups"]), again
    simulator.set_faults(refused=())
    healed = json.loads(run(["sync", "all", "--json"], cli_env, tmp_path).stdout)  # the scope granted
    assert healed["assets"]["pos"]["created"] > 0
    assert not [g for g in healed["assets"]["pos"]["issue_groups"] if "/warehouses: 403" in g["reason"]]
