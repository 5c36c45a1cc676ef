"""What every entity handler provides to the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, ClassVar, Iterable

from pydantic import BaseModel

from stsync_dagster.config import EntityConfig, SyncConfig
from stsync_dagster.sync.references import Ref, RefMap
from stsync_dagster.sync.stamps import STAMP_KEY, stamped_prod_id

BATCH = 50  # the API's limit on ids / externalDataValues per request


@dataclass
class PageContext:
    """What a handler may use while preparing a page: the Production reader and a way to pull in materials."""

    prod: Any
    pull_items: Callable[[set[int]], None]


class EntityHandler:
    kind: ClassVar[str]
    model: ClassVar[type[BaseModel]]

    def __init__(self, config: SyncConfig, guid: str):
        self.config = config
        self.cfg: EntityConfig = config.entity(self.kind)
        self.guid = guid

    def prepare(self, records: list[BaseModel], ctx: PageContext) -> Any:
        """Fetch what the page needs besides its own records (one batched call per kind)."""
        return None

    def references(self, record: BaseModel, extra: Any) -> Iterable[Ref]:
        raise NotImplementedError

    def build(self, record: BaseModel, refs: RefMap, extra: Any) -> BaseModel:
        """The create request for the record; raises Blocked or Invalid."""
        raise NotImplementedError

    def created_id(self, response: dict) -> int:
        return int(response["id"])

    def find_existing(self, intc, claims: dict[int, datetime | None]) -> dict[int, int]:
        """Integration ids of records already created from these Production ids (recovery of lost answers)."""
        return self._find_by_stamp(intc, list(claims))

    def _find_by_stamp(self, intc, prod_ids: list[int]) -> dict[int, int]:
        found: dict[int, int] = {}
        for start in range(0, len(prod_ids), BATCH):
            batch = prod_ids[start : start + BATCH]
            params = {
                **self.cfg.list_params,
                "externalDataApplicationGuid": self.guid,
                "externalDataKey": STAMP_KEY,
                "externalDataValues": ",".join(str(i) for i in batch),
            }
            for page in intc.iter_pages(self.cfg.int_list_path, params):
                for record in page.records:
                    prod_id = stamped_prod_id(record, self.guid)
                    if prod_id in batch:
                        found.setdefault(prod_id, int(record["id"]))
        return found
