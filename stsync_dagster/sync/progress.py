"""Progress of the syncs running in this process, for whoever watches (the command line's progress bars).

The engine tells every watcher when a sync starts, after each batch and when it ends. `stsync sync` runs the
Dagster assets in its own process, so its bars see the engine without anything passing through Dagster.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from stsync_dagster.sync.outcome import SyncReport

Watcher = Callable[[SyncReport, bool], None]  # (the report so far, finished)
_watchers: list[Watcher] = []
_lock = threading.Lock()


@contextmanager
def watching(watcher: Watcher) -> Iterator[None]:
    with _lock:
        _watchers.append(watcher)
    try:
        yield
    finally:
        with _lock:
            _watchers.remove(watcher)


def tell(report: SyncReport, finished: bool = False) -> None:
    with _lock:
        watchers = list(_watchers)
    for watcher in watchers:
        watcher(report, finished)
