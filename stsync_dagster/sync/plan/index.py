"""Integration's records of each kind by mark and natural key (adoption.IntegrationIndex), read once per run
when first needed, in the background while a page reads what else it needs."""

from __future__ import annotations

import threading
from concurrent.futures import Future

from stsync_dagster.sync.adoption import IntegrationIndex
from stsync_dagster.sync.entities import EntityHandler
from stsync_dagster.sync.run import Run


class IndexCache:
    def __init__(self, run: Run):
        self.run = run
        self._indexes: dict[str, IntegrationIndex] = {}
        self._reads: dict[str, Future] = {}  # indexes being read
        self._lock = threading.RLock()  # pulled-in kinds are planned side by side

    def known(self, kind: str) -> IntegrationIndex | None:
        """The kind's index if it was read (records created since are added to it)."""
        return self._indexes.get(kind)

    def get(self, handler: EntityHandler) -> IntegrationIndex:
        """The kind's Integration records by mark and natural key: read once per run, when first needed."""
        here = None
        with self._lock:
            index = self._indexes.get(handler.kind)
            if index is not None:
                return index
            self.read_soon(handler)
            if handler.kind not in self._reads:  # no thread free: read on this one, the others wait for it
                here = self._reads[handler.kind] = Future()
            reading = self._reads[handler.kind]
        if here is not None:
            try:
                here.set_result(self._read(handler))
            except BaseException as exc:
                here.set_exception(exc)
        try:
            index = reading.result()
        except BaseException:  # read again when next needed
            self._drop_read(handler.kind, reading)
            raise
        with self._lock:
            self._drop_read(handler.kind, reading)
            return self._indexes.setdefault(handler.kind, index)

    def read_soon(self, handler: EntityHandler) -> None:
        """Start reading the kind's index beside the caller (if a thread is free): a page that needs it reads other
        things first."""
        with self._lock:
            if handler.kind not in self._indexes and handler.kind not in self._reads:
                started = self.run.background.try_start(lambda: self._read(handler))
                if started is not None:
                    self._reads[handler.kind] = started

    def _read(self, handler: EntityHandler) -> IntegrationIndex:
        return IntegrationIndex.read(handler, self.run.intc)

    def _drop_read(self, kind: str, reading: Future) -> None:
        with self._lock:
            if self._reads.get(kind) is reading:
                del self._reads[kind]
