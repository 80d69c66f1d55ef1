"""Count the TCP connections a WSGI app served over HTTP sees.

Each accepted connection has its own client port, so the distinct
``(REMOTE_ADDR, REMOTE_PORT)`` pairs of the requests are the connections that
carried them. The benchmark points :attr:`ConnectionCounter.sink` at one
side's set before each of that side's requests, so the two apps' connections
are counted apart.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import typing as t

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


@dataclasses.dataclass
class Seen:
    """What one side sent to the server."""

    #: The requests.
    requests: int = 0
    #: The client ``(address, port)`` pairs, one per TCP connection.
    connections: set[tuple[str, str]] = dataclasses.field(default_factory=set)


class ConnectionCounter:
    """WSGI middleware that counts each request, and its client address and
    port, in :attr:`sink` when set.

    :param app: the WSGI app to serve.
    """

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        #: Where the next requests' connections are counted; ``None`` counts
        #: nothing.
        self.sink: Seen | None = None

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> cabc.Iterable[bytes]:
        sink = self.sink
        if sink is not None:
            sink.requests += 1
            sink.connections.add(
                (str(environ.get("REMOTE_ADDR")), str(environ.get("REMOTE_PORT")))
            )
        return self.app(environ, start_response)
