"""The simulator as strict as the API: pricebook equipment served, a PO line's SKU "any active material or
equipment" (documented, always enforced), and each undocumented rule a knob (strict.py), refused while on and
accepted while off. Real HTTP against a simulator on a loopback port."""

from __future__ import annotations

import pytest

from stsync_dagster.simulator import Simulator
from stsync_dagster.simulator.strict import Strictness
from stsync_dagster_tests.test_simulator import Api, _job_payload, _po_payload, is_problem


@pytest.fixture(scope="module")
def intg():
    with Simulator(seed=13, scale=0.1, rate_limit=None).start() as sim:
        yield Api(sim, "int")


@pytest.fixture
def lenient(intg):
    """Switch rules off for one test; every rule is on again afterwards."""
    switched: list[str] = []

    def off(*rules: str) -> None:
        switched.extend(rules)
        intg.sim.set_strict(**{rule: False for rule in rules})

    yield off
    intg.sim.set_strict(**{rule: True for rule in switched})


# == equipment =========================================================================================
def test_equipment_create_get_list_patch(intg):
    created = intg.post(
        "equipment",
        {
            "code": "EQ-T-1",
            "description": "Test condenser",
            "manufacturer": "Trane",
            "model": "XR-1",
            "cost": 1200,
            "active": True,
        },
    )
    assert created.status_code == 200, created.text
    record = created.json()
    assert record["manufacturer"] == "Trane" and record["id"] >= 80_000_000
    assert intg.ok(f"equipment/{record['id']}")["code"] == "EQ-T-1"
    assert any(e["id"] == record["id"] for e in intg.all("equipment"))
    patched = intg.patch(f"equipment/{record['id']}", {"active": False, "price": 2000})
    assert patched.status_code == 200 and patched.json()["active"] is False and patched.json()["price"] == 2000
    assert record["id"] not in {e["id"] for e in intg.all("equipment")}  # active=True by default
    assert record["id"] in {e["id"] for e in intg.all("equipment", active="Any")}
    is_problem(intg.post("equipment", {"code": "eq-t-1 ", "description": "again"}), 409)
    errors = is_problem(intg.post("equipment", {"code": "EQ-T-2"}), 400)["errors"]
    assert errors == {"description": ["The description field is required."]}


def test_a_po_line_may_be_active_equipment_and_says_so(intg):
    equipment = intg.post("equipment", {"code": "EQ-PO-1", "description": "Furnace"}).json()
    payload = _po_payload(intg.sim)
    payload["items"].append(dict(payload["items"][0], skuId=equipment["id"]))
    po_id = intg.post("purchase-orders", payload).json()["id"]
    lines = intg.ok(f"purchase-orders/{po_id}")["items"]
    assert [line["skuType"] for line in lines] == ["Material", "Equipment"] and lines[1]["skuCode"] == "EQ-PO-1"


def test_a_po_line_on_inactive_equipment_or_material_is_refused_whatever_the_knobs(intg, lenient):
    lenient(*Strictness.rules())  # documented: "any active material or equipment"
    equipment = intg.post("equipment", {"code": "EQ-PO-2", "description": "Old", "active": False}).json()
    material = intg.post("materials", {"code": "MAT-OFF-1", "description": "Old", "active": False}).json()
    payload = _po_payload(intg.sim)
    payload["items"] += [
        dict(payload["items"][0], skuId=equipment["id"]),
        dict(payload["items"][0], skuId=material["id"]),
    ]
    errors = is_problem(intg.post("purchase-orders", payload), 400)["errors"]
    assert errors == {
        "items[1].skuId": [f"Sku {equipment['id']} is inactive"],
        "items[2].skuId": [f"Sku {material['id']} is inactive"],
    }


# == the undocumented rules, each a knob ================================================================
def _inactive(intg, kind: str) -> int:
    return next(r["id"] for r in intg.sim.records("int", kind) if not r["active"])


def _job_cases(intg) -> dict[str, tuple[dict, str]]:
    technician = _inactive(intg, "technicians")
    job = _job_payload(intg.sim)
    on_technician = _job_payload(intg.sim)
    on_technician["appointments"][0]["technicianIds"] = [technician]
    reversed_window = _job_payload(intg.sim)
    reversed_window["appointments"][0].update(
        arrivalWindowStart="2026-11-03T15:00:00Z", arrivalWindowEnd="2026-11-03T14:00:00Z"
    )
    return {
        "job type": (dict(job, jobTypeId=_inactive(intg, "job-types")), "jobTypeId"),
        "campaign": (dict(job, campaignId=_inactive(intg, "campaigns")), "campaignId"),
        "technician": (on_technician, "appointments[0].technicianIds[0]"),
        "window": (reversed_window, "appointments[0].arrivalWindowEnd"),
    }


@pytest.mark.parametrize(
    "case, rule",
    [
        ("job type", "inactive_references"),
        ("campaign", "inactive_references"),
        ("technician", "inactive_references"),
        ("window", "window_order"),
    ],
)
def test_job_rules_refuse_while_on_and_accept_while_off(intg, lenient, case, rule):
    body, field = _job_cases(intg)[case]
    errors = is_problem(intg.post("jobs", body), 400)["errors"]
    assert list(errors) == [field]
    lenient(rule)
    assert intg.post("jobs", body).status_code == 200


def test_a_reschedule_may_not_reverse_the_window_while_the_rule_is_on(intg, lenient):
    job = intg.post("jobs", _job_payload(intg.sim)).json()
    path = f"appointments/{job['firstAppointmentId']}/reschedule"
    body = {
        "start": "2026-11-05T15:00:00Z",
        "end": "2026-11-05T17:00:00Z",
        "arrivalWindowStart": "2026-11-05T15:00:00Z",
        "arrivalWindowEnd": "2026-11-05T13:00:00Z",
    }
    assert list(is_problem(intg.patch(path, body), 400)["errors"]) == ["arrivalWindowEnd"]
    lenient("window_order")
    assert intg.patch(path, body).status_code == 200


@pytest.mark.parametrize(
    "resource, body, field",
    [
        ("materials", {"code": "  ", "description": "blank code"}, "code"),
        ("materials", {"code": "BLANK-DESC", "description": ""}, "description"),
        ("equipment", {"code": "EQ-BLANK", "description": " "}, "description"),
    ],
)
def test_blank_required_text_is_refused_while_the_rule_is_on(intg, lenient, resource, body, field):
    assert list(is_problem(intg.post(resource, body), 400)["errors"]) == [field]
    lenient("empty_required")
    assert intg.post(resource, body).status_code in (200, 201)


def test_po_rules_negative_quantity_and_blank_line_description(intg, lenient):
    payload = _po_payload(intg.sim)
    payload["items"][0]["quantity"] = -2
    payload["items"].append(dict(payload["items"][0], quantity=1, description=""))
    errors = is_problem(intg.post("purchase-orders", payload), 400)["errors"]
    assert set(errors) == {"items[0].quantity", "items[1].description"}
    lenient("negative_quantities", "empty_required")
    po = intg.ok(f"purchase-orders/{intg.post('purchase-orders', payload).json()['id']}")
    assert po["items"][0]["quantity"] == -2 and po["items"][0]["total"] == -20


def test_an_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="unknown strictness rules"):
        Strictness().update(lenient_everything=False)
