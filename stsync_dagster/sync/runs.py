"""Which sync runs are alive: their claims must be left alone; a dead run's claims are recovered at once.

Every process that syncs registers (run id, host, pid) in the crosswalk database and beats a heartbeat.
A claim is live while some process of its run is registered, not finished, beating, and (on this host)
still running. A SIGKILLed process is seen dead immediately on the same host, within `dead_after`
seconds from another one.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

from stsync_dagster.sync.crosswalk import Crosswalk

HOST = socket.gethostname()[:255]
_CACHE_SECONDS = 2.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunRegistry:
    def __init__(self, crosswalk: Crosswalk, run_id: str, *, heartbeat_every: float = 5.0, dead_after: float = 30.0):
        self.crosswalk = crosswalk
        self.run_id = run_id
        self.pid = os.getpid()
        self.heartbeat_every = heartbeat_every
        self.dead_after = timedelta(seconds=dead_after)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cache: dict[str, tuple[float, bool | None]] = {}

    def __enter__(self) -> "RunRegistry":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.finish()

    def start(self) -> None:
        self.crosswalk.register_process(self.run_id, HOST, self.pid)
        self._thread = threading.Thread(target=self._beat, name="stsync-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_every):
            self.crosswalk.mark_process(self.run_id, HOST, self.pid)

    def finish(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.crosswalk.mark_process(self.run_id, HOST, self.pid, finished=True)

    def is_live(self, run_id: str | None) -> bool | None:
        """Whether claims of `run_id` may still be in flight; None when the run never registered here."""
        if not run_id:
            return None
        if run_id == self.run_id:
            return False  # our own leftovers (an earlier attempt of this run): recover them now
        cached = self._cache.get(run_id)
        if cached is not None and time.monotonic() - cached[0] < _CACHE_SECONDS:
            return cached[1]
        rows = self.crosswalk.processes(run_id)
        cutoff = datetime.now(UTC) - self.dead_after
        live = (
            any(finished is None and beat >= cutoff and (host != HOST or _pid_alive(pid)) for host, pid, beat, finished in rows)
            if rows
            else None
        )
        self._cache[run_id] = (time.monotonic(), live)
        return live
