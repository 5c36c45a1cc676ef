"""Fixed identities of the simulated tenants: tenant ids, credentials, id ranges, kinds."""

from __future__ import annotations

import functools
from datetime import datetime, time, timedelta, timezone

PROD_TENANT_ID = 3_141_592_001
INT_TENANT_ID = 2_718_281_002

# The app key is per app, so the same in both environments (API.md).
APP_KEY = "ak1.stsync-simulator-app-key-0001"
PROD_CLIENT_ID = "cid.sim-prod-7f3a91"
PROD_CLIENT_SECRET = "cs1.sim-prod-secret-4c2e8d1b"
INT_CLIENT_ID = "cid.sim-int-2b9c40"
INT_CLIENT_SECRET = "cs1.sim-int-secret-9e71a6f3"

ENVS = ("prod", "int")
TENANT_IDS = {"prod": PROD_TENANT_ID, "int": INT_TENANT_ID}
CLIENTS = {"prod": (PROD_CLIENT_ID, PROD_CLIENT_SECRET), "int": (INT_CLIENT_ID, INT_CLIENT_SECRET)}

# Every Production id lies in PROD_ID_RANGE, every Integration id at or above INT_ID_START, so an id
# that crosses environments can never be mistaken for a valid one.
PROD_ID_RANGE = (1_000_000, 49_999_999)
PROD_NEW_ID_START = 40_000_000  # records POSTed to Production (STSync never should)
INT_ID_START = 50_000_000  # Integration's pre-existing master data
INT_NEW_ID_START = 80_000_000  # records created in Integration through the API

KINDS = (
    "materials",
    "equipment",
    "purchase-orders",
    "jobs",
    "appointments",
    "appointment-assignments",
    "vendors",
    "warehouses",
    "purchase-order-types",
    "business-units",
    "customers",
    "locations",
    "job-types",
    "campaigns",
    "technicians",
)
# Also kept (not in the shared contract): material `categories` and campaign categories reference them.
EXTRA_KINDS = ("categories", "campaign-categories", "job-cancel-reasons", "job-hold-reasons")
ALL_KINDS = KINDS + EXTRA_KINDS


@functools.cache
def default_until() -> datetime:
    """The end of the generated data: the last second of yesterday (UTC), so a daily sync of "yesterday" and
    the UI's recent ranges find records. Fixed for the life of the process, so every simulator it starts,
    even across midnight, generates the same data from the same seed."""
    yesterday = datetime.now(timezone.utc).date() - timedelta(days=1)
    return datetime.combine(yesterday, time(23, 59, 59), tzinfo=timezone.utc)


DEFAULT_EXTERNAL_DATA_GUID = "5f0c1a52-57c3-4b9e-9a51-5757c0de0001"
# Another (imaginary) integration's stamp on a few Production records: must never leak to STSync.
FOREIGN_EXTERNAL_DATA_GUID = "0d6f2a8e-1b3c-4d5e-8f90-a1b2c3d4e5f6"
