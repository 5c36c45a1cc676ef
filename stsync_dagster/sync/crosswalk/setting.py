"""`STSYNC_DB` at the edges: parsed, shown without its password, and opened (schema checked) before any request.

Every failure is a ConfigError naming STSYNC_DB and the reason, so the command line stops with exit 2 and
one line. The crosswalk itself decides what its schema is: `check` only opens it and reads through it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from stsync_dagster.errors import ConfigError
from stsync_dagster.servicetitan.redact import Redactor, masked_url, url_secrets
from stsync_dagster.sync.crosswalk import ENV_VAR, Crosswalk, database_url

BACKENDS = ("sqlite", "postgresql")
SQLITE_HEADER = b"SQLite format 3\x00"


def _url(value: str) -> URL:
    try:
        url = make_url(database_url(value))
        url.port  # noqa: B018 - parsed lazily; a bad port raises here
    except (ArgumentError, ValueError) as exc:
        raise ValueError(f"is not a file path or a SQLAlchemy URL ({_first_line(exc)})") from None
    if url.get_backend_name() not in BACKENDS:
        raise ValueError(
            f"uses the unsupported database {url.get_backend_name()!r}: give a file path, "
            "a sqlite:// URL or a postgresql:// URL"
        )
    if url.port is not None and not 0 < url.port < 65536:
        raise ValueError(f"has the port {url.port}, outside 1-65535")
    return url


def parse(value: str) -> str:
    """`value` when it is a usable STSYNC_DB, else ValueError with the reason (never the password)."""
    _url(value)
    return value


def display(value: str) -> str:
    """STSYNC_DB as it may be printed: the password hidden, in the userinfo or the query (a plain path as it was
    given)."""
    if "://" not in value:
        return value
    try:
        return masked_url(make_url(value).render_as_string(hide_password=True))
    except (ArgumentError, ValueError):
        return "an unreadable URL"


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_sqlite_file(path: Path) -> bool:
    """Raise ValueError when `path` cannot be a SQLite crosswalk; True when it already holds data."""
    if path.is_dir():
        raise ValueError("is a directory, not a SQLite file")
    if not path.exists():
        folder = next((p for p in path.parents if p.exists()), None)
        if folder is not None and not folder.is_dir():
            raise ValueError(f"cannot be created: {folder} is not a folder")
        return False
    if not path.is_file():
        raise ValueError("is not a regular file")
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if head and head != SQLITE_HEADER:
        raise ValueError("is not a SQLite database")
    return bool(head)


def check(value: str, *, write: bool) -> str:
    """Open STSYNC_DB as a sync would; returns it as it may be shown.

    With `write` the crosswalk is created when missing (a sync); without it (verify, a dry run) nothing
    is created: a SQLite file that does not exist yet is only checked to be creatable.
    """
    shown = display(value)
    try:
        url = _url(value)
        exists = True
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            exists = _check_sqlite_file(Path(url.database).expanduser())
        if exists or write:
            with Crosswalk(value) as crosswalk:
                crosswalk.counts()  # creates the schema when missing, reads through it
    except ValueError as exc:
        raise ConfigError(f"{ENV_VAR} ({shown}) {exc}", variables=[ENV_VAR]) from None
    except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
        reason = Redactor(url_secrets(value))(_first_line(exc))
        raise ConfigError(
            f"{ENV_VAR} ({shown}) cannot be opened as the crosswalk: {reason}", variables=[ENV_VAR]
        ) from None
    return shown
