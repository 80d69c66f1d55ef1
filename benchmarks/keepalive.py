"""A small threaded HTTP/1.1 WSGI server that keeps connections open.

Werkzeug's development server, which
:class:`~flask_rocketpunch.sandbox.SandboxServer` runs, answers every request
with ``Connection: close`` (keep-alive is disabled on purpose since Werkzeug
2.1), so through it each call opens a TCP connection whatever the client
does. Production servers keep connections open; this one does too, so that
the benchmarks measure calls over a pooled connection and can count how many
connections a client really opens.

Standard library only: :mod:`http.server` reads the requests, one thread per
connection, and :mod:`wsgiref.handlers` runs the app. Request bodies need a
``Content-Length`` (``requests`` always sends one); a response without one
closes its connection.
"""

from __future__ import annotations

import http.server
import io
import socketserver
import sys
import threading
import typing as t
from types import TracebackType
from urllib.parse import unquote
from wsgiref.handlers import SimpleHandler
from wsgiref.headers import Headers

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: WSGIApplication) -> None:
        self.app = app
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up in DNS; not needed here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _WSGIHandler(SimpleHandler):
    """Runs the app for one request; writes an HTTP/1.1 status line."""

    http_version = "1.1"
    server_software = "bench-keepalive"
    #: Set by wsgiref once the app has started its response.
    headers: Headers | None

    def __init__(
        self, request: _RequestHandler, environ: WSGIEnvironment, body: bytes
    ) -> None:
        super().__init__(
            io.BytesIO(body),
            t.cast(t.IO[bytes], request.wfile),
            sys.stderr,
            environ,
            multithread=True,
        )
        # wsgiref copies the process environment into every request otherwise.
        self.os_environ = {}
        self.request_handler = request

    def cleanup_headers(self) -> None:
        super().cleanup_headers()
        if self.headers is not None and "Content-Length" not in self.headers:
            # Only closing the connection can end a body of unknown length.
            self.headers["Connection"] = "close"
            self.request_handler.close_connection = True


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffer the status line, headers and body into one write (flushed after
    # each request), and send it at once: with Nagle's algorithm on, a reply
    # split over two writes waits for the client's delayed ACK (40 ms).
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _Server

    def _serve(self) -> None:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or (
            length is not None and not length.isdigit()
        ):
            self.send_error(411, "A request body needs a Content-Length.")
            self.close_connection = True
            return
        body = self.rfile.read(int(length)) if length else b""
        handler = _WSGIHandler(self, self._environ(body), body)
        handler.run(self.server.app)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _environ(self, body: bytes) -> WSGIEnvironment:
        path, _, query = self.path.partition("?")
        environ: dict[str, t.Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, "latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": self.server.server_name,
            "SERVER_PORT": str(self.server.server_port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]),
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)) if body else "",
        }
        for key, value in self.headers.items():
            name = key.upper().replace("-", "_")
            if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                continue
            name = f"HTTP_{name}"
            environ[name] = f"{environ[name]},{value}" if name in environ else value
        return environ

    def log_message(self, format: str, *args: t.Any) -> None:
        """Quiet: request lines would carry codes and tokens."""


class KeepAliveServer:
    """Serve a WSGI app over HTTP/1.1 with keep-alive on a free
    ``127.0.0.1`` port, in a daemon thread, as a context manager::

        with KeepAliveServer(app) as server:
            requests.get(f"{server.url}/")

    :param app: the WSGI app.
    """

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash."""
        if self._server is None:
            raise RuntimeError("The server is not running; call start() first.")
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> KeepAliveServer:
        """Bind a free port and serve in a daemon thread."""
        self._server = _Server(("127.0.0.1", 0), self.app)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="bench-keepalive-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> KeepAliveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
