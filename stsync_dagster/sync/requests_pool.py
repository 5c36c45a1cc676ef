"""The worker threads that send a run's requests, with lanes for the work that holds the pipeline up.

The pipeline queues a whole batch of creates at once, and the batches after it wait on work that is small
but in their way: a batch being planned sometimes has to copy a few records first, then and there (the job
another job came from, a PO's material), and the finish stage (status moves, creates sent again) holds up the
batches behind it. Queued behind the creates in flight, that work would stall the pipeline for seconds and the
request budget would go idle once the queue ran dry. So the pool has lanes, taken in order: PLANNING (what a
batch being planned waits for), FINISHING, then CREATES. The per-tenant pacer still spaces every request: the
lanes change the order, never the rate.
"""

from __future__ import annotations

import itertools
import queue
import threading
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

_STOP = 99


class RequestPool:
    """A fixed set of worker threads taking work in lane order, then in the order it was submitted."""

    PLANNING, FINISHING, CREATES = 0, 1, 2

    def __init__(self, workers: int, name: str) -> None:
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()
        self._local = threading.local()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True) for i in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    @contextmanager
    def lane(self, lane: int) -> Iterator[None]:
        """Work this thread submits meanwhile goes in this lane (never a later one than the lane it is in)."""
        before = self._lane()
        self._local.lane = min(lane, before)
        try:
            yield
        finally:
            self._local.lane = before

    def _lane(self) -> int:
        return getattr(self._local, "lane", self.CREATES)

    def submit(self, fn: Callable, *args) -> Future:
        future: Future = Future()
        self._queue.put((self._lane(), next(self._order), future, fn, args))
        return future

    def map(self, fn: Callable, items: Iterable) -> Iterator:
        """Like Executor.map: results in the items' order (all submitted at once)."""
        futures = [self.submit(fn, item) for item in items]
        return (future.result() for future in futures)

    def shutdown(self) -> None:
        """Let the queued work finish, then stop the workers."""
        for _ in self._threads:
            self._queue.put((_STOP, next(self._order), None, None, ()))
        for thread in self._threads:
            thread.join()

    def _work(self) -> None:
        while True:
            lane, _, future, fn, args = self._queue.get()
            if lane == _STOP:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)


def in_background(work: Callable[[], object], name: str) -> Future:
    """`work` started now on a thread of its own; its result (or error) comes through the future."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future
