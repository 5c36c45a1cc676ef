"""HTTP transport for one environment: auth headers, pacing, bounded retries, typed errors.

Retry policy (the reason this module exists):
- GET: retried on 429, 500/502/503/504, timeouts, connection errors and dropped connections.
- POST/PATCH/PUT: retried only when the request provably never reached the server (connection refused,
  connect or pool timeout, no token) or the server refused it unprocessed (429, or 401 with one token
  renewal). Anything else after sending (read timeout, dropped connection, 5xx) is an AmbiguousWriteError:
  the record may exist, and only the caller can find out.

What an answer means (the typed error, or the retry it allows) is read by answers.py; the counts are kept by
request_stats.py.
"""

from __future__ import annotations

import functools
import logging
import math
import ssl
from typing import Any, Mapping

import httpx
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity import wait_exponential, wait_random

from . import hosts
from .answers import WRITE_METHODS, SafeToRetry, failure, unreadable
from .answers import retry_after_seconds as retry_after_seconds  # offered here as before the split
from .auth import TokenProvider
from .errors import AmbiguousWriteError, ServiceTitanError, SettingsError, TransportError
from .pacer import Pacer, shared_pacer
from .request_stats import RequestStats
from .settings import ENVIRONMENT_LABELS, EnvironmentSettings

log = logging.getLogger("stsync.servicetitan.transport")

NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
READ_RETRYABLE = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
DEFAULT_MAX_WAIT = 30.0  # cap on any single wait between attempts
DEFAULT_BACKOFF = 0.5  # first wait without a server hint; doubles per attempt, plus up to as much jitter


class RefusedURL(SettingsError):
    """A request whose URL, as it would be sent, leaves its environment's API base: nothing was sent."""


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
            retry=retry_if_exception_type(SafeToRetry),
            wait=self._wait,
            before_sleep=self._before_sleep,
            reraise=False,
        )
        try:
            return retrying(self._attempt, method, rel, url, json)
        except RetryError as err:
            last = err.last_attempt.exception()
            assert isinstance(last, SafeToRetry)
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
            raise SafeToRetry(f"token request failed ({exc})", final) from exc

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
                raise SafeToRetry(
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
                raise SafeToRetry(
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
                raise unreadable(method, rel, status) from None
        error = failure(method, rel, resp, self.env, self._clean)
        if status == 429:
            self.stats._add("rate_limited")
            wait = error.retry_after
            self.pacer.defer(min(wait if wait is not None else 1.0, self.max_wait))
        else:
            self.stats._add("errors")
        raise error

    # -- retry plumbing ----------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, SafeToRetry) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.05), self.max_wait)
        return min(self._backoff(state), self.max_wait)

    def _before_sleep(self, state: RetryCallState) -> None:
        self.stats._add("retries")
        exc = state.outcome.exception() if state.outcome else None
        final = exc.final if isinstance(exc, SafeToRetry) else None
        log.warning(
            "%s %s: attempt %d/%d failed (%s); retrying in %.2f s",
            final.method if final else "?",
            final.path if final else "?",
            state.attempt_number,
            self.max_retries + 1,
            exc.reason if isinstance(exc, SafeToRetry) else exc,
            state.next_action.sleep if state.next_action else 0.0,
        )

    def _clean(self, text: str) -> str:
        return self.tokens.clean(text)
