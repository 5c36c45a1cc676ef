"""The Production guard (DESIGN promise 1) against every alias of a Production address found so far."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stsync_dagster.servicetitan import ConfigError, IntegrationClient, check_integration_target, load_settings
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


def _refused(env: dict[str, str]) -> ConfigError:
    settings = load_settings(env, dotenv_path=None)
    with pytest.raises(ConfigError) as info:
        check_integration_target(settings.int, settings.prod)
    with pytest.raises(ConfigError):
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
    done = subprocess.run([str(stsync), "sync", "all"], env={**base, **env}, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "swapped" in done.stderr and "Traceback" not in done.stderr
    assert simulator.stats("prod")["requests"] == 0 and simulator.stats("int")["requests"] == 0
