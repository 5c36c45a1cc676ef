"""Redaction of secrets in every form they can take in an answer, a message or an exception.

A server may echo a secret back in its own encoding: form-encoded (`client_secret=a%2Bb%3D`), JSON-escaped,
HTML-escaped, or as the base64 of `client_id:client_secret` of a Basic Authorization header. `redact` is
the one function every output goes through (messages, logs, metadata, the text of exceptions).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
import traceback
from contextlib import contextmanager
from typing import Any, Iterable, Iterator
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit

MASK = "***"
MIN_LENGTH = 4  # shorter values would mask ordinary text; no real secret is this short
# Query parameters of a URL that carry a credential: libpq's `password` and `sslpassword` (its `sslkey` names
# the private key), and the names other drivers and services use. Matched case-insensitively, "-" read as "_";
# any name holding "password", "passwd", "secret" or "token" is one too.
CREDENTIAL_PARAMS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "sslpassword",
        "sslkey",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "auth",
        "auth_token",
        "authorization",
        "api_key",
        "apikey",
        "key",
        "app_key",
        "private_key",
        "credential",
        "credentials",
        "signature",
        "sig",
        "x_amz_signature",
        "x_amz_credential",
    }
)
_CREDENTIAL_WORDS = ("password", "passwd", "secret", "token")
_QUERY_PARAM = re.compile(r"(?P<name>[^&;=]*)=(?P<value>[^&;]*)")


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), text)


def _b64(text: str) -> set[str]:
    raw = text.encode()
    std, url = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
    return {std, url, std.rstrip("="), url.rstrip("=")}


_ENCODERS = (
    lambda s: quote(s, safe=""),
    lambda s: quote_plus(s, safe=""),
    lambda s: _lower_hex(quote(s, safe="")),
    lambda s: json.dumps(s)[1:-1],
    lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    lambda s: html.escape(s),
    lambda s: repr(s)[1:-1],
)


def _credential_param(name: str) -> bool:
    name = unquote_plus(name).strip().lower().replace("-", "_")
    return name in CREDENTIAL_PARAMS or any(word in name for word in _CREDENTIAL_WORDS)


def _userinfo(netloc: str) -> tuple[str, str | None, str]:
    """(user, password or None, host) of a URL's network location."""
    if "@" not in netloc:
        return "", None, netloc
    userinfo, _, host = netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    return user, password if colon else None, host


def url_secrets(url: str) -> list[str]:
    """The credentials a URL carries (a database URL, a proxy's), as written and percent-decoded: the password of
    its userinfo and the values of its credential query parameters (CREDENTIAL_PARAMS). Give them to a Redactor,
    which masks every encoding of each."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return []
    found: list[str] = []
    password = _userinfo(parts.netloc)[1]
    if password:
        found += [password, unquote(password)]
    for param in _QUERY_PARAM.finditer(parts.query):
        if _credential_param(param["name"]):
            found += [param["value"], unquote(param["value"]), unquote_plus(param["value"])]
    return [secret for secret in dict.fromkeys(found) if secret]


def masked_url(url: str) -> str:
    """`url` as it may be shown: the password of its userinfo and its credential query parameters' values
    replaced by the mask, everything else as it was."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "an unreadable URL"
    user, password, host = _userinfo(parts.netloc)
    shown = f"{parts.scheme}:" if parts.scheme else ""
    if url[len(shown) :].startswith("//"):  # (urlunsplit would drop an empty authority: sqlite:///x)
        shown += "//" + (parts.netloc if password is None else f"{user}:{MASK}@{host}")
    shown += parts.path
    if parts.query:
        shown += "?" + _QUERY_PARAM.sub(
            lambda m: f"{m['name']}={MASK}" if _credential_param(m["name"]) else m[0], parts.query
        )
    return shown + (f"#{parts.fragment}" if parts.fragment else "")


@functools.lru_cache(maxsize=256)
def forms(secret: str) -> frozenset[str]:
    """Every spelling of `secret`: itself, each encoding, each encoding of an encoding (a JSON body quoting
    a form body), and its base64."""
    if len(secret) < MIN_LENGTH:
        return frozenset()
    once = {secret} | {encode(secret) for encode in _ENCODERS}
    twice = {encode(form) for form in once for encode in _ENCODERS}
    return frozenset(once | twice | _b64(secret))


@functools.lru_cache(maxsize=64)
def credential_forms(client_id: str, client_secret: str) -> frozenset[str]:
    """A Basic Authorization header of the pair, plain or with both parts form-encoded (RFC 6749 2.3.1)."""
    if len(client_secret) < MIN_LENGTH:
        return frozenset()
    pairs = (f"{client_id}:{client_secret}", f"{quote_plus(client_id)}:{quote_plus(client_secret)}")
    return frozenset(b for pair in pairs for b in _b64(pair))


class Redactor:
    """Masks a fixed set of secrets; `credentials` are (client id, client secret) pairs."""

    def __init__(self, secrets: Iterable[str] = (), credentials: Iterable[tuple[str, str]] = ()) -> None:
        found: set[str] = set()
        for secret in secrets:
            found |= forms(secret or "")
        for client_id, client_secret in credentials:
            found |= credential_forms(client_id or "", client_secret or "")
        self._forms = sorted(found, key=len, reverse=True)  # longest first: no half-masked secret

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def data(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string masked (keys too)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self.data(k): self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        return value

    def __add__(self, other: "Redactor") -> "Redactor":
        joined = Redactor()
        joined._forms = sorted(set(self._forms) | set(other._forms), key=len, reverse=True)
        return joined


def redact(text: str, secrets: Iterable[str] = (), credentials: Iterable[tuple[str, str]] = ()) -> str:
    return Redactor(secrets, credentials)(text)


class RedactedError(Exception):
    """An exception whose text carried a secret, raised again with the secret masked."""


@contextmanager
def redacting(redactor: Redactor) -> Iterator[None]:
    """Raise any exception of the block again with its text masked when any of it (causes included)
    held a secret. The traceback's frames are kept; the original exception and its chain are not shown."""
    try:
        yield
    except Exception as exc:
        full = "".join(traceback.format_exception(exc))
        if redactor(full) == full:
            raise
        # `from None`: Dagster and tracebacks then leave out the original (its context is suppressed)
        raise RedactedError(redactor(f"{type(exc).__name__}: {exc}")).with_traceback(exc.__traceback__) from None


class RedactingStream:
    """A text stream (stdout, stderr) that masks what is written to it: the last guard of the output."""

    def __init__(self, stream, redactor: Redactor) -> None:
        self._stream = stream
        self._redactor = redactor

    def write(self, text: str) -> int:
        return self._stream.write(self._redactor(text))

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
