"""Read ahead: the next Production page is fetched while the current one is being written."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future, wait
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterable[T], start: Callable[[Callable[[], None]], Future | None], depth: int = 1) -> Iterator[T]:
    """Iterate `items` beside the caller (`start` runs the reading, or says None: no thread free, and the items are
    read as they are used), at most `depth` items ahead; errors surface in order."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                buffer.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((_DONE, exc))

    producing = start(produce)
    if producing is None:
        yield from items
        return
    try:
        while True:
            item, error = buffer.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        wait([producing], timeout=5)
