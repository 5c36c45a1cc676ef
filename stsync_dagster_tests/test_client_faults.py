"""The client under faults, against the simulator over real HTTP: tokens, 401, 429, 5xx, dropped and
refused writes, bad credentials, concurrency, and secrets kept out of every message."""

from __future__ import annotations

import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from stsync_dagster.servicetitan import (
    AmbiguousWriteError,
    AuthenticationError,
    IntegrationClient,
    ProductionClient,
    ServerError,
    ServiceTitanError,
    TransportError,
    ValidationError,
)
from stsync_dagster.settings import load_settings
from stsync_dagster.simulator import APP_KEY, INT_CLIENT_SECRET, PROD_CLIENT_SECRET, Simulator

MATERIALS = "/pricebook/v2/tenant/{tenant}/materials"
BUSINESS_UNITS = "/settings/v2/tenant/{tenant}/business-units"
SECRETS = (PROD_CLIENT_SECRET, INT_CLIENT_SECRET, APP_KEY, "eyJhbGci")  # the last: any JWT the simulator issues


@pytest.fixture(autouse=True)
def _pacer_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("STSYNC_PACER_DIR", str(tmp_path / "pacer"))


@pytest.fixture(autouse=True)
def _logs_carry_no_secret(caplog):
    caplog.set_level(logging.DEBUG)
    yield
    for secret in SECRETS:
        assert secret not in caplog.text


def assert_clean(exc: BaseException) -> None:
    seen = exc
    while seen is not None:
        for text in (str(seen), repr(seen)):
            for secret in SECRETS:
                assert secret not in text, f"secret in {type(seen).__name__}: {text}"
        seen = getattr(seen, "cause", None) or seen.__cause__


def settings_of(sim, **overrides):
    return load_settings({**sim.env(), **overrides}, dotenv_path=None)


def prod_client(sim, settings=None, **kw) -> ProductionClient:
    settings = settings or settings_of(sim)
    kw.setdefault("rate_limit", settings.rate_limit)
    kw.setdefault("timeout", 5)
    kw.setdefault("retry_backoff", 0.05)  # quick tests; the default backoff starts at 0.5 s
    return ProductionClient(settings.prod, **kw)


def int_client(sim, settings=None, **kw) -> IntegrationClient:
    settings = settings or settings_of(sim)
    kw.setdefault("rate_limit", settings.rate_limit)
    kw.setdefault("timeout", 5)
    kw.setdefault("retry_backoff", 0.05)
    return IntegrationClient(settings.int, production=settings.prod, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def material(code: str) -> dict:
    return {"code": code, "description": f"client test {code}", "active": True}


def one_page(client) -> list[dict]:
    return next(client.iter_pages(BUSINESS_UNITS, page_size=5)).records


def pages_at_once(sim, reads: int, workers: int = 8, **kw) -> ProductionClient:
    """`reads` first pages read from Production through one client, `workers` at a time, every one of them
    answered; the client (closed) for its stats."""
    with prod_client(sim, **kw) as prod, ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda _: one_page(prod), range(reads)))
    assert all(results)
    return prod


# -- tokens -----------------------------------------------------------------------------------------


def test_token_renewed_before_expiry_mid_run(make_simulator):
    sim = make_simulator(seed=3, scale=0.1, token_lifetime=2, rate_limit=None)
    with prod_client(sim, rate_limit=25) as prod:
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            assert one_page(prod)
    assert 3 <= sim.stats("prod")["tokens_issued"] <= 5  # renewed mid-run, more than once, not per call
    assert 401 not in prod.stats.by_status  # renewed ahead of expiry: never refused
    assert prod.stats.errors == 0


def test_forgotten_token_gets_a_401_renewed_once_and_the_call_succeeds(make_simulator):
    sim = make_simulator(seed=3, scale=0.1)
    port = sim.port
    with prod_client(sim, rate_limit=100) as prod:
        assert one_page(prod)
        sim.stop()  # a new server on the same port knows none of the old tokens
        with Simulator(seed=3, scale=0.1).start(port=port) as fresh:
            assert one_page(prod)
            assert fresh.stats("prod")["status"].get("401") == 1
            assert fresh.stats("prod")["tokens_issued"] == 1
    assert prod.stats.by_status[401] == 1 and prod.stats.token_renewals == 1


def test_bad_credentials_name_the_variables_not_the_secret(simulator):
    settings = settings_of(simulator, ST_CLIENT_SECRET_PROD="cs1.wrong-secret-value-123")
    with prod_client(simulator, settings) as prod, pytest.raises(AuthenticationError) as info:
        one_page(prod)
    message = str(info.value)
    assert "Production" in message and "ST_CLIENT_ID_PROD" in message and "ST_CLIENT_SECRET_PROD" in message
    assert "cs1.wrong-secret-value-123" not in message and "cs1.wrong-secret-value-123" not in repr(info.value)
    assert prod.stats.requests == 0  # no API request without a token
    assert_clean(info.value)


def test_wrong_app_key_is_an_authentication_error(simulator):
    settings = settings_of(simulator, ST_APP_KEY_PROD="ak1.not-the-app-key-000")
    with prod_client(simulator, settings, max_retries=0) as prod, pytest.raises(AuthenticationError) as info:
        one_page(prod)
    assert info.value.status == 401 and "ST_APP_KEY_PROD" in str(info.value)
    assert "ak1.not-the-app-key-000" not in str(info.value) + repr(info.value)
    assert prod.stats.requests == 2  # the one renewal retry, then the error
    assert_clean(info.value)


# -- rate limit -------------------------------------------------------------------------------------


def test_pacer_keeps_429s_rare_under_the_limit(make_simulator):
    sim = make_simulator(seed=3, scale=0.1, rate_limit=60)
    prod = pages_at_once(sim, 250, rate_limit=50)
    stats = sim.stats("prod")
    assert stats["requests"] >= 250
    assert stats["rate_limited"] <= 2  # under 1%
    assert prod.stats.rate_limited == stats["rate_limited"]


def test_429s_over_the_limit_are_absorbed(make_simulator):
    sim = make_simulator(seed=3, scale=0.1, rate_limit=20)
    prod = pages_at_once(sim, 50, workers=4, rate_limit=500, max_retries=10)  # every call succeeded
    served = sim.stats("prod")["rate_limited"]
    assert served > 0 and prod.stats.rate_limited == served and prod.stats.retries >= served


def test_429_on_a_post_is_retried_and_creates_once(make_simulator):
    sim = make_simulator(seed=3, scale=0.1, rate_limit=5)
    with int_client(sim, rate_limit=500, max_retries=10) as intc, ThreadPoolExecutor(4) as pool:
        created = list(pool.map(lambda i: intc.create(MATERIALS, material(f"RL-{i}")), range(12)))
    assert sim.stats("int")["rate_limited"] > 0
    codes = [r["code"] for r in sim.records("int", "materials") if r["code"].startswith("RL-")]
    assert sorted(codes) == sorted(f"RL-{i}" for i in range(12)) == sorted(r["code"] for r in created)


def test_rate_limit_exhausted_when_retries_run_out(make_simulator):
    sim = make_simulator(seed=3, scale=0.1, rate_limit=1)
    with prod_client(sim, rate_limit=1000, max_retries=0) as prod:
        one_page(prod)
        with pytest.raises(ServiceTitanError) as info:
            one_page(prod)
    assert type(info.value).__name__ == "RateLimitExhausted" and info.value.status == 429
    assert_clean(info.value)


# -- server errors ----------------------------------------------------------------------------------


def test_5xx_and_html_errors_on_reads_are_retried(make_simulator):
    sim = make_simulator(seed=3, scale=0.1, rate_limit=None)
    sim.set_faults(error_rate=0.3, html_error_fraction=0.5, seed=5)
    prod = pages_at_once(sim, 40, rate_limit=200, max_retries=8)
    injected = sim.stats("prod")["injected_errors"]
    assert injected > 0
    assert prod.stats.retries == injected
    assert sum(n for status, n in prod.stats.by_status.items() if status >= 500) == injected


def test_html_error_body_becomes_a_short_clean_message(make_simulator):
    sim = make_simulator(seed=3, scale=0.1, rate_limit=None)
    sim.set_faults(error_rate=1.0, html_error_fraction=1.0)
    with prod_client(sim, max_retries=1) as prod, pytest.raises(ServerError) as info:
        one_page(prod)
    message = str(info.value)
    assert info.value.status in (500, 502, 503)
    assert "<" not in message and "temporary error" in message and len(message) < 400
    assert prod.stats.requests == 2 and prod.stats.retries == 1
    assert_clean(info.value)


def test_5xx_answer_to_a_post_is_ambiguous_and_not_retried(make_simulator):
    sim = make_simulator(seed=3, scale=0.1, rate_limit=None)
    sim.set_faults(error_rate=1.0)
    with int_client(sim) as intc, pytest.raises(AmbiguousWriteError) as info:
        intc.create(MATERIALS, material("AMB-5XX"))
    assert sim.stats("int")["by_route"]["POST materials"] == 1
    assert intc.stats.retries == 0 and info.value.method == "POST"
    assert_clean(info.value)


def test_read_timeouts_on_gets_are_retried(make_simulator):
    sim = make_simulator(seed=3, scale=0.1, rate_limit=None)
    sim.set_faults(slow_rate=0.3, slow_seconds=1.0, seed=2)
    prod = pages_at_once(sim, 24, timeout=0.3, max_retries=6)
    assert prod.stats.retries > 0 and prod.stats.errors == prod.stats.retries


# -- writes -----------------------------------------------------------------------------------------


def test_dropped_post_is_ambiguous_and_not_retried(make_simulator):
    sim = make_simulator(seed=3, scale=0.1, rate_limit=None)
    before = len(sim.records("int", "materials"))
    sim.set_faults(drop_post_rate=1.0)
    with int_client(sim) as intc, pytest.raises(AmbiguousWriteError) as info:
        intc.create(MATERIALS, material("DROP-1"))
    assert len(sim.records("int", "materials")) == before + 1  # committed exactly once
    assert sim.stats("int")["by_route"]["POST materials"] == 1 and sim.stats("int")["dropped_posts"] == 1
    assert intc.stats.requests == 1 and intc.stats.retries == 0
    assert info.value.method == "POST" and info.value.path.endswith("/materials")
    assert info.value.cause is not None
    assert_clean(info.value)


def test_post_read_timeout_is_ambiguous_and_not_retried(make_simulator):
    sim = make_simulator(seed=3, scale=0.1, rate_limit=None)
    before = len(sim.records("int", "materials"))
    sim.set_faults(slow_rate=1.0, slow_seconds=1.0)
    with int_client(sim, timeout=0.3) as intc, pytest.raises(AmbiguousWriteError) as info:
        intc.create(MATERIALS, material("SLOW-1"))
    assert "ReadTimeout" in str(info.value)
    assert sim.stats("int")["by_route"]["POST materials"] == 1 and intc.stats.retries == 0
    assert len(sim.records("int", "materials")) == before + 1  # it was committed: hence "ambiguous"
    assert_clean(info.value)


def create_with_nobody_at(sim, variable: str, path: str, code: str, **kw):
    """A create with `variable` aimed at a local port nobody listens on: the client and the TransportError it
    ends in (clean, and not ambiguous: nothing reached a server)."""
    settings = settings_of(sim, **{variable: f"http://127.0.0.1:{free_port()}{path}"})
    with int_client(sim, settings, **kw) as intc, pytest.raises(TransportError) as info:
        intc.create(MATERIALS, material(code))
    assert not isinstance(info.value, AmbiguousWriteError)
    assert_clean(info.value)
    return intc, info.value


def test_post_to_a_refused_port_is_retried_then_a_transport_error(simulator):
    intc, error = create_with_nobody_at(simulator, "ST_API_BASE_INT", "/int", "REFUSED-1", max_retries=2)
    assert intc.stats.requests == 3 and intc.stats.retries == 2
    assert "ConnectError" in str(error)


def test_unreachable_token_endpoint_is_a_transport_error_not_ambiguous(simulator):
    intc, _ = create_with_nobody_at(simulator, "ST_AUTH_URL_INT", "/int/connect/token", "NOTOKEN-1", max_retries=1)
    assert intc.stats.requests == 0


def test_create_patch_and_validation_errors(simulator):
    with int_client(simulator) as intc:
        created = intc.create(MATERIALS, material("OK-1"))
        assert created["id"] and created["code"] == "OK-1"
        patched = intc.patch(MATERIALS, created["id"], {"description": "patched"})
        assert patched["description"] == "patched"
        with pytest.raises(ValidationError) as info:
            intc.create(MATERIALS, {"description": "no code"})
    assert "code" in info.value.errors and info.value.status == 400 and info.value.title
    assert "code" in str(info.value)
    assert simulator.stats("int")["by_route"]["POST materials"] == 2  # a 400 is not retried
    assert_clean(info.value)


def test_concurrent_creates_share_one_pacer(make_simulator):
    sim = make_simulator(seed=3, scale=0.1, rate_limit=60)
    settings = settings_of(sim)
    with int_client(sim, settings, rate_limit=50) as a, int_client(sim, settings, rate_limit=50) as b:
        assert a._transport.pacer is b._transport.pacer
        with ThreadPoolExecutor(16) as pool:
            created = list(pool.map(lambda i: (a if i % 2 else b).create(MATERIALS, material(f"C-{i}")), range(80)))
    assert len({r["id"] for r in created}) == 80
    assert sim.stats("int")["rate_limited"] == 0


def test_retry_after_from_the_header_else_the_title():
    import email.utils

    import httpx

    from stsync_dagster.servicetitan.transport import retry_after_seconds

    title = "Rate limit is exceeded. Try again in 7 seconds."
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "3"}), title) == 3
    assert retry_after_seconds(httpx.Response(429), title) == 7
    assert retry_after_seconds(httpx.Response(429), "Too Many Requests") is None
    later = email.utils.formatdate(time.time() + 20, usegmt=True)
    assert 15 < retry_after_seconds(httpx.Response(429, headers={"Retry-After": later}), None) <= 20
