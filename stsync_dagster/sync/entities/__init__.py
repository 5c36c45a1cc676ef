"""One handler per synced entity: how its records are read, translated, stamped and found again."""

from stsync_dagster.sync.entities.base import EntityHandler
from stsync_dagster.sync.entities.equipment import EquipmentHandler
from stsync_dagster.sync.entities.items import ItemsHandler
from stsync_dagster.sync.entities.jobs import JobsHandler
from stsync_dagster.sync.entities.pos import PurchaseOrdersHandler

HANDLERS: dict[str, type[EntityHandler]] = {
    "items": ItemsHandler,
    "equipment": EquipmentHandler,
    "pos": PurchaseOrdersHandler,
    "jobs": JobsHandler,
}


def referenced_kinds(entity: str) -> set[str]:
    """Every kind the entity's records reference, directly or through the records they pull in."""
    seen: set[str] = set()
    todo = [entity]
    while todo:
        handler = HANDLERS.get(todo.pop())
        for kind in {ref.kind for ref in handler.reference_fields.values()} if handler else ():
            if kind not in seen:
                seen.add(kind)
                todo.append(kind)
    return seen


__all__ = [
    "HANDLERS",
    "referenced_kinds",
    "EntityHandler",
    "EquipmentHandler",
    "ItemsHandler",
    "JobsHandler",
    "PurchaseOrdersHandler",
]
