"""Settings from the environment contract, and the guard that keeps Integration writes off Production."""

from __future__ import annotations

import pytest

from stsync_dagster.errors import ConfigError
from stsync_dagster.servicetitan import IntegrationClient, ProductionClient, SettingsError, check_integration_target
from stsync_dagster.settings import load_settings

SECRETS = ("prod-secret-Zq81x", "int-secret-Wm44k", "app-key-Hh27p")


def full_env(**overrides: str) -> dict[str, str]:
    env = {
        "ST_AUTH_URL_PROD": "http://127.0.0.1:9/prod/connect/token",
        "ST_AUTH_URL_INT": "http://127.0.0.1:9/int/connect/token",
        "ST_API_BASE_PROD": "http://127.0.0.1:9/prod/",
        "ST_API_BASE_INT": "http://127.0.0.1:9/int",
        "ST_CLIENT_ID_PROD": "cid.prod",
        "ST_CLIENT_SECRET_PROD": SECRETS[0],
        "ST_CLIENT_ID_INT": "cid.int",
        "ST_CLIENT_SECRET_INT": SECRETS[1],
        "ST_APP_KEY_PROD": SECRETS[2],
        "ST_APP_KEY_INT": SECRETS[2],
        "ST_TENANT_ID_PROD": "1000001",
        "ST_TENANT_ID_INT": "2000002",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def assert_no_secret(exc: BaseException) -> None:
    for text in (str(exc), repr(exc)):
        for secret in SECRETS:
            assert secret not in text


def test_loads_the_contract_with_defaults(tmp_path):
    s = load_settings(full_env(), dotenv_path=tmp_path / "absent.env")
    assert s.prod.api_base == "http://127.0.0.1:9/prod"  # trailing slash dropped
    assert s.int.tenant_id == 2000002 and s.prod.tenant_id == 1000001
    assert s.prod.client_secret.get_secret_value() == SECRETS[0]
    assert (s.page_size, s.http_timeout, s.rate_limit, s.max_retries) == (5000, 30.0, 57.0, 6)
    assert s.external_data_guid == "5f0c1a52-57c3-4b9e-9a51-5757c0de0001"
    for secret in SECRETS:
        assert secret not in repr(s) and secret not in str(s)


def test_optional_variables_are_read(tmp_path):
    s = load_settings(
        full_env(
            ST_PAGE_SIZE="5000", ST_HTTP_TIMEOUT="2.5", ST_RATE_LIMIT="20", ST_MAX_RETRIES="0", STSYNC_DB="/tmp/x.db"
        ),
        dotenv_path=None,
    )
    assert (s.page_size, s.http_timeout, s.rate_limit, s.max_retries, s.db) == (5000, 2.5, 20.0, 0, "/tmp/x.db")


def test_every_missing_variable_is_named_at_once(tmp_path):
    env = full_env(ST_CLIENT_SECRET_INT=None, ST_TENANT_ID_PROD=None, ST_API_BASE_INT="  ")
    with pytest.raises(ConfigError) as info:
        load_settings(env, dotenv_path=None)
    assert set(info.value.variables) == {"ST_CLIENT_SECRET_INT", "ST_TENANT_ID_PROD", "ST_API_BASE_INT"}
    for name in info.value.variables:
        assert name in str(info.value)
    assert_no_secret(info.value)


def test_nothing_configured_names_all_twelve(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_settings({}, dotenv_path=tmp_path / ".env")
    assert len(info.value.variables) == 12


@pytest.mark.parametrize(
    "name, value",
    [
        ("ST_PAGE_SIZE", "0"),
        ("ST_PAGE_SIZE", "5001"),
        ("ST_PAGE_SIZE", "lots"),
        ("ST_TENANT_ID_PROD", "12x"),
        ("ST_TENANT_ID_INT", str(2**63)),
        ("ST_API_BASE_INT", "ftp://127.0.0.1/int"),
        ("ST_AUTH_URL_PROD", "auth.servicetitan.io/connect/token"),
        ("ST_HTTP_TIMEOUT", "0"),
        ("ST_RATE_LIMIT", "-1"),
        ("ST_MAX_RETRIES", "many"),
        ("ST_EXTERNAL_DATA_GUID", "not-a-guid"),
    ],
)
def test_malformed_variable_is_named(name, value):
    with pytest.raises(ConfigError) as info:
        load_settings(full_env(**{name: value}), dotenv_path=None)
    assert info.value.variables == [name]
    assert name in str(info.value)
    assert_no_secret(info.value)


def test_url_with_credentials_is_refused_without_echoing_them():
    url = f"https://user:{SECRETS[0]}@api-integration.servicetitan.io"
    with pytest.raises(ConfigError) as info:
        load_settings(full_env(ST_API_BASE_INT=url), dotenv_path=None)
    assert info.value.variables == ["ST_API_BASE_INT"]
    assert_no_secret(info.value)


def test_all_malformed_variables_reported_together():
    with pytest.raises(ConfigError) as info:
        load_settings(full_env(ST_PAGE_SIZE="0", ST_RATE_LIMIT="fast"), dotenv_path=None)
    assert set(info.value.variables) == {"ST_PAGE_SIZE", "ST_RATE_LIMIT"}


def test_dotenv_file_is_read_and_the_environment_wins(tmp_path):
    dotenv = tmp_path / ".env"
    file_env = full_env(ST_PAGE_SIZE="100", ST_TENANT_ID_INT="3000003")
    dotenv.write_text("".join(f"{k}={v}\n" for k, v in file_env.items()) + "# a comment\n")
    s = load_settings({"ST_TENANT_ID_INT": "4000004"}, dotenv_path=dotenv)
    assert s.page_size == 100
    assert s.int.tenant_id == 4000004
    assert s.int.client_secret.get_secret_value() == SECRETS[1]


def test_malformed_value_in_dotenv_names_the_file(tmp_path):
    dotenv = tmp_path / "team.env"
    dotenv.write_text("".join(f"{k}={v}\n" for k, v in full_env(ST_HTTP_TIMEOUT="soon").items()))
    with pytest.raises(ConfigError) as info:
        load_settings({}, dotenv_path=dotenv)
    assert "ST_HTTP_TIMEOUT" in str(info.value) and str(dotenv) in str(info.value)


def test_unparsable_dotenv_line_names_the_file_and_line(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"ST_CLIENT_SECRET_PROD={SECRETS[0]}\nthis line is not an assignment 'oops\n")
    with pytest.raises(ConfigError) as info:
        load_settings({}, dotenv_path=dotenv)
    assert str(dotenv) in str(info.value) and "2" in str(info.value)
    assert_no_secret(info.value)


def test_missing_with_a_dotenv_names_where_to_set_them(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("ST_PAGE_SIZE=10\n")
    with pytest.raises(ConfigError) as info:
        load_settings({}, dotenv_path=dotenv)
    assert str(dotenv) in str(info.value)


# -- the Integration guard (DESIGN promise 1) -------------------------------------------------------


def _settings(**overrides: str):
    return load_settings(full_env(**overrides), dotenv_path=None)


def test_guard_accepts_a_distinct_integration_target():
    s = _settings()
    check_integration_target(s.int, s.prod)  # same host, different bases: fine


@pytest.mark.parametrize(
    "overrides, variable",
    [
        ({"ST_API_BASE_INT": "http://127.0.0.1:9/prod"}, "ST_API_BASE_INT"),
        ({"ST_API_BASE_INT": "HTTP://127.0.0.1:9/prod/"}, "ST_API_BASE_INT"),
        ({"ST_AUTH_URL_INT": "http://127.0.0.1:9/prod/connect/token"}, "ST_AUTH_URL_INT"),
        ({"ST_API_BASE_INT": "https://api.servicetitan.io"}, "ST_API_BASE_INT"),
        ({"ST_AUTH_URL_INT": "https://auth.servicetitan.io/connect/token"}, "ST_AUTH_URL_INT"),
        ({"ST_CLIENT_ID_INT": "cid.prod"}, "ST_CLIENT_ID_INT"),
    ],
)
def test_guard_refuses_a_production_target(overrides, variable):
    s = _settings(**overrides)
    with pytest.raises(SettingsError) as info:
        check_integration_target(s.int, s.prod)
    assert variable in info.value.variables and variable in str(info.value)
    with pytest.raises(SettingsError):
        IntegrationClient.from_settings(s)
    with pytest.raises(SettingsError):
        IntegrationClient(s.int, production=s.prod)
    assert_no_secret(info.value)


def test_production_client_has_no_write_method():
    s = _settings()
    with ProductionClient.from_settings(s) as prod:
        for name in ("create", "patch", "post", "put", "delete"):
            assert not hasattr(prod, name)
        with pytest.raises(Exception) as info:
            prod._transport.request("POST", "/pricebook/v2/tenant/{tenant}/materials", json={})
        assert "read-only" in str(info.value)
        assert prod.stats.requests == 0


# -- every numeric setting is bounded where it is parsed ---------------------------------------------

UNWORKABLE = [
    ("ST_HTTP_TIMEOUT", "1e308"),
    ("ST_HTTP_TIMEOUT", "1e-300"),
    ("ST_HTTP_TIMEOUT", "nan"),
    ("ST_HTTP_TIMEOUT", "-inf"),
    ("ST_HTTP_TIMEOUT", "601"),
    ("ST_RATE_LIMIT", "1e308"),
    ("ST_RATE_LIMIT", "1e-300"),
    ("ST_RATE_LIMIT", "NaN"),
    ("ST_RATE_LIMIT", "1001"),
    ("ST_SERVER_TIMEOUT", "1e308"),
    ("ST_SERVER_TIMEOUT", "inf"),
    ("ST_SERVER_TIMEOUT", "0"),
    ("ST_SERVER_TIMEOUT", "3601"),
    ("ST_SERVER_TIMEOUT", "1e-300"),
    ("STSYNC_BLOCKED_WARN_DAYS", "1e308"),
    ("STSYNC_BLOCKED_WARN_DAYS", "nan"),
    ("STSYNC_BLOCKED_WARN_DAYS", "3651"),
    ("ST_PAGE_SIZE", "1e3"),
    ("ST_PAGE_SIZE", "9" * 5000),
    ("ST_PAGE_SIZE", "-1"),
    ("ST_MAX_RETRIES", "-1"),
    ("ST_MAX_RETRIES", "101"),
    ("ST_MAX_RETRIES", "nan"),
    ("ST_CONCURRENCY", "65"),
    ("ST_CONCURRENCY", "inf"),
    ("ST_BULK_SIZE", "-1"),
    ("ST_BULK_SIZE", "101"),
    ("ST_BULK_SIZE", "1e308"),
    ("ST_BATCH_SIZE", "5001"),
    ("ST_BATCH_SIZE", "inf"),
]


@pytest.mark.parametrize("name, value", UNWORKABLE)
def test_a_value_that_cannot_work_is_refused_where_it_is_parsed(name, value):
    with pytest.raises(ConfigError) as info:
        load_settings(full_env(**{name: value}), dotenv_path=None)
    assert info.value.variables == [name]
    assert "between" in str(info.value) or "whole number" in str(info.value), str(info.value)
    assert len(str(info.value)) < 300  # one short line, even for 5000 digits


def test_the_bounds_themselves_are_accepted():
    s = load_settings(
        full_env(
            ST_HTTP_TIMEOUT="600",
            ST_RATE_LIMIT="1000",
            ST_SERVER_TIMEOUT="3600",
            STSYNC_BLOCKED_WARN_DAYS="0.000001",
            ST_MAX_RETRIES="100",
            ST_CONCURRENCY="64",
            ST_BULK_SIZE="0",
            ST_BATCH_SIZE="5000",
            ST_PAGE_SIZE="1",
        ),
        dotenv_path=None,
    )
    assert (s.http_timeout, s.rate_limit, s.server_timeout, s.blocked_warn_days) == (600, 1000, 3600, 0.000001)
    s = load_settings(
        full_env(ST_HTTP_TIMEOUT="0.1", ST_RATE_LIMIT="0.1", ST_SERVER_TIMEOUT="0.01", STSYNC_BLOCKED_WARN_DAYS="3650"),
        dotenv_path=None,
    )
    assert (s.http_timeout, s.rate_limit, s.server_timeout, s.blocked_warn_days) == (0.1, 0.1, 0.01, 3650)


@pytest.mark.parametrize(
    "name, value",
    [
        ("ST_SERVER_TIMEOUT", "1e308"),
        ("ST_HTTP_TIMEOUT", "1e308"),
        ("ST_RATE_LIMIT", "1e-300"),
        ("STSYNC_BLOCKED_WARN_DAYS", "1e308"),
    ],
)
def test_the_dagster_resources_refuse_it_too(name, value):
    """The code location reads the same variables through dg.EnvVar: checked with the same parsers."""
    from stsync_dagster.defs.resources import build_resources
    from stsync_dagster_tests.sync_helpers import pointed_at

    with pointed_at(full_env(**{name: value})), pytest.raises(ConfigError) as info:
        build_resources()
    assert info.value.variables == [name]
