"""TokenManager on its own, outside any request: a memory storage, settings
from ``load_settings``, an HTTP session, a refresh coordinator and a clock
that stands still, with the sandbox served over HTTP as the provider."""

from __future__ import annotations

import collections.abc as cabc
import typing as t

import pytest
import requests
from support import CountingStorage, FakeClock, StubProvider, newest_access_token

from flask_rocketpunch import MemoryStorage, Token
from flask_rocketpunch.exceptions import (
    OAuthError,
    ProviderError,
    ReauthorizationRequired,
)
from flask_rocketpunch.manager import TokenManager
from flask_rocketpunch.refresh import RefreshCoordinator
from flask_rocketpunch.sandbox import SandboxProvider, SandboxServer
from flask_rocketpunch.settings import load_settings
from flask_rocketpunch.testing import last_request, misbehave

#: The login id the managers keep their token under.
LOGIN = "login-1"
NOW = 1_700_000_000.0
#: ``ROCKETPUNCH_REFRESH_LEEWAY`` of the managers here, unless a test says.
LEEWAY = 300
#: The sandbox's access token life.
LIFE = 900


class Manager:
    """A TokenManager with a storage, a clock standing at ``NOW`` and a
    record of its ``on_refresh`` calls."""

    def __init__(
        self,
        config: cabc.Mapping[str, t.Any],
        http: requests.Session,
        storage: MemoryStorage,
        coordinator: RefreshCoordinator,
    ) -> None:
        self.storage = storage
        self.clock = FakeClock(NOW)
        self.refreshed: list[Token] = []
        self.manager = TokenManager(
            storage=storage,
            key=LOGIN,
            settings=load_settings(config),
            http=http,
            coordinator=coordinator,
            clock=self.clock,
            on_refresh=self.refreshed.append,
        )


class ManagerFactory(t.Protocol):
    def __call__(
        self,
        token: Token | None,
        *,
        storage: MemoryStorage | None = None,
        coordinator: RefreshCoordinator | None = None,
        **keys: t.Any,
    ) -> Manager: ...


@pytest.fixture
def make_manager(
    rocketpunch_config: dict[str, str], http: requests.Session
) -> ManagerFactory:
    """A :class:`Manager` of ``token`` for the kit's client at the sandbox
    server; keyword arguments are ``ROCKETPUNCH_*`` keys without the prefix."""

    def factory(
        token: Token | None,
        *,
        storage: MemoryStorage | None = None,
        coordinator: RefreshCoordinator | None = None,
        **keys: t.Any,
    ) -> Manager:
        config: dict[str, t.Any] = {
            **rocketpunch_config,
            "ROCKETPUNCH_REFRESH_LEEWAY": LEEWAY,
            "ROCKETPUNCH_TIMEOUT": 2,
        }
        config.update({f"ROCKETPUNCH_{key}": value for key, value in keys.items()})
        return Manager(
            config,
            http,
            MemoryStorage(token) if storage is None else storage,
            RefreshCoordinator() if coordinator is None else coordinator,
        )

    return factory


Issue = cabc.Callable[[float], Token]


@pytest.fixture
def stored(
    rocketpunch_provider: SandboxProvider, rocketpunch_config: dict[str, str]
) -> Issue:
    """A real token of the sandbox for the kit's client, as the manager
    finds it in storage: expiring ``expires_in`` seconds after ``NOW``."""

    def issue(expires_in: float) -> Token:
        data = rocketpunch_provider.issue_token(
            "minji", rocketpunch_config["ROCKETPUNCH_CLIENT_ID"], "profile"
        )
        return Token(
            data["access_token"],
            NOW + expires_in,
            data["refresh_token"],
            frozenset({"profile"}),
        )

    return issue


def test_fresh_token_is_returned_without_calling_the_provider(
    make_manager: ManagerFactory, stored: Issue, rocketpunch_provider: SandboxProvider
) -> None:
    token = stored(3600)
    m = make_manager(token)
    assert m.manager.valid_token() == token
    assert rocketpunch_provider.requests_to("token") == []
    assert m.refreshed == []


def test_no_token_requires_a_login(
    make_manager: ManagerFactory, rocketpunch_provider: SandboxProvider
) -> None:
    m = make_manager(None)
    with pytest.raises(ReauthorizationRequired):
        m.manager.valid_token()
    assert rocketpunch_provider.requests_to("token") == []


@pytest.mark.parametrize("expires_in", [299, 1, 0, -3600])
def test_token_within_leeway_or_expired_is_refreshed_and_stored(
    make_manager: ManagerFactory,
    stored: Issue,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_config: dict[str, str],
    expires_in: float,
) -> None:
    old = stored(expires_in)
    m = make_manager(old)
    token = m.manager.valid_token()
    assert token.access_token == newest_access_token(rocketpunch_provider)
    assert token.access_token != old.access_token
    assert token.refresh_token in rocketpunch_provider.refresh_tokens
    assert token.refresh_token != old.refresh_token
    assert token.expires_at == NOW + LIFE
    assert token.scopes == frozenset({"profile"})
    assert m.storage.get(LOGIN) == token
    assert rocketpunch_provider.grant_counts() == {"refresh_token": 1}
    assert last_request(rocketpunch_provider, "token").params == {
        "grant_type": "refresh_token",
        "refresh_token": old.refresh_token,
        "client_id": rocketpunch_config["ROCKETPUNCH_CLIENT_ID"],
        "client_secret": rocketpunch_config["ROCKETPUNCH_CLIENT_SECRET"],
    }
    assert m.refreshed == [token]


def test_refreshed_token_is_then_used_without_another_call(
    make_manager: ManagerFactory, stored: Issue, rocketpunch_provider: SandboxProvider
) -> None:
    m = make_manager(stored(10))
    first = m.manager.valid_token()
    assert m.manager.valid_token() == first
    assert len(rocketpunch_provider.requests_to("token")) == 1
    assert m.refreshed == [first]


def test_token_refreshed_by_this_manager_is_not_refreshed_again_within_the_leeway(
    make_manager: ManagerFactory, stored: Issue, rocketpunch_provider: SandboxProvider
) -> None:
    # A leeway over the token's whole life: every token is due at once.
    m = make_manager(stored(10), REFRESH_LEEWAY=LIFE + 100)
    first = m.manager.valid_token()
    assert m.manager.valid_token() == first
    assert m.manager.valid_token() == first
    assert rocketpunch_provider.grant_counts() == {"refresh_token": 1}
    assert m.refreshed == [first]

    # The next request (a new manager over the same storage) refreshes again.
    after = make_manager(None, storage=m.storage, REFRESH_LEEWAY=LIFE + 100)
    assert after.manager.valid_token() != first
    assert rocketpunch_provider.grant_counts() == {"refresh_token": 2}


def test_invalid_grant_requires_a_login_and_empties_the_storage(
    make_manager: ManagerFactory, stored: Issue, rocketpunch_provider: SandboxProvider
) -> None:
    token = stored(10)
    assert token.refresh_token is not None
    assert rocketpunch_provider.revoke(token.refresh_token)
    m = make_manager(token)
    with pytest.raises(ReauthorizationRequired) as info:
        m.manager.valid_token()
    assert isinstance(info.value.__cause__, OAuthError)
    assert info.value.__cause__.error == "invalid_grant"
    assert info.value.http_status == 401
    assert m.storage.get(LOGIN) is None
    assert m.refreshed == []


@pytest.mark.parametrize("error", ["unauthorized_client", "invalid_scope"])
def test_other_errors_only_a_new_login_mends_also_empty_the_storage(
    make_manager: ManagerFactory,
    stored: Issue,
    rocketpunch_provider: SandboxProvider,
    stub_provider: StubProvider,
    error: str,
) -> None:
    token = stored(10)
    if error == "unauthorized_client":
        rocketpunch_provider.faults.token_status = 403
        m = make_manager(token)
    else:
        # The sandbox never answers a refresh with invalid_scope.
        stub_provider.token(400, {"error": error})
        m = make_manager(token, TOKEN_URL=f"{stub_provider.url}/oauth/token")
    with pytest.raises(ReauthorizationRequired) as info:
        m.manager.valid_token()
    assert isinstance(info.value.__cause__, OAuthError)
    assert info.value.__cause__.error == error
    assert m.storage.get(LOGIN) is None
    assert m.refreshed == []


def test_other_oauth_errors_keep_the_token(
    make_manager: ManagerFactory, stored: Issue
) -> None:
    token = stored(10)
    m = make_manager(token, CLIENT_SECRET="not-the-registered-secret")
    with pytest.raises(OAuthError, match="ROCKETPUNCH_CLIENT_ID") as info:
        m.manager.valid_token()
    assert info.value.error == "invalid_client"
    assert m.storage.get(LOGIN) == token


class Outage(t.NamedTuple):
    manager: Manager
    #: The token the manager found in storage.
    token: Token
    #: The ``reason`` of the ProviderError the outage causes.
    reason: str


@pytest.fixture(params=["503", "refused"])
def outage(
    request: pytest.FixtureRequest,
    make_manager: ManagerFactory,
    stored: Issue,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_server: SandboxServer,
) -> cabc.Callable[[float], Outage]:
    """A manager of a token expiring in so many seconds, then a token
    endpoint that answers 503 or refuses connections."""

    def start(expires_in: float) -> Outage:
        token = stored(expires_in)
        m = make_manager(token)
        if request.param == "503":
            rocketpunch_provider.faults.token_status = 503
            return Outage(m, token, "server_error")
        rocketpunch_server.stop()
        return Outage(m, token, "connection")

    return start


def test_provider_down_with_token_still_valid_returns_the_old_token(
    outage: cabc.Callable[[float], Outage],
) -> None:
    m, token, _ = outage(100)
    assert m.manager.valid_token() == token
    assert m.storage.get(LOGIN) == token
    assert m.refreshed == []


def test_provider_down_with_token_expired_is_a_provider_error(
    outage: cabc.Callable[[float], Outage],
) -> None:
    m, token, reason = outage(0)
    with pytest.raises(ProviderError) as info:
        m.manager.valid_token()
    assert info.value.reason == reason
    assert m.storage.get(LOGIN) == token


def test_provider_down_is_tried_once_per_request_and_again_by_the_next(
    make_manager: ManagerFactory, stored: Issue, rocketpunch_provider: SandboxProvider
) -> None:
    token = stored(100)
    m = make_manager(token)
    with misbehave(rocketpunch_provider, token_status=503):
        assert m.manager.valid_token() == token
    assert m.manager.valid_token() == token  # not again in the same request
    assert len(rocketpunch_provider.requests_to("token")) == 1
    m = make_manager(None, storage=m.storage)
    fresh = m.manager.valid_token()
    assert fresh.access_token == newest_access_token(rocketpunch_provider)
    assert fresh != token
    assert len(rocketpunch_provider.requests_to("token")) == 2
    assert m.refreshed == [fresh]


def test_token_without_refresh_token_is_used_until_it_expires_then_needs_a_login(
    make_manager: ManagerFactory, rocketpunch_provider: SandboxProvider
) -> None:
    token = Token("at-without-refresh", NOW + 100, None, frozenset({"profile"}))
    m = make_manager(token)
    assert token.needs_refresh(NOW, LEEWAY)
    assert m.manager.valid_token() == token
    m.clock.advance(100)
    with pytest.raises(ReauthorizationRequired):
        m.manager.valid_token()
    assert m.storage.get(LOGIN) is None
    assert rocketpunch_provider.requests_to("token") == []


@pytest.mark.parametrize("expires_in", [3600, 10], ids=["fresh", "due"])
def test_storage_is_read_once_however_many_calls(
    make_manager: ManagerFactory, stored: Issue, expires_in: float
) -> None:
    storage = CountingStorage(stored(expires_in))
    m = make_manager(None, storage=storage)
    tokens = {m.manager.valid_token() for _ in range(3)}
    assert m.manager.current() in tokens
    assert len(tokens) == 1
    assert storage.reads == 1


def test_two_requests_with_the_same_stale_token_refresh_once(
    make_manager: ManagerFactory, stored: Issue, rocketpunch_provider: SandboxProvider
) -> None:
    """Two requests carrying the same cookie: one refresh, one on_refresh (by
    the manager that refreshed), both get the new token."""
    coordinator = RefreshCoordinator()
    token = stored(10)
    first = make_manager(token, coordinator=coordinator)
    second = make_manager(token, coordinator=coordinator)
    a = first.manager.valid_token()
    b = second.manager.valid_token()
    assert a == b
    assert a.access_token == newest_access_token(rocketpunch_provider)
    assert second.storage.get(LOGIN) == a
    assert len(rocketpunch_provider.requests_to("token")) == 1
    assert first.refreshed == [a]
    assert second.refreshed == []
