"""What Integration holds that adoption compares with (adoption.IntegrationIndex).

A kind the crosswalk knows nothing of (a first sync, a lost crosswalk) is read whole, once per run, in the
background while a page reads what else it needs: most of its records are about to be looked for. Otherwise a
run reads only what could match the records it is about to create (by their marks and natural keys:
EntityHandler.candidate_reads), keeping only those: a daily run with a few new records reads a few records of a
tenant that holds hundreds of thousands. A run that has spent FULL_READ_AFTER requests so on a kind reads it
whole after all; so does one that would narrow a kind it cannot narrow (POs: no mark filter) a second time.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import Future

from pydantic import BaseModel

from stsync_dagster.sync.adoption import IntegrationIndex
from stsync_dagster.sync.entities import EntityHandler
from stsync_dagster.sync.run import Run

FULL_READ_AFTER = 40  # narrowed requests for one kind in one run, before reading the kind whole is cheaper


class IndexCache:
    def __init__(self, run: Run):
        self.run = run
        self._indexes: dict[str, IntegrationIndex] = {}
        self._reads: dict[str, Future] = {}  # indexes being read
        self._lock = threading.RLock()  # pulled-in kinds are planned side by side
        self._known: set[str] = set()  # kinds the crosswalk has mappings of
        self._spent: Counter = Counter()  # narrowed requests per kind
        self._unnarrowed: set[str] = set()  # kinds read whole-but-filtered once this run

    def knows(self, kind: str) -> bool:
        """Whether the crosswalk maps any record of the kind (checked until it does)."""
        if kind not in self._known and self.run.crosswalk.has_mappings(kind):
            self._known.add(kind)
        return kind in self._known

    def for_records(
        self, handler: EntityHandler, records: list[BaseModel], keys: dict[int, str | None], lane: int
    ) -> IntegrationIndex:
        """An index holding every Integration record that could be one of these (by mark or natural key)."""
        kind = handler.kind
        if kind in self._indexes or not self.knows(kind):
            return self.get(handler)
        reads = handler.candidate_reads(records, [r for r in records if keys.get(r.id)])
        with self._lock:
            if reads is None and kind not in self._unnarrowed:
                self._unnarrowed.add(kind)
                reads = [handler.index_params()]  # every page read, only the candidates kept
            if reads is None or self._spent[kind] + len(reads) > FULL_READ_AFTER:
                reads = None
            else:
                self._spent[kind] += len(reads)
        if reads is None:
            return self.get(handler)
        marks, wanted = {r.id for r in records}, {k for k in keys.values() if k}
        index = IntegrationIndex(kind)
        read = lambda params: IntegrationIndex.entries(handler, self.run.intc, params, marks, wanted)  # noqa: E731
        for entries in self.run.pool.map(read, reads, lane=lane):
            for entry in entries:
                index.add(*entry)
        return index

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
        """Start reading the kind's whole index beside the caller (if a thread is free and the crosswalk knows
        nothing of the kind): a page that needs it reads other things first."""
        with self._lock:
            if handler.kind not in self._indexes and handler.kind not in self._reads and not self.knows(handler.kind):
                started = self.run.background.try_start(lambda: self._read(handler))
                if started is not None:
                    self._reads[handler.kind] = started

    def _read(self, handler: EntityHandler) -> IntegrationIndex:
        return IntegrationIndex.read(handler, self.run.intc)

    def _drop_read(self, kind: str, reading: Future) -> None:
        with self._lock:
            if self._reads.get(kind) is reading:
                del self._reads[kind]
