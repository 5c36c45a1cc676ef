"""STSync's settings, one source for the command line and the Dagster resources: the Settings model and the one
loader (os.environ over a `.env` file, the environment winning). Every optional variable, its default and its
bounds (KNOBS) are in settings_knobs.py, and re-exported here. The API client's own pieces (EnvironmentSettings,
the Production guard) are in servicetitan/."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Callable, Mapping

from dotenv import dotenv_values
from dotenv.parser import parse_stream
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from stsync_dagster.errors import ConfigError
from stsync_dagster.servicetitan.settings import (
    DEFAULT_HTTP_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_PAGE_SIZE,
    DEFAULT_RATE_LIMIT,
    EnvironmentSettings,
    normalize_url,
    parse_tenant,
)
from stsync_dagster.settings_knobs import (
    BATCH_SIZE_RANGE,
    BLOCKED_WARN_DAYS_MAX,
    BULK_SIZE_RANGE,
    CONCURRENCY_RANGE,
    DEFAULT_BATCH_SIZE,
    DEFAULT_BLOCKED_WARN_DAYS,
    DEFAULT_BULK_SIZE,
    DEFAULT_CONCURRENCY,
    DEFAULT_EXTERNAL_DATA_GUID,
    DEFAULT_SERVER_TIMEOUT,
    DEFAULT_START_DATE,
    HTTP_TIMEOUT_RANGE,
    KNOBS,
    MAX_RETRIES_RANGE,
    RATE_LIMIT_RANGE,
    SERVER_TIMEOUT_RANGE,
    Knob,
    numbers,
    parse_guid,
    parse_start_date,
    whole_numbers,
)

__all__ = [  # the knobs' names too, as before they moved to settings_knobs.py
    "BATCH_SIZE_RANGE",
    "BLOCKED_WARN_DAYS_MAX",
    "BULK_SIZE_RANGE",
    "CONCURRENCY_RANGE",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_BLOCKED_WARN_DAYS",
    "DEFAULT_BULK_SIZE",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_DB",
    "DEFAULT_EXTERNAL_DATA_GUID",
    "DEFAULT_SERVER_TIMEOUT",
    "DEFAULT_START_DATE",
    "HTTP_TIMEOUT_RANGE",
    "KNOBS",
    "MAX_RETRIES_RANGE",
    "ORIGINAL_DB",
    "RATE_LIMIT_RANGE",
    "SERVER_TIMEOUT_RANGE",
    "Knob",
    "Settings",
    "check_knobs",
    "default_db",
    "load_settings",
    "numbers",
    "parse_guid",
    "parse_start_date",
    "whole_numbers",
]

DEFAULT_DB = ""  # empty: default_db(), a fixed place per user, whatever the working folder
# The original script's default, relative to the working folder: only ever warned about, never opened silently.
ORIGINAL_DB = "stsync.sqlite3"
DEFAULT_CONFIG_PATH = "stsync.config.json"  # in the working folder


def default_db(environ: Mapping[str, str] | None = None) -> str:
    """The crosswalk when STSYNC_DB is not set: $XDG_DATA_HOME/stsync/crosswalk.sqlite3, else under
    ~/.local/share. Fixed per user, so a sync started from another folder finds the same crosswalk."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return str(Path(base) / "stsync" / "crosswalk.sqlite3")


_PER_ENV = ("AUTH_URL", "API_BASE", "CLIENT_ID", "CLIENT_SECRET", "APP_KEY", "TENANT_ID")
_SECRET_SUFFIXES = ("CLIENT_SECRET", "APP_KEY")


class Settings(BaseModel):
    """Every setting of a run. Each knob is checked by its rule in KNOBS whichever way the model is built."""

    model_config = ConfigDict(frozen=True)

    prod: EnvironmentSettings
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
    int: EnvironmentSettings  # last: the name shadows the builtin in the class body

    @field_validator(*KNOBS, mode="before")
    @classmethod
    def _by_its_rule(cls, value: Any, info: ValidationInfo) -> Any:
        return KNOBS[info.field_name].check(value)


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


class _Source:
    """The variables as the loader sees them: the environment, then the `.env` file for what it lacks."""

    def __init__(self, environ: Mapping[str, str] | None, dotenv_path: str | os.PathLike | None) -> None:
        self.env = dict(os.environ if environ is None else environ)
        self.file_values: dict[str, str] = {}
        self.dotenv_file: Path | None = None
        if dotenv_path is not None:
            candidate = Path(dotenv_path)
            if candidate.exists():
                self.dotenv_file = candidate.resolve()
                self.file_values = _read_dotenv(self.dotenv_file)
        self.problems: list[str] = []
        self.bad_vars: list[str] = []

    def get(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None or not value.strip():
            value = self.file_values.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def origin(self, name: str) -> str:
        in_env = (self.env.get(name) or "").strip()
        return "the environment" if in_env or self.dotenv_file is None else f"the file {self.dotenv_file}"

    def parsed(self, name: str, parser: Callable[[str], Any], default: Any = None) -> Any:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            return parser(raw)
        except ValueError as exc:
            secret = name.endswith(_SECRET_SUFFIXES) or "@" in raw  # "@": a URL with user:password
            shown = "" if secret else f" (got {raw[:60]!r})"
            self.problems.append(f"{name} {exc}{shown}, from {self.origin(name)}")
            self.bad_vars.append(name)
            return default

    def knobs(self) -> dict[str, Any]:
        """Every knob that is set, by its rule (problems noted, not raised)."""
        return {k.field: self.parsed(k.variable, k.parse, k.default) for k in KNOBS.values()}

    def raise_problems(self) -> None:
        if self.problems:
            raise ConfigError("invalid configuration: " + "; ".join(self.problems), variables=self.bad_vars)


def check_knobs(environ: Mapping[str, str] | None = None) -> dict[str, bool]:
    """Check every knob that is set (the Dagster resources, when the code location loads): a ConfigError names
    every malformed one at once, as load_settings does. Returns which knobs are set, by field."""
    source = _Source(environ, None)
    source.knobs()
    source.raise_problems()
    return {k.field: source.get(k.variable) is not None for k in KNOBS.values()}


def load_settings(environ: Mapping[str, str] | None = None, dotenv_path: str | os.PathLike | None = ".env") -> Settings:
    """Read the environment contract. `environ` defaults to os.environ; a missing `.env` file is fine.

    Raises ConfigError naming every missing variable at once, or every malformed one (with the file
    it came from), never echoing a secret value.
    """
    source = _Source(environ, dotenv_path)
    required = [f"ST_{suffix}_{e}" for e in ("PROD", "INT") for suffix in _PER_ENV]
    missing = [name for name in required if source.get(name) is None]
    if missing:
        if source.dotenv_file:
            where = f"the environment or {source.dotenv_file}"
        elif dotenv_path is not None:  # say where it was looked for: a command run from another folder
            where = f"the environment or a .env file; there is none in {Path(dotenv_path).resolve().parent}"
        else:
            where = "the environment"
        raise ConfigError(f"missing configuration: {', '.join(missing)} (set them in {where})", variables=missing)

    envs: dict[str, dict] = {}
    for e in ("prod", "int"):
        suffix = e.upper()
        envs[e] = {
            "name": e,
            "auth_url": source.parsed(f"ST_AUTH_URL_{suffix}", normalize_url),
            "api_base": source.parsed(f"ST_API_BASE_{suffix}", normalize_url),
            "client_id": source.get(f"ST_CLIENT_ID_{suffix}"),
            "client_secret": source.get(f"ST_CLIENT_SECRET_{suffix}") or "",
            "app_key": source.get(f"ST_APP_KEY_{suffix}") or "",
            "tenant_id": source.parsed(f"ST_TENANT_ID_{suffix}", parse_tenant),
        }
    knobs = source.knobs()
    source.raise_problems()
    return Settings(
        prod=EnvironmentSettings(**envs["prod"]),
        int=EnvironmentSettings(**envs["int"]),
        db=source.get("STSYNC_DB") or default_db(),
        config_path=source.get("STSYNC_CONFIG") or DEFAULT_CONFIG_PATH,
        **knobs,
    )
