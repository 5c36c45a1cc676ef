"""OAuth client-credentials tokens, one issuer for both environments; a token works only where it was issued."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from typing import Mapping

from .constants import APP_KEY, CLIENTS
from .problems import ApiError

MISSING_APP_KEY = "Application key not present, check ST-App-Key header value."


class TokenIssuer:
    def __init__(self, lifetime: float = 900, clients: Mapping[str, tuple[str, str]] | None = None) -> None:
        self._lock = threading.Lock()
        self.clients = {**CLIENTS, **(clients or {})}  # env -> (client id, client secret)
        self._tokens: dict[str, tuple[str, float]] = {}
        self.lifetime = lifetime

    def set_lifetime(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("token lifetime must be positive")
        self.lifetime = seconds

    def issue(self, env: str, client_id: str | None, client_secret: str | None) -> dict | None:
        """The token answer, or None for bad credentials (the caller answers 400 invalid_client)."""
        expected = self.clients[env]
        if not (
            client_id
            and client_secret
            and secrets.compare_digest(f"{client_id}\n{client_secret}", f"{expected[0]}\n{expected[1]}")
        ):
            return None
        lifetime = self.lifetime
        now = time.monotonic()
        token = _fake_jwt(env, lifetime)
        with self._lock:
            self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}  # forget expired ones
            self._tokens[token] = (env, now + lifetime)
        return {"access_token": token, "expires_in": max(1, int(lifetime)), "token_type": "Bearer"}

    def check(self, env: str, headers) -> None:
        """Raise ApiError(401) unless the request carries the app key and a live token of this env."""
        app_key = headers.get("st-app-key")
        if not app_key:
            raise ApiError(401, MISSING_APP_KEY)
        if not secrets.compare_digest(app_key.encode(), APP_KEY.encode()):
            raise ApiError(401, "Application key is invalid, check ST-App-Key header value.")
        authorization = (headers.get("authorization") or "").strip()
        if authorization[:7].lower() == "bearer ":
            authorization = authorization[7:].strip()  # the bare token is accepted too
        if not authorization:
            raise _unauthorized("Authorization header is missing.")
        with self._lock:
            entry = self._tokens.get(authorization)
        if entry is None or entry[0] != env:
            raise _unauthorized("The access token is invalid.")
        if entry[1] <= time.monotonic():
            raise _unauthorized("The access token has expired.")


def _unauthorized(title: str) -> ApiError:
    return ApiError(401, title, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def _fake_jwt(env: str, lifetime: float) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {"iss": f"stsync-simulator/{env}", "exp_in": lifetime, "jti": secrets.token_hex(12)}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.{secrets.token_urlsafe(24)}"
