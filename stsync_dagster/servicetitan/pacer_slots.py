"""Where a pacer keeps its next free slot on one machine: in this process, or in a file locked with flock.

Both stores answer the same two questions: `take(interval)` (seconds until the caller's slot, the next one
reserved) and `push(seconds)` (no slot before now + seconds).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: in-process pacing only
    fcntl = None  # type: ignore[assignment]

# A slot further ahead than this is treated as stale (a clock jump, a corrupt file), not waited for.
MAX_AHEAD = 600.0


def take_slot(next_free: float, now: float, interval: float) -> tuple[float, float]:
    """(the new next free slot, the seconds the caller waits) for one request."""
    if next_free > now + MAX_AHEAD:
        next_free = now
    slot = max(now, next_free)
    return slot + interval, slot - now


def push_slot(next_free: float, now: float, seconds: float) -> float:
    return max(next_free, now + seconds)


class MemorySlots:
    """This process only (the caller holds a lock)."""

    shared = False

    def __init__(self, clock=time.time) -> None:
        self._next = 0.0
        self._clock = clock

    def take(self, interval: float) -> float:
        self._next, wait = take_slot(self._next, self._clock(), interval)
        return wait

    def push(self, seconds: float) -> None:
        self._next = push_slot(self._next, self._clock(), seconds)

    def close(self) -> None:
        pass


class FileSlots:
    """Every process of every user on this machine that opens the same file (raises OSError when unusable)."""

    shared = True

    def __init__(self, path: Path, clock=time.time) -> None:
        if fcntl is None:
            raise OSError("file locks are not available on this platform")
        self.path = path
        self._clock = clock
        self._update(lambda next_free: (next_free, None))  # probe: fails now rather than mid-run

    def take(self, interval: float) -> float:
        return self._update(lambda next_free: take_slot(next_free, self._clock(), interval))

    def push(self, seconds: float) -> None:
        self._update(lambda next_free: (push_slot(next_free, self._clock(), seconds), None))

    def close(self) -> None:
        pass

    def _update(self, fn):
        # O_NOFOLLOW: the folder may be writable by every user, so a planted symlink must not be followed.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
        try:
            if os.fstat(fd).st_uid == os.getuid():
                os.fchmod(fd, 0o666)  # past the umask: other users' processes share the file
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
