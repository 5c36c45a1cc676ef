"""Settings from the environment contract: os.environ over a `.env` file, the environment winning."""

from __future__ import annotations

import io
import math
import os
import re
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from dotenv import dotenv_values
from dotenv.parser import parse_stream
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from . import hosts
from .errors import ConfigError
from .redact import Redactor

DEFAULT_PAGE_SIZE = 5000  # the most the API serves: fewest list calls
MAX_PAGE_SIZE = 5000
DEFAULT_HTTP_TIMEOUT = 30.0
DEFAULT_RATE_LIMIT = 57.0  # ServiceTitan allows 60 per second per app per tenant
DEFAULT_MAX_RETRIES = 6
DEFAULT_EXTERNAL_DATA_GUID = "5f0c1a52-57c3-4b9e-9a51-5757c0de0001"
DEFAULT_DB = ""  # empty: default_db(), a fixed place per user, whatever the working folder
# The original script's default, relative to the working folder: only ever warned about, never opened silently.
ORIGINAL_DB = "stsync.sqlite3"


def default_db(environ: Mapping[str, str] | None = None) -> str:
    """The crosswalk when STSYNC_DB is not set: $XDG_DATA_HOME/stsync/crosswalk.sqlite3, else under
    ~/.local/share. Fixed per user, so a sync started from another folder finds the same crosswalk."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return str(Path(base) / "stsync" / "crosswalk.sqlite3")
DEFAULT_CONFIG_PATH = "./stsync.config.json"
DEFAULT_START_DATE = "2026-06-01"
DEFAULT_CONCURRENCY = 8
DEFAULT_BLOCKED_WARN_DAYS = 7.0
# ServiceTitan keeps working on a request up to ~100 s after a client gave up: a create whose answer was lost is
# looked up again, and only then sent again, once this much time has passed since it was sent.
DEFAULT_SERVER_TIMEOUT = 120.0
DEFAULT_BULK_SIZE = 100  # materials per bulk pricebook request (the API's limit is not documented); 0: none
DEFAULT_BATCH_SIZE = 250  # records claimed, created and confirmed together (progress is told per batch)

ENVIRONMENT_LABELS = {"prod": "Production", "int": "Integration"}

_PER_ENV = ("AUTH_URL", "API_BASE", "CLIENT_ID", "CLIENT_SECRET", "APP_KEY", "TENANT_ID")
_SECRET_SUFFIXES = ("CLIENT_SECRET", "APP_KEY")
_INT64_MAX = 2**63 - 1


def _normalize_url(value: str) -> str:
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


# Every numeric setting has finite bounds, checked where it is parsed (here, for the command line and the Dagster
# resources alike): a value outside them cannot work (an overflow deep in a run, a wait of 1e300 seconds, a
# request that times out before it is sent), so it stops every command before any request, naming the variable.
HTTP_TIMEOUT_RANGE = (0.1, 600.0)  # seconds
RATE_LIMIT_RANGE = (0.1, 1000.0)  # requests per second (ServiceTitan allows 60)
SERVER_TIMEOUT_RANGE = (0.01, 3600.0)  # seconds
BLOCKED_WARN_DAYS_MAX = 3650.0  # above 0
MAX_RETRIES_RANGE = (0, 100)
CONCURRENCY_RANGE = (1, 64)
BULK_SIZE_RANGE = (0, 100)
BATCH_SIZE_RANGE = (1, 5000)
_WHOLE = re.compile(r"[+-]?[0-9]{1,18}")


def _whole_number(value: str | int, low: int, high: int) -> int:
    text = str(value).strip()
    if not _WHOLE.fullmatch(text):  # ASCII digits only: no "1e3", no "1_000", no 5000-digit parse
        raise ValueError(f"must be a whole number between {low} and {high}")
    number = int(text)
    if not low <= number <= high:
        raise ValueError(f"must be a whole number between {low} and {high}")
    return number


def _number(value: str | float, low: float, high: float, *, above_low: bool = False) -> float:
    """A finite number in [low, high] (or (low, high] when `above_low`): never nan, inf, or 1e308."""
    shown = f"between {low:g}{' (excluded)' if above_low else ''} and {high:g}"
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError(f"must be a number {shown}") from None
    if not (math.isfinite(number) and (low < number if above_low else low <= number) and number <= high):
        raise ValueError(f"must be a number {shown}")
    return number


def parse_page_size(value: str | int) -> int:
    return _whole_number(value, 1, MAX_PAGE_SIZE)


def parse_http_timeout(value: str | float) -> float:
    return _number(value, *HTTP_TIMEOUT_RANGE)


def parse_rate_limit(value: str | float) -> float:
    return _number(value, *RATE_LIMIT_RANGE)


def parse_server_timeout(value: str | float) -> float:
    return _number(value, *SERVER_TIMEOUT_RANGE)


def parse_warn_days(value: str | float) -> float:
    return _number(value, 0.0, BLOCKED_WARN_DAYS_MAX, above_low=True)


def parse_retries(value: str | int) -> int:
    return _whole_number(value, *MAX_RETRIES_RANGE)


def parse_bulk_size(value: str | int) -> int:
    return _whole_number(value, *BULK_SIZE_RANGE)


def parse_start_date(value: str) -> str:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("must be an ISO date YYYY-MM-DD") from None
    if day > datetime.now(timezone.utc).date():
        raise ValueError("is later than today (UTC): the first partition cannot be in the future")
    return day.isoformat()


def parse_concurrency(value: str) -> int:
    return _whole_number(value, *CONCURRENCY_RANGE)


def parse_batch_size(value: str) -> int:
    return _whole_number(value, *BATCH_SIZE_RANGE)


def parse_guid(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise ValueError("must be a GUID such as 5f0c1a52-57c3-4b9e-9a51-5757c0de0001") from None


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
        return _normalize_url(value)

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


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    prod: EnvironmentSettings
    int: EnvironmentSettings
    page_size: int = DEFAULT_PAGE_SIZE
    http_timeout: float = DEFAULT_HTTP_TIMEOUT
    rate_limit: float = DEFAULT_RATE_LIMIT
    max_retries: int = DEFAULT_MAX_RETRIES
    external_data_guid: str = DEFAULT_EXTERNAL_DATA_GUID
    db: str = Field(DEFAULT_DB, repr=False)  # may carry a password
    config_path: str = DEFAULT_CONFIG_PATH
    start_date: str = DEFAULT_START_DATE
    concurrency: int = DEFAULT_CONCURRENCY
    blocked_warn_days: float = DEFAULT_BLOCKED_WARN_DAYS
    server_timeout: float = DEFAULT_SERVER_TIMEOUT
    bulk_size: int = DEFAULT_BULK_SIZE
    batch_size: int = DEFAULT_BATCH_SIZE


def _read_dotenv(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None

    bad = [b.original.line for b in parse_stream(io.StringIO(text)) if b.error]
    if bad:
        lines = ", ".join(str(n) for n in bad)
        raise ConfigError(f"{path}: cannot parse line(s) {lines} (expected NAME=value)")
    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {k: v for k, v in values.items() if v is not None}


def load_settings(environ: Mapping[str, str] | None = None, dotenv_path: str | os.PathLike | None = ".env") -> Settings:
    """Read the environment contract. `environ` defaults to os.environ; a missing `.env` file is fine.

    Raises ConfigError naming every missing variable at once, or every malformed one (with the file
    it came from), never echoing a secret value.
    """
    env = dict(os.environ if environ is None else environ)
    file_values: dict[str, str] = {}
    dotenv_file: Path | None = None
    if dotenv_path is not None:
        candidate = Path(dotenv_path)
        if candidate.exists():
            dotenv_file = candidate.resolve()
            file_values = _read_dotenv(dotenv_file)

    def get(name: str) -> str | None:
        value = env.get(name)
        if value is None or not value.strip():
            value = file_values.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def origin(name: str) -> str:
        in_env = (env.get(name) or "").strip()
        return "the environment" if in_env or dotenv_file is None else f"the file {dotenv_file}"

    required = [f"ST_{suffix}_{e}" for e in ("PROD", "INT") for suffix in _PER_ENV]
    missing = [name for name in required if get(name) is None]
    if missing:
        where = f"the environment or {dotenv_file}" if dotenv_file else "the environment or a .env file"
        raise ConfigError(
            f"missing configuration: {', '.join(missing)} (set them in {where})", variables=missing
        )

    problems: list[str] = []
    bad_vars: list[str] = []

    def parsed(name: str, parser, default=None):
        raw = get(name)
        if raw is None:
            return default
        try:
            return parser(raw)
        except ValueError as exc:
            secret = name.endswith(_SECRET_SUFFIXES) or "@" in raw  # "@": a URL with user:password
            shown = "" if secret else f" (got {raw[:60]!r})"
            problems.append(f"{name} {exc}{shown}, from {origin(name)}")
            bad_vars.append(name)
            return default

    envs: dict[str, dict] = {}
    for e in ("prod", "int"):
        suffix = e.upper()
        envs[e] = {
            "name": e,
            "auth_url": parsed(f"ST_AUTH_URL_{suffix}", _normalize_url),
            "api_base": parsed(f"ST_API_BASE_{suffix}", _normalize_url),
            "client_id": get(f"ST_CLIENT_ID_{suffix}"),
            "client_secret": SecretStr(get(f"ST_CLIENT_SECRET_{suffix}") or ""),
            "app_key": SecretStr(get(f"ST_APP_KEY_{suffix}") or ""),
            "tenant_id": parsed(f"ST_TENANT_ID_{suffix}", parse_tenant),
        }
    page_size = parsed("ST_PAGE_SIZE", parse_page_size, DEFAULT_PAGE_SIZE)
    http_timeout = parsed("ST_HTTP_TIMEOUT", parse_http_timeout, DEFAULT_HTTP_TIMEOUT)
    rate_limit = parsed("ST_RATE_LIMIT", parse_rate_limit, DEFAULT_RATE_LIMIT)
    max_retries = parsed("ST_MAX_RETRIES", parse_retries, DEFAULT_MAX_RETRIES)
    guid = parsed("ST_EXTERNAL_DATA_GUID", parse_guid, DEFAULT_EXTERNAL_DATA_GUID)
    start = parsed("STSYNC_START_DATE", parse_start_date, DEFAULT_START_DATE)
    concurrency = parsed("ST_CONCURRENCY", parse_concurrency, DEFAULT_CONCURRENCY)
    warn_days = parsed("STSYNC_BLOCKED_WARN_DAYS", parse_warn_days, DEFAULT_BLOCKED_WARN_DAYS)
    server_timeout = parsed("ST_SERVER_TIMEOUT", parse_server_timeout, DEFAULT_SERVER_TIMEOUT)
    bulk_size = parsed("ST_BULK_SIZE", parse_bulk_size, DEFAULT_BULK_SIZE)
    batch_size = parsed("ST_BATCH_SIZE", parse_batch_size, DEFAULT_BATCH_SIZE)
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems), variables=bad_vars)

    return Settings(
        prod=EnvironmentSettings(**envs["prod"]),
        int=EnvironmentSettings(**envs["int"]),
        page_size=page_size,
        http_timeout=http_timeout,
        rate_limit=rate_limit,
        max_retries=max_retries,
        external_data_guid=guid,
        db=get("STSYNC_DB") or default_db(),
        config_path=get("STSYNC_CONFIG") or DEFAULT_CONFIG_PATH,
        start_date=start,
        concurrency=concurrency,
        blocked_warn_days=warn_days,
        server_timeout=server_timeout,
        bulk_size=bulk_size,
        batch_size=batch_size,
    )


def check_integration_target(int_settings: EnvironmentSettings, prod_settings: EnvironmentSettings) -> None:
    """Refuse (ConfigError) an Integration configuration that would reach Production (DESIGN promise 1).

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
            refuse(name, f"and the Production one ({prod_settings.var(suffix)}) are nested: a path under one "
                   "would reach the other")
        if hosts.environment_of(prod_url) == "int":
            refuse(prod_settings.var(suffix), f"points at Integration ({hosts.describe(prod_url)}): "
                   "are the _PROD and _INT blocks swapped?")
    if int_settings.client_id.strip().casefold() == prod_settings.client_id.strip().casefold():
        refuse(int_settings.var("CLIENT_ID"), f"is the Production client id ({prod_settings.var('CLIENT_ID')})")
    if reasons:
        raise ConfigError(
            "refusing to write: the Integration target looks like Production: " + "; ".join(reasons),
            variables=variables,
        )
