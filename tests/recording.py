"""A provider on 127.0.0.1 that records every request's headers, for the
tests of what the extension sends where: the App Key, ``Accept-Language``
and credentials, host by host.

It answers like Rocketpunch in a few lines: any code or refresh token at
``/oauth/token`` gets a new token, ``/oauth/userinfo`` a user, ``/oauth/revoke``
an empty 200, and ``/api/v1/...`` a page of items when the App Key is there
(``401 C0001`` when it is not), with ``X-RP-RateLimit-Remaining``. A test can
script any path's answer instead.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import itertools
import json
import secrets
import threading
import typing as t
from urllib.parse import parse_qsl, urlsplit

from flask.testing import FlaskClient
from werkzeug.wrappers import Request, Response

from flask_rocketpunch.sandbox import SandboxServer

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


@dataclasses.dataclass(frozen=True)
class Received:
    """One request the recorder received."""

    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    #: The client's port: one port for several requests means one pooled
    #: connection.
    client_port: int

    def header(self, name: str) -> str | None:
        """A header's value, whatever its case, or ``None``."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclasses.dataclass
class Scripted:
    status: int
    body: object
    headers: dict[str, str]
    delay: float = 0.0


class RecordingProvider:
    """See the module's docstring. ``start()`` it; ``stop()`` it."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.scripts: dict[str, Scripted] = {}
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        # Tokens unique to this provider: refreshes are remembered by refresh
        # token (in the instance folder's SQLite file) across apps.
        self._tag = secrets.token_hex(4)
        self._release = threading.Event()
        self._server = SandboxServer(self._wsgi)

    @property
    def url(self) -> str:
        return self._server.url

    def bearer(self, number: int) -> str:
        """The ``Authorization`` header of the ``number``-th access token
        issued (from 1)."""
        return f"Bearer access-{self._tag}-{number}"

    def script(
        self,
        path: str,
        status: int,
        body: object,
        *,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer ``path`` with ``status``, ``body`` (as JSON) and
        ``headers`` from now on, after ``delay`` seconds."""
        self.scripts[path] = Scripted(status, body, headers or {}, delay)

    def to(self, path: str) -> list[Received]:
        """The requests received at ``path``."""
        with self._lock:
            return [r for r in self.received if r.path == path]

    def last(self, path: str) -> Received:
        """The last request received at ``path``."""
        found = self.to(path)
        assert found, f"nothing was sent to {path}"
        return found[-1]

    def _answer(self, request: Request) -> tuple[int, object, dict[str, str]]:
        path = request.path
        if path == "/oauth/token":
            number = next(self._numbers)
            return (
                200,
                {
                    "access_token": f"access-{self._tag}-{number}",
                    "token_type": "Bearer",
                    "expires_in": 900,
                    "refresh_token": f"rt_refresh-{self._tag}-{number}",
                    "scope": "profile",
                },
                {},
            )
        if path == "/oauth/userinfo":
            return 200, {"sub": "1", "name": "Minji"}, {}
        if path == "/oauth/revoke":
            return 200, {}, {}
        if path.startswith("/api/v1/"):
            if not request.headers.get("X-RP-API-Key"):
                error = {
                    "code": "C0001",
                    "message": "Missing or invalid API Key",
                    "timestamp": "2026-05-20T09:00:00Z",
                    "details": None,
                }
                return 401, error, {}
            page = {
                "items": [{"id": 1, "path": path}],
                "page": 1,
                "pageSize": 20,
                "totalItems": 1,
                "totalPages": 1,
                "language": request.headers.get("Accept-Language"),
            }
            return 200, page, {"X-RP-RateLimit-Remaining": "41"}
        return 404, {"code": "C0008", "message": "Not found"}, {}

    def _wsgi(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> cabc.Iterable[bytes]:
        request = Request(environ)
        raw = request.get_data()
        form = dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
        with self._lock:
            self.received.append(
                Received(
                    request.method,
                    request.path,
                    dict(request.headers.items()),
                    form,
                    int(environ.get("REMOTE_PORT", 0)),
                )
            )
        scripted = self.scripts.get(request.path)
        if scripted is not None:
            if scripted.delay:
                self._release.wait(scripted.delay)
            status, body, headers = scripted.status, scripted.body, scripted.headers
        else:
            status, body, headers = self._answer(request)
        response = Response(
            json.dumps(body), status, headers, content_type="application/json"
        )
        return response(environ, start_response)

    def start(self) -> RecordingProvider:
        self._server.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.stop()


def endpoints(provider: RecordingProvider) -> dict[str, str]:
    """The config keys (without the prefix) that point every endpoint of an
    app at ``provider``, as Rocketpunch's one API host serves them."""
    return {
        "AUTHORIZE_URL": f"{provider.url}/oauth/authorize",
        "TOKEN_URL": f"{provider.url}/oauth/token",
        "REVOKE_URL": f"{provider.url}/oauth/revoke",
        "USERINFO_URL": f"{provider.url}/oauth/userinfo",
        "API_BASE_URL": f"{provider.url}/api/v1/",
    }


def log_in(client: FlaskClient, headers: cabc.Mapping[str, str] | None = None) -> None:
    """Log in through an app whose provider is a :class:`RecordingProvider`:
    start the login, then come back to the callback with a code, as the
    consent page would (the recorder takes any code)."""
    start = client.get("/auth/rocketpunch/login", headers=headers)
    assert start.status_code == 302, start.get_data(as_text=True)
    state = dict(parse_qsl(urlsplit(start.headers["Location"]).query))["state"]
    back = client.get(
        "/auth/rocketpunch/callback",
        query_string={"code": "any-code", "state": state},
        headers=headers,
    )
    assert back.status_code == 302, back.get_data(as_text=True)
