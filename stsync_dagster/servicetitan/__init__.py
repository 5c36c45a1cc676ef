"""ServiceTitan API v2 client: settings, tokens, pacing, retries, reading, writing. No Dagster here."""

from . import errors
from .client import IntegrationClient, ProductionClient
from .errors import (
    AmbiguousWriteError,
    AuthenticationError,
    BulkUnsupported,
    ConfigError,
    ConflictError,
    NotFoundError,
    RateLimitExhausted,
    PagingError,
    ServerError,
    ServiceTitanError,
    TransportError,
    ValidationError,
)
from .pacer import Pacer, shared_pacer
from .reading import ExportBatch, Page
from .settings import EnvironmentSettings, Settings, check_integration_target, load_settings
from .transport import RequestStats

__all__ = [
    "AmbiguousWriteError",
    "AuthenticationError",
    "BulkUnsupported",
    "ConfigError",
    "ConflictError",
    "EnvironmentSettings",
    "ExportBatch",
    "IntegrationClient",
    "NotFoundError",
    "Pacer",
    "Page",
    "ProductionClient",
    "RateLimitExhausted",
    "RequestStats",
    "PagingError",
    "ServerError",
    "ServiceTitanError",
    "Settings",
    "TransportError",
    "ValidationError",
    "check_integration_target",
    "errors",
    "load_settings",
    "shared_pacer",
]
