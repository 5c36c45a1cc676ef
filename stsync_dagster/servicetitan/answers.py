"""What an API answer means: the typed error for a failed one (or the retry it allows), the wait a 429 asks for,
and the title and field errors of an RFC 7807 body. Transport sends the requests and keeps the counts."""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

import httpx

from .errors import (
    AmbiguousWriteError,
    AuthenticationError,
    ScopeRefused,
    ConflictError,
    NotFoundError,
    RateLimitExhausted,
    ServerError,
    ServiceTitanError,
    ValidationError,
    field_messages,
    snippet,
)
from .settings import EnvironmentSettings

RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
_TRY_AGAIN = re.compile(r"try again in (\d+(?:\.\d+)?) second", re.I)


class SafeToRetry(Exception):
    """An attempt failed in a way that is safe to retry; `final` is raised when retries run out."""

    def __init__(self, reason: str, final: ServiceTitanError, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.final = final
        self.retry_after = retry_after


def retry_after_seconds(resp: httpx.Response, title: str | None) -> float | None:
    """Seconds to wait from Retry-After (seconds or HTTP date), else from a "Try again in N seconds." title."""
    header = resp.headers.get("Retry-After", "").strip()
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(header)
                if when.tzinfo is None:
                    when = when.replace(tzinfo=timezone.utc)
                return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
            except (TypeError, ValueError):
                pass
    match = _TRY_AGAIN.search(title or "")
    return float(match.group(1)) if match else None


def _field_errors(raw: Any) -> dict[str, list[str]]:
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, list[str]] = {}
    for field, messages in raw.items():
        if isinstance(messages, (list, tuple)):
            out[str(field)] = [str(m) for m in messages]
        elif messages is not None:
            out[str(field)] = [str(messages)]
    return out


def problem(resp: httpx.Response, clean: Callable[[str], str]) -> tuple[str, dict[str, list[str]], str]:
    """(title, field errors, short text) from an RFC 7807 body, or from the status line otherwise."""
    fallback = resp.reason_phrase or "error"
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        title = str(body.get("title") or body.get("error") or body.get("message") or fallback)
        return clean(snippet(title)), _field_errors(body.get("errors")), ""
    return fallback, {}, clean(snippet(resp.text)) if resp.text else ""


def unreadable(method: str, rel: str, status: int) -> Exception:
    """A 2xx answer whose body is not JSON: a write was probably applied; a read may be retried."""
    if method in WRITE_METHODS:
        return AmbiguousWriteError(
            f"{method} {rel}: {status} answer with an unreadable body; the write was probably applied",
            method=method,
            path=rel,
            status=status,
        )
    final = ServerError(
        f"{method} {rel}: {status} answer with an unreadable body", method=method, path=rel, status=status
    )
    return SafeToRetry(f"{status} with an unreadable body", final)


def failure(method: str, rel: str, resp: httpx.Response, env: EnvironmentSettings, clean: Callable[[str], str]):
    """The error for a non-2xx answer: a SafeToRetry (with the wait a 429 asks for) or the typed error."""
    status = resp.status_code
    title, errors, text = problem(resp, clean)
    kw = {"method": method, "path": rel, "status": status, "title": title}
    message = f"{method} {rel}: {status} {title}"
    if errors:
        details = field_messages(dict(list(errors.items())[:10]))
        message += f" ({clean(details)[:500]})"
    elif text:
        message += f" ({text})"

    if status == 429:
        wait = retry_after_seconds(resp, title)
        return SafeToRetry(f"429 {title}", RateLimitExhausted(message, **kw), retry_after=wait)
    if status in (400, 422):
        return ValidationError(message, errors=errors, **kw)
    if status == 403:
        # The token was accepted (a 401 says otherwise): this endpoint needs a scope the app was not granted.
        return ScopeRefused(
            f"{message}: the app ({env.var('APP_KEY')}) was not granted this endpoint's API scope in {env.label}; "
            "grant it in the ServiceTitan developer portal",
            **kw,
        )
    if status in (401, 403):
        return AuthenticationError(
            f"{message}: check {env.var('CLIENT_ID')}, {env.var('CLIENT_SECRET')} and {env.var('APP_KEY')}",
            **kw,
        )
    if status == 404:
        return NotFoundError(message, **kw)
    if status == 409:
        return ConflictError(message, **kw)
    if status >= 500:
        error = ServerError(message, **kw)
        if method in WRITE_METHODS:
            return AmbiguousWriteError(
                f"{method} {rel}: answered {status} {title}; the write may have been applied", cause=error, **kw
            )
        if status in RETRYABLE_STATUS:
            return SafeToRetry(f"{status} {title}", error)
        return error
    return ServiceTitanError(message, **kw)
