"""What the API client needs to reach one ServiceTitan environment: its settings model, its own defaults and
the Production guard. The application's settings (every variable, their bounds, `.env`) are in
stsync_dagster/settings.py, which builds these."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from . import hosts
from .errors import SettingsError
from .redact import Redactor

DEFAULT_PAGE_SIZE = 5000  # the most the API serves: fewest list calls
MAX_PAGE_SIZE = 5000
DEFAULT_HTTP_TIMEOUT = 30.0
DEFAULT_RATE_LIMIT = 57.0  # ServiceTitan allows 60 per second per app per tenant
DEFAULT_MAX_RETRIES = 6

ENVIRONMENT_LABELS = {"prod": "Production", "int": "Integration"}

_INT64_MAX = 2**63 - 1


def normalize_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or fragment")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials")  # URLs appear in messages; secrets must not
    return value.rstrip("/")


def parse_tenant(value: str | int) -> int:
    try:
        tenant = int(str(value).strip())
    except ValueError:
        raise ValueError("must be a whole number (the tenant id)") from None
    if not 0 < tenant <= _INT64_MAX:
        raise ValueError("must be a positive 64-bit integer")
    return tenant


class EnvironmentSettings(BaseModel):
    """Where and how to reach one ServiceTitan environment (one tenant)."""

    model_config = ConfigDict(frozen=True)

    name: str  # "prod" or "int": also the suffix of its variables
    auth_url: str
    api_base: str  # without the domain, e.g. https://api.servicetitan.io
    client_id: str
    client_secret: SecretStr
    app_key: SecretStr
    tenant_id: int

    @field_validator("auth_url", "api_base")
    @classmethod
    def _url(cls, value: str) -> str:
        return normalize_url(value)

    @field_validator("tenant_id", mode="before")
    @classmethod
    def _tenant(cls, value: str | int) -> int:
        return parse_tenant(value)

    @property
    def label(self) -> str:
        return ENVIRONMENT_LABELS.get(self.name, self.name)

    def redactor(self) -> Redactor:
        """Masks this environment's client secret and app key, in every encoding."""
        secret = self.client_secret.get_secret_value()
        return Redactor([secret, self.app_key.get_secret_value()], [(self.client_id, secret)])

    def var(self, suffix: str) -> str:
        """The environment variable that configures `suffix` here, e.g. var("CLIENT_ID") -> ST_CLIENT_ID_PROD."""
        return f"ST_{suffix}_{self.name.upper()}"


class ClientSettings(Protocol):
    """What `from_settings` reads: the application's settings (stsync_dagster.settings.Settings) fit it."""

    prod: EnvironmentSettings
    page_size: int
    http_timeout: float
    rate_limit: float
    max_retries: int
    db: str
    int: EnvironmentSettings  # last: the name shadows the builtin in the class body


def check_integration_target(int_settings: EnvironmentSettings, prod_settings: EnvironmentSettings) -> None:
    """Refuse (SettingsError) an Integration configuration that would reach Production (DESIGN promise 1).

    Addresses are compared through hosts.endpoint (every alias of one address is equal) and whole (host,
    port, path), since one simulator serves both environments from one host under /prod and /int. A URL
    that names an environment (an official host, or a /prod or /int path segment) must name its own slot's:
    that also catches the two blocks pasted the wrong way round, whose values all differ. Nor may one API base
    hold the other: the transport checks that every request stays under its own base, which then proves nothing.
    """
    reasons: list[str] = []
    variables: list[str] = []

    def refuse(name: str, reason: str) -> None:
        reasons.append(f"{name} {reason}")
        variables.append(name)

    for suffix in ("API_BASE", "AUTH_URL"):
        int_url, prod_url = getattr(int_settings, suffix.lower()), getattr(prod_settings, suffix.lower())
        name = int_settings.var(suffix)
        int_at, prod_at = hosts.endpoint(int_url), hosts.endpoint(prod_url)
        if int_at == prod_at:
            refuse(name, f"is the Production one ({prod_settings.var(suffix)})")
        elif hosts.environment_of(int_url) == "prod":
            refuse(name, f"points at Production ({hosts.describe(int_url)})")
        elif suffix == "API_BASE" and (hosts.under(prod_at, int_at) or hosts.under(int_at, prod_at)):
            # Every request is checked to stay under its own base (transport.py): nested bases defeat that.
            refuse(
                name,
                f"and the Production one ({prod_settings.var(suffix)}) are nested: a path under one "
                "would reach the other",
            )
        if hosts.environment_of(prod_url) == "int":
            refuse(
                prod_settings.var(suffix),
                f"points at Integration ({hosts.describe(prod_url)}): are the _PROD and _INT blocks swapped?",
            )
    if int_settings.client_id.strip().casefold() == prod_settings.client_id.strip().casefold():
        refuse(int_settings.var("CLIENT_ID"), f"is the Production client id ({prod_settings.var('CLIENT_ID')})")
    if reasons:
        raise SettingsError(
            "refusing to write: the Integration target looks like Production: " + "; ".join(reasons),
            variables=variables,
        )
