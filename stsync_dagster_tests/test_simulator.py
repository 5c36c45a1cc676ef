"""The ServiceTitan simulator, exercised over real HTTP as API.md describes the real API."""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Iterator

import httpx
import pytest

from stsync_dagster.simulator import APP_KEY, DELIBERATE_GAPS, KINDS, Faults, Simulator
from stsync_dagster.simulator import INT_CLIENT_ID, INT_CLIENT_SECRET, INT_TENANT_ID
from stsync_dagster.simulator import PROD_CLIENT_ID, PROD_CLIENT_SECRET, PROD_TENANT_ID

GUID = "5f0c1a52-57c3-4b9e-9a51-5757c0de0001"
OTHER_GUID = "11111111-2222-3333-4444-555555555555"
DOMAINS = {
    "materials": "pricebook",
    "equipment": "pricebook",
    "categories": "pricebook",
    "purchase-orders": "inventory",
    "vendors": "inventory",
    "warehouses": "inventory",
    "purchase-order-types": "inventory",
    "jobs": "jpm",
    "job-types": "jpm",
    "appointments": "jpm",
    "appointment-assignments": "dispatch",
    "customers": "crm",
    "locations": "crm",
    "campaigns": "marketing",
    "business-units": "settings",
    "technicians": "settings",
}
ERROR_KEYS = {"type", "title", "status", "traceId", "errors", "data"}


class Api:
    """A thin test client: a token for one environment, and paths built from a resource name."""

    def __init__(self, sim: Simulator, env: str, timeout: float = 10.0) -> None:
        self.sim, self.env = sim, env
        self.tenant = PROD_TENANT_ID if env == "prod" else INT_TENANT_ID
        self.http = httpx.Client(base_url=f"{sim.url}/{env}", timeout=timeout)
        self.token = token(sim, env)

    def path(self, resource: str, tenant: int | None = None) -> str:
        name = resource.removeprefix("export/").split("/")[0]
        return f"/{DOMAINS[name]}/v2/tenant/{tenant or self.tenant}/{resource}"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "ST-App-Key": APP_KEY}

    def get(self, resource: str, **params) -> httpx.Response:
        return self.http.get(self.path(resource), params=params, headers=self.headers())

    def post(self, resource: str, body) -> httpx.Response:
        return self.http.post(self.path(resource), json=body, headers=self.headers())

    def patch(self, resource: str, body) -> httpx.Response:
        return self.http.patch(self.path(resource), json=body, headers=self.headers())

    def ok(self, resource: str, **params) -> dict:
        response = self.get(resource, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def all(self, resource: str, **params) -> list[dict]:
        out, page, page_size = [], 1, params.pop("pageSize", 37)
        while True:
            body = self.ok(resource, page=page, pageSize=page_size, **params)
            out += body["data"]
            if not body["hasMore"]:
                return out
            page += 1

    def export_all(self, resource: str, start: str) -> tuple[list[dict], list[dict]]:
        """(records, answers) following continueFrom until hasMore is false."""
        records, answers, cursor = [], [], start
        while True:
            answer = self.ok(f"export/{resource}", **{"from": cursor})
            answers.append(answer)
            records += answer["data"]
            cursor = answer["continueFrom"]
            if not answer["hasMore"]:
                return records, answers


def token(sim: Simulator, env: str) -> str:
    client_id, secret = (PROD_CLIENT_ID, PROD_CLIENT_SECRET) if env == "prod" else (INT_CLIENT_ID, INT_CLIENT_SECRET)
    response = httpx.post(
        f"{sim.url}/{env}/connect/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def is_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= ERROR_KEYS and body["status"] == status
    return body


def first_ids(sim: Simulator, env: str, *kinds: str) -> dict[str, int]:
    """The id of the first stored record of each kind in a tenant."""
    return {kind: sim.records(env, kind)[0]["id"] for kind in kinds}


@pytest.fixture(scope="module")
def shared():
    """A read-only simulator for the tests that write nothing (no rate limit, small export batches)."""
    with Simulator(seed=7, scale=0.25, rate_limit=None, export_batch_size=9).start() as sim:
        yield sim


@pytest.fixture(scope="module")
def prod(shared) -> Api:
    return Api(shared, "prod")


@pytest.fixture(scope="module")
def writable():
    """A simulator that tests write to (each with its own codes/ids, so they do not collide)."""
    with Simulator(seed=11, scale=0.25, rate_limit=None).start() as sim:
        yield sim


@pytest.fixture(scope="module")
def intg(writable) -> Api:
    return Api(writable, "int")


def by_name(records: list[dict]) -> dict[str, dict]:
    return {r["name"]: r for r in records}


# == server lifecycle, environment, command line ========================================================
def test_start_stop_leaves_no_thread_and_frees_the_port():
    before = set(threading.enumerate())
    sim = Simulator(seed=1, scale=0.05).start()
    port = sim.port
    assert httpx.post(f"{sim.url}/prod/connect/token", data={}).status_code == 400
    sim.stop()
    assert set(threading.enumerate()) <= before
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/_sim/stats/prod")
    with Simulator(seed=1, scale=0.05).start(port=port) as again:  # the port can be reused at once
        assert again.port == port
        assert httpx.get(f"{again.url}/_sim/stats/prod").status_code == 200
    assert set(threading.enumerate()) <= before


def test_env_is_the_complete_block_and_points_at_the_simulator(simulator):
    env = simulator.env()
    assert set(env) >= {
        "ST_AUTH_URL_PROD",
        "ST_AUTH_URL_INT",
        "ST_API_BASE_PROD",
        "ST_API_BASE_INT",
        "ST_CLIENT_ID_PROD",
        "ST_CLIENT_SECRET_PROD",
        "ST_CLIENT_ID_INT",
        "ST_CLIENT_SECRET_INT",
        "ST_APP_KEY_PROD",
        "ST_APP_KEY_INT",
        "ST_TENANT_ID_PROD",
        "ST_TENANT_ID_INT",
        "ST_PAGE_SIZE",
        "ST_HTTP_TIMEOUT",
    }
    assert all(key.startswith("ST_") for key in env) and "STSYNC_DB" not in env
    assert env["ST_API_BASE_PROD"] == f"{simulator.url}/prod" and env["ST_API_BASE_INT"] == f"{simulator.url}/int"
    for side in ("PROD", "INT"):
        answer = httpx.post(
            env[f"ST_AUTH_URL_{side}"],
            data={
                "grant_type": "client_credentials",
                "client_id": env[f"ST_CLIENT_ID_{side}"],
                "client_secret": env[f"ST_CLIENT_SECRET_{side}"],
            },
        ).json()
        response = httpx.get(
            f"{env[f'ST_API_BASE_{side}']}/settings/v2/tenant/{env[f'ST_TENANT_ID_{side}']}/business-units",
            headers={"Authorization": answer["access_token"], "ST-App-Key": env[f"ST_APP_KEY_{side}"]},
        )
        assert response.status_code == 200 and response.json()["data"]


def test_sim_env_fixture_adds_the_database_and_config(sim_env, tmp_path):
    assert sim_env["STSYNC_DB"].startswith(str(tmp_path)) and sim_env["STSYNC_CONFIG"].endswith("stsync.config.json")


def _read_env_block(process: subprocess.Popen) -> dict[str, str]:
    env, deadline = {}, time.monotonic() + 30
    while "ST_EXTERNAL_DATA_GUID" not in env and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        key, _, value = line.strip().partition("=")
        env[key] = value
    return env


@contextmanager
def served_from_command_line(*args: str) -> Iterator[dict[str, str]]:
    """The simulator started as a process on a free port with `--print-env` and `args`: the env block it prints.
    Stopped with SIGTERM afterwards, which it must answer with a clean exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stsync_dagster.simulator", "--port", "0", *args, "--print-env"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield _read_env_block(process)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def test_command_line_prints_env_for_a_free_port_and_keeps_serving():
    with served_from_command_line("--scale", "0.05", "--materials", "7") as env:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/prod", env["ST_API_BASE_PROD"]), env
        assert env["ST_API_BASE_PROD"].rsplit(":", 1)[1] != "0/prod"
        response = httpx.get(env["ST_API_BASE_PROD"].removesuffix("/prod") + "/_sim/records/prod/materials")
        assert response.status_code == 200 and len(response.json()) == 7


def test_command_line_print_env_only_exits():
    done = subprocess.run(
        [sys.executable, "-m", "stsync_dagster.simulator", "--port", "0", "--scale", "0.05", "--print-env-only"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert lines["ST_TENANT_ID_INT"] == str(INT_TENANT_ID) and lines["ST_APP_KEY_PROD"] == APP_KEY


# == tokens, headers, tenants ===========================================================================
def test_token_answer_and_configurable_lifetime(make_simulator):
    sim = make_simulator(seed=1, scale=0.05, token_lifetime=120)
    answer = httpx.post(
        f"{sim.url}/int/connect/token",
        data={"grant_type": "client_credentials", "client_id": INT_CLIENT_ID, "client_secret": INT_CLIENT_SECRET},
    ).json()
    assert set(answer) == {"access_token", "expires_in", "token_type"}
    assert answer["expires_in"] == 120 and answer["token_type"] == "Bearer"
    sim.set_token_lifetime(30)
    again = httpx.post(
        f"{sim.url}/int/connect/token",
        data={"grant_type": "client_credentials", "client_id": INT_CLIENT_ID, "client_secret": INT_CLIENT_SECRET},
    ).json()
    assert again["expires_in"] == 30 and again["access_token"] != answer["access_token"]
    assert sim.stats("int")["tokens_issued"] == 2


@pytest.mark.parametrize(
    "env,client_id,secret",
    [
        ("prod", PROD_CLIENT_ID, "wrong"),
        ("prod", INT_CLIENT_ID, INT_CLIENT_SECRET),  # Integration credentials at the Production token URL
        ("int", PROD_CLIENT_ID, PROD_CLIENT_SECRET),
        ("int", None, None),
    ],
)
def test_bad_credentials_are_invalid_client(shared, env, client_id, secret):
    form = {"grant_type": "client_credentials"}
    if client_id:
        form.update(client_id=client_id, client_secret=secret)
    response = httpx.post(f"{shared.url}/{env}/connect/token", data=form)
    assert response.status_code == 400 and response.json() == {"error": "invalid_client"}


def test_every_call_needs_the_app_key_and_a_token_of_its_own_environment(shared):
    prod_token, url = token(shared, "prod"), f"{shared.url}/prod/inventory/v2/tenant/{PROD_TENANT_ID}/vendors"
    missing_key = httpx.get(url, headers={"Authorization": f"Bearer {prod_token}"})
    assert is_problem(missing_key, 401)["title"] == "Application key not present, check ST-App-Key header value."
    is_problem(httpx.get(url, headers={"ST-App-Key": APP_KEY}), 401)
    is_problem(httpx.get(url, headers={"ST-App-Key": APP_KEY, "Authorization": "Bearer forged"}), 401)
    is_problem(httpx.get(url, headers={"ST-App-Key": "another-app", "Authorization": f"Bearer {prod_token}"}), 401)
    assert httpx.get(url, headers={"ST-App-Key": APP_KEY, "Authorization": prod_token}).status_code == 200  # bare
    int_url = f"{shared.url}/int/inventory/v2/tenant/{INT_TENANT_ID}/vendors"
    is_problem(httpx.get(int_url, headers={"ST-App-Key": APP_KEY, "Authorization": f"Bearer {prod_token}"}), 401)


def test_expired_token_is_refused(make_simulator):
    sim = make_simulator(seed=1, scale=0.05, token_lifetime=0.5)
    api = Api(sim, "prod")
    assert api.get("vendors").status_code == 200
    time.sleep(0.7)
    assert "expired" in is_problem(api.get("vendors"), 401)["title"]
    api.token = token(sim, "prod")  # renewal works
    assert api.get("vendors").status_code == 200


def test_a_wrong_tenant_id_is_404(prod):
    for tenant in (INT_TENANT_ID, 12345):
        response = prod.http.get(prod.path("materials", tenant=tenant), headers=prod.headers())
        assert "Tenant" in is_problem(response, 404)["title"]


def test_unknown_paths_are_404_problems(prod):
    is_problem(prod.http.get(f"/pricebook/v2/tenant/{PROD_TENANT_ID}/no-such-thing", headers=prod.headers()), 404)
    is_problem(prod.get("materials/999"), 404)


# == rate limit =========================================================================================
def test_rate_limit_per_app_per_tenant_with_retry_after(make_simulator):
    sim = make_simulator(seed=1, scale=0.05, rate_limit=5)
    prod, intg = Api(sim, "prod"), Api(sim, "int")
    answers = [prod.get("vendors") for _ in range(12)]
    limited = [r for r in answers if r.status_code == 429]
    assert len([r for r in answers if r.status_code == 200]) >= 5 and limited
    for response in limited:
        seconds = int(response.headers["Retry-After"])
        assert seconds >= 1
        assert is_problem(response, 429)["title"] == f"Rate limit is exceeded. Try again in {seconds} seconds."
    assert intg.get("vendors").status_code == 200  # another tenant has its own window
    for _ in range(8):  # the token endpoint is not limited
        token(sim, "prod")
    stats = sim.stats("prod")
    assert stats["rate_limited"] == len(limited) == stats["status"]["429"]
    time.sleep(1.1)
    assert prod.get("vendors").status_code == 200


def test_rate_limit_counts_a_request_from_its_arrival():
    """The gateway counts a request when it arrives: requests that arrived more than a second apart never share a
    window, however late the simulator gets to them (its added latency, a busy machine)."""
    from stsync_dagster.simulator.ratelimit import RateLimiter

    limiter, now = RateLimiter(2), time.monotonic()
    assert limiter.acquire(("app", 1), now - 1.5) is None  # arrived 1.5 s ago, handled only now
    assert limiter.acquire(("app", 1), now - 0.4) is None
    assert limiter.acquire(("app", 1), now) is None  # the first is outside this one's second
    assert limiter.acquire(("app", 1), now) == 1  # two in the last second already


def test_rate_limit_can_change_at_run_time(make_simulator):
    sim = make_simulator(seed=1, scale=0.05, rate_limit=100)
    api = Api(sim, "prod")
    assert all(api.get("vendors").status_code == 200 for _ in range(6))
    sim.set_rate_limit(2)
    time.sleep(1.05)
    assert [api.get("vendors").status_code for _ in range(3)].count(429) >= 1


# == lists ==============================================================================================
def test_list_envelope_and_total_count(prod):
    body = prod.ok("materials")
    assert set(body) == {"page", "pageSize", "hasMore", "totalCount", "data"}
    assert body["page"] == 1 and body["pageSize"] == 50 and body["totalCount"] is None and len(body["data"]) == 50
    active = [m for m in prod.sim.records("prod", "materials") if m["active"]]
    with_total = prod.ok("materials", includeTotal="true", pageSize=5000)
    assert with_total["totalCount"] == len(active) == len(with_total["data"]) and not with_total["hasMore"]


def test_page_size_and_page_bounds(prod):
    is_problem(prod.get("materials", pageSize=5001), 400)
    is_problem(prod.get("materials", pageSize=0), 400)
    is_problem(prod.get("materials", page=0), 400)
    is_problem(prod.get("materials", page="first"), 400)
    beyond = prod.ok("materials", page=999)
    assert beyond["data"] == [] and beyond["hasMore"] is False


def test_paging_is_complete_stable_and_in_no_useful_order(prod):
    first = prod.all("materials", active="Any")
    second = prod.all("materials", active="Any", pageSize=11)
    ids = [m["id"] for m in first]
    assert ids == [m["id"] for m in second] and len(ids) == len(set(ids))
    assert sorted(ids) == sorted(m["id"] for m in prod.sim.records("prod", "materials"))
    assert ids != sorted(ids) and ids != sorted(ids, reverse=True)
    stamps = [m["modifiedOn"] for m in first]
    assert stamps != sorted(stamps) and stamps != sorted(stamps, reverse=True)


@pytest.mark.parametrize(
    "resource", ["materials", "vendors", "job-types", "campaigns", "technicians", "customers", "locations"]
)
def test_active_filter_defaults_to_true(prod, resource):
    everything = prod.sim.records("prod", resource)
    inactive = {r["id"] for r in everything if not r["active"]}
    assert inactive, f"the data should hold inactive {resource}"
    default = {r["id"] for r in prod.all(resource)}
    assert default == {r["id"] for r in everything} - inactive
    assert {r["id"] for r in prod.all(resource, active="any")} == {r["id"] for r in everything}
    assert {r["id"] for r in prod.all(resource, active="FALSE")} == inactive
    assert {r["id"] for r in prod.all(resource, active="True")} == default
    is_problem(prod.get(resource, active="maybe"), 400)


def test_purchase_orders_and_jobs_have_no_active_filter(prod):
    jobs = prod.sim.records("prod", "jobs")
    assert any(not j["active"] for j in jobs)
    assert len(prod.all("jobs")) == len(prod.all("jobs", active="False")) == len(jobs)
    assert len(prod.all("purchase-orders", active="False")) == len(prod.sim.records("prod", "purchase-orders"))
    assert all("active" not in j for j in prod.ok("jobs")["data"])  # the list shape has no `active`


def test_ids_filter_at_most_fifty(prod):
    wanted = [m["id"] for m in prod.sim.records("prod", "materials") if m["active"]][:50]
    body = prod.ok("materials", ids=",".join(map(str, wanted)), pageSize=100)
    assert sorted(m["id"] for m in body["data"]) == sorted(wanted)
    is_problem(prod.get("materials", ids=",".join(str(i) for i in range(1, 52))), 400)
    is_problem(prod.get("materials", ids="1,two"), 400)


def test_date_filters_bounds_and_formats(prod):
    records = prod.sim.records("prod", "purchase-orders")
    pivot = sorted(records, key=lambda r: r["modifiedOn"])[len(records) // 2]
    after = {r["id"] for r in prod.all("purchase-orders", modifiedOnOrAfter=pivot["modifiedOn"])}
    before = {r["id"] for r in prod.all("purchase-orders", modifiedBefore=pivot["modifiedOn"])}
    assert pivot["id"] in after and pivot["id"] not in before  # inclusive / exclusive
    assert after | before == {r["id"] for r in records} and not after & before
    day = pivot["createdOn"][:10]
    created = {r["id"] for r in prod.all("purchase-orders", createdOnOrAfter=day, createdBefore=f"{day}T23:59:59.999Z")}
    assert created == {r["id"] for r in records if r["createdOn"][:10] == day} and pivot["id"] in created
    offset = prod.all("purchase-orders", modifiedOnOrAfter=pivot["modifiedOn"].replace("Z", "+00:00"))
    assert {r["id"] for r in offset} == after
    is_problem(prod.get("purchase-orders", modifiedOnOrAfter="yesterday"), 400)


def test_unknown_query_parameters_are_ignored(prod):
    plain = prod.ok("materials", pageSize=20)
    assert prod.ok("materials", pageSize=20, modifiedSince="2099-01-01", foo="bar") == plain


def test_filters_the_sync_needs(prod):
    sim = prod.sim
    job = next(j for j in sim.records("prod", "jobs") if j["appointmentCount"] == 2 and j["active"])
    appointments = prod.all("appointments", jobId=job["id"])
    assert sorted(a["id"] for a in appointments) == sorted({job["firstAppointmentId"], job["lastAppointmentId"]})
    by_ids = prod.ok("appointments", ids=f"{job['firstAppointmentId']},{job['lastAppointmentId']}")["data"]
    assert len(by_ids) == 2
    expected = [a for a in sim.records("prod", "appointment-assignments") if a["jobId"] == job["id"]]
    for params in ({"jobId": job["id"]}, {"appointmentIds": ",".join(str(a["id"]) for a in appointments)}):
        got = prod.all("appointment-assignments", **params)
        assert sorted(a["id"] for a in got) == sorted(a["id"] for a in expected)
        assert {a["technicianId"] for a in got} <= {t["id"] for t in sim.records("prod", "technicians")}
    customer = next(
        c
        for c in sim.records("prod", "customers")
        if sum(loc["customerId"] == c["id"] for loc in sim.records("prod", "locations")) == 2
    )
    locations = prod.all("locations", customerId=customer["id"], active="Any")
    assert len(locations) == 2 and {loc["customerId"] for loc in locations} == {customer["id"]}
    assert {j["customerId"] for j in prod.all("jobs", customerId=job["customerId"])} == {job["customerId"]}
    po = next(p for p in sim.records("prod", "purchase-orders") if p["jobId"])
    assert po["id"] in {p["id"] for p in prod.all("purchase-orders", jobId=po["jobId"])}
    assert {p["status"] for p in prod.all("purchase-orders", status="pending")} == {"Pending"}


def test_materials_search_text_is_a_partial_case_insensitive_match_on_name_code_and_description(prod):
    """The materials list's `searchText` (OpenAPI: 2 to 200 characters, "case-insensitive partial match on
    Display Name, Code, and Description"), which adoption uses to find a code's copies."""
    materials = prod.sim.records("prod", "materials")
    target = materials[0]
    word = target["code"][1:-1].swapcase()
    found = {m["id"] for m in prod.all("materials", searchText=word, active="Any")}
    expected = {
        m["id"]
        for m in materials
        if any(word.lower() in str(m.get(f) or "").lower() for f in ("displayName", "code", "description"))
    }
    assert target["id"] in found and found == expected and len(found) < len(materials)
    by_name = {m["id"] for m in prod.all("materials", searchText=target["displayName"].upper(), active="Any")}
    assert target["id"] in by_name
    is_problem(prod.get("materials", searchText="a"), 400)
    is_problem(prod.get("materials", searchText="x" * 201), 400)


def test_get_by_id_for_every_kind_that_has_it(prod):
    for kind in (
        "materials",
        "purchase-orders",
        "jobs",
        "appointments",
        "vendors",
        "customers",
        "locations",
        "job-types",
        "campaigns",
        "business-units",
        "technicians",
    ):
        record = prod.sim.records("prod", kind)[0]
        body = prod.ok(f"{kind}/{record['id']}")
        assert body["id"] == record["id"]
        is_problem(prod.get(f"{kind}/{record['id'] + 1_000_000_000}"), 404)


# == exports ============================================================================================
def test_export_follows_continue_from_in_modified_order_including_inactive(prod):
    everything = prod.sim.records("prod", "materials")
    start = min(r["modifiedOn"] for r in everything)[:10]
    records, answers = prod.export_all("materials", start)
    assert len(answers) > 3 and all(len(a["data"]) <= 9 for a in answers)  # the batch size of `shared`
    assert [r["id"] for r in records] == [r["id"] for r in sorted(everything, key=lambda r: (r["modifiedOn"], r["id"]))]
    assert any(not r["active"] for r in records)
    token = answers[0]["continueFrom"]
    json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))  # opaque, yet resumable
    assert prod.ok("export/materials", **{"from": answers[-1]["continueFrom"]}) == {
        "hasMore": False,
        "continueFrom": answers[-1]["continueFrom"],
        "data": [],
    }


def test_export_from_a_date_is_inclusive_on_modified_on(prod):
    everything = prod.sim.records("prod", "jobs")
    midnight = next((r["modifiedOn"] for r in everything if r["modifiedOn"].endswith("T00:00:00.000Z")), None)
    assert midnight, "the data holds records modified exactly at midnight"
    records, _ = prod.export_all("jobs", midnight[:10])
    assert {r["id"] for r in records} == {r["id"] for r in everything if r["modifiedOn"] >= midnight}
    assert all("active" in r for r in records)  # the jobs export adds `active`
    is_problem(prod.get("export/jobs", **{"from": "not-a-token"}), 400)


@pytest.mark.parametrize(
    "kind",
    [
        "purchase-orders",
        "appointments",
        "appointment-assignments",
        "customers",
        "locations",
        "business-units",
        "technicians",
    ],
)
def test_other_exports_cover_everything(prod, kind):
    records, _ = prod.export_all(kind, "2000-01-01")
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in prod.sim.records("prod", kind))


def test_a_later_change_reappears_after_the_saved_continue_from(make_simulator):
    sim = make_simulator(seed=3, scale=0.1, export_batch_size=1000)
    api = Api(sim, "int")
    created = api.post("materials", {"code": "EXP-1", "description": "first"}).json()
    caught_up = api.ok("export/materials", **{"from": "2000-01-01"})
    assert [r["id"] for r in caught_up["data"]] == [created["id"]] and not caught_up["hasMore"]
    second = api.post("materials", {"code": "EXP-2", "description": "second"}).json()
    assert api.patch(f"materials/{created['id']}", {"description": "changed"}).status_code == 200
    later = api.ok("export/materials", **{"from": caught_up["continueFrom"]})
    assert [r["id"] for r in later["data"]] == [second["id"], created["id"]]


# == externalData =======================================================================================
def test_external_data_is_returned_only_to_its_application(intg):
    stamp = {"applicationGuid": GUID, "externalData": [{"key": "prodId", "value": "1000001"}]}
    created = intg.post("materials", {"code": "XD-1", "description": "stamped", "externalData": stamp})
    assert created.status_code == 201 and created.json()["externalData"] == stamp["externalData"]
    material_id = created.json()["id"]
    assert intg.ok(f"materials/{material_id}")["externalData"] == []
    assert intg.ok(f"materials/{material_id}", externalDataApplicationGuid=OTHER_GUID)["externalData"] == []
    assert (
        intg.ok(f"materials/{material_id}", externalDataApplicationGuid=GUID)["externalData"] == stamp["externalData"]
    )
    found = intg.ok(
        "materials", externalDataApplicationGuid=GUID, externalDataKey="prodId", externalDataValues="999,1000001"
    )["data"]
    assert [m["id"] for m in found] == [material_id] and found[0]["externalData"] == stamp["externalData"]
    assert intg.ok("materials", externalDataApplicationGuid=OTHER_GUID, externalDataKey="prodId")["data"] == []
    assert (
        intg.ok("materials", externalDataApplicationGuid=GUID, externalDataKey="prodId", externalDataValues="42")[
            "data"
        ]
        == []
    )
    is_problem(
        intg.get(
            "materials",
            externalDataApplicationGuid=GUID,
            externalDataKey="prodId",
            externalDataValues=",".join(str(i) for i in range(51)),
        ),
        400,
    )
    records = {m["id"]: m for m in intg.sim.records("int", "materials")}
    assert records[material_id]["externalData"] == {GUID: stamp["externalData"]}


def test_other_applications_stamps_never_leak(prod):
    stamped = [m for m in prod.sim.records("prod", "materials") if m["externalData"]]
    assert stamped, "some Production records carry another application's externalData"
    got = prod.ok(f"materials/{stamped[0]['id']}", externalDataApplicationGuid=GUID)
    assert got["externalData"] == []


def test_job_external_data_filter(intg):
    job = intg.post(
        "jobs",
        _job_payload(
            intg.sim, externalData={"applicationGuid": GUID, "externalData": [{"key": "prodId", "value": "J-77"}]}
        ),
    )
    assert job.status_code == 200, job.text
    found = intg.ok("jobs", externalDataApplicationGuid=GUID, externalDataKey="prodId", externalDataValues="J-77")
    assert [j["id"] for j in found["data"]] == [job.json()["id"]]


# == writes: materials ==================================================================================
def test_material_create_answers_201_with_the_full_record(intg):
    vendor = intg.sim.records("int", "vendors")[0]
    category = intg.sim.records("int", "categories")[0]
    response = intg.post(
        "materials",
        {
            "code": "NEW-001",
            "description": "Ünïcödé “quoted” 🔧",
            "cost": 12.5,
            "price": 30,
            "primaryVendor": {"vendorId": vendor["id"], "cost": 11, "active": True, "vendorPart": "VP-1"},
            "categories": [category["id"]],
            "active": True,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] >= 80_000_000 and body["code"] == "NEW-001" and body["description"] == "Ünïcödé “quoted” 🔧"
    assert body["primaryVendor"]["vendorId"] == vendor["id"] and body["primaryVendor"]["vendorName"] == vendor["name"]
    assert body["createdOn"] == body["modifiedOn"]
    assert intg.ok(f"materials/{body['id']}") == body


def test_material_create_requires_code_and_description(intg):
    body = is_problem(intg.post("materials", {"cost": 1, "primaryVendor": {"cost": 1}}), 400)
    assert body["errors"] == {
        "code": ["The code field is required."],
        "description": ["The description field is required."],
        "primaryVendor.vendorId": ["The vendorId field is required."],
        "primaryVendor.active": ["The active field is required."],
    }
    is_problem(intg.post("materials", ["not", "an", "object"]), 400)
    assert is_problem(intg.http.post(intg.path("materials"), content=b"{oops", headers=intg.headers()), 400)


def test_material_references_must_exist_in_the_tenant(intg, shared):
    prod_vendor = shared.records("prod", "vendors")[0]["id"]
    prod_category = shared.records("prod", "categories")[0]["id"]
    body = is_problem(
        intg.post(
            "materials",
            {
                "code": "REF-1",
                "description": "x",
                "primaryVendor": {"vendorId": prod_vendor, "cost": 1, "active": True},
                "otherVendors": [{"vendorId": prod_vendor, "cost": 1, "active": True}],
                "categories": [prod_category],
            },
        ),
        400,
    )
    assert body["errors"] == {
        "primaryVendor.vendorId": [f"Vendor {prod_vendor} not found"],
        "otherVendors[0].vendorId": [f"Vendor {prod_vendor} not found"],
        "categories[0]": [f"Category {prod_category} not found"],
    }
    assert not [m for m in intg.sim.records("int", "materials") if m["code"] == "REF-1"]


def test_material_codes_are_unique_per_tenant(intg):
    assert intg.post("materials", {"code": "DUP-1", "description": "a"}).status_code == 201
    conflict = is_problem(intg.post("materials", {"code": "dup-1", "description": "b"}), 409)
    assert "DUP-1".casefold() in conflict["title"].casefold() and "code" in conflict["errors"]
    prod_code = intg.sim.records("prod", "materials")[0]["code"]
    assert intg.post("materials", {"code": prod_code, "description": "fine in Integration"}).status_code == 201


def test_material_codes_stay_unique_after_renames_edits_and_removals(intg):
    """Codes are looked up by an index: it follows every way a code changes."""
    first = intg.post("materials", {"code": "RENAME-1", "description": "a"}).json()
    assert intg.patch(f"materials/{first['id']}", {"code": "RENAME-2"}).status_code == 200
    is_problem(intg.post("materials", {"code": "rename-2", "description": "b"}), 409)
    assert intg.post("materials", {"code": "RENAME-1", "description": "the old code is free"}).status_code == 201
    intg.sim.change("int", "materials", first["id"], code="EDITED-1")
    is_problem(intg.post("materials", {"code": "edited-1", "description": "c"}), 409)
    assert intg.post("materials", {"code": "RENAME-2", "description": "free again"}).status_code == 201
    intg.sim.remove_records("int", "materials", [first["id"]])
    assert intg.post("materials", {"code": "EDITED-1", "description": "gone with its record"}).status_code == 201


def test_material_patch(intg):
    created = intg.post("materials", {"code": "PATCH-1", "description": "before"}).json()
    patched = intg.patch(f"materials/{created['id']}", {"description": "after", "price": 9.99})
    assert patched.status_code == 200
    body = patched.json()
    assert body["description"] == "after" and body["price"] == 9.99 and body["code"] == "PATCH-1"
    assert body["modifiedOn"] > created["modifiedOn"]
    is_problem(intg.patch("materials/123", {"description": "x"}), 404)
    intg.post("materials", {"code": "PATCH-2", "description": "other"})
    is_problem(intg.patch(f"materials/{created['id']}", {"code": "PATCH-2"}), 409)


# == writes: purchase orders ============================================================================
def _po_payload(sim: Simulator, **overrides) -> dict:
    def first(kind: str) -> int:
        return next(r["id"] for r in sim.records("int", kind) if r.get("active", True))

    sku = next((m for m in sim.records("int", "materials") if m["active"] and m["code"].startswith("PO-SKU")), None)
    if sku is None:
        sku = Api(sim, "int").post("materials", {"code": "PO-SKU-1", "description": "for POs"}).json()
    payload = {
        "vendorId": first("vendors"),
        "typeId": first("purchase-order-types"),
        "businessUnitId": first("business-units"),
        "inventoryLocationId": first("warehouses"),
        "shipTo": {
            "description": "Main",
            "address": {
                "street": "1 Main St",
                "unit": "",
                "city": "Austin",
                "state": "TX",
                "zip": "78745",
                "country": "USA",
            },
        },
        "impactsTechnicianPayroll": False,
        "date": "2026-11-02T10:00:00Z",
        "requiredOn": "2026-11-09",
        "tax": 1.5,
        "shipping": 0,
        "memo": "STSync prod PO 2001 — “quotes” ✓",
        "vendorInvoiceNumber": "INV-9",
        "items": [{"skuId": sku["id"], "description": "line", "vendorPartNumber": "", "quantity": 2, "cost": 10}],
    }
    payload.update(overrides)
    return payload


def test_purchase_order_create_answers_only_the_id(intg):
    response = intg.post("purchase-orders", _po_payload(intg.sim, status="Received", number="X-1"))
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"id"}
    po = intg.ok(f"purchase-orders/{response.json()['id']}")
    assert po["summary"] == "STSync prod PO 2001 — “quotes” ✓" and po["vendorDocumentNumber"] == "INV-9"
    assert po["status"] == "Pending" and po["number"] and po["number"] != "X-1"
    assert po["total"] == 21.5 and po["items"][0]["skuCode"] == "PO-SKU-1" and po["items"][0]["total"] == 20
    assert po["shipTo"]["city"] == "Austin" and po["date"] == "2026-11-02T10:00:00.000Z"
    assert "externalData" not in po  # purchase orders have no externalData: STSync marks them in memo


def test_purchase_order_requires_nested_fields(intg):
    payload = _po_payload(intg.sim)
    del payload["shipTo"]["address"]["street"], payload["items"][0]["skuId"], payload["tax"]
    body = is_problem(intg.post("purchase-orders", payload), 400)
    assert body["errors"] == {
        "tax": ["The tax field is required."],
        "shipTo.address.street": ["The street field is required."],
        "items[0].skuId": ["The skuId field is required."],
    }


def test_purchase_order_references_must_exist_in_the_tenant(intg, shared):
    kinds = ("vendors", "purchase-order-types", "business-units", "warehouses", "jobs", "technicians", "materials")
    prod_records = first_ids(shared, "prod", *kinds)
    inactive = (
        next((m for m in intg.sim.records("int", "materials") if not m["active"]), None)
        or intg.post("materials", {"code": "PO-INACTIVE", "description": "x", "active": False}).json()
    )
    payload = _po_payload(
        intg.sim,
        vendorId=prod_records["vendors"],
        typeId=prod_records["purchase-order-types"],
        businessUnitId=prod_records["business-units"],
        inventoryLocationId=prod_records["warehouses"],
        jobId=prod_records["jobs"],
        technicianId=prod_records["technicians"],
    )
    payload["items"].append(dict(payload["items"][0], skuId=prod_records["materials"]))
    payload["items"].append(dict(payload["items"][0], skuId=inactive["id"]))
    before = len(intg.sim.records("int", "purchase-orders"))
    errors = is_problem(intg.post("purchase-orders", payload), 400)["errors"]
    assert errors["vendorId"] == [f"Vendor {prod_records['vendors']} not found"]
    assert set(errors) == {
        "vendorId",
        "typeId",
        "businessUnitId",
        "inventoryLocationId",
        "jobId",
        "technicianId",
        "items[1].skuId",
        "items[2].skuId",
    }
    assert errors["items[2].skuId"] == [f"Sku {inactive['id']} is inactive"]
    assert len(intg.sim.records("int", "purchase-orders")) == before


def test_purchase_order_patch_answers_the_id(intg):
    po_id = intg.post("purchase-orders", _po_payload(intg.sim)).json()["id"]
    response = intg.patch(f"purchase-orders/{po_id}", {"memo": "changed", "vendorInvoiceNumber": "INV-10"})
    assert response.status_code == 200 and response.json() == {"id": po_id}
    po = intg.ok(f"purchase-orders/{po_id}")
    assert po["summary"] == "changed" and po["vendorDocumentNumber"] == "INV-10"
    is_problem(intg.patch("purchase-orders/77", {"memo": "x"}), 404)


# == writes: jobs =======================================================================================
def _job_payload(sim: Simulator, **overrides) -> dict:
    customers = [c for c in sim.records("int", "customers") if c["active"]]
    location = next(loc for loc in sim.records("int", "locations") if loc["customerId"] == customers[0]["id"])
    technicians = [t["id"] for t in sim.records("int", "technicians") if t["active"]][:2]
    payload = {
        "customerId": customers[0]["id"],
        "locationId": location["id"],
        "businessUnitId": sim.records("int", "business-units")[0]["id"],
        "jobTypeId": sim.records("int", "job-types")[0]["id"],
        "priority": "High",
        "campaignId": sim.records("int", "campaigns")[0]["id"],
        "summary": "<p>Copied — “job” ✓</p>",
        "appointments": [
            {"start": "2026-11-03T15:00:00Z", "end": "2026-11-03T17:00:00Z", "technicianIds": technicians},
            {"start": "2026-11-04T15:00:00Z", "end": "2026-11-04T17:00:00Z", "arrivalWindowStart": None},
        ],
    }
    payload.update(overrides)
    return payload


def test_job_create_answers_the_full_record_and_books_appointments(intg):
    response = intg.post("jobs", _job_payload(intg.sim))
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["id"] >= 80_000_000 and job["jobStatus"] == "Scheduled" and job["priority"] == "High"
    assert job["appointmentCount"] == 2 and job["summary"] == "<p>Copied — “job” ✓</p>"
    assert intg.ok(f"jobs/{job['id']}") == job
    appointments = intg.all("appointments", jobId=job["id"])
    assert {a["id"] for a in appointments} == {job["firstAppointmentId"], job["lastAppointmentId"]}
    first = next(a for a in appointments if a["id"] == job["firstAppointmentId"])
    assert first["start"] == "2026-11-03T15:00:00.000Z" and first["customerId"] == job["customerId"]
    assignments = intg.all("appointment-assignments", jobId=job["id"])
    assert {a["appointmentId"] for a in assignments} == {first["id"]} and len(assignments) == 2


def test_job_create_checks_required_fields_and_references(intg, shared):
    payload = _job_payload(intg.sim)
    del payload["campaignId"], payload["appointments"][1]["end"]
    errors = is_problem(intg.post("jobs", payload), 400)["errors"]
    assert errors == {
        "campaignId": ["The campaignId field is required."],
        "appointments[1].end": ["The end field is required."],
    }
    prod_customer = shared.records("prod", "customers")[0]["id"]
    prod_technician = shared.records("prod", "technicians")[0]["id"]
    other_location = next(
        loc for loc in intg.sim.records("int", "locations") if loc["customerId"] != payload["customerId"]
    )
    bad = _job_payload(
        intg.sim,
        locationId=other_location["id"],
        priority="Whenever",
        jobTypeId=shared.records("prod", "job-types")[0]["id"],
    )
    bad["appointments"][0]["technicianIds"] = [prod_technician]
    errors = is_problem(intg.post("jobs", bad), 400)["errors"]
    assert set(errors) == {"locationId", "priority", "jobTypeId", "appointments[0].technicianIds[0]"}
    assert "does not belong" in errors["locationId"][0]
    errors = is_problem(intg.post("jobs", _job_payload(intg.sim, customerId=prod_customer)), 400)["errors"]
    assert errors["customerId"] == [f"Customer {prod_customer} not found"]
    is_problem(intg.post("jobs", _job_payload(intg.sim, appointments=[])), 400)


def test_job_patch(intg):
    job = intg.post("jobs", _job_payload(intg.sim)).json()
    response = intg.patch(
        f"jobs/{job['id']}",
        {
            "priority": "Low",
            "summary": "patched",
            "externalData": {"applicationGuid": GUID, "externalData": [{"key": "prodId", "value": "9"}]},
        },
    )
    assert response.status_code == 200 and response.json()["priority"] == "Low"
    assert response.json()["externalData"] == [{"key": "prodId", "value": "9"}]
    merged = intg.patch(
        f"jobs/{job['id']}",
        {
            "externalData": {
                "applicationGuid": GUID,
                "patchMode": "Merge",
                "externalData": [{"key": "run", "value": "r1"}],
            }
        },
    ).json()
    assert sorted(p["key"] for p in merged["externalData"]) == ["prodId", "run"]
    is_problem(intg.patch(f"jobs/{job['id']}", {"priority": "Soon"}), 400)


def test_the_other_creates(intg):
    sim = intg.sim
    unit = sim.records("int", "business-units")[0]["id"]
    address = {"street": "9 Elm St", "unit": "", "city": "Boise", "state": "ID", "zip": "83702", "country": "USA"}
    vendor = intg.post(
        "vendors",
        {
            "name": "New Vendor",
            "active": True,
            "isTruckReplenishment": False,
            "taxRate": 0,
            "restrictedMobileCreation": False,
            "address": address,
        },
    )
    assert vendor.status_code == 200 and set(vendor.json()) == {"id"}
    customer = intg.post(
        "customers", {"name": "Zoë Ærenson", "address": address, "locations": [{"name": "Home", "address": address}]}
    )
    assert customer.status_code == 200 and customer.json()["locations"][0]["customerId"] == customer.json()["id"]
    location = intg.post("locations", {"name": "Cabin", "address": address, "customerId": customer.json()["id"]})
    assert location.status_code == 200 and location.json()["customerId"] == customer.json()["id"]
    is_problem(intg.post("locations", {"name": "Cabin", "address": address, "customerId": 1}), 400)
    category = sim.records("int", "campaign-categories")[0]["id"]
    campaign = intg.post(
        "campaigns", {"name": "New Campaign", "businessUnitId": unit, "categoryId": category, "active": True}
    )
    assert campaign.status_code == 200 and campaign.json()["name"] == "New Campaign"
    job = intg.post("jobs", _job_payload(sim)).json()
    appointment = intg.post(
        "appointments", {"jobId": job["id"], "start": "2026-12-01T15:00:00Z", "end": "2026-12-01T16:00:00Z"}
    )
    assert appointment.status_code == 200 and intg.ok(f"jobs/{job['id']}")["appointmentCount"] == 3


def test_production_accepts_writes_in_its_own_id_range(simulator):
    api = Api(simulator, "prod")
    created = api.post("materials", {"code": "IN-PROD", "description": "x"}).json()
    assert 1_000_000 <= created["id"] < 50_000_000


# == faults =============================================================================================
def test_latency_is_added_to_api_calls(make_simulator):
    sim = make_simulator(seed=1, scale=0.05, faults=Faults(latency_ms=300))
    api = Api(sim, "prod")
    started = time.monotonic()
    api.get("vendors")
    assert time.monotonic() - started >= 0.25
    sim.set_faults(latency_ms=0)
    assert sim.faults.latency_ms == 0


def test_injected_errors_happen_before_processing(make_simulator):
    sim = make_simulator(seed=1, scale=0.05)
    api = Api(sim, "int")
    sim.set_faults(error_rate=1.0, html_error_fraction=1.0)
    html = api.post("materials", {"code": "ERR-1", "description": "x"})
    assert html.status_code in (500, 502, 503) and html.text.lstrip().startswith("<!DOCTYPE html>")
    sim.set_faults(html_error_fraction=0.0)
    as_json = api.get("vendors")
    assert as_json.status_code in (500, 502, 503) and as_json.json()["status"] == as_json.status_code
    assert sim.records("int", "materials") == []  # nothing committed
    sim.set_faults(error_rate=0.0)
    assert api.get("vendors").status_code == 200
    assert sim.stats("int")["injected_errors"] == 2


def test_fault_dice_are_seeded(make_simulator):
    def statuses(sim: Simulator) -> list[int]:
        api = Api(sim, "prod")
        return [api.get("vendors").status_code for _ in range(30)]

    faults = Faults(error_rate=0.4, seed=5)
    first, second = (
        statuses(make_simulator(seed=1, scale=0.05, faults=faults)),
        statuses(make_simulator(seed=1, scale=0.05, faults=faults)),
    )
    assert first == second and 200 in first and set(first) - {200}


def test_dropped_posts_are_committed_but_never_answered(make_simulator):
    sim = make_simulator(seed=1, scale=0.05, faults=Faults(drop_post_rate=1.0))
    api = Api(sim, "int")
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("materials", {"code": "DROP-1", "description": "lost answer"})
    assert [m["code"] for m in sim.records("int", "materials")] == ["DROP-1"]
    assert is_problem(api.post("materials", {"code": "DROP-2"}), 400)  # failures are answered
    assert api.get("vendors").status_code == 200  # reads are never dropped
    stats = sim.stats("int")
    assert stats["dropped_posts"] == 1 and stats["by_route"]["POST materials"] == 2


def test_slow_answers_push_a_client_past_its_timeout(make_simulator):
    sim = make_simulator(seed=1, scale=0.05, faults=Faults(slow_rate=1.0, slow_seconds=1.5))
    api = Api(sim, "int", timeout=0.3)
    with pytest.raises(httpx.ReadTimeout):
        api.post("materials", {"code": "SLOW-1", "description": "committed anyway"})
    assert [m["code"] for m in sim.records("int", "materials")] == ["SLOW-1"]
    sim.set_faults(slow_rate=0.0)
    assert api.get("vendors").status_code == 200


def test_control_plane(simulator):
    url = simulator.url
    assert httpx.post(f"{url}/_sim/faults", json={"error_rate": 0.25, "latency_ms": 5}).json()["error_rate"] == 0.25
    assert simulator.faults.error_rate == 0.25 and simulator.faults.latency_ms == 5
    assert httpx.post(f"{url}/_sim/faults", json={"bogus": 1}).status_code == 400
    assert httpx.post(f"{url}/_sim/faults", json={"error_rate": 2}).status_code == 400
    httpx.post(f"{url}/_sim/faults", json={"error_rate": 0, "latency_ms": 0})
    vendors = httpx.get(f"{url}/_sim/records/int/vendors").json()
    assert vendors == simulator.records("int", "vendors")
    Api(simulator, "prod").get("vendors")
    stats = httpx.get(f"{url}/_sim/stats/prod").json()
    assert stats["by_route"] == {"GET vendors": 1} and stats["status"] == {"200": 1} and stats["tokens_issued"] == 1
    httpx.post(f"{url}/_sim/reset-stats")
    assert simulator.stats("prod")["requests"] == 0
    assert httpx.post(f"{url}/_sim/config", json={"token_lifetime": 60, "rate_limit": 9}).json()["rate_limit"] == 9


def test_stats_count_routes_and_statuses(simulator):
    api = Api(simulator, "int")
    api.get("materials")
    api.get("materials/1")
    api.post("materials", {"code": "S-1", "description": "x"})
    api.get("export/materials")
    stats = simulator.stats("int")
    assert stats["requests"] == 4 and stats["by_route"] == {
        "GET materials": 1,
        "GET materials/{id}": 1,
        "POST materials": 1,
        "GET export/materials": 1,
    }
    assert stats["status"] == {"200": 2, "404": 1, "201": 1} and simulator.stats("prod")["requests"] == 0
    simulator.reset_stats()
    assert simulator.stats("int")["by_route"] == {}


# == data ===============================================================================================
def test_data_is_deterministic_and_sized_by_scale_and_counts():
    default = Simulator(seed=7)
    sizes = {kind: len(default.records("prod", kind)) for kind in KINDS}
    assert {
        k: sizes[k]
        for k in (
            "vendors",
            "warehouses",
            "purchase-order-types",
            "business-units",
            "job-types",
            "campaigns",
            "technicians",
            "customers",
            "materials",
            "purchase-orders",
            "jobs",
        )
    } == {
        "vendors": 12,
        "warehouses": 3,
        "purchase-order-types": 4,
        "business-units": 6,
        "job-types": 10,
        "campaigns": 8,
        "technicians": 15,
        "customers": 80,
        "materials": 400,
        "purchase-orders": 150,
        "jobs": 200,
    }
    assert 80 <= sizes["locations"] <= 160 and 200 <= sizes["appointments"] <= 400
    assert Simulator(seed=7).records("prod", "materials") == default.records("prod", "materials")
    assert Simulator(seed=8).records("prod", "materials") != default.records("prod", "materials")
    small = Simulator(seed=7, scale=0.5, counts={"materials": 33, "vendors": 3})
    assert len(small.records("prod", "materials")) == 33 and len(small.records("prod", "jobs")) == 100
    assert len(small.records("prod", "vendors")) == 3 and len(small.records("prod", "technicians")) == 15
    with pytest.raises(ValueError):
        Simulator(counts={"unicorns": 1})


def test_integration_has_the_master_data_under_other_ids_with_deliberate_gaps(shared):
    missing, duplicated = DELIBERATE_GAPS["missing"], DELIBERATE_GAPS["duplicated"]
    for kind in (
        "vendors",
        "warehouses",
        "purchase-order-types",
        "business-units",
        "customers",
        "job-types",
        "campaigns",
        "technicians",
        "categories",
    ):
        prod_names = [r["name"] for r in shared.records("prod", kind)]
        int_names = [r["name"] for r in shared.records("int", kind)]
        gone = set(missing.get(kind, ()))
        assert gone <= set(prod_names) and not gone & set(int_names)
        assert sorted(int_names) == sorted([n for n in prod_names if n not in gone] + list(duplicated.get(kind, ())))
    prod_customers = by_name(shared.records("prod", "customers"))
    int_customers = by_name(shared.records("int", "customers"))
    for name, customer in int_customers.items():
        assert customer["address"] == prod_customers[name]["address"]
    for kind in ("materials", "purchase-orders", "jobs", "appointments", "appointment-assignments"):
        assert shared.records("int", kind) == []
    prod_ids = {r["id"] for kind in KINDS for r in shared.records("prod", kind)}
    int_ids = {r["id"] for kind in KINDS for r in shared.records("int", kind)}
    assert all(1_000_000 <= i < 50_000_000 for i in prod_ids) and all(50_000_000 <= i < 80_000_000 for i in int_ids)


def test_the_gaps_are_referenced_by_production_records(shared):
    missing = DELIBERATE_GAPS["missing"]
    ids = {kind: by_name(shared.records("prod", kind))[names[0]]["id"] for kind, names in missing.items()}
    assert any(
        (m["primaryVendor"] or {}).get("vendorId") == ids["vendors"] for m in shared.records("prod", "materials")
    )
    assert any(p["vendorId"] == ids["vendors"] for p in shared.records("prod", "purchase-orders"))
    jobs = shared.records("prod", "jobs")
    assert any(j["customerId"] == ids["customers"] for j in jobs)
    assert any(j["jobTypeId"] == ids["job-types"] for j in jobs)
    assert any(a["technicianId"] == ids["technicians"] for a in shared.records("prod", "appointment-assignments"))
    duplicated = DELIBERATE_GAPS["duplicated"]["campaigns"][0]
    campaign = by_name(shared.records("prod", "campaigns"))[duplicated]["id"]
    assert any(j["campaignId"] == campaign for j in jobs)
    merged = [c for c in shared.records("prod", "customers") if c["mergedToId"]]
    assert merged and any(j["customerId"] == merged[0]["id"] for j in jobs)


def test_production_data_is_consistent_and_realistic(shared):
    until = shared.until
    materials = shared.records("prod", "materials")
    inactive = sum(not m["active"] for m in materials) / len(materials)
    assert 0.03 <= inactive <= 0.2
    assert sum(m["primaryVendor"] is not None for m in materials) / len(materials) > 0.7
    assert len({m["code"].casefold() for m in materials}) == len(materials)
    for kind in ("materials", "purchase-orders", "jobs"):
        for record in shared.records("prod", kind):
            created = datetime.fromisoformat(record["createdOn"])
            assert created <= datetime.fromisoformat(record["modifiedOn"]) <= until
            assert created >= until - timedelta(days=125)
    by_id = {m["id"]: m for m in materials}
    equipment = {e["id"]: e for e in shared.records("prod", "equipment")}
    awkward = {"Equipment": 0, "inactive": 0}
    for po in shared.records("prod", "purchase-orders"):
        assert 1 <= len(po["items"]) <= 7
        for line in po["items"]:
            sku = (equipment if line["skuType"] == "Equipment" else by_id)[line["skuId"]]
            assert sku["code"] == line["skuCode"]
            awkward["Equipment"] += line["skuType"] == "Equipment"
            if not sku["active"]:  # deactivated after the PO was made: an equipment line's is always active
                assert line["skuType"] == "Material" and sku["modifiedOn"] > po["createdOn"]
                awkward["inactive"] += 1
    assert awkward["Equipment"] > 0 and awkward["inactive"] > 0
    locations = {loc["id"]: loc for loc in shared.records("prod", "locations")}
    appointments = {a["id"]: a for a in shared.records("prod", "appointments")}
    for job in shared.records("prod", "jobs"):
        assert locations[job["locationId"]]["customerId"] == job["customerId"]
        assert appointments[job["firstAppointmentId"]]["jobId"] == job["id"]
    text = json.dumps([materials, shared.records("prod", "jobs")], ensure_ascii=False)
    assert re.search(r"[\U0001F300-\U0001FAFF]", text) and "Ä" in text and '\\"' in text
    assert max(len(m["description"]) for m in materials) > 2000
    assert any(m["displayName"] is None for m in materials) and any(
        j["summary"] is None for j in shared.records("prod", "jobs")
    )


def test_the_data_ends_yesterday_by_default(shared):
    """So the schedule's "yesterday" and the UI's recent ranges find records (the dates move with today)."""
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%d")
    assert shared.until.strftime("%Y-%m-%dT%H:%M:%S") == f"{yesterday}T23:59:59"
    days = {
        r["modifiedOn"][:10] for kind in ("materials", "purchase-orders", "jobs") for r in shared.records("prod", kind)
    }
    assert max(days) == yesterday


def test_until_moves_the_data_window():
    until = datetime(2025, 3, 31, 23, 59, 59, tzinfo=timezone.utc)
    materials = Simulator(seed=7, scale=0.1, until=until).records("prod", "materials")
    assert max(m["modifiedOn"] for m in materials) <= "2025-03-31T23:59:59.000Z"
    assert min(m["createdOn"] for m in materials) >= "2024-11-30"


def test_records_are_deep_copies(shared):
    first = shared.records("prod", "materials")
    first[0]["code"] = "MUTATED"
    assert shared.records("prod", "materials")[0]["code"] != "MUTATED"
    with pytest.raises(ValueError):
        shared.records("staging", "materials")
