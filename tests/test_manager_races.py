"""TokenManager when another process got there first: a newer token in
the storage wins over a refused or late refresh, a login that ended
meanwhile stays ended; and tokens without a refresh token. The shared
coordinator is a stand-in that answers as another process would have."""

from __future__ import annotations

import collections.abc as cabc

import pytest
import requests

from flask_rocketpunch.exceptions import OAuthError, ReauthorizationRequired
from flask_rocketpunch.manager import TokenManager
from flask_rocketpunch.refresh import DoRefresh, RefreshCoordinator, Reload
from flask_rocketpunch.settings import load_settings
from flask_rocketpunch.storage import MemoryStorage
from flask_rocketpunch.tokens import Token

NOW = 1_700_000_000.0
LOGIN = "login-1"
STALE = Token("at-stale", NOW + 10, "rt-stale", frozenset({"profile"}))
FRESH = Token("at-fresh", NOW + 900, "rt-fresh", frozenset({"profile"}))
NEWER = Token("at-newer", NOW + 900, "rt-newer", frozenset({"profile"}))


class Answers:
    """A shared coordinator that answers ``result`` (or raises it) without
    calling the provider, as when another process refreshed."""

    def __init__(self, result: Token | OAuthError) -> None:
        self.result = result
        self.forgotten: list[Token] = []

    def init_app(self, app: object) -> None:
        pass

    def refresh_once(
        self, key: str, stale: Token, do_refresh: DoRefresh, reload: Reload
    ) -> tuple[Token, bool]:
        if isinstance(self.result, OAuthError):
            raise self.result
        return self.result, True

    def forget(self, token: Token) -> None:
        self.forgotten.append(token)


@pytest.fixture
def http() -> cabc.Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def manager(
    storage: MemoryStorage, shared: Answers, http: requests.Session
) -> TokenManager:
    settings = load_settings(
        {
            "ROCKETPUNCH_CLIENT_ID": "races-client",
            "ROCKETPUNCH_CLIENT_SECRET": "races-secret",
            "ROCKETPUNCH_TOKEN_URL": "http://127.0.0.1:9/oauth/token",
        }
    )
    return TokenManager(
        storage=storage,
        key=LOGIN,
        settings=settings,
        http=http,
        coordinator=RefreshCoordinator(shared),
        clock=lambda: NOW,
    )


def storage_with(token: Token | None) -> MemoryStorage:
    storage = MemoryStorage()
    if token is not None:
        storage.set(LOGIN, token)
    return storage


def test_refused_refresh_keeps_a_newer_token_another_process_stored(
    http: requests.Session,
) -> None:
    # This request read STALE; meanwhile another process refreshed it and
    # stored NEWER, so the provider refuses STALE: not a logout.
    storage = storage_with(NEWER)
    m = manager(storage, Answers(OAuthError("invalid_grant")), http)
    assert m.refresh(STALE) == NEWER
    assert storage.get(LOGIN) == NEWER
    assert m.valid_token() == NEWER


def test_refused_refresh_without_a_newer_token_ends_the_login(
    http: requests.Session,
) -> None:
    storage = storage_with(STALE)
    m = manager(storage, Answers(OAuthError("invalid_grant")), http)
    with pytest.raises(ReauthorizationRequired):
        m.refresh(STALE)
    assert storage.get(LOGIN) is None


def test_late_refresh_does_not_overwrite_a_later_one(http: requests.Session) -> None:
    # The compare-and-set fails: NEWER replaced STALE while this request
    # refreshed; NEWER is kept and used.
    storage = storage_with(NEWER)
    m = manager(storage, Answers(FRESH), http)
    assert m.refresh(STALE) == NEWER
    assert storage.get(LOGIN) == NEWER


def test_refresh_of_a_login_that_ended_meanwhile_does_not_bring_it_back(
    http: requests.Session,
) -> None:
    # Logged out (in another tab, another process) during the refresh.
    storage = storage_with(None)
    m = manager(storage, Answers(FRESH), http)
    with pytest.raises(ReauthorizationRequired, match="ended"):
        m.refresh(STALE)
    assert storage.get(LOGIN) is None


def test_token_without_refresh_token_is_used_until_it_expires(
    http: requests.Session,
) -> None:
    no_refresh = Token("at-only", NOW + 10, None, frozenset({"profile"}))
    shared = Answers(FRESH)
    m = manager(storage_with(no_refresh), shared, http)
    assert m.valid_token() == no_refresh


def test_expired_token_without_refresh_token_ends_the_login(
    http: requests.Session,
) -> None:
    expired = Token("at-only", NOW - 1, None, frozenset({"profile"}))
    storage = storage_with(expired)
    m = manager(storage, Answers(FRESH), http)
    with pytest.raises(ReauthorizationRequired, match="expired"):
        m.valid_token()
    assert storage.get(LOGIN) is None


def test_forget_drops_the_outcome_that_handed_out_a_token(
    http: requests.Session,
) -> None:
    # At logout: a stale copy of the session must go to the provider, not
    # be handed the logged-out token from memory.
    shared = Answers(FRESH)
    coordinator = RefreshCoordinator(shared)
    assert coordinator.refresh(STALE, lambda token: FRESH) == (FRESH, True)
    coordinator.forget(FRESH)
    assert shared.forgotten == [FRESH]
    shared.result = NEWER
    assert coordinator.refresh(STALE, lambda token: FRESH) == (NEWER, True)
