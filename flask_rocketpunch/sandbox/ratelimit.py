"""The per-client, per-minute rate limit of the sandbox's user API."""

from __future__ import annotations

import threading
from collections.abc import Callable

from .errors import APIError


def rate_limit_exceeded() -> APIError:
    """The 429 ``C0010`` error of an exceeded rate limit."""
    return APIError(429, "C0010", "Rate limit exceeded.")


class RateLimiter:
    """Counts API calls per client in windows of one clock minute.

    :param per_minute: The calls allowed per client and minute.
    :param enforce: Refuse calls beyond the limit; otherwise only count them.
    :param clock: Returns the current time in seconds since the epoch.
    """

    def __init__(
        self, per_minute: int, enforce: bool, clock: Callable[[], float]
    ) -> None:
        self.per_minute = per_minute
        self.enforce = enforce
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def count(self, client_id: str) -> int:
        """Count one call for a client; return the calls remaining.

        :param client_id: The client the call is made for.
        :raise APIError: 429 ``C0010`` when enforcing and over the limit.
        """
        window = int(self._clock() // 60)
        with self._lock:
            seen_window, calls = self._windows.get(client_id, (window, 0))
            if seen_window != window:
                calls = 0
            calls += 1
            self._windows[client_id] = (window, calls)
        remaining = self.per_minute - calls
        if remaining < 0 and self.enforce:
            raise rate_limit_exceeded()
        return max(remaining, 0)

    def retry_after(self) -> int:
        """Seconds until the current window ends."""
        return 60 - int(self._clock()) % 60

    def clear(self) -> None:
        """Forget every count."""
        with self._lock:
            self._windows.clear()
