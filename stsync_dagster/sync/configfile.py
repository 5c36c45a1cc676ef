"""`stsync.config.json` as the engine reads it: endpoints, list parameters, natural keys, statuses and reference
policies per entity, each path checked on load. Read and validated by stsync_dagster/config.py (load_config),
which also checks the references section against what the handlers translate."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from stsync_dagster.servicetitan import hosts
from stsync_dagster.sync.select.spec import Selection

# Reference policies: what to do with a reference that has no Integration counterpart (sync/policy.py).
BLOCK, DROP, DEFAULT = "block", "drop", "default"


class DefaultPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: str | list[str] = Field(min_length=1)

    def parts(self) -> list[str]:
        return [self.default] if isinstance(self.default, str) else list(self.default)


def _policy_shape(value):
    if value in (BLOCK, DROP) or (isinstance(value, dict) and set(value) == {DEFAULT}):
        return value
    raise ValueError(f'{value!r} is not a policy: "block", "drop" or {{"default": <natural key>}}')


Policy = Annotated[Union[Literal["block", "drop"], DefaultPolicy], BeforeValidator(_policy_shape)]


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
    # Which records of a window every run copies: filters and a sample (sync/select); none: all of them.
    select: Selection | None = None
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


class DiffConfig(_Strict):
    # `stsync diff` and the diff job: its check fails when more records than this differ, are missing in
    # Integration, or are marked copies whose Production record is gone (blocked ones are not counted).
    max_differences: int = Field(default=0, ge=0, strict=True)  # strict: true or "3" is no count


class UndoJobsConfig(_Strict):
    """How `stsync undo` cancels a job it created: a reason of Integration's job-cancel-reasons, by name (as the
    statuses' reasons) or by id."""

    reason: str | None = Field(default=None, min_length=1)
    reason_id: int | None = Field(default=None, gt=0, strict=True)
    memo: str = "Taken back by stsync undo"

    @model_validator(mode="after")
    def _one_reason(self):
        if self.reason is not None and self.reason_id is not None:
            raise ValueError("give reason (a name) or reason_id, not both")
        return self


class UndoPosConfig(_Strict):
    canceled_reason: Literal["NotRequired", "Duplicate", "Accidental", "VendorIssue", "Other", "JobCanceled"] = (
        "Accidental"
    )


class UndoConfig(_Strict):
    jobs: UndoJobsConfig = Field(default_factory=UndoJobsConfig)
    pos: UndoPosConfig = Field(default_factory=UndoPosConfig)


class SyncConfig(_Strict):
    entities: EntitiesConfig
    updates: UpdatesConfig = Field(default_factory=UpdatesConfig)
    diff: DiffConfig = Field(default_factory=DiffConfig)
    undo: UndoConfig = Field(default_factory=UndoConfig)  # how `stsync undo` cancels the jobs and POs a run created
    related: RelatedConfig
    master_data: MasterDataConfig
    # A reference with no Integration counterpart, per entity and field: block, drop or {"default": key}
    # (sync/policy.py; checked against the handlers by config.load_config); a field left out has its default (block when the create requires it, else drop).
    references: dict[str, dict[str, Policy]] = Field(default_factory=dict)

    def entity(self, name: str) -> EntityConfig:
        return getattr(self.entities, name)

    def master(self, kind: str) -> MasterConfig:
        return getattr(self.master_data, kind)
