"""Client-side pacing: evenly spaced request slots per tenant, shared by threads and processes.

Every request to one tenant takes the next free slot; slots are 1/rate seconds apart and there is no burst.
The next free slot lives in a small file locked with fcntl.flock, so separate processes (overlapping runs)
share the budget too. If the file cannot be used, the pacer falls back to in-process slots.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: in-process pacing only
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("stsync.servicetitan.pacer")

PACER_DIR_VAR = "STSYNC_PACER_DIR"
# A slot further ahead than this is treated as stale (a clock jump, a corrupt file), not waited for.
_MAX_AHEAD = 600.0


def default_pacer_dir() -> Path:
    configured = os.environ.get(PACER_DIR_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    home_cache = Path.home() / ".cache" / "stsync"
    try:
        home_cache.mkdir(parents=True, exist_ok=True)
        if os.access(home_cache, os.W_OK):
            return home_cache
    except OSError:
        pass
    return Path(tempfile.gettempdir()) / "stsync"


def tenant_key(api_base: str, tenant_id: int, app_key: str) -> str:
    """A stable, secret-free key for one app on one tenant of one API."""
    app_hash = hashlib.sha256(app_key.encode()).hexdigest()[:16]
    raw = f"{api_base.rstrip('/').lower()}|{tenant_id}|{app_hash}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


class Pacer:
    """Hands out request slots `1/rate` seconds apart; `acquire()` sleeps until the caller's slot."""

    def __init__(self, rate: float, *, key: str = "default", directory: str | os.PathLike | None = None,
                 use_file: bool = True, clock=time.time, sleep=time.sleep) -> None:
        if not rate > 0:
            raise ValueError("rate must be > 0")
        self._rate = float(rate)
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0  # in-process fallback
        self.key = key
        self.path: Path | None = None
        if use_file and fcntl is not None:
            directory = Path(directory) if directory is not None else default_pacer_dir()
            try:
                directory.mkdir(parents=True, exist_ok=True)
                self.path = directory / f"pacer-{key}.slot"
                self._with_file(lambda slot: (slot, None))  # probe: fails now rather than mid-run
            except OSError as exc:
                log.warning("pacer file unusable in %s (%s): pacing within this process only",
                            directory, exc.strerror or type(exc).__name__)
                self.path = None

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
        return self.path is not None

    def acquire(self) -> float:
        """Block until this caller's slot; returns the seconds waited."""
        interval = 1.0 / self._rate

        def take(next_free: float) -> tuple[float, float]:
            now = self._clock()
            if next_free > now + _MAX_AHEAD:
                next_free = now
            slot = max(now, next_free)
            return slot + interval, slot

        slot = self._update(take)
        wait = slot - self._clock()
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def defer(self, seconds: float) -> None:
        """Hold every caller back for `seconds` (the server said Retry-After)."""
        def push(next_free: float) -> tuple[float, None]:
            return max(next_free, self._clock() + seconds), None

        self._update(push)

    def _update(self, fn):
        with self._lock:
            if self.path is not None:
                try:
                    return self._with_file(fn)
                except OSError as exc:
                    log.warning("pacer file %s failed (%s): pacing within this process only",
                                self.path, exc.strerror or type(exc).__name__)
                    self.path = None
            self._next, result = fn(self._next)
            return result

    def _with_file(self, fn):
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                raw = os.pread(fd, 64, 0)
                try:
                    next_free = float(raw.decode().strip() or 0.0)
                except ValueError:
                    next_free = 0.0
                new_next, result = fn(next_free)
                os.ftruncate(fd, 0)
                os.pwrite(fd, repr(float(new_next)).encode(), 0)
                return result
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


_registry: dict[str, Pacer] = {}
_registry_lock = threading.Lock()


def shared_pacer(api_base: str, tenant_id: int, app_key: str, rate: float) -> Pacer:
    """The one pacer of this process for a tenant; two clients of the same tenant get the same object.

    When clients ask for different rates, the lowest wins: the limit is the tenant's, not the client's.
    """
    key = tenant_key(api_base, tenant_id, app_key)
    with _registry_lock:
        pacer = _registry.get(key)
        if pacer is None:
            pacer = _registry[key] = Pacer(rate, key=key)
        elif rate < pacer.rate:
            pacer.rate = rate
        return pacer
