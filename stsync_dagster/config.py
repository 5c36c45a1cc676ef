"""`stsync.config.json`: read and validated on load, errors naming the file, the JSON path and the reason. Its
models are in sync/configfile.py (re-exported here); the references section is checked against what the
handlers translate."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import ValidationError

from stsync_dagster.errors import ConfigError
from stsync_dagster.settings import DEFAULT_CONFIG_PATH
from stsync_dagster.sync.configfile import (  # noqa: F401  (re-exported: the config file's models)
    MASTER_KINDS,
    SYNC_ENTITIES,
    EntityConfig,
    MasterConfig,
    StatusAction,
    SyncConfig,
)
from stsync_dagster.sync.entities import HANDLERS
from stsync_dagster.sync.policy import check_policies
from stsync_dagster.sync.select import SelectionError
from stsync_dagster.sync.select import check as check_selection


def config_path(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("STSYNC_CONFIG") or DEFAULT_CONFIG_PATH)


def load_config(path: str | os.PathLike[str] | None = None) -> SyncConfig:
    """Load and validate the config file; errors name the file, the JSON path and the reason."""
    file = Path(path) if path is not None else config_path()
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: config file not found (set STSYNC_CONFIG or run from the project folder)") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{file}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: config file is not UTF-8 text (STSYNC_CONFIG)") from None
    except OSError as exc:
        why = "is a directory" if file.is_dir() else f"cannot be read ({exc.strerror or type(exc).__name__})"
        raise ConfigError(f"{file}: config file {why} (STSYNC_CONFIG)") from None
    try:
        config = SyncConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"$.{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{file}: {problems}") from None
    # The references section, against what the handlers translate (and whether the create requires it).
    problems = check_policies(config.references, {k: h.reference_fields for k, h in HANDLERS.items()}, MASTER_KINDS)
    for kind, handler in HANDLERS.items():  # the selections, against the filters each kind has
        selection = config.entity(kind).select
        try:
            if selection is not None:
                check_selection(selection, handler, f"$.entities.{kind}.select")
        except SelectionError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError(f"{file}: {'; '.join(problems)}")
    return config
