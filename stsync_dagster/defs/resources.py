"""Configured resources: the two ServiceTitan clients and the crosswalk, fed by `dg.EnvVar`."""


import os

import dagster as dg
import pydantic
from pydantic import PrivateAttr

from stsync_dagster.servicetitan import ConfigError, EnvironmentSettings, IntegrationClient, ProductionClient
from stsync_dagster.servicetitan import settings as st_settings
from stsync_dagster.sync.crosswalk import Crosswalk


DEFAULT_CONCURRENCY = 8
DEFAULT_BLOCKED_WARN_DAYS = 7.0


def _parse_concurrency(value: str) -> int:
    number = st_settings.parse_retries(value)
    if not 1 <= number <= 64:
        raise ValueError("must be between 1 and 64")
    return number


def _tuning(name: str, parser, default):
    """Optional knobs are read when the code location loads; a bad value names its variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return parser(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} {exc} (got {raw[:60]!r})", variables=[name]) from None


class _TenantResource(dg.ConfigurableResource):
    """One ServiceTitan environment. Fields carry `dg.EnvVar`s so secrets never sit in run config."""

    auth_url: str
    api_base: str
    client_id: str
    client_secret: str
    app_key: str
    tenant_id: str
    page_size: int = st_settings.DEFAULT_PAGE_SIZE
    http_timeout: float = st_settings.DEFAULT_HTTP_TIMEOUT
    rate_limit: float = st_settings.DEFAULT_RATE_LIMIT
    max_retries: int = st_settings.DEFAULT_MAX_RETRIES
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
            page_size=self.page_size,
            timeout=self.http_timeout,
            rate_limit=self.rate_limit,
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
    external_data_guid: str = st_settings.DEFAULT_EXTERNAL_DATA_GUID
    concurrency: int = DEFAULT_CONCURRENCY  # creates in flight at once (all paced by the one per-tenant pacer)
    _env_name: str = "int"

    def client(self) -> IntegrationClient:
        return IntegrationClient(self.environment(), production=self.production.environment(), **self._tuning())

    def secrets(self) -> list[str]:
        """Values that must never reach metadata or logs, of both environments."""
        return [self.client_secret, self.app_key, self.production.client_secret, self.production.app_key]


class CrosswalkResource(dg.ConfigurableResource):
    """The crosswalk: a SQLite file path or any SQLAlchemy URL (`STSYNC_DB`)."""

    url: str = st_settings.DEFAULT_DB
    blocked_warn_days: float = DEFAULT_BLOCKED_WARN_DAYS  # the blocked_too_long check warns past this age
    _crosswalk: Crosswalk | None = PrivateAttr(default=None)

    def get(self) -> Crosswalk:
        if self._crosswalk is None:
            self._crosswalk = Crosswalk(self.url)
        return self._crosswalk

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
        "page_size": _tuning("ST_PAGE_SIZE", st_settings.parse_page_size, st_settings.DEFAULT_PAGE_SIZE),
        "http_timeout": _tuning("ST_HTTP_TIMEOUT", st_settings.parse_positive, st_settings.DEFAULT_HTTP_TIMEOUT),
        "rate_limit": _tuning("ST_RATE_LIMIT", st_settings.parse_positive, st_settings.DEFAULT_RATE_LIMIT),
        "max_retries": _tuning("ST_MAX_RETRIES", st_settings.parse_retries, st_settings.DEFAULT_MAX_RETRIES),
        "pacer_database": _crosswalk_url(),
    }


def _crosswalk_url() -> str:
    return os.environ.get("STSYNC_DB", "").strip() or st_settings.DEFAULT_DB


def build_resources() -> dict:
    """The resources of the code location, read from the environment contract (and `.env` under dagster dev)."""
    production = ProductionResource(**_tenant_fields("prod"))
    return {
        "production": production,
        "integration": IntegrationResource(
            **_tenant_fields("int"),
            production=production,
            external_data_guid=_tuning(
                "ST_EXTERNAL_DATA_GUID", st_settings.parse_guid, st_settings.DEFAULT_EXTERNAL_DATA_GUID
            ),
            concurrency=_tuning("ST_CONCURRENCY", _parse_concurrency, DEFAULT_CONCURRENCY),
        ),
        "crosswalk": CrosswalkResource(
            url=_crosswalk_url(),
            blocked_warn_days=_tuning(
                "STSYNC_BLOCKED_WARN_DAYS", st_settings.parse_positive, DEFAULT_BLOCKED_WARN_DAYS
            ),
        ),
    }
