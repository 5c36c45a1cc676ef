"""Configured resources: the two ServiceTitan clients and the crosswalk, fed by `dg.EnvVar`.

Every setting and its rule come from stsync_dagster.settings (KNOBS), as for the command line. Whole-number
knobs are `int` fields fed by `dg.EnvVar.int`: Dagster reads the variable when a run starts (its IntSource),
and the field's validator applies the setting's bounds. Dagster has no float source (an `EnvVar` cannot feed a
`float` field: pydantic refuses it when the definitions are built, and the Float config type takes no `env`),
so the four fractional knobs are carried as the variable's text and read as `float` by their accessors, through
the same rule."""

import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pydantic
from pydantic import PrivateAttr, ValidationInfo, field_validator

from stsync_dagster.defs.config_file import config_file_resource
from stsync_dagster import settings as app_settings
from stsync_dagster.errors import ConfigError
from stsync_dagster.servicetitan import EnvironmentSettings, IntegrationClient, ProductionClient
from stsync_dagster.servicetitan.redact import Redactor, url_secrets
from stsync_dagster.settings import KNOBS
from stsync_dagster.sync.crosswalk import setting as database
from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster.sync.engine import SyncOptions

_ENV_VARS = (dg.EnvVar, type(dg.EnvVar.int("_")))  # what a field holds until a run resolves it


def _by_its_rule(value: Any, info: ValidationInfo) -> Any:
    """A knob's field: its dg.EnvVar kept as it is (resolved when a run starts), any value checked by the
    setting's rule (a ConfigError naming the variable), then kept in the field's own form."""
    if isinstance(value, _ENV_VARS):
        return value
    checked = KNOBS[info.field_name].check(value)
    return str(value).strip() if isinstance(checked, float) else checked


def _float(resource: dg.ConfigurableResource, field: str) -> float:
    return KNOBS[field].check(getattr(resource, field))


def _knob(field: str, is_set: dict[str, bool]):
    """A setting as a `dg.EnvVar` when set (checked by check_knobs, so a bad value names its variable when the
    code location loads), else its default: no value of the environment is baked into the definitions."""
    knob = KNOBS[field]
    if not is_set[field]:
        return str(knob.default) if isinstance(knob.default, float) else knob.default
    return dg.EnvVar.int(knob.variable) if isinstance(knob.default, int) else dg.EnvVar(knob.variable)


def _db_knob():
    """STSYNC_DB as a `dg.EnvVar` when set (checked now, its password never shown), else the default."""
    raw = os.environ.get(database.ENV_VAR, "").strip()
    if not raw:
        return app_settings.DEFAULT_DB
    try:
        database.parse(raw)
    except ValueError as exc:
        raise ConfigError(
            f"{database.ENV_VAR} {exc} (got {database.display(raw)[:60]!r})", variables=[database.ENV_VAR]
        ) from None
    return dg.EnvVar(database.ENV_VAR)


class _TenantResource(dg.ConfigurableResource):
    """One ServiceTitan environment. Fields carry `dg.EnvVar`s so secrets never sit in run config."""

    auth_url: str
    api_base: str
    client_id: str
    client_secret: str
    app_key: str
    tenant_id: str
    page_size: int = app_settings.DEFAULT_PAGE_SIZE
    http_timeout: str = str(app_settings.DEFAULT_HTTP_TIMEOUT)  # a float: see timeout()
    rate_limit: str = str(app_settings.DEFAULT_RATE_LIMIT)  # a float: see requests_per_second()
    max_retries: int = app_settings.DEFAULT_MAX_RETRIES
    # STSYNC_DB: on PostgreSQL the pacer keeps its state there, one budget for every machine.
    pacer_database: str = ""

    _env_name: str = "prod"

    _knobs = field_validator("page_size", "http_timeout", "rate_limit", "max_retries", mode="before")(_by_its_rule)

    def timeout(self) -> float:
        return _float(self, "http_timeout")

    def requests_per_second(self) -> float:
        return _float(self, "rate_limit")

    def environment(self) -> EnvironmentSettings:
        fields = ("auth_url", "api_base", "client_id", "client_secret", "app_key", "tenant_id")
        try:
            return EnvironmentSettings(name=self._env_name, **{f: getattr(self, f) for f in fields})
        except pydantic.ValidationError as exc:
            names = [f"ST_{str(e['loc'][0]).upper()}_{self._env_name.upper()}" for e in exc.errors()]
            reasons = "; ".join(f"{n} {e['msg']}" for n, e in zip(names, exc.errors()))
            raise ConfigError(f"invalid configuration: {reasons}", variables=names) from None

    def _tuning(self) -> dict:
        return dict(
            page_size=self.page_size,
            timeout=self.timeout(),
            rate_limit=self.requests_per_second(),
            max_retries=self.max_retries,
            pacer_database=self.pacer_database or None,
        )


class ProductionResource(_TenantResource):
    """Reads Production. The client it gives has no write method at all."""

    def client(self) -> ProductionClient:
        return ProductionClient(self.environment(), **self._tuning())


class IntegrationResource(_TenantResource):
    """Reads and writes Integration; refuses to start when its target looks like Production."""

    production: ProductionResource
    external_data_guid: str = app_settings.DEFAULT_EXTERNAL_DATA_GUID
    concurrency: int = app_settings.DEFAULT_CONCURRENCY  # creates in flight at once, all paced by one pacer
    server_timeout: str = str(app_settings.DEFAULT_SERVER_TIMEOUT)  # a float: see lost_answer_wait()
    bulk_size: int = app_settings.DEFAULT_BULK_SIZE  # materials per bulk create; 0: one request each
    batch_size: int = app_settings.DEFAULT_BATCH_SIZE  # records claimed, created and confirmed together
    _env_name: str = "int"

    _write_knobs = field_validator(
        "external_data_guid", "concurrency", "server_timeout", "bulk_size", "batch_size", mode="before"
    )(_by_its_rule)

    def guid(self) -> str:
        """The externalData application guid stamped on copies (ST_EXTERNAL_DATA_GUID)."""
        return self.external_data_guid

    def lost_answer_wait(self) -> float:
        """Seconds a create may still commit after its answer was lost (ST_SERVER_TIMEOUT)."""
        return _float(self, "server_timeout")

    def client(self) -> IntegrationClient:
        return IntegrationClient(self.environment(), production=self.production.environment(), **self._tuning())

    def sync_options(self, run_id: str, **options) -> SyncOptions:
        """The engine's options for a run: the given ones, with this environment's write knobs."""
        return SyncOptions(
            run_id=run_id,
            concurrency=self.concurrency,
            server_timeout=timedelta(seconds=self.lost_answer_wait()),
            bulk_size=self.bulk_size,
            batch_size=self.batch_size,
            **options,
        )

    def redactor(self) -> Redactor:
        """Masks the secrets of both environments, in every encoding (built from the raw fields, so it
        works even when they fail validation)."""
        prod = self.production
        return Redactor(
            [self.client_secret, self.app_key, prod.client_secret, prod.app_key],
            [(self.client_id, self.client_secret), (prod.client_id, prod.client_secret)],
        )


class CrosswalkResource(dg.ConfigurableResource):
    """The crosswalk: a SQLite file path or any SQLAlchemy URL (`STSYNC_DB`, a dg.EnvVar: its password
    stays out of run snapshots and the UI; empty: the per-user default)."""

    url: str = app_settings.DEFAULT_DB
    blocked_warn_days: str = str(app_settings.DEFAULT_BLOCKED_WARN_DAYS)  # a float: see warn_days()
    _crosswalk: Crosswalk | None = PrivateAttr(default=None)

    _knobs = field_validator("blocked_warn_days", mode="before")(_by_its_rule)

    def get(self) -> Crosswalk:
        if self._crosswalk is None:
            if not self.url and Path(app_settings.ORIGINAL_DB).is_file():
                logging.getLogger("stsync").warning(
                    "%s in this folder looks like the original STSync script's crosswalk; STSYNC_DB is not set, so "
                    "the per-user crosswalk %s is used. Set STSYNC_DB=%s to upgrade and use that one instead.",
                    app_settings.ORIGINAL_DB,
                    app_settings.default_db(),
                    app_settings.ORIGINAL_DB,
                )
            self._crosswalk = Crosswalk(self.url or None)
        return self._crosswalk

    def warn_days(self) -> float:
        """blocked_too_long warns about records blocked longer than this many days."""
        return _float(self, "blocked_warn_days")

    def redactor(self) -> Redactor:
        return Redactor(url_secrets(self.url))

    def teardown_after_execution(self, context) -> None:
        if self._crosswalk is not None:
            self._crosswalk.close()
            self._crosswalk = None


def _tenant_fields(env: str, is_set: dict[str, bool], db) -> dict:
    suffix = env.upper()
    return {
        "auth_url": dg.EnvVar(f"ST_AUTH_URL_{suffix}"),
        "api_base": dg.EnvVar(f"ST_API_BASE_{suffix}"),
        "client_id": dg.EnvVar(f"ST_CLIENT_ID_{suffix}"),
        "client_secret": dg.EnvVar(f"ST_CLIENT_SECRET_{suffix}"),
        "app_key": dg.EnvVar(f"ST_APP_KEY_{suffix}"),
        "tenant_id": dg.EnvVar(f"ST_TENANT_ID_{suffix}"),
        **{field: _knob(field, is_set) for field in ("page_size", "http_timeout", "rate_limit", "max_retries")},
        "pacer_database": db,
    }


def build_resources() -> dict:
    """The resources of the code location, read from the environment contract (and `.env` under dagster dev):
    every knob that is set is checked by the settings' own loader (check_knobs), then passed as a dg.EnvVar."""
    is_set = app_settings.check_knobs()
    db = _db_knob()
    production = ProductionResource(**_tenant_fields("prod", is_set, db))
    write_knobs = ("external_data_guid", "concurrency", "server_timeout", "bulk_size", "batch_size")
    return {
        "production": production,
        "integration": IntegrationResource(
            **_tenant_fields("int", is_set, db),
            production=production,
            **{field: _knob(field, is_set) for field in write_knobs},
        ),
        "crosswalk": CrosswalkResource(url=db, blocked_warn_days=_knob("blocked_warn_days", is_set)),
        "config_file": config_file_resource(),  # stsync.config.json (STSYNC_CONFIG)
    }
