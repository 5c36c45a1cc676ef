"""Redaction of a secret in every form an answer or an exception can carry it."""

from __future__ import annotations

import base64
import html
import json
import traceback
from urllib.parse import quote, quote_plus, urlencode

import pytest

from stsync_dagster.servicetitan.redact import RedactedError, Redactor, redact, redacting

SECRET = "SECRET+XYZZY/123="
CLIENT_ID = "cid.prod-7f3a91"


def _basic(pair: str) -> str:
    return base64.b64encode(pair.encode()).decode()


SPELLINGS = {
    "raw": SECRET,
    "form body": urlencode({"client_secret": SECRET}),
    "url, upper hex": quote(SECRET, safe=""),
    "url, lower hex": quote(SECRET, safe="").lower().replace("secret", "SECRET").replace("xyzzy", "XYZZY"),
    "json": json.dumps({"echo": SECRET}),
    "json of a form body": json.dumps({"echo": urlencode({"client_secret": SECRET})}),
    "html": html.escape(f"<p>{SECRET}</p>"),
    "base64": base64.b64encode(SECRET.encode()).decode(),
    "basic header": f"Authorization: Basic {_basic(CLIENT_ID + ':' + SECRET)}",
    "basic header, form-encoded parts": f"Basic {_basic(quote_plus(CLIENT_ID) + ':' + quote_plus(SECRET))}",
    "basic header, url-safe, unpadded": base64.urlsafe_b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode().rstrip("="),
}


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_every_spelling_of_a_secret_is_masked(spelling):
    masked = redact(f"the server said: {spelling}", [SECRET], [(CLIENT_ID, SECRET)])
    assert "***" in masked
    for form in ("XYZZY", quote_plus(SECRET), _basic(f"{CLIENT_ID}:{SECRET}")[:12]):
        assert form not in masked, masked


def test_short_values_and_other_text_are_left_alone():
    assert redact("page 1 of 12, id 123", ["123"]) == "page 1 of 12, id 123"
    assert Redactor([SECRET]).data({"a": [SECRET, 3], SECRET: None}) == {"a": ["***", 3], "***": None}


def _raise_with_a_cause():
    try:
        raise ValueError(f"token endpoint said client_secret={quote_plus(SECRET)}")
    except ValueError as exc:
        raise RuntimeError("sync failed") from exc


def test_an_exception_that_carries_a_secret_is_raised_again_masked():
    with pytest.raises(RedactedError) as info:
        with redacting(Redactor([SECRET])):
            _raise_with_a_cause()
    shown = "".join(traceback.format_exception(info.value))
    assert "XYZZY" not in shown and "sync failed" in shown and "_raise_with_a_cause" in shown
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_an_exception_without_a_secret_is_raised_unchanged():
    with pytest.raises(KeyError):
        with redacting(Redactor([SECRET])):
            raise KeyError("nothing to hide")
