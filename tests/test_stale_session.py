"""What a stale copy of a session cookie can still do (docs/security.rst,
"What a stale session cookie can still do"): a copy taken before a refresh
or a logout, replayed later in the same process, with the cookie storage and
with a server-side storage keyed by the login id."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import (
    LOGOUT,
    WANTS_JSON,
    AppFactory,
    FakeClock,
    app_clock,
    protected_app,
    refresh_grants,
    session_cookie,
)

from flask_rocketpunch import MemoryStorage
from flask_rocketpunch.sandbox import SandboxProvider
from flask_rocketpunch.testing import complete_login

#: Seconds after which the sandbox's 900-second tokens are within the
#: 300-second refresh leeway: the next request refreshes.
STALE_AFTER = 700


def copy_of(app: Flask, browser: FlaskClient) -> FlaskClient:
    """Another client carrying a copy of ``browser``'s session cookie now."""
    copy = app.test_client()
    copy.set_cookie("session", session_cookie(browser), domain="localhost")
    return copy


def logged_in(make_app: AppFactory, **config: object) -> tuple[Flask, FlaskClient]:
    app = protected_app(make_app, **config)
    browser = app.test_client()
    complete_login(browser)
    assert browser.get("/posts").status_code == 200
    return app, browser


def refresh_now(browser: FlaskClient, clock: FakeClock) -> None:
    clock.advance(STALE_AFTER)
    assert browser.get("/posts").status_code == 200


def test_cookie_storage_a_copy_replayed_after_logout_is_refused_by_the_provider(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app, browser = logged_in(make_app)
    clock = app_clock(app)
    stale = copy_of(app, browser)
    refresh_now(browser, clock)  # the owner's refresh rotates the tokens
    issued = len(rocketpunch_provider.access_tokens)
    assert browser.post(LOGOUT).status_code == 303

    answer = stale.get("/private", headers=WANTS_JSON)

    # The copy was not handed the rotated tokens: it went to the provider
    # with the spent refresh token, was refused, and its login ended.
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "login_required"
    grants = refresh_grants(rocketpunch_provider.requests)
    assert len(grants) == 2
    assert grants[1].params["refresh_token"] == grants[0].params["refresh_token"]
    assert len(rocketpunch_provider.access_tokens) == issued
    assert stale.get("/private", headers=WANTS_JSON).status_code == 401
    assert len(refresh_grants(rocketpunch_provider.requests)) == 2


def test_cookie_storage_a_copy_with_a_live_access_token_after_logout_is_refused(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    # The copy's access token has not expired; logout revoked the grant at
    # the provider, so the API refuses it, and the refresh is refused too.
    app, browser = logged_in(make_app)
    stale = copy_of(app, browser)
    assert browser.post(LOGOUT).status_code == 303

    answer = stale.get("/posts", headers=WANTS_JSON)

    assert answer.status_code == 401
    grants = refresh_grants(rocketpunch_provider.requests)
    assert len(grants) == 1  # tried once, refused: invalid_grant
    assert stale.get("/private", headers=WANTS_JSON).status_code == 401


def test_cookie_storage_a_copy_within_the_window_shares_the_owners_refresh(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    # Before any logout, a copy that still holds the old refresh token within
    # the coordinator's window is treated like a concurrent request of the
    # same browser: it is handed the refreshed token, with no second grant.
    app, browser = logged_in(make_app)
    clock = app_clock(app)
    stale = copy_of(app, browser)
    refresh_now(browser, clock)

    assert stale.get("/posts").status_code == 200
    assert len(refresh_grants(rocketpunch_provider.requests)) == 1


def test_cookie_storage_without_revocation_a_copy_outlives_the_logout(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    # With REVOKE_URL = None nothing tells the provider: the copy's sealed
    # tokens stay good. The docs say to keep revocation on, or to use a
    # server-side storage, for logouts that must end every copy.
    app, browser = logged_in(make_app, REVOKE_URL=None)
    stale = copy_of(app, browser)
    assert browser.post(LOGOUT).status_code == 303
    assert browser.get("/private", headers=WANTS_JSON).status_code == 401

    assert stale.get("/posts").status_code == 200
    assert rocketpunch_provider.requests_to("revoke") == []


@pytest.mark.parametrize("revoke", [True, False])
def test_server_side_storage_a_copy_replayed_after_logout_holds_nothing(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider, revoke: bool
) -> None:
    # The cookie holds only the login id; logout deletes the login's token,
    # so a copy reads as logged out without asking the provider anything,
    # revocation or not.
    config: dict[str, object] = {} if revoke else {"REVOKE_URL": None}
    app, browser = logged_in(make_app, storage=MemoryStorage(), **config)
    clock = app_clock(app)
    stale = copy_of(app, browser)
    refresh_now(browser, clock)
    received = len(rocketpunch_provider.requests)
    assert browser.post(LOGOUT).status_code == 303

    answer = stale.get("/posts", headers=WANTS_JSON)

    assert answer.status_code == 401
    after_logout = rocketpunch_provider.requests[received:]
    assert [r.endpoint for r in after_logout] == (["revoke"] if revoke else [])


def test_server_side_storage_a_copy_before_logout_is_the_same_login(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    # Until the logout, a copy is the login itself: it reads the rotated
    # token from the storage (no refresh of its own, no reuse to see).
    app, browser = logged_in(make_app, storage=MemoryStorage())
    clock = app_clock(app)
    stale = copy_of(app, browser)
    refresh_now(browser, clock)

    assert stale.get("/posts").status_code == 200
    assert len(refresh_grants(rocketpunch_provider.requests)) == 1
