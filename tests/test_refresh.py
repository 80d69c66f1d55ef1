"""One refresh per refresh token (RefreshCoordinator), and TokenManager's
refresh policy against a real token endpoint on 127.0.0.1."""

from __future__ import annotations

import collections.abc as cabc
import json
import socket
import threading
import time
import typing as t
from urllib.parse import parse_qsl

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from flask_rocketpunch.exceptions import (
    OAuthError,
    ProviderError,
    ReauthorizationRequired,
)
from flask_rocketpunch.manager import TokenManager
from flask_rocketpunch.refresh import RefreshCoordinator
from flask_rocketpunch.settings import Settings, load_settings
from flask_rocketpunch.storage import MemoryStorage
from flask_rocketpunch.tokens import Token

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

NOW = 1_700_000_000.0
OLD = Token("at-old", NOW + 10, "rt-old", frozenset({"profile"}))
NEW = Token("at-new", NOW + 900, "rt-new", frozenset({"profile"}))
JOIN = 5.0


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class Counter:
    """A ``do_refresh`` that counts its calls and takes a little time."""

    def __init__(
        self,
        result: Token = NEW,
        *,
        delay: float = 0.0,
        error: BaseException | None = None,
        fail_first: BaseException | None = None,
    ) -> None:
        self.calls = 0
        self.seen: list[Token] = []
        self._lock = threading.Lock()
        self._result = result
        self._delay = delay
        self._error = error
        self._fail_first = fail_first

    def __call__(self, token: Token) -> Token:
        with self._lock:
            self.calls += 1
            first = self.calls == 1
            self.seen.append(token)
        if self._delay:
            time.sleep(self._delay)
        if first and self._fail_first is not None:
            raise self._fail_first
        if self._error is not None:
            raise self._error
        return self._result


def run_threads(
    count: int, target: cabc.Callable[[], tuple[Token, bool]]
) -> list[tuple[Token, bool] | BaseException]:
    """Run ``target`` in ``count`` threads released together; return each
    thread's result or exception."""
    results: list[tuple[Token, bool] | BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(count)

    def work() -> None:
        start.wait(JOIN)
        try:
            outcome: tuple[Token, bool] | BaseException = target()
        except BaseException as exc:
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert len(results) == count
    return results


# -- RefreshCoordinator ---------------------------------------------------------


def test_concurrent_refreshes_of_one_token_make_one_call() -> None:
    coordinator = RefreshCoordinator()
    do_refresh = Counter(delay=0.2)
    results = run_threads(20, lambda: coordinator.refresh(OLD, do_refresh))
    assert do_refresh.calls == 1
    assert do_refresh.seen == [OLD]
    pairs = [r for r in results if not isinstance(r, BaseException)]
    assert len(pairs) == 20
    assert {token for token, _ in pairs} == {NEW}
    assert sum(performed for _, performed in pairs) == 1


def test_old_token_within_remember_gets_the_result_without_a_call() -> None:
    clock = FakeClock()
    coordinator = RefreshCoordinator(remember=60, clock=clock)
    do_refresh = Counter()
    assert coordinator.refresh(OLD, do_refresh) == (NEW, True)
    clock.now += 59
    assert coordinator.refresh(OLD, do_refresh) == (NEW, False)
    assert do_refresh.calls == 1


def test_same_refresh_token_with_a_newer_access_token_refreshes_again() -> None:
    # A provider that does not rotate refresh tokens: the token refreshed a
    # moment ago comes back with its new access token and the same refresh
    # token. Replaying the earlier result would hand back the old, rejected
    # access token.
    coordinator = RefreshCoordinator()
    do_refresh = Counter()
    coordinator.refresh(OLD, do_refresh)
    newer = Token("at-newer", NOW, "rt-old")
    assert coordinator.refresh(newer, do_refresh) == (NEW, True)
    assert do_refresh.calls == 2


def test_old_token_after_remember_calls_again() -> None:
    clock = FakeClock()
    coordinator = RefreshCoordinator(remember=60, clock=clock)
    do_refresh = Counter()
    coordinator.refresh(OLD, do_refresh)
    clock.now += 61
    assert coordinator.refresh(OLD, do_refresh) == (NEW, True)
    assert do_refresh.calls == 2


def test_oauth_error_is_shared_with_the_waiters() -> None:
    error = OAuthError("invalid_grant", "The refresh token was revoked.")
    coordinator = RefreshCoordinator()
    do_refresh = Counter(delay=0.2, error=error)
    results = run_threads(10, lambda: coordinator.refresh(OLD, do_refresh))
    assert do_refresh.calls == 1
    assert all(isinstance(r, OAuthError) for r in results)
    assert all(r is error for r in results)


def test_oauth_error_is_replayed_for_a_later_call() -> None:
    clock = FakeClock()
    coordinator = RefreshCoordinator(remember=60, clock=clock)
    do_refresh = Counter(error=OAuthError("invalid_grant"))
    with pytest.raises(OAuthError):
        coordinator.refresh(OLD, do_refresh)
    clock.now += 30
    with pytest.raises(OAuthError, match="invalid_grant"):
        coordinator.refresh(OLD, do_refresh)
    assert do_refresh.calls == 1


def test_other_errors_are_not_remembered() -> None:
    coordinator = RefreshCoordinator()
    do_refresh = Counter(fail_first=ConnectionError("provider down"))
    with pytest.raises(ConnectionError):
        coordinator.refresh(OLD, do_refresh)
    assert coordinator.refresh(OLD, do_refresh) == (NEW, True)
    assert do_refresh.calls == 2


def test_waiters_retry_after_a_non_oauth_failure() -> None:
    coordinator = RefreshCoordinator()
    do_refresh = Counter(delay=0.1, fail_first=ConnectionError("provider down"))
    results = run_threads(8, lambda: coordinator.refresh(OLD, do_refresh))
    assert do_refresh.calls == 2
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1
    assert isinstance(failures[0], ConnectionError)
    pairs = [r for r in results if not isinstance(r, BaseException)]
    assert {token for token, _ in pairs} == {NEW}
    assert sum(performed for _, performed in pairs) == 1


def test_different_tokens_refresh_in_parallel() -> None:
    coordinator = RefreshCoordinator()
    both_inside = threading.Barrier(2)
    calls: list[str | None] = []

    def do_refresh(token: Token) -> Token:
        calls.append(token.refresh_token)
        both_inside.wait(JOIN)  # breaks (raises) if refreshes are serialised
        return Token(f"new-{token.refresh_token}", NOW + 900)

    first = Token("a1", NOW, "rt-1")
    second = Token("a2", NOW, "rt-2")
    tokens = iter([first, second])
    lock = threading.Lock()

    def one() -> tuple[Token, bool]:
        with lock:
            token = next(tokens)
        return coordinator.refresh(token, do_refresh)

    results = run_threads(2, one)
    assert sorted(c or "" for c in calls) == ["rt-1", "rt-2"]
    assert sorted(
        r[0].access_token for r in results if not isinstance(r, BaseException)
    ) == ["new-rt-1", "new-rt-2"]


def test_oldest_outcomes_are_forgotten_beyond_max_outcomes() -> None:
    coordinator = RefreshCoordinator(max_outcomes=2)
    do_refresh = Counter()
    tokens = [Token(f"a{i}", NOW, f"rt-{i}") for i in range(3)]
    for token in tokens:
        coordinator.refresh(token, do_refresh)
    assert coordinator.refresh(tokens[2], do_refresh)[1] is False
    assert coordinator.refresh(tokens[0], do_refresh)[1] is True
    assert do_refresh.calls == 4


class RecordingShared:
    """A shared coordinator that refreshes at once and records what it got."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def init_app(self, app: t.Any) -> None:
        pass

    def refresh_once(
        self,
        key: str,
        stale: Token,
        do_refresh: cabc.Callable[[Token], Token],
        reload: cabc.Callable[[], Token | None],
    ) -> tuple[Token, bool]:
        self.keys.append(key)
        return do_refresh(stale), True

    def forget(self, token: Token) -> None:
        pass


def test_shared_coordinator_is_given_the_login_id() -> None:
    shared = RecordingShared()
    coordinator = RefreshCoordinator(shared)
    assert coordinator.refresh(OLD, Counter(), key="login-1") == (NEW, True)
    assert shared.keys == ["login-1"]


# -- TokenManager against a real token endpoint ------------------------------------


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class TokenEndpoint:
    """A threaded Werkzeug token endpoint on 127.0.0.1."""

    def __init__(self) -> None:
        self.status = 200
        self.body: object = {
            "access_token": "at-refreshed",
            "token_type": "Bearer",
            "expires_in": 900,
            "refresh_token": "rt-rotated",
        }
        self.forms: list[dict[str, str]] = []
        self._server = make_server(
            "127.0.0.1", 0, self.wsgi, threaded=True, request_handler=QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )
        self._thread.start()

    def wsgi(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> cabc.Iterable[bytes]:
        request = Request(environ)
        self.forms.append(dict(parse_qsl(request.get_data(as_text=True))))
        response = Response(
            json.dumps(self.body), status=self.status, content_type="application/json"
        )
        return response(environ, start_response)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(JOIN)


@pytest.fixture
def endpoint() -> cabc.Iterator[TokenEndpoint]:
    running = TokenEndpoint()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def http() -> cabc.Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def settings_for(url: str) -> Settings:
    return load_settings(
        {
            "ROCKETPUNCH_CLIENT_ID": "manager-client",
            "ROCKETPUNCH_CLIENT_SECRET": "manager-secret",
            "ROCKETPUNCH_TOKEN_URL": f"{url}/oauth/token",
            "ROCKETPUNCH_REFRESH_LEEWAY": 300,
            "ROCKETPUNCH_TIMEOUT": 2,
        }
    )


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Manager:
    """A TokenManager with a memory storage, a fixed clock and a record of
    ``on_refresh`` calls."""

    def __init__(
        self,
        url: str,
        http: requests.Session,
        token: Token | None,
        coordinator: RefreshCoordinator | None = None,
    ) -> None:
        self.storage = MemoryStorage()
        if token is not None:
            self.storage.set(LOGIN, token)
        self.refreshed: list[Token] = []
        self.manager = TokenManager(
            storage=self.storage,
            key=LOGIN,
            settings=settings_for(url),
            http=http,
            coordinator=coordinator or RefreshCoordinator(),
            clock=lambda: NOW,
            on_refresh=self.refreshed.append,
        )


#: The login id the managers keep their token under.
LOGIN = "login-1"


def stored(expires_in: float) -> Token:
    return Token("at-stored", NOW + expires_in, "rt-stored", frozenset({"profile"}))


def test_fresh_token_is_returned_without_calling_the_provider(
    endpoint: TokenEndpoint, http: requests.Session
) -> None:
    m = Manager(endpoint.url, http, stored(3600))
    assert m.manager.valid_token() == stored(3600)
    assert endpoint.forms == []
    assert m.refreshed == []


def test_no_token_requires_a_login(
    endpoint: TokenEndpoint, http: requests.Session
) -> None:
    m = Manager(endpoint.url, http, None)
    with pytest.raises(ReauthorizationRequired):
        m.manager.valid_token()
    assert endpoint.forms == []


@pytest.mark.parametrize("expires_in", [299, 1, 0, -3600])
def test_token_within_leeway_or_expired_is_refreshed_and_stored(
    endpoint: TokenEndpoint, http: requests.Session, expires_in: float
) -> None:
    m = Manager(endpoint.url, http, stored(expires_in))
    token = m.manager.valid_token()
    assert token.access_token == "at-refreshed"
    assert token.refresh_token == "rt-rotated"
    assert token.expires_at == NOW + 900
    assert token.scopes == frozenset({"profile"})
    assert m.storage.get(LOGIN) == token
    assert endpoint.forms == [
        {
            "grant_type": "refresh_token",
            "refresh_token": "rt-stored",
            "client_id": "manager-client",
            "client_secret": "manager-secret",
        }
    ]
    assert m.refreshed == [token]


def test_refreshed_token_is_then_used_without_another_call(
    endpoint: TokenEndpoint, http: requests.Session
) -> None:
    m = Manager(endpoint.url, http, stored(10))
    first = m.manager.valid_token()
    assert m.manager.valid_token() == first
    assert len(endpoint.forms) == 1
    assert m.refreshed == [first]


def test_invalid_grant_requires_a_login_and_empties_the_storage(
    endpoint: TokenEndpoint, http: requests.Session
) -> None:
    endpoint.status = 400
    endpoint.body = {"error": "invalid_grant", "error_description": "revoked"}
    m = Manager(endpoint.url, http, stored(10))
    with pytest.raises(ReauthorizationRequired) as info:
        m.manager.valid_token()
    assert isinstance(info.value.__cause__, OAuthError)
    assert info.value.http_status == 401
    assert m.storage.get(LOGIN) is None
    assert m.refreshed == []


def test_other_oauth_errors_keep_the_token(
    endpoint: TokenEndpoint, http: requests.Session
) -> None:
    endpoint.status = 401
    endpoint.body = {"error": "invalid_client"}
    m = Manager(endpoint.url, http, stored(10))
    with pytest.raises(OAuthError, match="ROCKETPUNCH_CLIENT_ID"):
        m.manager.valid_token()
    assert m.storage.get(LOGIN) == stored(10)


@pytest.mark.parametrize("fault", ["503", "refused"])
def test_provider_down_with_token_still_valid_returns_the_old_token(
    endpoint: TokenEndpoint, http: requests.Session, fault: str
) -> None:
    endpoint.status = 503
    url = endpoint.url if fault == "503" else closed_port_url()
    m = Manager(url, http, stored(100))
    assert m.manager.valid_token() == stored(100)
    assert m.storage.get(LOGIN) == stored(100)
    assert m.refreshed == []


@pytest.mark.parametrize("fault", ["503", "refused"])
def test_provider_down_with_token_expired_is_a_provider_error(
    endpoint: TokenEndpoint, http: requests.Session, fault: str
) -> None:
    endpoint.status = 503
    url = endpoint.url if fault == "503" else closed_port_url()
    m = Manager(url, http, stored(0))
    with pytest.raises(ProviderError) as info:
        m.manager.valid_token()
    assert info.value.reason == ("server_error" if fault == "503" else "connection")
    assert m.storage.get(LOGIN) == stored(0)


def test_provider_down_is_retried_on_the_next_call(
    endpoint: TokenEndpoint, http: requests.Session
) -> None:
    endpoint.status = 503
    m = Manager(endpoint.url, http, stored(100))
    m.manager.valid_token()
    endpoint.status = 200
    assert m.manager.valid_token().access_token == "at-refreshed"
    assert len(endpoint.forms) == 2
    assert len(m.refreshed) == 1


def test_two_requests_with_the_same_stale_token_refresh_once(
    endpoint: TokenEndpoint, http: requests.Session
) -> None:
    """Two requests carrying the same cookie: one refresh, one on_refresh, both
    get the new token."""
    coordinator = RefreshCoordinator()
    first = Manager(endpoint.url, http, stored(10), coordinator)
    second = Manager(endpoint.url, http, stored(10), coordinator)
    a = first.manager.valid_token()
    b = second.manager.valid_token()
    assert a == b
    assert a.access_token == "at-refreshed"
    assert second.storage.get(LOGIN) == a
    assert len(endpoint.forms) == 1
    assert len(first.refreshed) + len(second.refreshed) == 1
