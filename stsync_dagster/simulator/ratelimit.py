"""Sliding one-second window per (app key, tenant), like the API's 60 calls/second per app per tenant."""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import deque


class RateLimiter:
    def __init__(self, per_second: int | None = 60) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple, deque[float]] = {}
        self.per_second = per_second

    def set_limit(self, per_second: int | None) -> None:
        """Requests per second per key; None or 0 switches the limit off."""
        if per_second is not None and per_second < 0:
            raise ValueError("rate limit must not be negative (None or 0: no limit)")
        self.per_second = per_second or None

    def acquire(self, key: tuple, arrived: float | None = None) -> int | None:
        """None if the request may proceed (and is counted), else the seconds to wait (an integer ≥ 1).
        Refused requests are not counted in the window. A request counts from when it arrived (time.monotonic()):
        the gateway counts it before any processing time."""
        limit = self.per_second
        if not limit:
            return None
        now = time.monotonic()
        at = now if arrived is None else min(arrived, now)
        with self._lock:
            window = self._windows.setdefault(key, deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if sum(1 for t in window if t > at - 1.0) >= limit:
                return max(1, math.ceil(window[0] + 1.0 - now))
            bisect.insort(window, at)
            return None
