"""A total deadline for each call to the provider.

requests and urllib3 apply a timeout to each socket operation, so a server
that sends one byte at a time can hold a call far longer than the timeout.
Inside :func:`deadline`, the connections of :class:`DeadlineAdapter` bound
every operation by the time left instead: connecting, sending, and each read
of the status line, the headers and the body get at most what remains, and
a read once the deadline has passed fails at once as a timeout. urllib3 then
closes that connection rather than putting it back in the pool.

Nothing runs in the background: the deadline is a context variable read on
each socket operation, so the pooled keep-alive connections are reused as
before and a call without a deadline behaves exactly as it did.
"""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import contextvars
import http.client
import io
import socket
import time
import typing as t

from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError
from urllib3.poolmanager import ProxyManager

#: When the current call must be over, on :func:`time.monotonic`'s clock.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "flask_rocketpunch_deadline", default=None
)


@contextlib.contextmanager
def deadline(seconds: float | None) -> cabc.Iterator[None]:
    """Bound every socket operation of the calls made inside to ``seconds``
    in total. A deadline already in force is kept when it is sooner;
    ``None`` adds none.
    """
    if seconds is None:
        yield
        return
    at = time.monotonic() + seconds
    outer = _deadline.get()
    if outer is not None:
        at = min(at, outer)
    token = _deadline.set(at)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (``<= 0`` once passed), or
    ``None`` outside :func:`deadline`."""
    at = _deadline.get()
    return None if at is None else at - time.monotonic()


def expired() -> bool:
    """Whether the current deadline has passed."""
    left = remaining()
    return left is not None and left <= 0


def total_seconds(timeout: object) -> float | None:
    """The total deadline that a requests ``timeout`` stands for: a number
    itself, a ``(connect, read)`` pair their sum, anything else (``None``,
    a pair with ``None``) no deadline."""
    if _number(timeout):
        return float(t.cast(float, timeout))
    if isinstance(timeout, tuple) and len(timeout) == 2 and all(map(_number, timeout)):
        return float(timeout[0]) + float(timeout[1])
    return None


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bounded(timeout: t.Any) -> t.Any:
    """``timeout`` (a number, ``None`` or urllib3's default marker) cut to
    the time left, unchanged outside :func:`deadline`; raises
    :exc:`TimeoutError` once the deadline has passed."""
    left = remaining()
    if left is None:
        return timeout
    if left <= 0:
        raise TimeoutError("The call's total deadline has passed.")
    if _number(timeout):
        return min(float(timeout), left)
    return left


class _DeadlineReader(io.RawIOBase):
    """The socket reader of one response, each read bounded by the time left."""

    def __init__(self, raw: io.RawIOBase, sock: socket.socket) -> None:
        super().__init__()
        self._raw = raw
        self._sock = sock
        #: The read timeout urllib3 set for this response.
        self._base = sock.gettimeout()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int | None:
        left = remaining()
        if left is not None:
            if left <= 0:
                raise TimeoutError("The call's total deadline has passed.")
            self._sock.settimeout(left if self._base is None else min(self._base, left))
        elif self._sock.gettimeout() != self._base:
            self._sock.settimeout(self._base)
        return self._raw.readinto(buffer)

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        if not self.closed:
            try:
                self._raw.close()
            finally:
                super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """http.client's response, reading through :class:`_DeadlineReader`."""

    def __init__(
        self,
        sock: socket.socket,
        debuglevel: int = 0,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(sock, debuglevel, method, url)
        raw = self.fp.detach()
        self.fp = io.BufferedReader(_DeadlineReader(raw, sock))


class _DeadlineHTTPConnection(HTTPConnection):
    response_class = _DeadlineResponse

    def connect(self) -> None:
        try:
            self.timeout = _bounded(self.timeout)
        except TimeoutError:
            raise ConnectTimeoutError(
                self, "The call's total deadline passed before connecting."
            ) from None
        super().connect()

    def request(self, *args: t.Any, **kwargs: t.Any) -> None:
        self.timeout = _bounded(self.timeout)
        super().request(*args, **kwargs)


class _DeadlineHTTPSConnection(_DeadlineHTTPConnection, HTTPSConnection):
    """The same bounds over TLS: ``connect`` and ``request`` above run
    before :class:`HTTPSConnection`'s own (method resolution order)."""


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


_POOLS = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose pooled connections honour :func:`deadline`.

    Mounted on the app's session for ``http://`` and ``https://``.
    """

    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: t.Any) -> t.Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) in (ProxyManager, PoolManager):
            manager.pool_classes_by_scheme = _POOLS
        return manager
