"""`stsync.config.json` as a resource: its path from `STSYNC_CONFIG` (a `dg.EnvVar`, default the working folder's
file), read once per run (once per step process when the steps run in processes of their own, as the UI's runs
do) and handed to every step that needs it, so a file edited while a run goes on cannot change it halfway."""

import os

import dagster as dg
from pydantic import PrivateAttr

from stsync_dagster.config import DEFAULT_CONFIG_PATH, SyncConfig, load_config

CONFIG_VAR = "STSYNC_CONFIG"


class ConfigFileResource(dg.ConfigurableResource):
    """The config file: endpoints, filters, natural keys, statuses and reference policies per entity."""

    path: str = DEFAULT_CONFIG_PATH
    _config: SyncConfig | None = PrivateAttr(default=None)

    def get(self) -> SyncConfig:
        """The file's content, read (and checked: errors name the file and the JSON path) on first use."""
        if self._config is None:
            self._config = load_config(self.path or DEFAULT_CONFIG_PATH)
        return self._config

    def teardown_after_execution(self, context) -> None:
        self._config = None


def config_file_resource() -> ConfigFileResource:
    """The path as a `dg.EnvVar` when STSYNC_CONFIG is set (no value baked into the definitions), else the default."""
    return ConfigFileResource(
        path=dg.EnvVar(CONFIG_VAR) if os.environ.get(CONFIG_VAR, "").strip() else DEFAULT_CONFIG_PATH
    )
