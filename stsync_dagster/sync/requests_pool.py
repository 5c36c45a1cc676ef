"""The worker threads that send a run's requests, with lanes for the work that holds the pipeline up.

The pipeline queues a whole batch of creates at once, and the batches after it wait on work that is small
but in their way: a batch being planned sometimes has to copy a few records first, then and there (the job
another job came from, a PO's material), and the finish stage (status moves, creates sent again) holds up the
batches behind it. Queued behind the creates in flight, that work would stall the pipeline for seconds and the
request budget would go idle once the queue ran dry. So the pool has lanes, taken in order: PLANNING (what a
batch being planned waits for), FINISHING, then CREATES; each submit says its lane (the stage that submits it
knows which, whatever thread it runs on). The per-tenant pacer still spaces every request: the lanes change the
order, never the rate.
"""

from __future__ import annotations

import itertools
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator

_STOP = 99


class RequestPool:
    """A fixed set of worker threads taking work in lane order, then in the order it was submitted."""

    PLANNING, FINISHING, CREATES = 0, 1, 2

    def __init__(self, workers: int, name: str) -> None:
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True) for i in range(max(1, workers))
        ]
        self._own = frozenset(self._threads)
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable, *args, lane: int = CREATES) -> Future:
        future: Future = Future()
        self._queue.put((lane, next(self._order), future, fn, args))
        return future

    def map(self, fn: Callable, items: Iterable, lane: int = CREATES) -> Iterator:
        """Like Executor.map: results in the items' order (all submitted at once, in `lane`). Asked by one of the
        pool's own workers (a read made by a request being sent), the items are done by that worker in turn:
        a worker waiting for work queued behind it could wait for ever."""
        if threading.current_thread() in self._own:
            return iter([fn(item) for item in items])
        futures = [self.submit(fn, item, lane=lane) for item in items]
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


class Background:
    """Work started beside the caller (a pull while a page's other reads go on, the answers of a batch's creates
    awaited while the next batch is created) on at most `workers` threads. When all are busy the caller does the
    work itself before going on: never more threads, and never a deadlock of work waiting on work queued behind it."""

    def __init__(self, workers: int, name: str) -> None:
        self._slots = threading.BoundedSemaphore(workers)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)

    def start(self, work: Callable[[], object]) -> Future:
        return self.try_start(work) or done_now(work)

    def try_start(self, work: Callable[[], object]) -> Future | None:
        """`work` started beside the caller, or None when every thread is busy (the caller decides what then)."""
        if self._slots.acquire(blocking=False):
            return self._executor.submit(self._releasing, work)
        return None

    def _releasing(self, work: Callable[[], object]) -> object:
        try:
            return work()
        finally:
            self._slots.release()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


def done_now(work: Callable[[], object]) -> Future:
    """`work` done on this thread; its result (or error) comes through the future, as if started beside."""
    future: Future = Future()
    try:
        future.set_result(work())
    except BaseException as exc:
        future.set_exception(exc)
    return future
