"""The simulator against ServiceTitan's OpenAPI documents: request required-field lists, paths, response shapes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from stsync_dagster.simulator import (
    APP_KEY,
    INT_CLIENT_ID,
    INT_CLIENT_SECRET,
    INT_TENANT_ID,
    PROD_CLIENT_ID,
    PROD_CLIENT_SECRET,
    PROD_TENANT_ID,
    Simulator,
)
from stsync_dagster.simulator.routes import API
from stsync_dagster.simulator.shapes import WRITE_SHAPES, Shape, endpoint
from stsync_dagster_tests.conftest import locate_openapi
from stsync_dagster_tests.test_simulator import first_ids

DOCS = {
    "pricebook": "pricebook-v2.json",
    "inventory": "inventory-v2.json",
    "jpm": "jpm-v2.json",
    "dispatch": "dispatch-v2.json",
    "crm": "crm-v2.json",
    "marketing": "marketing-v2.json",
    "settings": "settings-v2.json",
}
NOT_SERVED: set = set()  # in the documents, deliberately not simulated (STSync never calls them)
BEYOND_DOCUMENTS = {  # served, but not in the cut-down documents (API.md, "Beyond create": [client] endpoints)
    *(
        endpoint("pricebook-v2.json", call)
        for call in (
            "post pricebook",
            "patch pricebook",
            "get equipment",
            "get equipment/{id}",
            "post equipment",
            "patch equipment/{id}",
        )
    ),
    *(
        endpoint("jpm-v2.json", call)
        for call in (
            "put jobs/{id}/cancel",
            "put jobs/{id}/remove-cancellation",
            "put jobs/{id}/hold",
            "put jobs/{id}/complete",
            "get job-cancel-reasons",
            "get job-hold-reasons",
            "patch appointments/{id}/reschedule",
        )
    ),
}


def load(openapi_dir: Path, doc: str) -> dict:
    return json.loads((openapi_dir / doc).read_text())


def ref_name(prop: dict) -> tuple[str, bool] | None:
    """(schema name, is array) of a property that refers to a schema, else None."""
    if "$ref" in prop:
        return prop["$ref"].split("/")[-1], False
    for key in ("oneOf", "allOf", "anyOf"):
        if len(prop.get(key, ())) == 1 and "$ref" in prop[key][0]:
            return prop[key][0]["$ref"].split("/")[-1], False
    if prop.get("type") == "array":
        inner = ref_name(prop.get("items", {}))
        return (inner[0], True) if inner else None
    return None


def shape_mismatches(schemas: dict, name: str, shape: Shape, where: str) -> list[str]:
    schema, problems = schemas[name], []
    if shape.schema != name:
        problems.append(f"{where}: shape mirrors {shape.schema}, the document says {name}")
    if set(schema.get("required", ())) != set(shape.required):
        problems.append(f"{where}: required {sorted(schema.get('required', ()))} != {sorted(shape.required)}")
    objects, lists = {}, {}
    for prop, spec in schema.get("properties", {}).items():
        target = ref_name(spec)
        if target and "properties" in schemas[target[0]]:  # enums are not nested requests
            (lists if target[1] else objects)[prop] = target[0]
    if set(objects) != set(shape.objects):
        problems.append(f"{where}: nested objects {sorted(objects)} != {sorted(shape.objects)}")
    if set(lists) != set(shape.lists):
        problems.append(f"{where}: nested arrays {sorted(lists)} != {sorted(shape.lists)}")
    for prop, target in objects.items():
        if prop in shape.objects:
            problems += shape_mismatches(schemas, target, shape.objects[prop], f"{where}.{prop}")
    for prop, target in lists.items():
        if prop in shape.lists:
            problems += shape_mismatches(schemas, target, shape.lists[prop], f"{where}.{prop}[]")
    return problems


def test_locate_openapi_skips_locally_and_fails_on_ci(tmp_path):
    absent = tmp_path / "nowhere"
    with pytest.raises(pytest.skip.Exception):
        locate_openapi(absent, environ={})
    with pytest.raises(pytest.fail.Exception):
        locate_openapi(absent, environ={"CI": "true"})
    assert locate_openapi(tmp_path, environ={"CI": "true"}) == tmp_path


def test_required_field_lists_match_the_documents(openapi_dir):
    problems = []
    for (doc, method, path), shape in WRITE_SHAPES.items():
        spec = load(openapi_dir, doc)
        body = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
        problems += shape_mismatches(spec["components"]["schemas"], ref_name(body)[0], shape, f"{method} {path}")
    assert problems == []


def served() -> set[tuple[str, str, str]]:
    return {
        (DOCS[domain], method.lower(), "/tenant/{tenant}/" + resource.replace("{id:int}", "{id}"))
        for method, domain, resource, _handler in API
    }


def test_every_documented_path_is_served_and_every_write_is_checked(openapi_dir):
    documented = {
        (doc, method, path)
        for doc in DOCS.values()
        for path, operations in load(openapi_dir, doc)["paths"].items()
        for method in operations
        if method in ("get", "post", "patch", "put", "delete")
    }
    assert documented - NOT_SERVED == served() - BEYOND_DOCUMENTS
    writes = {key for key in served() - BEYOND_DOCUMENTS if key[1] in ("post", "patch")}
    assert writes == set(WRITE_SHAPES)


# -- response shapes -------------------------------------------------------------------------------------
PY_TYPES = {
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "string": (str,),
    "array": (list,),
    "object": (dict,),
}


def shape_errors(schemas: dict, schema: dict, value, where: str) -> list[str]:
    """Required fields present, non-nullable ones not null, JSON types and date-times right, recursively."""
    target = ref_name(schema)
    if target and not target[1]:
        schema = {**schemas[target[0]], "nullable": schema.get("nullable", False)}
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null"]
    if "enum" in schema:
        return [] if value in schema["enum"] else [f"{where}: {value!r} not in {schema['enum']}"]
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    if kind in PY_TYPES and (not isinstance(value, PY_TYPES[kind]) or (kind != "boolean" and value is True)):
        return [f"{where}: {type(value).__name__} is not {kind}"]
    if schema.get("format") == "date-time":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return [f"{where}: {value!r} is not a date-time"]
    errors = []
    if kind == "array" and "items" in schema:
        for i, item in enumerate(value):
            errors += shape_errors(schemas, schema["items"], item, f"{where}[{i}]")
    if kind == "object":
        for name in schema.get("required", ()):
            if name not in value:
                errors.append(f"{where}.{name}: missing")
        for name, prop in schema.get("properties", {}).items():
            if name in value:
                errors += shape_errors(schemas, prop, value[name], f"{where}.{name}")
    return errors


@pytest.fixture(scope="module")
def written():
    """An Integration tenant after one create of each kind (so created records are checked too)."""
    sim = Simulator(seed=3, scale=0.1, rate_limit=None).start()
    clients = {}
    for env, client_id, secret in (
        ("prod", PROD_CLIENT_ID, PROD_CLIENT_SECRET),
        ("int", INT_CLIENT_ID, INT_CLIENT_SECRET),
    ):
        client = httpx.Client(base_url=f"{sim.url}/{env}/", timeout=10)
        token = client.post(
            "connect/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        ).json()["access_token"]
        client.headers.update({"Authorization": f"Bearer {token}", "ST-App-Key": APP_KEY})
        clients[env] = client
    http, answers = clients["int"], {}

    def post(domain: str, resource: str, body: dict) -> dict:
        response = http.post(f"{domain}/v2/tenant/{INT_TENANT_ID}/{resource}", json=body)
        assert response.status_code in (200, 201), response.text
        answers[(domain, resource)] = response.json()
        return response.json()

    masters = ("vendors", "purchase-order-types", "business-units", "warehouses", "campaigns", "job-types")
    first = first_ids(sim, "int", *masters, "technicians", "campaign-categories")
    customer = sim.records("int", "customers")[1]
    location = next(loc for loc in sim.records("int", "locations") if loc["customerId"] == customer["id"])
    address = {"street": "1 Main", "unit": "", "city": "Boise", "state": "ID", "zip": "83702", "country": "USA"}
    material = post(
        "pricebook",
        "materials",
        {
            "code": "OA-1",
            "description": "x",
            "primaryVendor": {"vendorId": first["vendors"], "cost": 1, "active": True},
        },
    )
    post(
        "inventory",
        "purchase-orders",
        {
            "vendorId": first["vendors"],
            "typeId": first["purchase-order-types"],
            "businessUnitId": first["business-units"],
            "inventoryLocationId": first["warehouses"],
            "shipTo": {"description": "d", "address": address},
            "impactsTechnicianPayroll": False,
            "date": "2026-11-01",
            "requiredOn": "2026-11-02",
            "tax": 0,
            "shipping": 0,
            "items": [{"skuId": material["id"], "description": "d", "vendorPartNumber": "", "quantity": 1, "cost": 2}],
        },
    )
    post(
        "inventory",
        "vendors",
        {
            "name": "V",
            "active": True,
            "isTruckReplenishment": False,
            "taxRate": 0,
            "restrictedMobileCreation": False,
            "address": address,
        },
    )
    job = post(
        "jpm",
        "jobs",
        {
            "customerId": customer["id"],
            "locationId": location["id"],
            "businessUnitId": first["business-units"],
            "jobTypeId": first["job-types"],
            "priority": "Normal",
            "campaignId": first["campaigns"],
            "appointments": [
                {
                    "start": "2026-11-03T10:00:00Z",
                    "end": "2026-11-03T12:00:00Z",
                    "technicianIds": [first["technicians"]],
                }
            ],
        },
    )
    post("jpm", "appointments", {"jobId": job["id"], "start": "2026-11-04T10:00:00Z", "end": "2026-11-04T11:00:00Z"})
    for resource, record_id, body in (
        ("materials", material["id"], {"price": 3.5}),
        ("purchase-orders", answers[("inventory", "purchase-orders")]["id"], {"memo": "m"}),
        ("jobs", job["id"], {"priority": "High"}),
    ):
        domain = next(d for (d, r) in answers if r == resource)
        response = http.patch(f"{domain}/v2/tenant/{INT_TENANT_ID}/{resource}/{record_id}", json=body)
        assert response.status_code == 200, response.text
        answers[(domain, f"{resource}/{{id}}")] = response.json()
    po_id = answers[("inventory", "purchase-orders")]["id"]
    response = http.patch(
        f"inventory/v2/tenant/{INT_TENANT_ID}/purchase-orders/{po_id}/cancellation", json={"canceledReason": "Other"}
    )
    assert response.status_code == 200, response.text
    answers[("inventory", "purchase-orders/{id}/cancellation")] = response.json()
    post("crm", "customers", {"name": "C", "address": address, "locations": [{"name": "L", "address": address}]})
    post("crm", "locations", {"name": "L2", "address": address, "customerId": customer["id"]})
    post(
        "marketing",
        "campaigns",
        {
            "name": "K",
            "businessUnitId": first["business-units"],
            "categoryId": first["campaign-categories"],
            "active": True,
        },
    )
    try:
        yield sim, clients, answers
    finally:
        for client in clients.values():
            client.close()
        sim.stop()


def _records_of(answer: dict) -> list[dict]:
    return answer["data"] if "data" in answer and isinstance(answer["data"], list) else [answer]


def test_answers_have_the_documented_shapes(openapi_dir, written):
    """Every served answer, in both tenants (Production's generated data, Integration's created records)."""
    sim, clients, answers = written
    tenants = {"prod": PROD_TENANT_ID, "int": INT_TENANT_ID}
    problems, checked = [], 0
    for doc, method, path in sorted(served() - BEYOND_DOCUMENTS):
        spec = load(openapi_dir, doc)
        schemas = spec["components"]["schemas"]
        operation = spec["paths"][path][method]
        status, content = next((s, r.get("content")) for s, r in operation["responses"].items() if s.startswith("2"))
        domain = next(d for d, name in DOCS.items() if name == doc)
        if method == "delete":  # no content: a material made for it, deleted, then found no more
            base = f"{domain}/v2/tenant/{tenants['int']}/materials"
            made = clients["int"].post(base, json={"code": "DELETE-ME", "description": "to delete"}).json()
            response = clients["int"].delete(f"{base}/{made['id']}")
            assert (response.status_code, response.content, content) == (int(status), b"", None), response.text
            assert clients["int"].get(f"{base}/{made['id']}").status_code == 404
            checked += 1
            continue
        schema = content["application/json"]["schema"]
        resource = path.removeprefix("/tenant/{tenant}/")
        if method != "get":
            answer = answers[(domain, resource)]
            problems += shape_errors(schemas, schema, answer, f"{method} {path}")[:5]
            checked += 1
            continue
        for env, client in clients.items():
            url = resource
            if "{id}" in resource:
                url = resource.replace("{id}", str(sim.records(env, resource.split("/")[0])[-1]["id"]))
            params = {"from": "2000-01-01"} if url.startswith("export/") else {"active": "Any", "pageSize": 5000}
            response = client.get(f"{domain}/v2/tenant/{tenants[env]}/{url}", params=params)
            assert response.status_code == int(status), (env, path, response.text)
            answer = response.json()
            problems += shape_errors(schemas, schema, answer, f"{env} {method} {path}")[:5]
            checked += len(_records_of(answer))
    assert problems == []
    assert checked > 400
