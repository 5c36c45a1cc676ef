"""HTTP transport for one environment: auth headers, pacing, bounded retries, typed errors.

Retry policy (the reason this module exists):
- GET: retried on 429, 500/502/503/504, timeouts, connection errors and dropped connections.
- POST/PATCH/PUT: retried only when the request provably never reached the server (connection refused,
  connect or pool timeout, no token) or the server refused it unprocessed (429, or 401 with one token
  renewal). Anything else after sending (read timeout, dropped connection, 5xx) is an AmbiguousWriteError:
  the record may exist, and only the caller can find out.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import math
import re
import ssl
import threading
from datetime import datetime, timezone
from typing import Any, Mapping

import httpx
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity import wait_exponential, wait_random

from . import hosts
from .auth import TokenProvider
from .errors import (
    AmbiguousWriteError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    RateLimitExhausted,
    ServerError,
    ServiceTitanError,
    SettingsError,
    TransportError,
    ValidationError,
    field_messages,
    snippet,
)
from .pacer import Pacer, shared_pacer
from .settings import ENVIRONMENT_LABELS, EnvironmentSettings

log = logging.getLogger("stsync.servicetitan.transport")

RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
READ_RETRYABLE = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
DEFAULT_MAX_WAIT = 30.0  # cap on any single wait between attempts
DEFAULT_BACKOFF = 0.5  # first wait without a server hint; doubles per attempt, plus up to as much jitter
_TRY_AGAIN = re.compile(r"try again in (\d+(?:\.\d+)?) second", re.I)


class RequestStats:
    """Thread-safe counters of one client.

    requests: HTTP requests sent to the API (token requests excluded); retries: re-sends after a failed
    attempt (the token-renewal re-send included); rate_limited: 429 answers; errors: failed attempts other
    than 429 (5xx, 4xx, network failures, unreadable bodies); by_status: answers per HTTP status.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0
        self.rate_limited = 0
        self.errors = 0
        self.token_renewals = 0
        self._by_status: dict[int, int] = {}

    def _add(self, field: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, field, getattr(self, field) + n)

    def _status(self, status: int) -> None:
        with self._lock:
            self._by_status[status] = self._by_status.get(status, 0) + 1

    @property
    def by_status(self) -> dict[int, int]:
        with self._lock:
            return dict(self._by_status)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "rate_limited": self.rate_limited,
                "errors": self.errors,
                "token_renewals": self.token_renewals,
                "by_status": dict(self._by_status),
            }

    def __repr__(self) -> str:
        s = self.snapshot()
        return (
            f"RequestStats(requests={s['requests']}, retries={s['retries']}, "
            f"rate_limited={s['rate_limited']}, errors={s['errors']})"
        )


class RefusedURL(SettingsError):
    """A request whose URL, as it would be sent, leaves its environment's API base: nothing was sent."""


class _Retry(Exception):
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


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context (httpx's default, certifi's CAs) for every client of the process: loading the CAs is most
    of what creating a client costs, and a sync creates several."""
    return httpx.create_ssl_context()


class Transport:
    """Sends API requests for one environment; safe to share between threads."""

    def __init__(
        self,
        env: EnvironmentSettings,
        *,
        timeout: float = 30.0,
        rate_limit: float = 50.0,
        max_retries: int = 6,
        max_wait: float = DEFAULT_MAX_WAIT,
        retry_backoff: float = DEFAULT_BACKOFF,
        read_only: bool = False,
        pacer: Pacer | None = None,
        pacer_database: str | None = None,
        http_transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`http_transport`: what carries the requests instead of httpx's own network transport (tests hand the
        simulator's app in process: stsync_dagster_tests/inprocess.py); everything else is the same."""
        # (ST_HTTP_TIMEOUT, ST_RATE_LIMIT… are bounded where they are parsed: settings.py; this is the last check)
        if not 0 < timeout < math.inf:
            raise ValueError("timeout must be a finite number > 0")
        if not 0 < rate_limit < math.inf:
            raise ValueError("rate_limit must be a finite number > 0")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.env = env
        self._base = hosts.endpoint(env.api_base)
        self._other = {"prod": "int", "int": "prod"}.get(env.name)
        self.read_only = read_only
        self.max_retries = int(max_retries)
        self.max_wait = float(max_wait)
        self._app_key = env.app_key.get_secret_value()
        self._http = httpx.Client(
            verify=_tls(),
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": "stsync-dagster"},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            transport=http_transport,
        )
        self.tokens = TokenProvider(env, self._http)
        self.pacer = pacer or shared_pacer(env.name, env.tenant_id, self._app_key, rate_limit, database=pacer_database)
        self.stats = RequestStats()
        self._backoff = wait_exponential(multiplier=retry_backoff, max=self.max_wait) + wait_random(0, retry_backoff)

    def __repr__(self) -> str:
        return f"Transport({self.env.label}, api_base={self.env.api_base!r}, tenant={self.env.tenant_id})"

    def close(self) -> None:
        self._http.close()

    def resolve(self, path: str) -> str:
        """A path template ("/pricebook/v2/tenant/{tenant}/materials") with the tenant filled in."""
        if not path.startswith("/"):
            path = "/" + path
        return path.replace("{tenant}", str(self.env.tenant_id))

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None) -> Any:
        """Send one API call (with retries) and return the decoded JSON body (None when empty)."""
        method = method.upper()
        if self.read_only and method != "GET":
            raise ServiceTitanError(
                f"{self.env.label} client is read-only: refusing {method} {path}", method=method, path=path
            )
        rel = self.resolve(path)
        # Refused before a token is asked for: the URL that would go out, query and all, as httpx builds it.
        url = self._guard(method, self._http.build_request(method, self.env.api_base + rel, params=params).url)
        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            retry=retry_if_exception_type(_Retry),
            wait=self._wait,
            before_sleep=self._before_sleep,
            reraise=False,
        )
        try:
            return retrying(self._attempt, method, rel, url, json)
        except RetryError as err:
            last = err.last_attempt.exception()
            assert isinstance(last, _Retry)
            raise last.final from getattr(last.final, "cause", None)

    # -- one attempt -------------------------------------------------------------------------------

    def _attempt(self, method: str, rel: str, url: httpx.URL, body: Any) -> Any:
        renewed = False
        while True:
            token = self._token(method, rel)
            resp = self._send(method, rel, url, token, body)
            if resp.status_code == 401 and not renewed:
                # An expired or forgotten token: renew once and re-send (the server refused it unprocessed).
                self.stats._add("errors")
                self.stats._add("token_renewals")
                self.stats._add("retries")
                self.tokens.invalidate(token)
                renewed = True
                log.warning("%s %s: 401 from %s, renewing the token and retrying once", method, rel, self.env.label)
                continue
            return self._handle(method, rel, resp)

    def _token(self, method: str, rel: str) -> str:
        try:
            return self.tokens.token()
        except TransportError as exc:
            # No API request was sent: safe to retry whatever the method.
            final = TransportError(
                f"{method} {rel}: could not get a token for {self.env.label}: {exc}",
                method=method,
                path=rel,
                status=exc.status,
                cause=exc.cause,
            )
            raise _Retry(f"token request failed ({exc})", final) from exc

    def _guard(self, method: str, url: httpx.URL) -> httpx.URL:
        """`url` when it stays under this environment's API base once every spelling is undone (dot segments,
        percent-encoding, backslashes, case: hosts.endpoint, as a proxy or server may resolve them) and names
        no other environment; else RefusedURL, naming the URL (which carries no secret) and the variable."""
        shown = str(url).split("?", 1)[0]
        where = hosts.endpoint(shown)
        if not hosts.under(where, self._base):
            same_host = (where.host, where.port) == (self._base.host, self._base.port)
            why = f"it resolves to {where.path or '/'}" if same_host else "it goes to another host"
            why += ", outside"
        elif self._other is not None and hosts.environment_of(where) == self._other:
            why = f"it names {ENVIRONMENT_LABELS.get(self._other, self._other)}, though under"
        else:
            return url
        raise RefusedURL(
            f"refusing {method} {shown} for {self.env.label}: {why} {self.env.var('API_BASE')} "
            f"({self.env.api_base}); nothing was sent",
            variables=[self.env.var("API_BASE")],
        )

    def _send(self, method: str, rel: str, url: httpx.URL, token: str, body: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "ST-App-Key": self._app_key}
        request = self._http.build_request(method, url, json=body, headers=headers)
        self._guard(method, request.url)  # the request exactly as it goes out
        self.pacer.acquire()
        self.stats._add("requests")
        try:
            resp = self._http.send(request)
        except httpx.HTTPError as exc:
            self.stats._add("errors")
            what = f"{type(exc).__name__} from {self.env.api_base}: {self._clean(str(exc)) or 'no detail'}"
            if isinstance(exc, NEVER_SENT):
                raise _Retry(
                    what, TransportError(f"{method} {rel}: {what}", method=method, path=rel, cause=exc)
                ) from exc
            if method in WRITE_METHODS:
                raise AmbiguousWriteError(
                    f"{method} {rel}: sent, but no answer ({what}); the write may have been applied",
                    method=method,
                    path=rel,
                    cause=exc,
                ) from exc
            if isinstance(exc, READ_RETRYABLE):
                raise _Retry(
                    what, TransportError(f"{method} {rel}: {what}", method=method, path=rel, cause=exc)
                ) from exc
            raise TransportError(f"{method} {rel}: {what}", method=method, path=rel, cause=exc) from exc
        self.stats._status(resp.status_code)
        return resp

    def _handle(self, method: str, rel: str, resp: httpx.Response) -> Any:
        status = resp.status_code
        if 200 <= status < 300:
            if not resp.content:
                return None
            try:
                return resp.json()
            except ValueError:
                self.stats._add("errors")
                if method in WRITE_METHODS:
                    raise AmbiguousWriteError(
                        f"{method} {rel}: {status} answer with an unreadable body; the write was probably applied",
                        method=method,
                        path=rel,
                        status=status,
                    ) from None
                final = ServerError(
                    f"{method} {rel}: {status} answer with an unreadable body", method=method, path=rel, status=status
                )
                raise _Retry(f"{status} with an unreadable body", final) from None

        title, errors, text = self._problem(resp)
        kw = {"method": method, "path": rel, "status": status, "title": title}
        message = f"{method} {rel}: {status} {title}"
        if errors:
            details = field_messages(dict(list(errors.items())[:10]))
            message += f" ({self._clean(details)[:500]})"
        elif text:
            message += f" ({text})"

        if status == 429:
            self.stats._add("rate_limited")
            wait = retry_after_seconds(resp, title)
            self.pacer.defer(min(wait if wait is not None else 1.0, self.max_wait))
            raise _Retry(f"429 {title}", RateLimitExhausted(message, **kw), retry_after=wait)
        self.stats._add("errors")
        if status in (400, 422):
            raise ValidationError(message, errors=errors, **kw)
        if status in (401, 403):
            raise AuthenticationError(
                f"{message}: check {self.env.var('CLIENT_ID')}, {self.env.var('CLIENT_SECRET')} and "
                f"{self.env.var('APP_KEY')}",
                **kw,
            )
        if status == 404:
            raise NotFoundError(message, **kw)
        if status == 409:
            raise ConflictError(message, **kw)
        if status >= 500:
            error = ServerError(message, **kw)
            if method in WRITE_METHODS:
                raise AmbiguousWriteError(
                    f"{method} {rel}: answered {status} {title}; the write may have been applied", cause=error, **kw
                )
            if status in RETRYABLE_STATUS:
                raise _Retry(f"{status} {title}", error)
            raise error
        raise ServiceTitanError(message, **kw)

    def _problem(self, resp: httpx.Response) -> tuple[str, dict[str, list[str]], str]:
        """(title, field errors, short text) from an RFC 7807 body, or from the status line otherwise."""
        fallback = resp.reason_phrase or "error"
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, Mapping):
            title = str(body.get("title") or body.get("error") or body.get("message") or fallback)
            return self._clean(snippet(title)), _field_errors(body.get("errors")), ""
        return fallback, {}, self._clean(snippet(resp.text)) if resp.text else ""

    # -- retry plumbing ----------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retry) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.05), self.max_wait)
        return min(self._backoff(state), self.max_wait)

    def _before_sleep(self, state: RetryCallState) -> None:
        self.stats._add("retries")
        exc = state.outcome.exception() if state.outcome else None
        final = exc.final if isinstance(exc, _Retry) else None
        log.warning(
            "%s %s: attempt %d/%d failed (%s); retrying in %.2f s",
            final.method if final else "?",
            final.path if final else "?",
            state.attempt_number,
            self.max_retries + 1,
            exc.reason if isinstance(exc, _Retry) else exc,
            state.next_action.sleep if state.next_action else 0.0,
        )

    def _clean(self, text: str) -> str:
        return self.tokens.clean(text)
