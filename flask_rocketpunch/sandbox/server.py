"""A real HTTP server for the sandbox (or any WSGI app), run in a thread."""

from __future__ import annotations

import threading
import typing as t
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .provider import SandboxProvider
from .views import create_sandbox_app

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


class _QuietRequestHandler(WSGIRequestHandler):
    """Does not log request lines: they carry codes and tokens in URLs."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class SandboxServer:
    """Serve the sandbox, or any WSGI app, over real HTTP on a free port.

    A threaded Werkzeug server runs in a daemon thread; use it as a context
    manager or call :meth:`start` and :meth:`stop`::

        with SandboxServer(provider) as server:
            requests.get(f"{server.url}/oauth/userinfo")

    :param app: A :class:`~flask_rocketpunch.sandbox.SandboxProvider` (served
        with :func:`~flask_rocketpunch.sandbox.create_sandbox_app`) or any
        WSGI app, e.g. a client app under test.
    :param host: The address to listen on.
    :param port: The port; ``0`` picks a free one.
    :param quiet: Do not log request lines.
    :param threaded: Serve each request in its own thread. ``False`` gives a
        single-threaded server, as some production WSGI setups are.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        app: WSGIApplication | SandboxProvider,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        quiet: bool = True,
        threaded: bool = True,
    ) -> None:
        #: The provider, when one was given.
        self.provider: SandboxProvider | None = None
        if isinstance(app, SandboxProvider):
            self.provider = app
            app = create_sandbox_app(app)
        #: The WSGI app being served.
        self.app: WSGIApplication = app
        self.host = host
        self._requested_port = port
        self._quiet = quiet
        self._threaded = threaded
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the server listens on. Only valid once started."""
        if self._server is None:
            raise RuntimeError("The server is not running; call start() first.")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        """The base URL, e.g. ``"http://127.0.0.1:54321"``, without a slash."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._server is not None

    def start(self) -> SandboxServer:
        """Bind the port and start serving in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("The server is already running.")
        server = make_server(
            self.host,
            self._requested_port,
            self.app,
            threaded=self._threaded,
            request_handler=_QuietRequestHandler if self._quiet else None,
        )
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"rocketpunch-sandbox-server-{server.server_port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port. Safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
