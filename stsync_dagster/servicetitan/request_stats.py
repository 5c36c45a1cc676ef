"""The counters of one client's requests: sent, retried, rate-limited, failed, answered per HTTP status."""

from __future__ import annotations

import threading
from typing import Any


class RequestStats:
    """Thread-safe counters of one client.

    requests: HTTP requests sent to the API (token requests excluded); retries: re-sends after a failed
    attempt (the token-renewal re-send included); rate_limited: 429 answers; errors: failed attempts other
    than 429 (5xx, 4xx, network failures, unreadable bodies); by_status: answers per HTTP status.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0
        self.rate_limited = 0
        self.errors = 0
        self.token_renewals = 0
        self._by_status: dict[int, int] = {}

    def _add(self, field: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, field, getattr(self, field) + n)

    def _status(self, status: int) -> None:
        with self._lock:
            self._by_status[status] = self._by_status.get(status, 0) + 1

    @property
    def by_status(self) -> dict[int, int]:
        with self._lock:
            return dict(self._by_status)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "rate_limited": self.rate_limited,
                "errors": self.errors,
                "token_renewals": self.token_renewals,
                "by_status": dict(self._by_status),
            }

    def __repr__(self) -> str:
        s = self.snapshot()
        return (
            f"RequestStats(requests={s['requests']}, retries={s['retries']}, "
            f"rate_limited={s['rate_limited']}, errors={s['errors']})"
        )
