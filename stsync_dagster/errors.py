"""STSync's configuration error: every one ends a command with exit 2 and one line naming the variable or the
file, before any request."""

from __future__ import annotations

from stsync_dagster.servicetitan.errors import SettingsError


class ConfigError(SettingsError):
    """The environment, the `.env` file, the config file or the crosswalk database is missing or malformed.

    A kind of the client's SettingsError (what the client refuses: the Production guard, a URL leaving its
    API base), so `except SettingsError` stops on both; `variables` names what to fix."""
