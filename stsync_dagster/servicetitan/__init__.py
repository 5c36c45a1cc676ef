"""ServiceTitan API v2 client: settings, tokens, pacing, retries, reading, writing. No Dagster here."""

from . import errors
from .client import IntegrationClient, ProductionClient
from .errors import (
    AmbiguousWriteError,
    AuthenticationError,
    ScopeRefused,
    BulkUnsupported,
    ConflictError,
    NotFoundError,
    RateLimitExhausted,
    PagingError,
    ServerError,
    ServiceTitanError,
    SettingsError,
    TransportError,
    ValidationError,
)
from .pacer import Pacer, shared_pacer
from .reading import ExportBatch, Page
from .settings import ClientSettings, EnvironmentSettings, check_integration_target
from .request_stats import RequestStats

__all__ = [
    "AmbiguousWriteError",
    "AuthenticationError",
    "ScopeRefused",
    "BulkUnsupported",
    "ClientSettings",
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
    "SettingsError",
    "TransportError",
    "ValidationError",
    "check_integration_target",
    "errors",
    "shared_pacer",
]
