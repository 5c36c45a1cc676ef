"""The local PostgreSQL server for tests: one fresh schema per test, skipped (or failed under CI) when absent."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
URL_VAR = "STSYNC_TEST_PG_URL"


def base_url() -> str:
    """The server to test against, as a plain libpq URL (no SQLAlchemy driver suffix)."""
    url = make_url(os.environ.get(URL_VAR) or DEFAULT_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@functools.cache
def unavailable() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can. Asked once per test session."""
    url = base_url()
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        why = " ".join(str(exc).split())
        return f"PostgreSQL not reachable at {shown} (set {URL_VAR} to another server): {why}"
    return None


def require() -> None:
    """Skip the calling test when there is no server, except under CI=true, where that is a failure."""
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true requires PostgreSQL: {reason}")
    pytest.skip(reason)


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A new empty schema, yielded as a URL whose connections use it as search_path; dropped afterwards."""
    require()
    url = base_url()
    schema = f"stsync_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
