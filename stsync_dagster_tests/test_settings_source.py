"""One settings source: the command line's load_settings and the Dagster resources read every knob by the same
rule (stsync_dagster.settings.KNOBS), and the resources take each one as a dg.EnvVar, typed."""

from __future__ import annotations

import typing

import dagster as dg
import pytest

from stsync_dagster import settings as app_settings
from stsync_dagster.defs import resources
from stsync_dagster.errors import ConfigError
from stsync_dagster.settings import KNOBS, Settings, load_settings
from stsync_dagster_tests.sync_helpers import pointed_at
from stsync_dagster_tests.test_client_settings import full_env

# Where each knob lives among the resources.
OWNER = {
    "page_size": "production",
    "http_timeout": "production",
    "rate_limit": "production",
    "max_retries": "production",
    "external_data_guid": "integration",
    "concurrency": "integration",
    "server_timeout": "integration",
    "bulk_size": "integration",
    "batch_size": "integration",
    "blocked_warn_days": "crosswalk",
}
INT_KNOBS = [f for f, k in KNOBS.items() if type(k.default) is int]


def _unset_knobs() -> dict[str, str]:
    return {k.variable: "" for k in KNOBS.values()} | {"STSYNC_DB": ""}


def test_every_knob_of_the_resources_is_a_knob_of_the_settings_with_the_same_default():
    built = resources.build_resources()
    for field, owner in OWNER.items():
        knob = KNOBS[field]
        assert Settings.model_fields[field].default == knob.default, field
        assert type(knob.default)(getattr(built[owner], field)) == knob.default, field
    assert set(OWNER) == set(KNOBS) - {"start_date"}  # the first partition is read by the partitions definition


def test_whole_number_knobs_are_int_fields():
    for field in INT_KNOBS:
        resource = type(resources.build_resources()[OWNER[field]])
        assert typing.get_type_hints(resource)[field] is int, field


@pytest.mark.parametrize("field", [f for f in OWNER])
def test_a_set_knob_reaches_the_resources_as_an_env_var_not_its_value(field):
    knob = KNOBS[field]
    value = {"float": "0.5", "int": "3", "str": "0f0c1a52-57c3-4b9e-9a51-5757c0de0002"}[type(knob.default).__name__]
    with pointed_at(_unset_knobs() | {knob.variable: value}):
        built = resources.build_resources()
    held = built[OWNER[field]]._get_non_default_public_field_values()[field]  # noqa: SLF001
    assert dg._config.field_utils.is_dagster_env_var(held), (field, held)  # noqa: SLF001
    env = dg._config.field_utils.env_var_to_config_dict(held)  # noqa: SLF001
    assert env == {"env": knob.variable}


@pytest.mark.parametrize("field", [f for f in OWNER])
def test_the_command_line_and_the_resources_refuse_the_same_value_naming_the_same_variable(field):
    knob = KNOBS[field]
    bad = "not-a-guid" if isinstance(knob.default, str) else "1e308"
    with pytest.raises(ConfigError) as cli:
        load_settings(full_env(**{knob.variable: bad}), dotenv_path=None)
    with pointed_at(_unset_knobs() | {knob.variable: bad}), pytest.raises(ConfigError) as dagster:
        resources.build_resources()
    assert cli.value.variables == dagster.value.variables == [knob.variable]
    reason = str(cli.value).split(knob.variable, 1)[1].split(" (got")[0]
    assert reason in str(dagster.value), (str(cli.value), str(dagster.value))


def test_a_value_changed_after_the_code_location_loaded_is_checked_when_the_run_starts(tmp_path):
    """The variable is read by Dagster when a run starts: its value then, typed and bounded by the same rule."""
    seen = {}

    @dg.asset
    def knobs(integration: resources.IntegrationResource, crosswalk: resources.CrosswalkResource) -> None:
        seen.update(
            concurrency=integration.concurrency,
            batch_size=integration.batch_size,
            page_size=integration.page_size,
            wait=integration.lost_answer_wait(),
            timeout=integration.timeout(),
            warn=crosswalk.warn_days(),
        )

    env = (
        full_env()
        | _unset_knobs()
        | {
            "ST_CONCURRENCY": "4",
            "ST_BATCH_SIZE": "10",
            "ST_PAGE_SIZE": "100",
            "ST_SERVER_TIMEOUT": "2.5",
            "ST_HTTP_TIMEOUT": "7",
            "STSYNC_BLOCKED_WARN_DAYS": "0.5",
            "STSYNC_DB": str(tmp_path / "cw.sqlite3"),
        }
    )
    with pointed_at(env):
        built = resources.build_resources()
    with pointed_at(env | {"ST_CONCURRENCY": "12", "ST_SERVER_TIMEOUT": "9.5"}):
        assert dg.materialize([knobs], resources=built).success
    assert seen == dict(concurrency=12, batch_size=10, page_size=100, wait=9.5, timeout=7.0, warn=0.5)
    assert type(seen["concurrency"]) is int and type(seen["wait"]) is float

    for name, value in (("ST_CONCURRENCY", "65"), ("ST_SERVER_TIMEOUT", "1e308")):
        with pointed_at(env | {name: value}):
            result = dg.materialize([knobs], resources=built, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.is_failure)
        assert name in failure.message or name in str(failure.event_specific_data), (name, failure.message)


def test_the_defaults_live_in_the_application_not_the_client():
    from stsync_dagster import servicetitan
    from stsync_dagster.servicetitan import settings as client_settings

    for name in (
        "DEFAULT_DB",
        "DEFAULT_START_DATE",
        "DEFAULT_BATCH_SIZE",
        "DEFAULT_EXTERNAL_DATA_GUID",
        "DEFAULT_CONCURRENCY",
        "default_db",
        "load_settings",
        "Settings",
        "ConfigError",
    ):
        assert not hasattr(client_settings, name) and not hasattr(servicetitan, name), name
        assert hasattr(app_settings, name) or name == "ConfigError", name
    assert issubclass(ConfigError, servicetitan.SettingsError)  # one `except SettingsError` stops on both
