"""Configured resources: the two ServiceTitan clients and the crosswalk, fed by `dg.EnvVar`."""


import logging
import os
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pydantic
from pydantic import PrivateAttr

from stsync_dagster.servicetitan import ConfigError, EnvironmentSettings, IntegrationClient, ProductionClient
from stsync_dagster.servicetitan import settings as st_settings
from stsync_dagster.servicetitan.redact import Redactor, url_secrets
from stsync_dagster.sync.crosswalk import setting as database
from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster.sync.engine import SyncOptions


def _checked(name: str, parser, raw, show=str) -> object:
    try:
        return parser(str(raw))
    except ValueError as exc:
        raise ConfigError(f"{name} {exc} (got {show(str(raw))[:60]!r})", variables=[name]) from None


def _knob(name: str, parser, default, show=str):
    """A setting as a `dg.EnvVar` when set (checked now, so a bad value names its variable when the code
    location loads), else its default: no value of the environment is baked into the definitions."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return str(default)
    _checked(name, parser, raw, show)
    return dg.EnvVar(name)


class _TenantResource(dg.ConfigurableResource):
    """One ServiceTitan environment. Fields carry `dg.EnvVar`s so secrets never sit in run config."""

    auth_url: str
    api_base: str
    client_id: str
    client_secret: str
    app_key: str
    tenant_id: str
    # The tuning knobs are strings (a dg.EnvVar or the default), parsed where they are used.
    page_size: str = str(st_settings.DEFAULT_PAGE_SIZE)
    http_timeout: str = str(st_settings.DEFAULT_HTTP_TIMEOUT)
    rate_limit: str = str(st_settings.DEFAULT_RATE_LIMIT)
    max_retries: str = str(st_settings.DEFAULT_MAX_RETRIES)
    # STSYNC_DB: on PostgreSQL the pacer keeps its state there, one budget for every machine.
    pacer_database: str = ""

    _env_name: str = "prod"

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
            page_size=_checked("ST_PAGE_SIZE", st_settings.parse_page_size, self.page_size),
            timeout=_checked("ST_HTTP_TIMEOUT", st_settings.parse_http_timeout, self.http_timeout),
            rate_limit=_checked("ST_RATE_LIMIT", st_settings.parse_rate_limit, self.rate_limit),
            max_retries=_checked("ST_MAX_RETRIES", st_settings.parse_retries, self.max_retries),
            pacer_database=self.pacer_database or None,
        )


class ProductionResource(_TenantResource):
    """Reads Production. The client it gives has no write method at all."""

    def client(self) -> ProductionClient:
        return ProductionClient(self.environment(), **self._tuning())


class IntegrationResource(_TenantResource):
    """Reads and writes Integration; refuses to start when its target looks like Production."""

    production: ProductionResource
    external_data_guid: str = st_settings.DEFAULT_EXTERNAL_DATA_GUID
    concurrency: str = str(st_settings.DEFAULT_CONCURRENCY)  # creates in flight at once, all paced by one pacer
    server_timeout: str = str(st_settings.DEFAULT_SERVER_TIMEOUT)  # seconds a create may still commit, answer lost
    bulk_size: str = str(st_settings.DEFAULT_BULK_SIZE)  # materials per bulk create; 0: one request each
    batch_size: str = str(st_settings.DEFAULT_BATCH_SIZE)  # records claimed, created and confirmed together
    _env_name: str = "int"

    def guid(self) -> str:
        return _checked("ST_EXTERNAL_DATA_GUID", st_settings.parse_guid, self.external_data_guid)

    def creates_in_flight(self) -> int:
        return _checked("ST_CONCURRENCY", st_settings.parse_concurrency, self.concurrency)

    def lost_answer_wait(self) -> float:
        return _checked("ST_SERVER_TIMEOUT", st_settings.parse_server_timeout, self.server_timeout)

    def bulk_batch(self) -> int:
        return _checked("ST_BULK_SIZE", st_settings.parse_bulk_size, self.bulk_size)

    def records_per_batch(self) -> int:
        return _checked("ST_BATCH_SIZE", st_settings.parse_batch_size, self.batch_size)

    def client(self) -> IntegrationClient:
        return IntegrationClient(self.environment(), production=self.production.environment(), **self._tuning())

    def sync_options(self, run_id: str, **options) -> SyncOptions:
        """The engine's options for a run: the given ones, with this environment's write knobs."""
        return SyncOptions(
            run_id=run_id,
            concurrency=self.creates_in_flight(),
            server_timeout=timedelta(seconds=self.lost_answer_wait()),
            bulk_size=self.bulk_batch(),
            batch_size=self.records_per_batch(),
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

    url: str = st_settings.DEFAULT_DB
    blocked_warn_days: str = str(st_settings.DEFAULT_BLOCKED_WARN_DAYS)  # blocked_too_long warns past this age
    _crosswalk: Crosswalk | None = PrivateAttr(default=None)

    def get(self) -> Crosswalk:
        if self._crosswalk is None:
            if not self.url and Path(st_settings.ORIGINAL_DB).is_file():
                logging.getLogger("stsync").warning(
                    "%s in this folder looks like the original STSync script's crosswalk; STSYNC_DB is not set, so "
                    "the per-user crosswalk %s is used. Set STSYNC_DB=%s to upgrade and use that one instead.",
                    st_settings.ORIGINAL_DB, st_settings.default_db(), st_settings.ORIGINAL_DB,
                )
            self._crosswalk = Crosswalk(self.url or None)
        return self._crosswalk

    def warn_days(self) -> float:
        return _checked("STSYNC_BLOCKED_WARN_DAYS", st_settings.parse_warn_days, self.blocked_warn_days)

    def redactor(self) -> Redactor:
        return Redactor(url_secrets(self.url))

    def teardown_after_execution(self, context) -> None:
        if self._crosswalk is not None:
            self._crosswalk.close()
            self._crosswalk = None


def _tenant_fields(env: str) -> dict:
    suffix = env.upper()
    return {
        "auth_url": dg.EnvVar(f"ST_AUTH_URL_{suffix}"),
        "api_base": dg.EnvVar(f"ST_API_BASE_{suffix}"),
        "client_id": dg.EnvVar(f"ST_CLIENT_ID_{suffix}"),
        "client_secret": dg.EnvVar(f"ST_CLIENT_SECRET_{suffix}"),
        "app_key": dg.EnvVar(f"ST_APP_KEY_{suffix}"),
        "tenant_id": dg.EnvVar(f"ST_TENANT_ID_{suffix}"),
        "page_size": _knob("ST_PAGE_SIZE", st_settings.parse_page_size, st_settings.DEFAULT_PAGE_SIZE),
        "http_timeout": _knob("ST_HTTP_TIMEOUT", st_settings.parse_http_timeout, st_settings.DEFAULT_HTTP_TIMEOUT),
        "rate_limit": _knob("ST_RATE_LIMIT", st_settings.parse_rate_limit, st_settings.DEFAULT_RATE_LIMIT),
        "max_retries": _knob("ST_MAX_RETRIES", st_settings.parse_retries, st_settings.DEFAULT_MAX_RETRIES),
        "pacer_database": _knob("STSYNC_DB", database.parse, st_settings.DEFAULT_DB, show=database.display),
    }


def build_resources() -> dict:
    """The resources of the code location, read from the environment contract (and `.env` under dagster dev)."""
    production = ProductionResource(**_tenant_fields("prod"))
    return {
        "production": production,
        "integration": IntegrationResource(
            **_tenant_fields("int"),
            production=production,
            external_data_guid=_knob(
                "ST_EXTERNAL_DATA_GUID", st_settings.parse_guid, st_settings.DEFAULT_EXTERNAL_DATA_GUID
            ),
            concurrency=_knob("ST_CONCURRENCY", st_settings.parse_concurrency, st_settings.DEFAULT_CONCURRENCY),
            server_timeout=_knob("ST_SERVER_TIMEOUT", st_settings.parse_server_timeout, st_settings.DEFAULT_SERVER_TIMEOUT),
            bulk_size=_knob("ST_BULK_SIZE", st_settings.parse_bulk_size, st_settings.DEFAULT_BULK_SIZE),
            batch_size=_knob("ST_BATCH_SIZE", st_settings.parse_batch_size, st_settings.DEFAULT_BATCH_SIZE),
        ),
        "crosswalk": CrosswalkResource(
            url=_knob("STSYNC_DB", database.parse, st_settings.DEFAULT_DB, show=database.display),
            blocked_warn_days=_knob(
                "STSYNC_BLOCKED_WARN_DAYS", st_settings.parse_warn_days, st_settings.DEFAULT_BLOCKED_WARN_DAYS
            ),
        ),
    }
