"""Safety at the boundary with the provider, against real servers on
127.0.0.1: the bearer token goes nowhere but the API host (hostile paths,
redirects, scheme and port), hostile answers end in the typed errors and
clean pages (deep JSON, odd ``Retry-After``, tokens that cannot go into a
header, an empty ``scope``), and every call ends within its total deadline
however slowly the provider drips its answer."""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import email.utils
import logging
import secrets
import socket
import threading
import time
import typing as t
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask, request
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from support import (
    LOGIN,
    AppFactory,
    StubProvider,
    consented_callback,
    credentials,
    page_text,
    query_of,
)

from flask_rocketpunch import (
    BearerAuth,
    ReauthorizationRequired,
    Token,
    login_required_rocketpunch,
    rocketpunch,
)
from flask_rocketpunch.client import RocketpunchClient, origin_of
from flask_rocketpunch.exceptions import ProviderError, UnsafeURLError
from flask_rocketpunch.http import (
    MAX_JSON_DEPTH,
    MAX_RETRY_AFTER,
    parse_json,
    retry_after_seconds,
)
from flask_rocketpunch.manager import TokenManager
from flask_rocketpunch.refresh import RefreshCoordinator
from flask_rocketpunch.sandbox import SandboxProvider
from flask_rocketpunch.settings import load_settings
from flask_rocketpunch.storage import MemoryStorage
from flask_rocketpunch.testing import login_as, store_token

ACCESS = "at-boundary-5e6f7a8b"
REFRESH = "rt-boundary-1a2b3c4d"
GOOD_TOKEN: dict[str, object] = {
    "access_token": "at-fresh-0a1b2c3d",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "rt-fresh-9f8e7d6c",
    "scope": "profile",
}
WANTS_JSON = {"Accept": "application/json"}
#: A body nested so deeply that Python's JSON parser recurses too far.
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


# -- real servers on 127.0.0.1 -------------------------------------------------------


Handler = cabc.Callable[["RawServer", socket.socket, bytes], bool]


class RawServer:
    """An HTTP/1.1 server on plain sockets, with kept-alive connections, that
    counts the connections and requests it receives and answers each request
    with ``handler`` (which returns whether to keep the connection)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.stopping = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    @property
    def netloc(self) -> str:
        return self.url.removeprefix("http://")

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while not self.stopping.is_set():
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                buffer = buffer[length:]
                self.requests.append(head)
                if not self.handler(self, conn, head):
                    return
        except OSError:
            return
        finally:
            conn.close()

    def send(
        self,
        conn: socket.socket,
        status: str = "200 OK",
        body: bytes = b"{}",
        *,
        headers: cabc.Mapping[str, str] | None = None,
        drip: t.Literal["headers", "body"] | None = None,
        interval: float = 0.25,
    ) -> bool:
        """Answer on ``conn``; with ``drip``, one byte of that part every
        ``interval`` seconds. Returns whether the client kept listening."""
        fields = {
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            **(headers or {}),
        }
        head = f"HTTP/1.1 {status}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in fields.items()
        )
        raw_head = (head + "\r\n").encode("utf-8")
        try:
            if drip is None:
                conn.sendall(raw_head + body)
                return True
            slow = raw_head if drip == "headers" else body
            if drip == "body":
                conn.sendall(raw_head)
            for i in range(len(slow)):
                if self.stopping.wait(interval):
                    return False
                conn.sendall(slow[i : i + 1])
            if drip == "headers":
                conn.sendall(body)
        except OSError:
            return False
        return True

    def close(self) -> None:
        self.stopping.set()
        self._sock.close()
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


@pytest.fixture
def servers() -> cabc.Iterator[list[RawServer]]:
    started: list[RawServer] = []
    yield started
    for server in started:
        server.close()


@pytest.fixture
def elsewhere(servers: list[RawServer]) -> RawServer:
    """A second host: it answers 200 to anything and must never be reached."""
    server = RawServer(lambda s, conn, head: s.send(conn))
    servers.append(server)
    return server


def serve(servers: list[RawServer], handler: Handler) -> RawServer:
    server = RawServer(handler)
    servers.append(server)
    return server


# -- the app ---------------------------------------------------------------------------


def boundary_app(make_app: AppFactory, **config: t.Any) -> Flask:
    """The test app with views that call the API and userinfo and let every
    error reach the extension's pages."""
    app = make_app(**config)

    @app.get("/call")
    def call() -> t.Any:
        answer = rocketpunch.get(request.args["path"])
        return {"status": answer.status_code}

    @app.get("/no-timeout")
    def no_timeout() -> t.Any:
        return {"status": rocketpunch.get("posts", timeout=None).status_code}

    @app.get("/me")
    @login_required_rocketpunch
    def me() -> t.Any:
        return rocketpunch.userinfo()

    @app.get("/private")
    @login_required_rocketpunch
    def private() -> str:
        return "private page"

    @app.get("/profile-only")
    @login_required_rocketpunch(scopes=["profile"])
    def profile_only() -> str:
        return "profile page"

    return app


def stored_token(expires_in: float = 900, scopes: str = "profile") -> Token:
    """A token as a login stored it, with a refresh token of its own (the
    refresh coordinators remember outcomes by refresh token)."""
    return Token(
        access_token=ACCESS,
        expires_at=time.time() + expires_in,
        refresh_token=f"{REFRESH}-{secrets.token_hex(8)}",
        scopes=frozenset(scopes.split()),
    )


def logged_in(app: Flask, token: Token | None = None) -> FlaskClient:
    client = app.test_client()
    store_token(client, token or stored_token())
    return client


def assert_logged_out(client: FlaskClient) -> None:
    response = client.get("/private")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(LOGIN)


# -- 1. the bearer token never leaves the API host ------------------------------------

BASE = "https://openapi.rocketpunch.com/api/v1/"


def make_api_client(http: requests.Session) -> RocketpunchClient:
    """The API client of an app whose API is at :data:`BASE`."""
    config = load_settings(
        {
            "ROCKETPUNCH_CLIENT_ID": "client-id",
            "ROCKETPUNCH_CLIENT_SECRET": "client-secret",
            "ROCKETPUNCH_API_BASE_URL": BASE,
        }
    )
    tokens = TokenManager(
        storage=MemoryStorage(),
        key="login-1",
        settings=config,
        http=http,
        coordinator=RefreshCoordinator(),
        clock=time.time,
    )
    return RocketpunchClient(http=http, settings=config, tokens=tokens)


@pytest.fixture
def api_client(http: requests.Session) -> RocketpunchClient:
    return make_api_client(http)


#: One client for the property tests (they do not send anything).
PROPERTY_CLIENT = make_api_client(requests.Session())


HOSTILE_PREFIXES = [
    "\t//{h}/x",
    " //{h}/x",
    "  //{h}/x",
    "\n//{h}/x",
    "\r\n//{h}/x",
    "\x00//{h}/x",
    "\x0b//{h}/x",
    "\x0c//{h}/x",
    "\x1f//{h}/x",
    "\x7f//{h}/x",
    "\x85//{h}/x",
    "\u2028//{h}/x",
    "\u200b//{h}/x",
    "\ufeff//{h}/x",
    "/\t/{h}/x",
    "x\r\nHost: {h}",
    "posts ",
    "//{h}/x",
    "///{h}/x",
    "http://{h}/x",
    "HTTP://{h}/x",
    "http:{h}/x",
    "http:/{h}/x",
    "http:\\\\{h}/x",
    "\\\\{h}/x",
    "/\\{h}/x",
    "%2F%2F{h}/x",
    "%09//{h}/x",
    "..//{h}/x",
    "../../..//{h}/x",
    "{api}@{h}/x",
    "http://{api}@{h}/x",
    "http://{h}#@{api}/x",
    "http://{h}?@{api}/x",
    "http://{h}\\@{api}/x",
    "https://{api}/x",
]


@pytest.mark.parametrize("form", HOSTILE_PREFIXES, ids=repr)
def test_hostile_paths_never_reach_another_host(
    make_app: AppFactory,
    rocketpunch_provider: SandboxProvider,
    elsewhere: RawServer,
    form: str,
) -> None:
    app = boundary_app(make_app)
    client = app.test_client()
    login_as(client, provider=rocketpunch_provider)
    api = urlsplit(app.config["ROCKETPUNCH_API_BASE_URL"]).netloc
    path = form.format(h=elsewhere.netloc, api=api)

    answer = client.get("/call", query_string={"path": path}, headers=WANTS_JSON)

    assert elsewhere.connections == 0
    # Refused with a clear 400, or sent to the API host (which may not know it).
    if answer.status_code == 400:
        assert answer.get_json()["error"] == "UnsafeURLError"
    else:
        assert answer.status_code in (200, 502), answer.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "\t//evil.example/x",
        " //evil",
        "\n//evil/x",
        "\x00//evil",
        "posts\r\n",
        " posts",
    ],
    ids=repr,
)
def test_control_characters_and_edge_whitespace_are_refused(
    api_client: RocketpunchClient, path: str
) -> None:
    with pytest.raises(UnsafeURLError, match="control characters or whitespace"):
        api_client.url_for(path)


def test_unsafe_url_error_is_still_a_value_error(api_client: RocketpunchClient) -> None:
    with pytest.raises(ValueError, match="not on the Rocketpunch API host"):
        api_client.url_for("https://evil.example/x")


@pytest.mark.parametrize(
    "url",
    [
        "http://openapi.rocketpunch.com/api/v1/posts",
        "https://openapi.rocketpunch.com:8443/api/v1/posts",
        "https://openapi.rocketpunch.com:80/api/v1/posts",
        "ftp://openapi.rocketpunch.com/api/v1/posts",
        "https://user:pw@openapi.rocketpunch.com/api/v1/posts",
    ],
)
def test_same_host_on_another_scheme_or_port_is_refused(
    api_client: RocketpunchClient, url: str
) -> None:
    with pytest.raises(UnsafeURLError, match="not on the Rocketpunch API host"):
        api_client.url_for(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://openapi.rocketpunch.com:443/api/v1/posts",
        "HTTPS://OpenAPI.Rocketpunch.com/api/v1/posts",
    ],
)
def test_the_api_origin_spelled_otherwise_is_allowed(
    api_client: RocketpunchClient, url: str
) -> None:
    assert api_client.url_for(url) == url


def test_same_host_and_port_over_http_is_refused_end_to_end(
    make_app: AppFactory, stub_provider: StubProvider
) -> None:
    # The API is served over http here; ask for the same host and port over
    # https, and the other way round: another scheme is another origin.
    app = boundary_app(make_app, API_BASE_URL=f"{stub_provider.url}/api/v1/")
    client = logged_in(app)
    other_scheme = stub_provider.url.replace("http://", "https://") + "/api/v1/posts"
    answer = client.get("/call", query_string={"path": other_scheme})
    assert answer.status_code == 400
    assert stub_provider.seen == []


SEPARATORS = "/\\:@%?#.; \t\r\n\x00\x0b\x1f\x7f\x85\u2028\u3000"


@settings(max_examples=400, deadline=None)
@given(
    prefix=st.sampled_from(["", "/", "//", "\\\\", "http:", "https:", "http://"]),
    middle=st.text(alphabet=SEPARATORS + "evilx.ample", max_size=12),
    host=st.sampled_from(["evil.example", "openapi.rocketpunch.com", "127.0.0.1"]),
    rest=st.text(alphabet=SEPARATORS + "pst", max_size=8),
)
def test_any_path_is_refused_or_stays_on_the_api_origin(
    prefix: str, middle: str, host: str, rest: str
) -> None:
    path = prefix + middle + host + rest
    try:
        url = PROPERTY_CLIENT.url_for(path)
    except UnsafeURLError:
        return
    prepared = requests.Request("GET", url).prepare()
    # Read back with another parser than the one the client checks with.
    sent = urlsplit(t.cast(str, prepared.url))
    assert (sent.scheme, sent.hostname, sent.port or 443) == (
        "https",
        "openapi.rocketpunch.com",
        443,
    )
    assert sent.username is None


@settings(max_examples=300, deadline=None)
@given(url=st.text(alphabet=SEPARATORS + "htpsevilx.opnaicktrumb:8", max_size=40))
def test_bearer_auth_adds_the_token_only_on_its_origin(url: str) -> None:
    try:
        prepared = requests.Request(
            "GET", url, auth=BearerAuth(ACCESS, only_to=BASE)
        ).prepare()
    except (UnsafeURLError, requests.RequestException, ValueError, UnicodeError):
        return
    assert prepared.headers["Authorization"] == f"Bearer {ACCESS}"
    assert origin_of(t.cast(str, prepared.url)) == (
        "https",
        "openapi.rocketpunch.com",
        443,
    )


def test_bearer_auth_checks_the_url_as_prepared() -> None:
    auth = BearerAuth(ACCESS, only_to=BASE)
    with pytest.raises(UnsafeURLError, match="nothing was sent"):
        requests.Request(
            "GET", "https://openapi.rocketpunch.com:8443/", auth=auth
        ).prepare()
    with pytest.raises(UnsafeURLError):
        requests.Request("GET", "http://openapi.rocketpunch.com/", auth=auth).prepare()
    ok = requests.Request("GET", BASE + "posts", auth=auth).prepare()
    assert ok.headers["Authorization"] == f"Bearer {ACCESS}"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_api_redirects_are_not_followed_and_the_token_stays(
    make_app: AppFactory,
    stub_provider: StubProvider,
    elsewhere: RawServer,
    status: int,
) -> None:
    app = boundary_app(make_app, API_BASE_URL=f"{stub_provider.url}/api/v1/")
    stub_provider.answer(
        "/api/v1/moved",
        status,
        b"",
        headers={"Location": f"{elsewhere.url}/api/v1/posts"},
    )
    client = logged_in(app)

    answer = client.get("/call", query_string={"path": "moved"}, headers=WANTS_JSON)

    assert answer.status_code == 502
    assert "redirect" in answer.get_json()["detail"]
    assert elsewhere.connections == 0
    assert [seen.path for seen in stub_provider.seen] == ["/api/v1/moved"]


def test_allow_redirects_is_refused_with_a_clear_message(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = make_app()

    @app.get("/follow")
    def follow() -> t.Any:
        try:
            rocketpunch.get("posts", allow_redirects=True)
        except ValueError as exc:
            return {"refused": str(exc)}
        return {"refused": None}

    client = app.test_client()
    login_as(client, provider=rocketpunch_provider)
    assert "never follow redirects" in client.get("/follow").get_json()["refused"]


# -- 2. hostile provider answers ----------------------------------------------------


def test_parse_json_refuses_deep_nesting_nan_and_huge_numbers() -> None:
    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert parse_json(ok) is not None
    deeper = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    for body in (
        deeper,
        DEEP_JSON,
        '{"a": ' * 5000 + "1" + "}" * 5000,
        '{"expires_in": NaN}',
        "[Infinity]",
        "[-Infinity]",
        "9" * 5000,
    ):
        with pytest.raises(ValueError, match=r"JSON|integer|digits"):
            parse_json(body)


def callback_with_token_answer(
    make_app: AppFactory,
    stub_provider: StubProvider,
    status: int,
    body: object,
    **answer: t.Any,
) -> tuple[FlaskClient, str, t.Any]:
    """Log in through the sandbox's consent page, with the token endpoint on
    the stub answering ``status`` and ``body``; the client, the code and the
    callback's answer."""
    app = boundary_app(make_app, TOKEN_URL=f"{stub_provider.url}/oauth/token")
    stub_provider.token(status, body, **answer)
    client = app.test_client()
    back = consented_callback(client)
    return client, query_of(back)["code"], client.get(back)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(200, DEEP_JSON, id="deep-200"),
        pytest.param(400, DEEP_JSON, id="deep-400"),
        pytest.param(
            200,
            b'{"access_token": "a", "token_type": "Bearer", "expires_in": NaN}',
            id="nan",
        ),
        pytest.param(
            200,
            b'{"access_token": "a", "token_type": "Bearer", "expires_in": 1e400}',
            id="infinity",
        ),
        pytest.param(200, {**GOOD_TOKEN, "expires_in": "3600.5"}, id="str-float"),
        pytest.param(200, {**GOOD_TOKEN, "expires_in": True}, id="bool"),
        pytest.param(200, {**GOOD_TOKEN, "expires_in": -1}, id="negative"),
        pytest.param(200, {**GOOD_TOKEN, "expires_in": 10**30}, id="huge"),
        pytest.param(200, {**GOOD_TOKEN, "expires_in": "\u0661\u0662"}, id="digits"),
        pytest.param(200, {**GOOD_TOKEN, "token_type": "B\u0435arer"}, id="type"),
        pytest.param(200, {**GOOD_TOKEN, "scope": "profile\x00admin"}, id="scope"),
    ],
)
def test_hostile_token_answers_give_a_clean_502_and_store_nothing(
    make_app: AppFactory, stub_provider: StubProvider, status: int, body: object
) -> None:
    client, code, answer = callback_with_token_answer(
        make_app, stub_provider, status, body
    )
    assert answer.status_code == 502
    page = page_text(answer)
    assert "ProviderError" in page
    assert code not in page
    assert credentials(client.application)[1] not in page
    assert_logged_out(client)


BAD_ACCESS_TOKENS = [
    "at-ok\r\nX-Injected: 1",
    "at-ok\nX-Injected: 1",
    "at\x00nul",
    "at\x7fdel",
    "t\u00f6k\u00e9n-secret",
    "at with spaces",
    "at-\u2028-sep",
    "at-" + "x" * 20_000,
]


@pytest.mark.parametrize("bad", BAD_ACCESS_TOKENS, ids=lambda v: repr(v)[:30])
def test_access_token_that_cannot_go_into_a_header_is_refused_unlogged(
    make_app: AppFactory,
    stub_provider: StubProvider,
    caplog: pytest.LogCaptureFixture,
    bad: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    client, _, answer = callback_with_token_answer(
        make_app, stub_provider, 200, {**GOOD_TOKEN, "access_token": bad}
    )
    assert answer.status_code == 502
    page = page_text(answer)
    assert "'access_token'" in page
    assert bad not in page
    assert bad not in caplog.text
    assert_logged_out(client)


@pytest.mark.parametrize("bad", ["rt\r\nX: 1", "r\u00e9fresh", "rt\x00"], ids=repr)
def test_refresh_token_with_unsendable_characters_is_refused(
    make_app: AppFactory, stub_provider: StubProvider, bad: str
) -> None:
    client, _, answer = callback_with_token_answer(
        make_app, stub_provider, 200, {**GOOD_TOKEN, "refresh_token": bad}
    )
    assert answer.status_code == 502
    assert "'refresh_token'" in page_text(answer)
    assert bad not in page_text(answer)
    assert_logged_out(client)


def test_refresh_answer_with_an_unsendable_token_is_never_stored(
    make_app: AppFactory,
    stub_provider: StubProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    app = boundary_app(make_app, TOKEN_URL=f"{stub_provider.url}/oauth/token")
    token = stored_token(expires_in=-10)
    client = logged_in(app, token)
    bad = "at-new\r\nX-Injected: 1"
    stub_provider.token(200, {**GOOD_TOKEN, "access_token": bad})

    answer = client.get("/private")

    assert answer.status_code == 502
    assert bad not in page_text(answer)
    assert bad not in caplog.text
    # The old token was kept: the next refresh still sends its refresh token.
    stub_provider.token(200, GOOD_TOKEN)
    assert client.get("/private").status_code == 200
    refreshes = [s.form for s in stub_provider.seen if s.path == "/oauth/token"]
    assert [form["refresh_token"] for form in refreshes] == [token.refresh_token] * 2


def test_a_stored_unsendable_token_asks_for_a_new_login_without_showing_it(
    make_app: AppFactory,
    stub_provider: StubProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    app = boundary_app(make_app, API_BASE_URL=f"{stub_provider.url}/api/v1/")
    bad = "at-old\r\nX-Injected: 1"
    client = logged_in(app, dataclass_replace(stored_token(), access_token=bad))

    answer = client.get("/call", query_string={"path": "posts"})

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(LOGIN)
    assert stub_provider.seen == []
    assert bad not in caplog.text
    with pytest.raises(ReauthorizationRequired):
        requests.Request("GET", BASE, auth=BearerAuth(bad)).prepare()


def dataclass_replace(token: Token, **changes: t.Any) -> Token:
    import dataclasses

    return dataclasses.replace(token, **changes)


def test_empty_scope_grants_nothing_and_the_view_asks_for_its_scope(
    make_app: AppFactory, stub_provider: StubProvider
) -> None:
    client, _, answer = callback_with_token_answer(
        make_app, stub_provider, 200, {**GOOD_TOKEN, "scope": ""}
    )
    assert answer.status_code == 302  # logged in, with no scope granted
    assert client.get("/private").get_data(as_text=True) == "private page"

    needs_profile = client.get("/profile-only")

    assert needs_profile.status_code != 200
    assert "profile page" not in needs_profile.get_data(as_text=True)
    if needs_profile.status_code == 302:  # a step-up that asks for it
        assert "profile" in query_of(needs_profile.headers["Location"])["scope"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30", 30),
        (" 30 ", 30),
        ("0", 0),
        ("0030", 30),
        ("999999999", MAX_RETRY_AFTER),
        ("9" * 5000, MAX_RETRY_AFTER),
        ("-1", None),
        ("1e9", None),
        ("1.5", None),
        ("\u0661\u0662", None),
        ("\uff13\uff10", None),
        ("", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00", 0),  # no zone: read as GMT
        (None, None),
    ],
    ids=repr,
)
def test_retry_after_seconds(value: str | None, expected: int | None) -> None:
    assert retry_after_seconds(value, now=1_700_000_000.0) == expected


def test_retry_after_http_date_counts_from_now() -> None:
    now = 1_700_000_000.0
    later = email.utils.formatdate(now + 120, usegmt=True)
    assert retry_after_seconds(later, now=now) == 120
    earlier = email.utils.formatdate(now - 3600, usegmt=True)
    assert retry_after_seconds(earlier, now=now) == 0
    far = email.utils.formatdate(now + 400 * 24 * 3600, usegmt=True)
    assert retry_after_seconds(far, now=now) == MAX_RETRY_AFTER
    # The obsolete forms RFC 9110 asks recipients to accept.
    assert retry_after_seconds("Sunday, 06-Nov-1994 08:49:37 GMT", now=now) == 0
    assert retry_after_seconds("Sun Nov  6 08:49:37 1994", now=now) == 0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("9" * 5000, str(MAX_RETRY_AFTER)),
        ("\u0661\u0662", None),
        ("1e9", None),
        ("-1", None),
    ],
    ids=lambda v: repr(v)[:20],
)
def test_hostile_retry_after_on_a_429_gives_a_clean_429(
    make_app: AppFactory,
    servers: list[RawServer],
    header: str,
    expected: str | None,
) -> None:
    body = b'{"code": "C0010", "message": "Too many requests"}'
    api = serve(
        servers,
        lambda s, conn, head: s.send(
            conn, "429 Too Many Requests", body, headers={"Retry-After": header}
        ),
    )
    app = boundary_app(make_app, API_BASE_URL=f"{api.url}/api/v1/")
    answer = logged_in(app).get("/call", query_string={"path": "posts"})
    assert answer.status_code == 429
    assert answer.headers.get("Retry-After") == expected


def test_http_date_retry_after_on_a_429_is_sent_as_seconds(
    make_app: AppFactory, stub_provider: StubProvider
) -> None:
    app = boundary_app(make_app, API_BASE_URL=f"{stub_provider.url}/api/v1/")
    later = email.utils.formatdate(time.time() + 600, usegmt=True)
    stub_provider.answer(
        "/api/v1/posts", 429, {"code": "C0010"}, headers={"Retry-After": later}
    )
    answer = logged_in(app).get("/call", query_string={"path": "posts"})
    assert answer.status_code == 429
    assert 500 <= int(answer.headers["Retry-After"]) <= 601


def test_deep_json_from_userinfo_is_a_clean_502(
    make_app: AppFactory, stub_provider: StubProvider
) -> None:
    app = boundary_app(make_app, USERINFO_URL=f"{stub_provider.url}/userinfo")
    stub_provider.answer("/userinfo", 200, DEEP_JSON)
    answer = logged_in(app).get("/me", headers=WANTS_JSON)
    assert answer.status_code == 502
    assert answer.get_json()["error"] == "ProviderError"
    assert "not valid JSON" in answer.get_json()["detail"]


def test_deep_json_in_an_api_error_body_is_described_by_its_status(
    make_app: AppFactory, stub_provider: StubProvider
) -> None:
    app = boundary_app(make_app, API_BASE_URL=f"{stub_provider.url}/api/v1/")
    stub_provider.answer("/api/v1/posts", 400, DEEP_JSON)
    answer = logged_in(app).get(
        "/call", query_string={"path": "posts"}, headers=WANTS_JSON
    )
    assert answer.status_code == 502
    assert answer.get_json()["error"] == "APIError"
    assert answer.get_json()["detail"].startswith("HTTP 400")


def test_deep_json_from_the_revocation_endpoint_does_not_stop_logout(
    make_app: AppFactory, stub_provider: StubProvider
) -> None:
    app = boundary_app(make_app, REVOKE_URL=f"{stub_provider.url}/oauth/revoke")
    stub_provider.answer("/oauth/revoke", 400, DEEP_JSON)
    client = logged_in(app)
    assert client.post("/auth/rocketpunch/logout").status_code in (302, 303)
    assert_logged_out(client)


# -- 3. a total deadline for every call ---------------------------------------------

#: Seconds between two dripped bytes; every dripped answer takes > 10 s.
DRIP = 0.25
TOKEN_BODY = b'{"access_token": "at-drip", "token_type": "Bearer", "expires_in": 900}'
#: The bound the tests allow for a 0.5 s deadline: far below the drip's
#: full length, far above the deadline on a loaded machine.
BOUND = 5.0


def dripping(part: t.Literal["headers", "body"], body: bytes = TOKEN_BODY) -> Handler:
    padded = body + b" " * max(0, 44 - len(body))
    assert len(padded) * DRIP >= 10
    return lambda s, conn, head: s.send(conn, body=padded, drip=part, interval=DRIP)


def timed(call: cabc.Callable[[], t.Any]) -> tuple[float, t.Any]:
    started = time.monotonic()
    result = call()
    return time.monotonic() - started, result


@pytest.mark.parametrize("part", ["headers", "body"])
def test_dripping_token_endpoint_ends_the_login_within_the_deadline(
    make_app: AppFactory, servers: list[RawServer], part: t.Literal["headers", "body"]
) -> None:
    drip = serve(servers, dripping(part))
    app = boundary_app(make_app, TIMEOUT=0.5, TOKEN_URL=f"{drip.url}/oauth/token")
    client = app.test_client()
    back = consented_callback(client)

    elapsed, answer = timed(lambda: client.get(back))

    assert elapsed < BOUND
    assert answer.status_code == 504
    assert "did not answer within 0.5 seconds" in page_text(answer)
    assert_logged_out(client)


@pytest.mark.parametrize("part", ["headers", "body"])
def test_dripping_refresh_ends_within_the_deadline(
    make_app: AppFactory, servers: list[RawServer], part: t.Literal["headers", "body"]
) -> None:
    drip = serve(servers, dripping(part))
    app = boundary_app(make_app, TIMEOUT=0.5, TOKEN_URL=f"{drip.url}/oauth/token")
    client = logged_in(app, stored_token(expires_in=-10))

    elapsed, answer = timed(lambda: client.get("/private", headers=WANTS_JSON))

    assert elapsed < BOUND
    assert answer.status_code == 504
    assert answer.get_json()["error"] == "ProviderError"


@pytest.mark.parametrize("part", ["headers", "body"])
def test_dripping_revocation_does_not_hold_the_logout(
    make_app: AppFactory, servers: list[RawServer], part: t.Literal["headers", "body"]
) -> None:
    drip = serve(servers, dripping(part, b"{}"))
    app = boundary_app(make_app, TIMEOUT=0.5, REVOKE_URL=f"{drip.url}/oauth/revoke")
    client = logged_in(app)

    elapsed, answer = timed(lambda: client.post("/auth/rocketpunch/logout"))

    assert elapsed < BOUND
    assert answer.status_code in (302, 303)
    assert drip.requests  # the revocation was tried
    assert_logged_out(client)


@pytest.mark.parametrize("part", ["headers", "body"])
def test_dripping_userinfo_ends_within_the_deadline(
    make_app: AppFactory, servers: list[RawServer], part: t.Literal["headers", "body"]
) -> None:
    drip = serve(servers, dripping(part, b'{"sub": "1"}'))
    app = boundary_app(make_app, TIMEOUT=0.5, USERINFO_URL=f"{drip.url}/userinfo")

    elapsed, answer = timed(lambda: logged_in(app).get("/me", headers=WANTS_JSON))

    assert elapsed < BOUND
    assert answer.status_code == 504


@pytest.mark.parametrize("part", ["headers", "body"])
def test_dripping_api_ends_within_the_deadline(
    make_app: AppFactory, servers: list[RawServer], part: t.Literal["headers", "body"]
) -> None:
    drip = serve(servers, dripping(part, b'{"posts": []}'))
    app = boundary_app(make_app, TIMEOUT=0.5, API_BASE_URL=f"{drip.url}/api/v1/")
    client = logged_in(app)

    elapsed, answer = timed(
        lambda: client.get("/call", query_string={"path": "posts"}, headers=WANTS_JSON)
    )

    assert elapsed < BOUND
    assert answer.status_code == 504
    assert "did not answer within 0.5 seconds" in answer.get_json()["detail"]


def test_a_timed_out_connection_is_not_reused_and_the_others_are(
    make_app: AppFactory, servers: list[RawServer]
) -> None:
    def first_drips(s: RawServer, conn: socket.socket, head: bytes) -> bool:
        if len(s.requests) == 1:
            return s.send(conn, body=b'{"posts": []}' + b" " * 40, drip="body")
        return s.send(conn, body=b'{"posts": []}')

    api = serve(servers, first_drips)
    app = boundary_app(make_app, TIMEOUT=0.5, API_BASE_URL=f"{api.url}/api/v1/")
    client = logged_in(app)
    call = {"query_string": {"path": "posts"}, "headers": WANTS_JSON}

    assert client.get("/call", **call).status_code == 504
    for _ in range(30):
        assert client.get("/call", **call).get_json() == {"status": 200}

    # The broken connection was closed; the next one carried all 30 calls.
    assert api.connections == 2
    assert len(api.requests) == 31


def test_timeout_none_from_the_caller_still_gets_the_configured_timeout(
    make_app: AppFactory, servers: list[RawServer]
) -> None:
    def silent(s: RawServer, conn: socket.socket, head: bytes) -> bool:
        s.stopping.wait(30)
        return False

    api = serve(servers, silent)
    app = boundary_app(make_app, TIMEOUT=0.5, API_BASE_URL=f"{api.url}/api/v1/")

    elapsed, answer = timed(
        lambda: logged_in(app).get("/no-timeout", headers=WANTS_JSON)
    )

    assert elapsed < BOUND
    assert answer.status_code == 504
    assert answer.get_json()["error"] == "ProviderError"


# -- 4. the token endpoint must answer 200 -------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [(201, GOOD_TOKEN), (202, GOOD_TOKEN), (204, b""), (203, GOOD_TOKEN)],
)
def test_token_endpoint_2xx_other_than_200_is_refused(
    make_app: AppFactory, stub_provider: StubProvider, status: int, body: object
) -> None:
    client, code, answer = callback_with_token_answer(
        make_app, stub_provider, status, body
    )
    assert answer.status_code == 502
    page = page_text(answer)
    assert "ProviderError" in page
    assert code not in page
    assert_logged_out(client)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_token_endpoint_redirect_is_refused_and_not_followed(
    make_app: AppFactory,
    stub_provider: StubProvider,
    elsewhere: RawServer,
    status: int,
) -> None:
    client, code, answer = callback_with_token_answer(
        make_app,
        stub_provider,
        status,
        GOOD_TOKEN,
        headers={"Location": f"{elsewhere.url}/oauth/token"},
    )
    assert answer.status_code == 502
    page = page_text(answer)
    assert "redirect" in page
    assert "ROCKETPUNCH_TOKEN_URL" in page
    assert code not in page
    assert elsewhere.connections == 0
    assert_logged_out(client)


def test_provider_error_messages_never_carry_the_token_value() -> None:
    bad = "secret-token\r\nX: 1"
    with pytest.raises(ProviderError) as caught:
        Token.from_response(
            {**GOOD_TOKEN, "access_token": bad}, now=0.0, requested_scopes=()
        )
    assert bad not in str(caught.value)
    assert "secret-token" not in str(caught.value)
    assert caught.value.reason == "invalid_response"
