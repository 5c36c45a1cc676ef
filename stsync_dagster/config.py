"""`stsync.config.json`: endpoints, list parameters and natural keys per entity, validated on load."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from stsync_dagster.servicetitan import hosts
from stsync_dagster.errors import ConfigError
from stsync_dagster.sync.policy import Policy, check_policies

DEFAULT_CONFIG_PATH = "stsync.config.json"
SYNC_ENTITIES = ("items", "equipment", "jobs", "pos")  # dependency order
MASTER_KINDS = (
    "vendors",
    "warehouses",
    "po_types",
    "business_units",
    "customers",
    "locations",
    "job_types",
    "campaigns",
    "technicians",
    "categories",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_path(value: str) -> str:
    """A path below the API base, and only that: every request's URL is checked again when it is sent
    (servicetitan/transport.py), but a path that could climb out of its base is refused here, on load."""
    if not value.startswith("/") or "{tenant}" not in value:
        raise ValueError("must start with '/' and contain '{tenant}'")
    plain = hosts.decoded(value)
    if "://" in plain or plain.startswith("//"):
        raise ValueError("must be a path below the API base, without a scheme or host")
    if "\\" in plain:
        raise ValueError("must not hold a backslash (some servers read it as '/')")
    if any(segment in (".", "..") for segment in plain.split("/")):
        raise ValueError("must not hold a dot segment ('.' or '..', percent-encoded or not)")
    if any(c in plain for c in "?#") or any(ord(c) < 0x20 or ord(c) == 0x7F for c in plain):
        raise ValueError("must not hold '?', '#' or control characters (list parameters go in list_params)")
    return value


class StatusAction(_Strict):
    """One status change the API offers: where to send it and, for jobs, which reason (matched by name)."""

    path: str  # with {tenant} and {id}
    method: Literal["PUT", "PATCH", "POST"] = "PUT"
    reasons: str | None = None  # the list of reasons in Integration, e.g. job-cancel-reasons
    reason: str | None = None  # the name of the reason to give
    canceled_reason: str | None = None  # a PO's canceledReason when Production's has none

    _paths = field_validator("path", "reasons")(lambda v: v if v is None else _check_path(v))


class EntityConfig(_Strict):
    prod_list_path: str
    int_create_path: str
    int_list_path: str
    export_path: str | None = None
    list_params: dict[str, str] = Field(default_factory=dict)
    list_data_key: Literal["data"] = "data"
    next_page_key: Literal["hasMore"] = "hasMore"
    # Fields that identify a record in a tenant refreshed from Production or made by hand: adoption's match.
    # A reference field (customerId, vendorId) is compared after translation into Integration's id.
    natural_key: list[str] = Field(min_length=1)
    # Status changes replayed after the fields (cancel, hold, complete…); an action left out is not replayed.
    statuses: dict[str, StatusAction] = Field(default_factory=dict)
    since_param: Literal["modifiedOnOrAfter", "createdOnOrAfter"] = "modifiedOnOrAfter"
    until_param: Literal["modifiedBefore", "createdBefore"] = "modifiedBefore"

    _paths = field_validator("prod_list_path", "int_create_path", "int_list_path", "export_path")(
        lambda v: v if v is None else _check_path(v)
    )


class RelatedConfig(_Strict):
    appointments: str
    appointment_assignments: str

    _paths = field_validator("appointments", "appointment_assignments")(_check_path)


class MasterConfig(_Strict):
    path: str
    list_params: dict[str, str] = Field(default_factory=dict)
    natural_key: list[str] = Field(min_length=1)

    _path = field_validator("path")(_check_path)


class EntitiesConfig(_Strict):
    items: EntityConfig
    equipment: EntityConfig
    pos: EntityConfig
    jobs: EntityConfig


class MasterDataConfig(_Strict):
    vendors: MasterConfig
    warehouses: MasterConfig
    po_types: MasterConfig
    business_units: MasterConfig
    customers: MasterConfig
    locations: MasterConfig
    job_types: MasterConfig
    campaigns: MasterConfig
    technicians: MasterConfig
    categories: MasterConfig


class UpdatesConfig(_Strict):
    # A record edited in Integration since STSync last wrote it: left alone and reported (skip), or overwritten.
    conflicts: Literal["skip", "overwrite"] = "skip"


class SyncConfig(_Strict):
    entities: EntitiesConfig
    updates: UpdatesConfig = Field(default_factory=UpdatesConfig)
    related: RelatedConfig
    master_data: MasterDataConfig
    # A reference with no Integration counterpart, per entity and field: block, drop or {"default": key}
    # (sync/policy.py); a field left out has its default (block when the create requires it, else drop).
    references: dict[str, dict[str, Policy]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_references(self) -> "SyncConfig":
        from stsync_dagster.sync.entities import HANDLERS  # the handlers say which references they translate

        problems = check_policies(self.references, {k: h.reference_fields for k, h in HANDLERS.items()}, MASTER_KINDS)
        if problems:
            raise ConfigError("; ".join(problems))
        return self

    def entity(self, name: str) -> EntityConfig:
        return getattr(self.entities, name)

    def master(self, kind: str) -> MasterConfig:
        return getattr(self.master_data, kind)


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
        return SyncConfig.model_validate(raw)
    except ConfigError as exc:  # what the model's own checks found (the references section)
        raise ConfigError(f"{file}: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"$.{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{file}: {problems}") from None
