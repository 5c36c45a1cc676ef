"""What every entity handler provides to the engine."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, ClassVar, Iterable

from pydantic import BaseModel

from stsync_dagster.sync.configfile import EntityConfig, SyncConfig
from stsync_dagster.sync.adoption import natural_key
from stsync_dagster.sync.policy import Reference
from stsync_dagster.sync.select.filters import ListFilter
from stsync_dagster.sync.references import Ref, RefMap
from stsync_dagster.sync.entities.candidates import created_windows, search_reads, stamp_reads
from stsync_dagster.sync.stamps import STAMP_KEY, stamped_prod_id

log = logging.getLogger("stsync.sync")


def _field(record: BaseModel, name: str):
    if name in type(record).model_fields:
        return getattr(record, name)
    return (record.model_extra or {}).get(name)


class EntityHandler:
    kind: ClassVar[str]
    model: ClassVar[type[BaseModel]]
    # Reference fields of the natural key (config's `natural_key`), compared after translation: field → kind.
    key_refs: ClassVar[dict[str, str]] = {}
    # Every reference the handler translates (field without indices): its kind, whether the create requires it.
    reference_fields: ClassVar[dict[str, Reference]] = {}
    # What a selection may filter by (entities/selectable.py): the list's filters, and STSync's own.
    filters: ClassVar[tuple[ListFilter, ...]] = ()

    def __init__(self, config: SyncConfig, guid: str):
        self.config = config
        self.cfg: EntityConfig = config.entity(self.kind)
        self.guid = guid

    def needs(self, records: list[BaseModel]) -> dict[str, set[int]]:
        """Production ids of referenced records to copy before these can be (a PO's materials, equipment and
        job; a configurable material's variations; the job a job came from), by kind, in the order to copy them."""
        return {}

    def prepare(self, records: list[BaseModel], prod) -> Any:
        """Read from Production what the page needs besides its own records (one batched call per kind); the
        records it `needs` are copied meanwhile."""
        return None

    def references(self, record: BaseModel, extra: Any) -> Iterable[Ref]:
        raise NotImplementedError

    def build(self, record: BaseModel, refs: RefMap, extra: Any) -> BaseModel:
        """The create request for the record; raises Blocked or Invalid."""
        raise NotImplementedError

    # -- what Integration already holds (see adoption.py) ------------------------------------------------------

    def index_params(self) -> dict:
        """List parameters that show every Integration record of the kind with STSync's mark."""
        return {**self.cfg.list_params, "externalDataApplicationGuid": self.guid}

    # How adoption narrows its read of Integration (candidates.py): the list filters on STSync's mark (POs: no),
    # and a partial-text search over some fields (materials' searchText).
    marks_filterable: ClassVar[bool] = True
    search_param: ClassVar[str | None] = None
    searched_fields: ClassVar[frozenset[str]] = frozenset()

    def candidate_reads(self, records: list[BaseModel], keyed: list[BaseModel]) -> list[dict] | None:
        """List parameters that together return every Integration record that could be one of `records` (by
        mark) or have the natural key of one of `keyed`; None when the list cannot be narrowed so."""
        if not self.marks_filterable:
            return None
        by_key = self.key_reads(keyed) if keyed else []
        if by_key is None:
            return None
        return [*stamp_reads(self.cfg.list_params, self.guid, sorted(r.id for r in records)), *by_key]

    def key_reads(self, records: list[BaseModel]) -> list[dict] | None:
        names = self.cfg.natural_key
        searched = next((name for name in names if name in self.searched_fields), None)
        if searched is not None and self.search_param:
            return search_reads(self.index_params(), self.search_param, [_field(r, searched) for r in records])
        if "createdOn" in names:
            return created_windows(self.index_params(), [_field(r, "createdOn") for r in records])
        return None

    def mark_of(self, raw: dict) -> int | None:
        """The Production id STSync marked on an Integration record, if any."""
        return stamped_prod_id(raw, self.guid)

    def int_evidence(self, raw: dict) -> str | None:
        """What a mark on this Integration record must agree with; None when the mark cannot be forged."""
        return None

    def prod_evidence(self, record: BaseModel) -> str | None:
        return None

    def int_key(self, raw: dict) -> str | None:
        return natural_key([raw.get(name) for name in self.cfg.natural_key])

    def key_references(self, record: BaseModel) -> Iterable[Ref]:
        for name, kind in self.key_refs.items():
            value = _field(record, name)
            if value is not None:
                yield Ref(name, kind, int(value))

    def prod_key(self, record: BaseModel, refs: RefMap) -> str | None:
        """The Production record's natural key in Integration's terms; None when a part is missing or unmapped."""
        parts = []
        for name in self.cfg.natural_key:
            value = _field(record, name)
            if name in self.key_refs and value is not None:
                value = refs.find(self.key_refs[name], int(value))
            parts.append(value)
        return natural_key(parts)

    def adoption_stamp(self, prod_id: int) -> dict | None:
        """The PATCH body that marks an adopted record as this Production record's copy; None when the kind has
        no such field. Merge, never Replace: another application's data under our guid would be lost."""
        return {
            "externalData": {
                "applicationGuid": self.guid,
                "externalData": [{"key": STAMP_KEY, "value": str(prod_id)}],
                "patchMode": "Merge",
            }
        }

    # -- following Production: updates and statuses ------------------------------------------------------------

    # Reading back: request fields answered under another name, and request fields not in the read shape.
    read_names: ClassVar[dict[str, str]] = {}
    not_read_back: ClassVar[frozenset[str]] = frozenset({"externalData"})  # the stamp is compared on its own

    def read_back_pairs(self, sent: dict, got: dict | None = None) -> Iterable[tuple[str, str, Any]]:
        """(request field, its name in the read shape, the value sent) for every field that reads back;
        `got`: the Integration record it is compared with."""
        for name, value in sent.items():
            if name not in self.not_read_back:
                yield name, self.read_names.get(name, name), value

    def read_back_view(self, client, raws: list[dict]) -> dict[int, dict]:
        """Records by id as the read-back check compares them (a job with its appointments): as read here."""
        return {int(r["id"]): r for r in raws}

    # Create-request fields that no update can change (PATCH has no such field): never compared for updates.
    not_updatable: ClassVar[frozenset[str]] = frozenset({"externalData"})
    initial_status: ClassVar[str | None] = None  # what a new record starts as in Integration
    bulk_create: ClassVar[bool] = False  # creates go through IntegrationClient.bulk_create_materials

    def update_view(self, body: dict) -> dict:
        return {k: v for k, v in body.items() if k not in self.not_updatable}

    def followed_view(self, body: dict) -> dict:
        """What the fingerprint covers: the patchable fields, and what other calls follow (a job's visits)."""
        return self.update_view(body)

    def read_related(self, intc, int_records: list[dict]) -> dict[int, list[dict]]:
        """Integration records that the follow-up steps compare with, by Integration id (batched): none here."""
        return {}

    def patch_body(self, body: dict, fields: set[str], int_record: dict) -> dict:
        """The PATCH body that brings these fields to `body`'s values (lists are sent whole)."""
        return {name: body[name] for name in sorted(fields)}

    def desired_status(self, record: BaseModel) -> str | None:
        """The status Integration should show for the record; None when statuses are not followed."""
        return None

    def current_status(self, int_record: dict) -> str | None:
        return None

    def status_steps(self, record: BaseModel, target: str, current: str) -> list[tuple]:
        """(action in the config's `statuses`, body[, id it applies to]) to go from `current` to `target`."""
        return []

    def follow_steps(self, body: dict, int_record: dict, related: dict[int, list[dict]]) -> list[tuple]:
        """Other calls that bring the copy in line (a visit rescheduled): (action, body, id)."""
        return []

    def needs_active(self, record: BaseModel) -> list[tuple[str, int]]:
        """(kind, Production id) of referenced records the create needs active in Integration: a create refused
        on one of them is sent again with it active for the moment (activation.py)."""
        return []

    def created_id(self, response: dict) -> int:
        return int(response["id"])

    def find_existing(self, intc, claims: dict[int, datetime | None]) -> dict[int, int]:
        """Integration ids of records already created from these Production ids (recovery of lost answers)."""
        return self._find_by_stamp(intc, list(claims))

    def _find_by_stamp(self, intc, prod_ids: list[int]) -> dict[int, int]:
        found: dict[int, int] = {}
        for params in stamp_reads(self.cfg.list_params, self.guid, prod_ids):
            batch = {int(v) for v in params["externalDataValues"].split(",")}
            for page in intc.iter_pages(self.cfg.int_list_path, params):
                for record in page.records:
                    prod_id = stamped_prod_id(record, self.guid)
                    if prod_id in batch:
                        found.setdefault(prod_id, int(record["id"]))
        return found
