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

__all__ = [
    "HANDLERS",
    "EntityHandler",
    "EquipmentHandler",
    "ItemsHandler",
    "JobsHandler",
    "PurchaseOrdersHandler",
]
