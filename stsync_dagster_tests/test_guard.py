"""The Production guard (DESIGN promise 1) against every alias of a Production address found so far."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stsync_dagster.errors import ConfigError
from stsync_dagster.servicetitan import IntegrationClient, ProductionClient, SettingsError, check_integration_target
from stsync_dagster.settings import load_settings
from stsync_dagster.servicetitan.hosts import endpoint, normalize_host
from stsync_dagster_tests.sync_helpers import sync_env

LOCAL_PROD = {
    "ST_AUTH_URL_PROD": "http://127.0.0.1:9/prod/connect/token",
    "ST_API_BASE_PROD": "http://127.0.0.1:9/prod",
    "ST_AUTH_URL_INT": "http://127.0.0.1:9/int/connect/token",
    "ST_API_BASE_INT": "http://127.0.0.1:9/int",
}
OFFICIAL = {
    "ST_AUTH_URL_PROD": "https://auth.servicetitan.io/connect/token",
    "ST_API_BASE_PROD": "https://api.servicetitan.io",
    "ST_AUTH_URL_INT": "https://auth-integration.servicetitan.io/connect/token",
    "ST_API_BASE_INT": "https://api-integration.servicetitan.io",
}


def _env(urls: dict[str, str], **overrides: str) -> dict[str, str]:
    env = {
        **urls,
        "ST_CLIENT_ID_PROD": "cid.prod",
        "ST_CLIENT_SECRET_PROD": "prod-secret-Zq81x",
        "ST_CLIENT_ID_INT": "cid.int",
        "ST_CLIENT_SECRET_INT": "int-secret-Wm44k",
        "ST_APP_KEY_PROD": "app-key-Hh27p",
        "ST_APP_KEY_INT": "app-key-Hh27p",
        "ST_TENANT_ID_PROD": "1000001",
        "ST_TENANT_ID_INT": "1000001",  # an Integration tenant copied from Production may keep its id
        **overrides,
    }
    return env


def _refused(env: dict[str, str]) -> SettingsError:
    settings = load_settings(env, dotenv_path=None)
    with pytest.raises(SettingsError) as info:
        check_integration_target(settings.int, settings.prod)
    with pytest.raises(SettingsError):
        IntegrationClient.from_settings(settings)
    return info.value


@pytest.mark.parametrize("urls", [LOCAL_PROD, OFFICIAL], ids=["simulator", "official"])
def test_distinct_targets_are_accepted(urls):
    settings = load_settings(_env(urls), dotenv_path=None)
    check_integration_target(settings.int, settings.prod)


# Each an alias of the Production API base of LOCAL_PROD, written into ST_API_BASE_INT.
LOCAL_ALIASES = [
    "http://localhost:9/prod",
    "http://LOCALHOST.:9/prod/",
    "http://127.0.0.1:9/int/../prod",
    "http://127.0.0.1:9/int/%2e%2e/prod",
    "http://127.0.0.1:9/pr%6Fd",
    "http://127.0.0.1:9//prod",
    "http://[::ffff:127.0.0.1]:9/prod",
    "http://[::1]:9/prod",
    "http://2130706433:9/prod",
    "http://0x7f000001:9/prod",
    "http://127.1:9/prod",
    "http://127.0.0.2:9/prod",
    "http://127.0.0.1:9/PROD",
]


@pytest.mark.parametrize("alias", LOCAL_ALIASES)
def test_an_alias_of_the_production_api_base_is_refused(alias):
    error = _refused(_env(LOCAL_PROD, ST_API_BASE_INT=alias))
    assert "ST_API_BASE_INT" in error.variables


@pytest.mark.parametrize("alias", [a.rstrip("/") + "/connect/token" for a in LOCAL_ALIASES])
def test_an_alias_of_the_production_token_url_is_refused(alias):
    error = _refused(_env(LOCAL_PROD, ST_AUTH_URL_INT=alias))
    assert "ST_AUTH_URL_INT" in error.variables


OFFICIAL_ALIASES = [
    ("ST_API_BASE_INT", "https://api.servicetitan.io."),
    ("ST_API_BASE_INT", "https://API.ServiceTitan.IO:443/"),
    ("ST_API_BASE_INT", "https://api\u3002servicetitan\u3002io"),
    ("ST_API_BASE_INT", "https://api\uff0eservicetitan\uff0eio"),
    ("ST_API_BASE_INT", "https://api-integration.servicetitan.io/../"),  # harmless path, still Integration
    ("ST_AUTH_URL_INT", "https://auth.servicetitan.io./connect/token"),
    ("ST_AUTH_URL_INT", "https://auth\u3002servicetitan\u3002io/connect/token"),
    ("ST_AUTH_URL_INT", "https://auth.servicetitan.io:443/connect/../connect/token"),
]


@pytest.mark.parametrize("variable, alias", OFFICIAL_ALIASES)
def test_an_alias_of_an_official_production_host_is_refused(variable, alias):
    env = _env(OFFICIAL, **{variable: alias})
    if "api-integration" in alias:  # the control: a resolved path alone is no reason to refuse
        settings = load_settings(env, dotenv_path=None)
        check_integration_target(settings.int, settings.prod)
        return
    error = _refused(env)
    assert variable in error.variables


def _swapped(urls: dict[str, str]) -> dict[str, str]:
    env = _env(urls)
    out = dict(env)
    for key, value in env.items():
        if key.endswith("_PROD"):
            out[key[: -len("_PROD")] + "_INT"] = value
        elif key.endswith("_INT"):
            out[key[: -len("_INT")] + "_PROD"] = value
    return out


@pytest.mark.parametrize("urls", [LOCAL_PROD, OFFICIAL], ids=["simulator", "official"])
def test_swapped_blocks_are_refused(urls):
    error = _refused(_swapped(urls))
    assert "swapped" in str(error)


@pytest.mark.parametrize(
    "prod_base, int_base",
    [
        ("http://127.0.0.1:9/tenant-a", "http://127.0.0.1:9"),  # every Production path is a path under Integration's
        ("http://localhost:9/a", "http://127.0.0.1:9/A/.."),
        ("http://127.0.0.1:9", "http://127.0.0.1:9/b"),  # Integration's base is a path of Production's server
    ],
)
def test_nested_api_bases_are_refused(prod_base, int_base):
    """No path can be checked against a base that holds the other: the one server would take both."""
    error = _refused(_env(LOCAL_PROD, ST_API_BASE_PROD=prod_base, ST_API_BASE_INT=int_base))
    assert "ST_API_BASE_INT" in error.variables


def test_an_integration_host_in_the_production_slot_is_refused():
    error = _refused(_env(OFFICIAL, ST_API_BASE_PROD="https://api-integration.servicetitan.io"))
    assert "ST_API_BASE_PROD" in error.variables


@pytest.mark.parametrize("client_id", ["CID.PROD", " Cid.Prod "])
def test_the_production_client_id_is_refused_whatever_its_case(client_id):
    error = _refused(_env(OFFICIAL, ST_CLIENT_ID_INT=client_id))
    assert "ST_CLIENT_ID_INT" in error.variables


def test_one_normalisation_of_hosts():
    assert normalize_host("API\u3002ServiceTitan\u3002io.") == "api.servicetitan.io"
    assert normalize_host("127.0.0.1") == normalize_host("localhost") == normalize_host("[::ffff:127.0.0.1]")
    assert normalize_host("10.0.0.1") == normalize_host("167772161") == "10.0.0.1"
    assert normalize_host("[::ffff:10.0.0.1]") == "10.0.0.1"
    assert normalize_host("b\u00fccher.example") == "xn--bcher-kva.example"
    assert endpoint("https://api.servicetitan.io") == endpoint("https://api.servicetitan.io.:443/./")
    assert endpoint("http://h/int") != endpoint("http://h/prod")
    assert endpoint("http://h:80/a") != endpoint("http://h:8080/a")


def test_stsync_refuses_swapped_blocks_before_any_request(simulator, tmp_path):
    env = _swapped(sync_env(simulator, tmp_path))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_", "DAGSTER_HOME"))}
    stsync = Path(sys.executable).parent / "stsync"
    done = subprocess.run(
        [str(stsync), "sync", "all"], env={**base, **env}, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "swapped" in done.stderr and "Traceback" not in done.stderr
    assert simulator.stats("prod")["requests"] == 0 and simulator.stats("int")["requests"] == 0


# -- the guard on every request: the URL as it is sent, not only the configured bases ----------------

# Each a path template that, appended to ST_API_BASE_INT (…/int), leads to the Production side of the simulator
# once a client, a proxy or a server resolves it.
ESCAPES = {
    "dot segments": "/../prod/pricebook/v2/tenant/{tenant}/materials",
    "percent-encoded dot segments": "/%2e%2E/prod/pricebook/v2/tenant/{tenant}/materials",
    "encoded twice": "/%252e%252e/prod/pricebook/v2/tenant/{tenant}/materials",
    "a backslash": "/..\\prod/pricebook/v2/tenant/{tenant}/materials",
    "an encoded slash": "/x%2F..%2F..%2Fprod/pricebook/v2/tenant/{tenant}/materials",
}


def _nothing_sent(sim) -> None:
    for env in ("prod", "int"):
        stats = sim.stats(env)
        assert stats["requests"] == 0 and stats["token_requests"] == 0, (env, stats)


@pytest.mark.parametrize("path", ESCAPES.values(), ids=ESCAPES.keys())
def test_a_write_whose_url_leaves_integration_is_refused_before_it_is_sent(path, simulator):
    """The config file's checks bypassed: the client itself refuses the URL it would send, and sends nothing."""
    settings = load_settings(simulator.env(), dotenv_path=None)
    with IntegrationClient(settings.int, production=settings.prod, timeout=5, max_retries=0) as intc:
        with pytest.raises(SettingsError) as info:
            intc.create(path, {"code": "GUARD-1", "displayName": "guard", "cost": 1.0})
        assert intc.stats.requests == 0
    _nothing_sent(simulator)
    message = str(info.value)
    assert "POST" in message and "ST_API_BASE_INT" in message, message
    assert f"{simulator.url}/" in message and "/prod/pricebook" in message, message  # names the URL
    env = simulator.env()
    for secret in (env["ST_CLIENT_SECRET_INT"], env["ST_CLIENT_SECRET_PROD"], env["ST_APP_KEY_INT"]):
        assert secret not in message


def test_an_id_that_climbs_out_of_its_path_is_refused(simulator):
    """A status change or patch puts an id from the data into the path: it is checked like any other."""
    settings = load_settings(simulator.env(), dotenv_path=None)
    with IntegrationClient(settings.int, production=settings.prod, timeout=5, max_retries=0) as intc:
        with pytest.raises(SettingsError):
            intc.patch(
                "/pricebook/v2/tenant/{tenant}/materials",
                "../../../../../../prod/pricebook/v2/tenant/1/materials/5",
                {"active": False},
            )
        with pytest.raises(SettingsError):
            intc.act("PUT", "/jpm/v2/tenant/{tenant}/jobs/{id}/cancel", "..%2F..%2F..%2F..%2F..%2F..%2Fprod%2Fx", {})
    _nothing_sent(simulator)


def test_a_production_read_that_leaves_production_is_refused(simulator):
    """The Production client's token goes nowhere but Production either."""
    settings = load_settings(simulator.env(), dotenv_path=None)
    with ProductionClient(settings.prod, timeout=5, max_retries=0) as prod:
        with pytest.raises(SettingsError) as info:
            next(iter(prod.iter_pages("/../int/pricebook/v2/tenant/{tenant}/materials")))
    _nothing_sent(simulator)
    assert "ST_API_BASE_PROD" in str(info.value)


def test_requests_inside_the_base_still_go_out(simulator):
    """The control: a path that stays under its base (dots inside a segment are no dot segment) is sent."""
    settings = load_settings(simulator.env(), dotenv_path=None)
    with IntegrationClient(settings.int, production=settings.prod, timeout=5, max_retries=0) as intc:
        page = next(iter(intc.iter_pages("/settings/v2/tenant/{tenant}/business-units", {"pageSize": 1})))
    assert page.records
    assert simulator.stats("prod")["requests"] == 0 and simulator.stats("int")["requests"] == 1


# -- paths in stsync.config.json: refused when loaded, naming the JSON path -----------------------------

REPO_CONFIG = Path(__file__).resolve().parents[1] / "stsync.config.json"
BAD_CONFIG_PATHS = {
    "dot segments": "/../prod/pricebook/v2/tenant/{tenant}/materials",
    "a single dot": "/pricebook/./v2/tenant/{tenant}/materials",
    "a trailing dot-dot": "/pricebook/v2/tenant/{tenant}/materials/..",
    "percent-encoded dots": "/%2e%2E/prod/pricebook/v2/tenant/{tenant}/materials",
    "half-encoded dots": "/.%2e/prod/pricebook/v2/tenant/{tenant}/materials",
    "dots encoded twice": "/%252e%252E/prod/pricebook/v2/tenant/{tenant}/materials",
    "a backslash": "/pricebook\\v2/tenant/{tenant}/materials",
    "an encoded backslash": "/pricebook%5Cv2/tenant/{tenant}/materials",
    "a scheme": "http://127.0.0.1:9/prod/pricebook/v2/tenant/{tenant}/materials",
    "a scheme after the slash": "/http://127.0.0.1:9/prod/pricebook/v2/tenant/{tenant}/materials",
    "a scheme-relative host": "//api.servicetitan.io/pricebook/v2/tenant/{tenant}/materials",
}


def write_config(folder: Path, *keys_and_value) -> Path:
    """The repo's config with one value replaced: write_config(tmp, "entities", "items", "int_create_path", v)."""
    import json

    *keys, value = keys_and_value
    config = json.loads(REPO_CONFIG.read_text(encoding="utf-8"))
    node = config
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    path = folder / "stsync.config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


@pytest.mark.parametrize("value", BAD_CONFIG_PATHS.values(), ids=BAD_CONFIG_PATHS.keys())
def test_a_config_path_that_could_leave_its_base_is_refused_on_load(value, tmp_path):
    from stsync_dagster.config import load_config

    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, "entities", "items", "int_create_path", value))
    assert "entities.items.int_create_path" in str(info.value)
    assert len(str(info.value).splitlines()) == 1


@pytest.mark.parametrize(
    "keys",
    [
        ("entities", "jobs", "statuses", "cancel", "path"),
        ("entities", "pos", "export_path"),
        ("related", "appointments"),
        ("master_data", "vendors", "path"),
    ],
)
def test_every_path_of_the_config_is_checked(keys, tmp_path):
    from stsync_dagster.config import load_config

    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, *keys, "/x/%2E%2e/prod/{tenant}/{id}"))
    assert ".".join(keys) in str(info.value)


def test_dots_inside_a_segment_are_no_dot_segment(tmp_path):
    from stsync_dagster.config import load_config

    config = load_config(
        write_config(tmp_path, "entities", "items", "int_list_path", "/pricebook/v2.1/tenant/{tenant}/m..x")
    )
    assert config.entity("items").int_list_path == "/pricebook/v2.1/tenant/{tenant}/m..x"


def test_a_url_that_names_production_is_refused_even_under_the_integration_base():
    """An Integration API at the root of its own host: a /prod segment in a request still names Production
    (nothing listens at 10.255.255.1: the refusal comes before any connection is tried)."""
    urls = {
        **LOCAL_PROD,
        "ST_API_BASE_INT": "http://10.255.255.1:9",
        "ST_AUTH_URL_INT": "http://10.255.255.1:9/connect/token",
    }
    settings = load_settings(_env(urls), dotenv_path=None)
    with IntegrationClient(settings.int, production=settings.prod, timeout=1, max_retries=0) as intc:
        with pytest.raises(SettingsError) as info:
            intc.create("/prod/pricebook/v2/tenant/{tenant}/materials", {"code": "X"})
        assert intc.stats.requests == 0
    assert "Production" in str(info.value) and "http://10.255.255.1:9/prod/pricebook" in str(info.value)
