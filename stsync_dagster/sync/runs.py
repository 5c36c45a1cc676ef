"""Which sync runs are alive: their claims must be left alone; a dead run's claims are recovered.

Every process that syncs registers (run id, host, pid) in the crosswalk database and beats a heartbeat written
with the database's clock. A run is live while one of its processes has beaten within `dead_after` and not
finished; hosts with skewed clocks agree because they compare the database's times. The host is recorded with
its PID namespace: only in the same namespace does a PID say anything, and there a process that is gone is
dead at once (a SIGKILLed run's claims are recovered without waiting). Containers on one host name have their
own namespaces: for them a fresh heartbeat is live, whatever the PID.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from stsync_dagster.sync.crosswalk import Crosswalk


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")  # e.g. pid:[4026531836]
    except OSError:
        return "pid:?"


HOST = f"{socket.gethostname()[:200]}/{_pid_namespace()}"  # the host name and this PID namespace


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_CACHE_SECONDS = 2.0
log = logging.getLogger("stsync.runs")


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
        self.failed_beats = 0

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
        wait = self.heartbeat_every
        while not self._stop.wait(wait):
            try:
                self.crosswalk.mark_process(self.run_id, HOST, self.pid)
            except Exception as exc:  # noqa: BLE001 - a beat that failed is retried soon, never the end of beating
                self.failed_beats += 1
                wait = min(1.0, self.heartbeat_every)
                log.warning("heartbeat of run %s failed (%s); retrying in %.0f s", self.run_id, exc, wait)
            else:
                wait = self.heartbeat_every

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
        beating = self.crosswalk.beating(run_id, self.dead_after)
        live = None if beating is None else any(host != HOST or _pid_alive(pid) for host, pid in beating)
        self._cache[run_id] = (time.monotonic(), live)
        return live
