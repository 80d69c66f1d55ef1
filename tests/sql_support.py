"""What the SQLAlchemyStorage tests run in other processes and threads: an
app whose ``/token`` page shows the token it used, the worker processes, and
a TCP relay that stands between the app and PostgreSQL so that a test can
take the database away and bring it back."""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import os
import socket
import threading
import typing as t

from flask import Flask

from flask_rocketpunch import (
    RocketpunchOAuth,
    TokenStorage,
    current_token,
    login_required_rocketpunch,
)
from flask_rocketpunch.extension import LOGIN_ID_KEY
from flask_rocketpunch.storage.sqlalchemy import SQLAlchemyStorage

if t.TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Barrier, Event

#: Seconds a worker waits for the others before giving up.
WAIT = 60.0


def token_app(
    config: cabc.Mapping[str, t.Any],
    storage: TokenStorage | None,
    name: str = "sql_app",
) -> Flask:
    """An app on ``storage`` (by default the one ``ROCKETPUNCH_STORAGE_URL``
    names) whose ``/token`` page needs a login and answers with the access
    token it used (refreshed first when due)."""
    app = Flask(name)
    app.config.update(config)
    RocketpunchOAuth(app, storage=storage)
    return add_token_view(app)


def add_token_view(app: Flask) -> Flask:
    """Add the ``/token`` page of :func:`token_app` to ``app``."""

    @app.get("/token")
    @login_required_rocketpunch
    def token() -> dict[str, str]:
        used = current_token()
        assert used is not None
        return {"access_token": used.access_token}

    return app


def as_login(app: Flask, login_id: str) -> t.Any:
    """A test client of ``app`` whose session carries ``login_id``."""
    client = app.test_client()
    with client.session_transaction() as session:
        session[LOGIN_ID_KEY] = login_id
    return client


def get_token(client: t.Any) -> tuple[int, t.Any]:
    """Ask ``/token`` for JSON; the status and the body."""
    response = client.get("/token", headers={"Accept": "application/json"})
    return response.status_code, response.get_json()


def refresh_in_process(
    url: str,
    config: dict[str, t.Any],
    login_id: str,
    start: Barrier,
    results: Queue[tuple[int, t.Any]],
) -> None:
    """A worker process: its own app and engine on ``url``; once every
    worker is ready, ask for the login's token (due for a refresh)."""
    storage = SQLAlchemyStorage.from_url(url)
    client = as_login(token_app(config, storage, "worker"), login_id)
    start.wait(WAIT)
    results.put(get_token(client))
    storage.engine.dispose()


def die_while_refreshing(
    url: str,
    config: dict[str, t.Any],
    login_id: str,
    lease: float,
    holding: Event,
    die: Event,
) -> None:
    """A worker process that wins the refresh of the login's token and dies
    (``os._exit``) before calling the provider, while it holds the row's lock
    (PostgreSQL) or its lease (SQLite)."""
    storage = SQLAlchemyStorage.from_url(url, lease=lease)
    app = Flask("dying")
    app.config.update(config)
    storage.init_app(app)
    coordinator = storage.coordinator()
    coordinator.init_app(app)
    stale = storage.get(login_id)
    assert stale is not None

    def do_refresh(token: t.Any) -> t.Any:
        holding.set()
        die.wait(WAIT)
        os._exit(3)

    coordinator.refresh_once(login_id, stale, do_refresh, lambda: None)


class TcpRelay:
    """Relays ``127.0.0.1:<port>`` to ``target``. :meth:`stop` drops every
    connection and refuses new ones, as a database that went down;
    :meth:`start` serves again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> TcpRelay:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._acceptor = threading.Thread(
            target=self._accept, args=(listener,), daemon=True
        )
        self._acceptor.start()
        return self

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if self._acceptor is not None:
            self._acceptor.join()  # it sees the listener is no longer current
        if listener is not None:
            listener.close()
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
