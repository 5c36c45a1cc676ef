"""The contract that lets test_engine_fast.py trust its stand-in: the real clients over the simulator in process
(inprocess.py) answer exactly as the same clients over real HTTP to the simulator on a loopback port.

Each scenario runs twice, on two fresh simulators of the same seed, one per way; what the clients return or
raise (type, status, title, field errors, message) and what the simulator counted (requests by route, answers
by status) must be the same. Only what cannot be the same is normalized: the base URL, and the timestamps of
writes (the time of day). Each scenario also checks its own answer, so two equal wrong answers fail too.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from stsync_dagster.servicetitan import IntegrationClient, ProductionClient
from stsync_dagster.servicetitan.errors import ServiceTitanError
from stsync_dagster.settings import load_settings
from stsync_dagster.simulator import Simulator
from stsync_dagster.simulator.constants import DEFAULT_EXTERNAL_DATA_GUID as GUID
from stsync_dagster_tests.inprocess import InProcessSimulator

MATERIALS = "/pricebook/v2/tenant/{tenant}/materials"
POS = "/inventory/v2/tenant/{tenant}/purchase-orders"
JOBS = "/jpm/v2/tenant/{tenant}/jobs"
VENDORS = "/inventory/v2/tenant/{tenant}/vendors"
TUNING = {"rate_limit": 1_000_000.0, "retry_backoff": 0.01, "max_retries": 2, "timeout": 5.0}
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z")


def loopback_clients(sim: Simulator, **tuning) -> tuple[ProductionClient, IntegrationClient]:
    settings = load_settings(sim.env(), dotenv_path=None)
    options = {**TUNING, **tuning}
    return (
        ProductionClient(settings.prod, **options),
        IntegrationClient(settings.int, production=settings.prod, **options),
    )


def material(code: str, **fields) -> dict:
    return {"code": code, "description": f"contract {code}", "active": True, **fields}


def stamp(prod_id: int) -> dict:
    return {"applicationGuid": GUID, "externalData": [{"key": "stsync.prodId", "value": str(prod_id)}]}


def outcome(call):
    """What a call gave: its value, or what it raised, as data."""
    try:
        return {"value": call()}
    except ServiceTitanError as exc:
        return {
            "raised": type(exc).__name__,
            "status": exc.status,
            "title": exc.title,
            "errors": getattr(exc, "errors", None),
            "message": str(exc),
        }


def pages(client, path, params=None, size=7):
    return [
        {"ids": [r["id"] for r in p.records], "page": p.page, "has_more": p.has_more, "total": p.total_count}
        for p in client.iter_pages(path, params, page_size=size)
    ]


# -- the scenarios: (prod, intc, sim) -> data ------------------------------------------------------------
def list_with_filters_and_total(prod, intc, sim):
    everything = outcome(lambda: pages(prod, MATERIALS, {"active": "Any", "includeTotal": "true"}))
    active = outcome(lambda: pages(prod, MATERIALS, {"includeTotal": "true"}))
    days = sorted(r["modifiedOn"][:10] for r in sim.records("prod", "purchase-orders"))
    window = {
        "modifiedOnOrAfter": days[len(days) // 3],
        "modifiedBefore": days[2 * len(days) // 3],
        "includeTotal": "true",
    }
    windowed = outcome(lambda: pages(prod, POS, window, size=3))
    assert everything["value"][0]["total"] == len(sim.records("prod", "materials"))
    assert active["value"][0]["total"] < everything["value"][0]["total"]  # inactive ones hidden by default
    assert 0 < windowed["value"][0]["total"] < len(days)
    return {"everything": everything, "active": active, "windowed": windowed}


def ids_lookup(prod, intc, sim):
    wanted = [r["id"] for r in sim.records("prod", "jobs")][:60] + [999_999_999]
    found = outcome(lambda: sorted(r["id"] for r in prod.get_by_ids(JOBS, wanted)))
    assert found["value"] == sorted(wanted[:-1])
    one = outcome(lambda: prod.get(MATERIALS, sim.records("prod", "materials")[0]["id"]))
    missing = outcome(lambda: prod.get(MATERIALS, 999_999_999))
    assert "value" in one and missing["raised"] == "NotFoundError"
    return {"found": found, "one": one, "missing": missing}


def create_patch_and_refusals(prod, intc, sim):
    created = outcome(lambda: intc.create(MATERIALS, material("CONTRACT-1", price=12.5)))
    int_id = created["value"]["id"]
    patched = outcome(lambda: intc.patch(MATERIALS, int_id, {"price": 19.75}))
    invalid = outcome(lambda: intc.create(MATERIALS, {"description": "no code"}))
    taken = outcome(lambda: intc.create(MATERIALS, material("contract-1")))
    unknown = outcome(lambda: intc.patch(MATERIALS, 999_999_999, {"price": 1}))
    no_job = outcome(lambda: intc.act("PUT", JOBS + "/{id}/complete", 999_999_999, {}))
    read_only = outcome(lambda: prod._transport.request("POST", MATERIALS, json=material("NEVER")))
    assert created["value"]["code"] == "CONTRACT-1" and patched["value"]["price"] == 19.75
    assert invalid["raised"] == "ValidationError" and "code" in invalid["errors"] and invalid["status"] == 400
    assert "raised" in taken and unknown["raised"] == "NotFoundError" and "raised" in no_job
    assert "read-only" in read_only["message"]
    return {
        "created": created,
        "patched": patched,
        "invalid": invalid,
        "taken": taken,
        "unknown": unknown,
        "no_job": no_job,
        "read_only": read_only,
    }


def delete_a_material(prod, intc, sim):
    int_id = intc.create(MATERIALS, material("DELETE-1"))["id"]
    deleted = outcome(lambda: intc.delete(MATERIALS, int_id))
    again = outcome(lambda: intc.delete(MATERIALS, int_id))
    read = outcome(lambda: intc.get(MATERIALS, int_id))
    no_delete = outcome(lambda: prod._transport.request("DELETE", f"{MATERIALS}/{int_id}"))
    assert deleted == {"value": None} and again["raised"] == read["raised"] == "NotFoundError"
    assert int_id not in {m["id"] for m in sim.records("int", "materials")} and "read-only" in no_delete["message"]
    return {"deleted": deleted, "again": again, "read": read, "no_delete": no_delete}


def external_data_filters(prod, intc, sim):
    made = [intc.create(MATERIALS, material(f"STAMPED-{n}", externalData=stamp(1000 + n)))["id"] for n in range(3)]
    query = {"active": "Any", "externalDataApplicationGuid": GUID, "externalDataKey": "stsync.prodId"}
    found = outcome(lambda: [p["ids"] for p in pages(intc, MATERIALS, {**query, "externalDataValues": "1000,1002"})])
    shown = outcome(lambda: intc.get_by_ids(MATERIALS, made[:1], {"externalDataApplicationGuid": GUID}))
    no_key = outcome(lambda: pages(intc, MATERIALS, {"externalDataApplicationGuid": GUID, "externalDataValues": "1"}))
    no_guid = outcome(lambda: pages(intc, MATERIALS, {"externalDataKey": "stsync.prodId"}))
    assert sorted(i for ids in found["value"] for i in ids) == [made[0], made[2]]
    assert shown["value"][0]["externalData"]
    assert no_key["raised"] == "ValidationError" and no_guid["raised"] == "ValidationError"
    return {"found": found, "shown": shown, "no_key": no_key, "no_guid": no_guid}


def bulk_pricebook(prod, intc, sim):
    created = outcome(
        lambda: intc.bulk_create_materials([{**material(f"BULK-{n}"), "customId": str(n)} for n in range(4)])
    )
    ids = [m["id"] for m in created["value"]]
    updated = outcome(lambda: intc.bulk_update_materials([{"id": i, "price": 3.5} for i in ids]))
    refused = outcome(lambda: intc.bulk_create_materials([{**material("BULK-0"), "customId": "x"}]))
    held = {m["id"]: m["price"] for m in sim.records("int", "materials")}
    assert len(ids) == 4 and all(held[i] == 3.5 for i in ids)
    assert refused["raised"] == "ValidationError"
    return {"created": created, "updated": updated, "refused": refused}


def dropped_answer(prod, intc, sim):
    sim.set_faults(drop_post_rate=1.0)
    lost = outcome(lambda: intc.create(MATERIALS, material("DROPPED-1")))
    sim.set_faults(drop_post_rate=0.0)
    assert lost["raised"] == "AmbiguousWriteError"
    assert [m["code"] for m in sim.records("int", "materials") if m["code"] == "DROPPED-1"] == ["DROPPED-1"]
    return {"lost": lost, "requests": intc.stats.requests, "retries": intc.stats.retries}


def late_answer(prod, intc, sim):
    sim.set_faults(slow_rate=1.0, slow_seconds=0.4)
    gave_up = outcome(lambda: intc.create(MATERIALS, material("SLOW-1")))
    sim.set_faults(slow_rate=0.0)
    assert gave_up["raised"] == "AmbiguousWriteError" and "ReadTimeout" in gave_up["message"]
    assert any(m["code"] == "SLOW-1" for m in sim.records("int", "materials"))  # committed all the same
    return {"gave_up": gave_up, "retries": intc.stats.retries}


def late_commit(prod, intc, sim):
    sim.set_faults(late_commit_rate=1.0, late_commit_seconds=0.4)
    gave_up = outcome(lambda: intc.create(MATERIALS, material("LATE-1")))
    sim.set_faults(late_commit_rate=0.0)
    assert gave_up["raised"] == "AmbiguousWriteError"
    before = any(m["code"] == "LATE-1" for m in sim.records("int", "materials"))
    import time

    time.sleep(0.5)
    assert not before and any(m["code"] == "LATE-1" for m in sim.records("int", "materials"))
    return {"gave_up": gave_up}


def server_errors(prod, intc, sim):
    sim.set_faults(error_rate=1.0, html_error_fraction=1.0)
    read = outcome(lambda: prod.get(MATERIALS, sim.records("prod", "materials")[0]["id"]))
    write = outcome(lambda: intc.create(MATERIALS, material("ERR-1")))
    sim.set_faults(error_rate=0.0)
    assert read["raised"] == "ServerError" and "<" not in read["message"]
    assert write["raised"] == "AmbiguousWriteError"
    return {"read": read, "write": write, "retries": prod.stats.retries}


def paging_faults(prod, intc, sim):
    out = {}
    for fault in ("repeat_page", "ignore_page", "data_null"):
        sim.set_faults(page_fault=fault, page_fault_lists=("prod/materials",))
        out[fault] = outcome(lambda: pages(prod, MATERIALS, {"active": "Any"}, size=5))
        assert out[fault]["raised"] == "PagingError", out[fault]
    sim.set_faults(page_fault="")
    return out


SCENARIOS = [
    list_with_filters_and_total,
    ids_lookup,
    create_patch_and_refusals,
    delete_a_material,
    external_data_filters,
    bulk_pricebook,
    dropped_answer,
    late_answer,
    late_commit,
    server_errors,
    paging_faults,
]
TIMEOUTS = {late_answer: 0.2, late_commit: 0.2}


def normalized(value, sim: Simulator):
    """The base URL and the timestamps of this run's writes (after the data's end) made comparable."""
    if isinstance(value, dict):
        return {k: normalized(v, sim) for k, v in value.items()}
    if isinstance(value, list):
        return [normalized(v, sim) for v in value]
    if isinstance(value, str):
        value = value.replace(sim.url, "<simulator>")
        return _TIMESTAMP.sub(lambda m: "<written>" if _after(m.group(0), sim.until) else m.group(0), value)
    return value


def _after(text: str, until: datetime) -> bool:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) > until.astimezone(timezone.utc)


def counted(sim: Simulator) -> dict:
    return {env: {k: sim.stats(env)[k] for k in ("by_route", "status", "requests")} for env in ("prod", "int")}


def run(scenario, sim: Simulator, clients) -> dict:
    prod, intc = clients
    with prod, intc:
        result = scenario(prod, intc, sim)
    return normalized({"result": result, "simulator": counted(sim)}, sim)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_in_process_answers_as_over_http(scenario, tmp_path, monkeypatch):
    monkeypatch.setenv("STSYNC_PACER_DIR", str(tmp_path / "pacer"))
    tuning = {"timeout": TIMEOUTS[scenario]} if scenario in TIMEOUTS else {}
    with Simulator(seed=5, scale=0.1, rate_limit=None) as sim:
        over_http = run(scenario, sim, loopback_clients(sim, **tuning))
    with InProcessSimulator(seed=5, scale=0.1, rate_limit=None) as sim:
        in_process = run(scenario, sim, sim.clients(**{**TUNING, **tuning}))
    assert in_process == over_http
