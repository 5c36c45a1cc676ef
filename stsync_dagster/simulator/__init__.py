"""A ServiceTitan look-alike (Production and Integration tenants) for tests and demos.

from stsync_dagster.simulator import Simulator, Faults
with Simulator(seed=7, scale=0.25).start() as sim:
    sim.env()   # ST_* variables pointing at it
"""

from .constants import (
    APP_KEY,
    INT_CLIENT_ID,
    INT_CLIENT_SECRET,
    INT_TENANT_ID,
    KINDS,
    PROD_CLIENT_ID,
    PROD_CLIENT_SECRET,
    PROD_TENANT_ID,
)
from .data import DELIBERATE_GAPS, Refresh
from .faults import Faults
from .server import Simulator

__all__ = [
    "APP_KEY",
    "DELIBERATE_GAPS",
    "INT_CLIENT_ID",
    "INT_CLIENT_SECRET",
    "INT_TENANT_ID",
    "KINDS",
    "PROD_CLIENT_ID",
    "PROD_CLIENT_SECRET",
    "PROD_TENANT_ID",
    "Faults",
    "Refresh",
    "Simulator",
]
