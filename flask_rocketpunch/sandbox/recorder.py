"""The record of every request the sandbox received, for tests to inspect."""

from __future__ import annotations

import collections
import dataclasses
import threading
from collections.abc import Mapping

from .models import RecordedRequest


class RequestRecorder:
    """Keeps :class:`~flask_rocketpunch.sandbox.RecordedRequest` entries in
    arrival order. Safe to share between threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        """The recorded requests to one endpoint, e.g. ``"token"``.

        :param endpoint: The endpoint name.
        """
        return [r for r in self.requests if r.endpoint == endpoint]

    def grant_counts(self) -> collections.Counter[str]:
        """Count the ``grant_type`` values the token endpoint received,
        failed requests included.
        """
        return collections.Counter(
            r.params["grant_type"]
            for r in self.requests_to("token")
            if "grant_type" in r.params
        )

    def record(
        self,
        endpoint: str,
        method: str,
        path: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> int:
        """Record a request, as
        :meth:`~flask_rocketpunch.sandbox.SandboxProvider.record` does."""
        entry = RecordedRequest(endpoint, method, path, dict(params), dict(headers))
        with self._lock:
            self._requests.append(entry)
            return len(self._requests) - 1

    def record_status(self, index: int, status: int) -> None:
        """Attach a status, as
        :meth:`~flask_rocketpunch.sandbox.SandboxProvider.record_status` does."""
        with self._lock:
            if 0 <= index < len(self._requests):
                entry = self._requests[index]
                self._requests[index] = dataclasses.replace(entry, status=status)

    def clear(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._requests.clear()
