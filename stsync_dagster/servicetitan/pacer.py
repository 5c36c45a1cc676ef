"""Client-side pacing: evenly spaced request slots per tenant, shared by threads, processes and machines.

Every request to one tenant takes the next free slot; slots are 1/rate seconds apart and there is no burst
(a burst at the edge of the API's one-second window is what draws 429s). Where the next free slot lives:
- PostgreSQL (`database`, given when the crosswalk is on PostgreSQL): every process on every machine;
- else a file in a folder shared by every user of the machine (`STSYNC_PACER_DIR` overrides it);
- else (neither usable) this process only, with a warning.
The key is the tenant (environment, tenant id, app): not the spelling of the API's URL.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
import weakref
from pathlib import Path

from .pacer_pg import PostgresSlots, is_postgres_url
from .pacer_slots import FileSlots, MemorySlots

log = logging.getLogger("stsync.servicetitan.pacer")

PACER_DIR_VAR = "STSYNC_PACER_DIR"
SHARED_DIR_NAME = "stsync-pacer"


def default_pacer_dir() -> Path:
    """STSYNC_PACER_DIR, else one folder under the system's temporary folder for every user."""
    configured = os.environ.get(PACER_DIR_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path(tempfile.gettempdir()) / SHARED_DIR_NAME


def _shared_dir(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if directory.stat().st_uid == os.getuid() and directory.name == SHARED_DIR_NAME:
        directory.chmod(0o1777)  # like /tmp: every user may add a file, none may remove another's
    return directory


def tenant_key(environment: str, tenant_id: int, app_key: str) -> str:
    """A stable, secret-free key for one app on one tenant of one environment ("prod" or "int")."""
    app_hash = hashlib.sha256(app_key.encode()).hexdigest()[:16]
    raw = f"{environment.strip().lower()}|{int(tenant_id)}|{app_hash}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


class Pacer:
    """Hands out request slots `1/rate` seconds apart; `acquire()` sleeps until the caller's slot."""

    def __init__(
        self,
        rate: float,
        *,
        key: str = "default",
        directory: str | os.PathLike | None = None,
        use_file: bool = True,
        database: str | None = None,
        clock=time.time,
        sleep=time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError("rate must be > 0")
        self._rate = float(rate)
        self._lock = threading.Lock()
        self._sleep = sleep
        self.key = key
        self.path: Path | None = None
        self.backend = "process"
        self._slots = MemorySlots(clock)
        if is_postgres_url(database):
            try:
                self._slots, self.backend = PostgresSlots(database, key), "postgresql"
                return
            except Exception as exc:  # psycopg.Error and friends: fall back to the machine's file
                log.warning("pacer table unusable (%s): pacing shared on this machine only", type(exc).__name__)
        if use_file:
            directory = Path(directory) if directory is not None else default_pacer_dir()
            try:
                path = _shared_dir(directory) / f"pacer-{key}.slot"
                self._slots, self.path, self.backend = FileSlots(path, clock), path, "file"
            except OSError as exc:
                log.warning(
                    "pacer file unusable in %s (%s): pacing within this process only",
                    directory,
                    exc.strerror or type(exc).__name__,
                )

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        if not value > 0:
            raise ValueError("rate must be > 0")
        self._rate = float(value)

    @property
    def shared_across_processes(self) -> bool:
        return self._slots.shared

    def acquire(self) -> float:
        """Block until this caller's slot; returns the seconds waited."""
        wait = self._update(lambda slots: slots.take(1.0 / self._rate))
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def defer(self, seconds: float) -> None:
        """Hold every caller back for `seconds` (the server said Retry-After)."""
        self._update(lambda slots: slots.push(seconds))

    def close(self) -> None:
        with self._lock:
            self._slots.close()

    def _update(self, fn):
        with self._lock:
            try:
                return fn(self._slots)
            except Exception as exc:  # OSError from the file, psycopg.Error from the database
                if isinstance(self._slots, MemorySlots):
                    raise
                log.warning("pacer %s failed (%s): pacing within this process only", self.backend, type(exc).__name__)
                self._slots.close()
                self._slots, self.path, self.backend = MemorySlots(), None, "process"
                return fn(self._slots)


# Pacers of live clients only: a pacer goes with the last transport that holds it, so one client's rate
# never outlives it.
_registry: "weakref.WeakValueDictionary[tuple, Pacer]" = weakref.WeakValueDictionary()
_registry_lock = threading.Lock()


def shared_pacer(environment: str, tenant_id: int, app_key: str, rate: float, *, database: str | None = None) -> Pacer:
    """The one pacer of this process for a tenant; two clients of the same tenant get the same object.

    When clients ask for different rates, the lowest wins: the limit is the tenant's, not the client's.
    """
    key = tenant_key(environment, tenant_id, app_key)
    location = database if is_postgres_url(database) else str(default_pacer_dir())
    with _registry_lock:
        pacer = _registry.get((key, location))
        if pacer is None:
            pacer = Pacer(rate, key=key, database=database)
            _registry[(key, location)] = pacer
        elif rate < pacer.rate:
            pacer.rate = rate
        return pacer
