"""Request counters per environment, for tests and the /_sim control plane."""

from __future__ import annotations

import copy
import threading
from collections import Counter


class Stats:
    COUNTERS = (
        "requests",
        "rate_limited",
        "injected_errors",
        "dropped_posts",
        "late_commits",
        "tokens_issued",
        "token_requests",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._counts = Counter({name: 0 for name in self.COUNTERS})
            self._by_route: Counter = Counter()
            self._listed: Counter = Counter()  # records answered by list calls, per kind: how much was read
            self._whole_lists: Counter = Counter()  # list reads with no filter but paging and `active`, per kind
            self._status: Counter = Counter()
            self._in_flight = 0
            self._max_in_flight = 0

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def request(self, route: str) -> None:
        with self._lock:
            self._counts["requests"] += 1
            self._by_route[route] += 1

    def listed(self, kind: str, n: int, whole: bool) -> None:
        with self._lock:
            self._listed[kind] += n
            self._whole_lists[kind] += whole

    def enter(self) -> None:
        """A request is being served: tracks the most served at once (are clients really concurrent?)."""
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def status(self, code: int) -> None:
        with self._lock:
            self._status[str(code)] += 1

    def snapshot(self) -> dict:
        with self._lock:
            out = {name: self._counts[name] for name in self.COUNTERS}
            out["by_route"] = dict(self._by_route)
            out["listed"] = dict(self._listed)
            out["whole_lists"] = {kind: n for kind, n in self._whole_lists.items() if n}
            out["status"] = dict(self._status)
            out["max_in_flight"] = self._max_in_flight
            return copy.deepcopy(out)
