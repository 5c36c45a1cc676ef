"""OAuth client-credentials tokens, one provider per environment: cached, renewed early, thread-safe."""

from __future__ import annotations

import logging
import threading
import time

import httpx

from .errors import AuthenticationError, TransportError, snippet
from .redact import Redactor
from .settings import EnvironmentSettings

log = logging.getLogger("stsync.servicetitan.auth")

RENEW_MARGIN = 60.0  # seconds before expiry; shorter for short-lived tokens, see _margin


def _margin(expires_in: float) -> float:
    return min(RENEW_MARGIN, expires_in / 4)


class TokenProvider:
    """Fetches and caches the access token of one environment.

    `token()` returns a valid token, fetching one when none is cached or the cached one is within the
    renewal margin of its expiry. `invalidate(token)` drops a token the API refused (401), so the next
    `token()` fetches a fresh one; passing the refused token makes concurrent invalidations harmless.
    Failures raise AuthenticationError (credentials refused: final) or TransportError (network, 5xx,
    429 or a malformed answer: worth retrying, since no API request was sent).
    """

    def __init__(self, env: EnvironmentSettings, http: httpx.Client, *, clock=time.monotonic) -> None:
        self._env = env
        self._http = http
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.tokens_fetched = 0

    def __repr__(self) -> str:
        return f"TokenProvider({self._env.label}, client_id_var={self._env.var('CLIENT_ID')})"

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str | None = None) -> None:
        with self._lock:
            if token is None or token == self._token:
                self._token = None

    def clean(self, text: str) -> str:
        """`text` with every form of this environment's secrets and of the current token masked."""
        return (self._env.redactor() + Redactor([self._token or ""]))(text)

    def _fetch(self) -> None:
        env = self._env
        started = self._clock()
        data = {
            "grant_type": "client_credentials",
            "client_id": env.client_id,
            "client_secret": env.client_secret.get_secret_value(),
        }
        where = f"{env.label} token endpoint {env.auth_url}"
        try:
            resp = self._http.post(env.auth_url, data=data, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise TransportError(
                f"{where}: {type(exc).__name__}: {self.clean(str(exc))}", method="POST", path="token", cause=exc
            ) from None
        if resp.status_code in (400, 401, 403):
            error = ""
            try:
                body = resp.json()
                error = str(body.get("error") or body.get("title") or "") if isinstance(body, dict) else ""
            except ValueError:
                pass
            raise AuthenticationError(
                f"{where} refused the credentials ({resp.status_code} {self.clean(error) or resp.reason_phrase}): "
                f"check {env.var('CLIENT_ID')} and {env.var('CLIENT_SECRET')}",
                method="POST",
                path="token",
                status=resp.status_code,
                title=error or None,
            )
        if resp.status_code != 200:
            raise TransportError(
                f"{where} answered {resp.status_code} {resp.reason_phrase}: {self.clean(snippet(resp.text))}",
                method="POST",
                path="token",
                status=resp.status_code,
            )
        try:
            body = resp.json()
            token = str(body["access_token"])
            expires_in = float(body.get("expires_in") or 0)
        except (ValueError, KeyError, TypeError):
            raise TransportError(
                f"{where} answered 200 without a usable access_token", method="POST", path="token", status=200
            ) from None
        if not token:
            raise TransportError(f"{where} answered an empty access_token", method="POST", path="token")
        if expires_in <= 0:
            expires_in = 60.0
        self._token = token
        self._renew_at = started + expires_in - _margin(expires_in)
        self.tokens_fetched += 1
        log.info("fetched a token for %s, valid for %.0f s", env.label, expires_in)
