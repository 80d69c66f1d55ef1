"""What the tests share beyond the testing kit (``flask_rocketpunch.testing``).

The kit serves the sandbox, logs users in and answers the consent page; this
module holds the rest: the one app the tests build, the routes and constants
they name, a login over real HTTP, a scripted provider for the answers the
sandbox will not give, a clock that stands still, and small readers of URLs,
pages and session cookies. The fixtures built on them are in ``conftest.py``.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import html
import json
import socket
import tempfile
import threading
import time
import typing as t
from urllib.parse import parse_qsl, urlsplit

import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from werkzeug.test import TestResponse
from werkzeug.wrappers import Request, Response

from flask_rocketpunch import (
    MemoryStorage,
    RocketpunchOAuth,
    Token,
    TokenStorage,
    login_required_rocketpunch,
    rocketpunch,
)
from flask_rocketpunch.sandbox import RecordedRequest, SandboxProvider, SandboxServer
from flask_rocketpunch.storage import TOKEN_KEY
from flask_rocketpunch.testing import answer_consent, consent_form

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

SECRET_KEY = "test-secret-key-for-sessions"
#: A client secret with the characters form encoding changes (``:+/=!``),
#: for the tests of how the client authenticates.
AWKWARD_SECRET = "test-secret-Zq9!x:+/="
LOGIN = "/auth/rocketpunch/login"
CALLBACK_PATH = "/auth/rocketpunch/callback"
LOGOUT = "/auth/rocketpunch/logout"
#: The callback as Flask's test client sees it: the redirect URI the kit's
#: ``rocketpunch_config`` registers.
CALLBACK = f"http://localhost{CALLBACK_PATH}"
WANTS_JSON = {"Accept": "application/json"}
#: Seconds any HTTP call a test makes itself may take.
HTTP_TIMEOUT = 20.0

#: What the ``make_app`` fixture returns: build an app with config keys.
AppFactory = cabc.Callable[..., Flask]


# -- the app under test ---------------------------------------------------------


def config_keys(keys: cabc.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """``keys`` as config keys: ``ROCKETPUNCH_`` is added to each name that
    is not one of Flask's own (``SERVER_NAME``, ``SESSION_*``, ``SECRET_*``)."""
    return {
        key
        if key in Flask.default_config or key.startswith(("SESSION_", "SECRET_"))
        else f"ROCKETPUNCH_{key}": value
        for key, value in keys.items()
    }


#: Where the test apps' instance folders go: one new folder per app, so no
#: two tests (nor two runs) share the refresh coordination file kept there.
_INSTANCES = tempfile.TemporaryDirectory(prefix="rocketpunch-tests-")


def new_app(config: cabc.Mapping[str, t.Any]) -> Flask:
    """A Flask app with ``SECRET_KEY`` and ``TESTING``, then ``config``, and
    a public home page at ``/``; the extension is not set up yet. Each app
    has its own empty instance folder."""
    app = Flask("client_app", instance_path=tempfile.mkdtemp(dir=_INSTANCES.name))
    # TESTING: the in-app sandbox refuses apps with debug and testing off.
    app.config.update(SECRET_KEY=SECRET_KEY, TESTING=True)
    app.config.update(config)

    @app.get("/")
    def home() -> str:
        return "home"

    return app


def create_app(
    config: cabc.Mapping[str, t.Any], *, storage: TokenStorage | None = None
) -> Flask:
    """:func:`new_app` with the extension set up (``storage=`` passed to it)."""
    app = new_app(config)
    RocketpunchOAuth(app, storage=storage)
    return app


def sandbox_app(**config: t.Any) -> Flask:
    """An app with the in-app sandbox and no client credentials; keyword
    arguments as for :func:`config_keys`."""
    return create_app({"ROCKETPUNCH_SANDBOX": True, **config_keys(config)})


def extension(app: Flask) -> RocketpunchOAuth:
    """The app's :class:`RocketpunchOAuth`."""
    ext = app.extensions["rocketpunch"]
    assert isinstance(ext, RocketpunchOAuth)
    return ext


def credentials(app: Flask) -> tuple[str, str]:
    """The app's client id and client secret."""
    config = app.config
    return config["ROCKETPUNCH_CLIENT_ID"], config["ROCKETPUNCH_CLIENT_SECRET"]


def protected_app(make_app: AppFactory, **config: t.Any) -> Flask:
    """The test app plus pages that need a Rocketpunch login: ``/private``
    (plain text), ``/me`` (the userinfo claims) and ``/posts`` (the API's
    first page of posts); errors reach the extension's error pages."""
    app = make_app(**config)

    @app.get("/private")
    @login_required_rocketpunch
    def private() -> str:
        return "private page"

    @app.get("/me")
    @login_required_rocketpunch
    def me() -> dict[str, t.Any]:
        return rocketpunch.userinfo()

    @app.get("/posts")
    @login_required_rocketpunch
    def posts() -> t.Any:
        return rocketpunch.get("posts").json()

    return app


# -- the login, step by step ------------------------------------------------------


def authorize_url(client: FlaskClient, next_url: str | None = None) -> str:
    """Start a login; return where the login route sends the browser."""
    start = client.get(
        LOGIN, query_string={} if next_url is None else {"next": next_url}
    )
    assert start.status_code == 302, start.get_data(as_text=True)
    return start.headers["Location"]


def begin_login(client: FlaskClient, next_url: str | None = None) -> dict[str, str]:
    """Start a login; return the authorization request's parameters."""
    return query_of(authorize_url(client, next_url))


def consented_callback(
    client: FlaskClient,
    next_url: str | None = None,
    *,
    decision: str = "approve",
    user: str = "minji",
) -> str:
    """Start a login and answer the consent page; return the callback the
    provider sends the browser to, as a path on the app (not yet visited)."""
    back = answer_consent(
        client, authorize_url(client, next_url), decision=decision, user=user
    )
    assert back.startswith(CALLBACK), back
    return local(back)


class HttpLogin(t.NamedTuple):
    """The steps of a login that :func:`log_in_over_http` went through."""

    authorize_url: str
    callback_url: str
    #: The callback's answer.
    landed: requests.Response


def register_served_app(app: Flask, provider: SandboxProvider, url: str) -> None:
    """Register the callback of ``app``, served at ``url``, with the sandbox."""
    provider.register_client(*credentials(app), f"{url}{CALLBACK_PATH}")


def log_in_over_http(
    browser: requests.Session, app_url: str, user: str = "minji"
) -> HttpLogin:
    """The whole login as a browser does it against an app served over HTTP:
    the login route, the consent page (``user`` approves) and the callback."""
    start = browser.get(
        f"{app_url}{LOGIN}", allow_redirects=False, timeout=HTTP_TIMEOUT
    )
    assert start.status_code == 302, start.text
    authorize_url = start.headers["Location"]
    page = browser.get(authorize_url, timeout=HTTP_TIMEOUT)
    assert page.status_code == 200, page.text
    action, fields = consent_form(page.text, authorize_url)
    fields.update(decision="approve", user=user)
    decided = browser.post(
        action, data=fields, allow_redirects=False, timeout=HTTP_TIMEOUT
    )
    assert decided.status_code == 302, decided.text
    callback_url = decided.headers["Location"]
    landed = browser.get(callback_url, allow_redirects=False, timeout=HTTP_TIMEOUT)
    return HttpLogin(authorize_url, callback_url, landed)


# -- a provider that answers as scripted -------------------------------------------


@dataclasses.dataclass
class Answer:
    """What :class:`StubProvider` answers at one path."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay: float = 0.0
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Seen:
    """A request :class:`StubProvider` received."""

    path: str
    form: dict[str, str]
    raw: bytes
    authorization: str | None


class StubProvider:
    """A provider over real HTTP on 127.0.0.1 that answers each path exactly
    as the test scripted it, for the answers the sandbox will not give (any
    status, body, content type or delay). Unscripted paths answer 404.

    Started by the ``stub_provider`` fixture; :meth:`stop` refuses
    connections from then on, and ends every delayed answer."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.seen: list[Seen] = []
        self._release = threading.Event()
        self._server = SandboxServer(self._wsgi)

    @property
    def url(self) -> str:
        return self._server.url

    def answer(
        self,
        path: str,
        status: int,
        body: object,
        *,
        content_type: str = "application/json",
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer requests to ``path`` with ``status`` and ``body`` (bytes as
        they are, anything else as JSON), after ``delay`` seconds."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answers[path] = Answer(status, raw, content_type, delay, headers or {})

    def token(self, status: int, body: object, **kwargs: t.Any) -> None:
        """:meth:`answer` at ``/oauth/token``."""
        self.answer("/oauth/token", status, body, **kwargs)

    def _wsgi(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> cabc.Iterable[bytes]:
        request = Request(environ)
        raw = request.get_data()
        self.seen.append(
            Seen(
                request.path,
                dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True)),
                raw,
                request.headers.get("Authorization"),
            )
        )
        answer = self.answers.get(request.path, Answer(404, b"{}"))
        if answer.delay:
            self._release.wait(answer.delay)
        response = Response(
            answer.body,
            status=answer.status,
            content_type=answer.content_type,
            headers=answer.headers,
        )
        return response(environ, start_response)

    def start(self) -> StubProvider:
        self._server.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.stop()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- time --------------------------------------------------------------------------


class FakeClock:
    """A clock that stands still until the test moves it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def app_clock(app: Flask) -> FakeClock:
    """Put a :class:`FakeClock`, set to the current time, in charge of the
    extension's sense of time in ``app`` (token expiry, login expiry)."""
    clock = FakeClock(time.time())
    extension(app).app_state(app).clock = clock
    return clock


# -- reading what the app and the provider did ---------------------------------------


def query_of(url: str) -> dict[str, str]:
    """The query parameters of ``url``."""
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def local(url: str) -> str:
    """``url`` as a path and query on the app."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def page_text(response: TestResponse) -> str:
    """The page as a person reads it (HTML entities decoded)."""
    return html.unescape(response.get_data(as_text=True))


def session_serializer(app: Flask) -> URLSafeTimedSerializer:
    """What signs the session cookies of ``app``."""
    interface = app.session_interface
    assert isinstance(interface, SecureCookieSessionInterface)
    signer = interface.get_signing_serializer(app)
    assert signer is not None
    return signer


def session_cookie(client: FlaskClient) -> str:
    """The session cookie's value; empty when the client has none."""
    cookie = client.get_cookie("session")
    return "" if cookie is None else cookie.value


def session_data(app: Flask, client: FlaskClient) -> dict[str, t.Any]:
    """The decoded Flask session of ``client``."""
    data = session_serializer(app).loads(session_cookie(client))
    assert isinstance(data, dict)
    return data


def sealed_token(client: FlaskClient) -> t.Any:
    """The token as the session storage keeps it (sealed), or ``None``."""
    with client.session_transaction() as sess:
        return sess.get(TOKEN_KEY)


def newest_access_token(provider: SandboxProvider) -> str:
    """The access token the provider issued last."""
    return list(provider.access_tokens)[-1]


def refresh_grants(received: cabc.Iterable[RecordedRequest]) -> list[RecordedRequest]:
    """The refresh grants among the requests a provider received."""
    return [
        r
        for r in received
        if r.endpoint == "token" and r.params.get("grant_type") == "refresh_token"
    ]


class CountingStorage(MemoryStorage):
    """A memory storage that counts reads, like a database would see them."""

    def __init__(self, token: Token | None = None) -> None:
        super().__init__(token)
        self.reads = 0

    def get(self, key: str) -> Token | None:
        self.reads += 1
        return super().get(key)
