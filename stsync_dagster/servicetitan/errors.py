"""Typed errors of the ServiceTitan client.

Messages are built by the client from method, path, status and the server's title: never from headers,
tokens, client secrets or app keys (and any text taken from a server body is passed through `redact.redact`).
"""

from __future__ import annotations

import re
from typing import Any

_SNIPPET_LIMIT = 200


class SettingsError(Exception):
    """The client refuses its settings: malformed, or aimed at the wrong environment (the Production guard, a
    URL leaving its API base). The application's configuration errors (stsync_dagster.errors.ConfigError)
    are a kind of it."""

    def __init__(self, message: str, *, variables: list[str] | None = None) -> None:
        super().__init__(message)
        self.variables: list[str] = list(variables or [])


class ServiceTitanError(Exception):
    """Base of every error the client raises about an API call."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status
        self.title = title


class AuthenticationError(ServiceTitanError):
    """Credentials refused (token endpoint), or 401/403 even after renewing the token once."""


class ScopeRefused(AuthenticationError):
    """403 from an endpoint with a token the API accepts elsewhere: the app was not granted that endpoint's scope.
    What needs the endpoint cannot be done; the rest can."""


class RateLimitExhausted(ServiceTitanError):
    """Still answered 429 after every allowed retry."""


class ValidationError(ServiceTitanError):
    """400 or 422: the request was refused; `errors` maps field names to the server's messages."""

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.errors: dict[str, list[str]] = dict(errors or {})


class NotFoundError(ServiceTitanError):
    """404."""


class ConflictError(ServiceTitanError):
    """409."""


class BulkUnsupported(ServiceTitanError):
    """The API has no bulk endpoint here (404 or 405): send the records one by one."""


class PagingError(ServiceTitanError):
    """A list answered in a way that cannot be walked to its end: `data` missing or not a list, a page that
    repeats the one before, `hasMore` with an empty page or past the last page `totalCount` allows, or a window
    that kept changing while it was read. Records may be missing: never taken for an empty or complete read."""


class ServerError(ServiceTitanError):
    """5xx answers (after retries for reads)."""


class TransportError(ServiceTitanError):
    """The network failed (refused, timed out, dropped) and retries, if allowed, ran out."""

    def __init__(self, message: str, *, cause: BaseException | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.cause = cause


class AmbiguousWriteError(ServiceTitanError):
    """A write may or may not have been applied: sent, but no usable answer came back.

    Never retried by the client: the caller must look the record up before creating it again.
    """

    def __init__(self, message: str, *, cause: BaseException | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.cause = cause


def field_messages(errors: dict[str, list[str]]) -> str:
    """A refusal's field errors on one line, as they are reported: "name: message message; other: message"."""
    return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())


def snippet(text: str, limit: int = _SNIPPET_LIMIT) -> str:
    """A short single-line excerpt of a body (HTML tags dropped)."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
    text = re.sub(r"<[^>]*>", " ", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")
