"""What a command checks and loads before it runs: the `.env` file, the Integration guard, the config file and the
crosswalk."""

from __future__ import annotations

from pathlib import Path

from dotenv import load_dotenv

from stsync_dagster.config import SyncConfig, load_config
from stsync_dagster.errors import ConfigError
from stsync_dagster.servicetitan import check_integration_target
from stsync_dagster.sync.crosswalk import setting as database


def load_env() -> None:
    """Like the original tool: a `.env` in the working folder fills in what the environment lacks.

    Called once load_settings has checked the file (its errors name the file and line)."""
    if Path(".env").is_file():
        try:
            load_dotenv(".env", override=False)
        except Exception as exc:  # python-dotenv only warns on bad lines; anything else is fatal
            raise ConfigError(f".env: cannot be read ({type(exc).__name__})") from None


def preflight(settings, *, write: bool) -> tuple[SyncConfig, str]:
    """What a sync needs besides the API, checked before any request: the guard, the config file and the
    crosswalk (opened; created only when `write`). Returns the config and the crosswalk as it may be shown."""
    check_integration_target(settings.int, settings.prod)
    config = load_config(settings.config_path)
    return config, database.check(settings.db, write=write)


def existing_crosswalk(value: str) -> str:
    """STSYNC_DB for a command that only reads it (history, diff): checked, and refused when it is a SQLite file
    that does not exist, which opening would create empty."""
    shown = database.check(value, write=False)
    if "://" not in value and not Path(value).expanduser().is_file():
        raise ConfigError(f"{database.ENV_VAR} ({shown}): no crosswalk there: nothing was synced with it yet",
                          variables=[database.ENV_VAR])  # fmt: skip
    return value
