"""Every end of a login is announced: ``login_ended`` with its reason, and
the ``on_login_end`` hook for the browser whose login it was. A refresh
refused with ``invalid_grant``, ``unauthorized_client`` or ``invalid_scope``
ends the login the same way."""

from __future__ import annotations

import secrets
import time
import typing as t
from urllib.parse import urlsplit

import pytest
from flask import Flask, session
from flask.testing import FlaskClient
from support import (
    LOGIN,
    AppFactory,
    StubProvider,
    extension,
    protected_app,
    session_data,
)
from werkzeug.test import TestResponse

from flask_rocketpunch import MemoryStorage, Token, is_authorized, login_ended
from flask_rocketpunch.extension import LOGIN_ID_KEY
from flask_rocketpunch.sandbox import SAMPLE_USERS, SandboxProvider
from flask_rocketpunch.signals import LOGIN_END_REASONS
from flask_rocketpunch.testing import login_as, logout, misbehave, store_token


def access(token: Token | None) -> str | None:
    return None if token is None else token.access_token


class Ends:
    """Records ``login_ended`` of one app and its ``on_login_end`` hook."""

    def __init__(self, app: Flask) -> None:
        #: (reason, current, access token or None) of each signal.
        self.signals: list[tuple[str, bool, str | None]] = []
        #: (reason, access token or None, is_authorized()) of each hook call.
        self.hooks: list[tuple[str, str | None, bool]] = []
        login_ended.connect(self.receive, app, weak=False)
        self._app = app

        @extension(app).on_login_end
        def hook(reason: str, token: Token | None) -> None:
            # Runs after the session forgot the login.
            self.hooks.append((reason, access(token), is_authorized()))

    def receive(
        self, sender: Flask, reason: str, current: bool, token: Token | None, **_: t.Any
    ) -> None:
        assert reason in LOGIN_END_REASONS
        self.signals.append((reason, current, access(token)))

    @property
    def reasons(self) -> list[str]:
        return [reason for reason, _, _ in self.signals]

    def close(self) -> None:
        login_ended.disconnect(self.receive, self._app)


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return protected_app(make_app, REFRESH_LEEWAY=60)


@pytest.fixture
def ends(app: Flask) -> t.Iterator[Ends]:
    recorder = Ends(app)
    yield recorder
    recorder.close()


def stale_token(*, refresh: bool = True) -> Token:
    """An expired token (with a refresh token never seen before: refresh
    outcomes are shared between the tests' apps for a while)."""
    refresh_token = f"rt_{secrets.token_urlsafe(8)}" if refresh else None
    return Token("old-access", time.time() - 5, refresh_token, frozenset({"profile"}))


def saved_session(app: Flask, browser: FlaskClient) -> dict[str, t.Any]:
    """The browser's session; empty when its cookie was deleted."""
    return session_data(app, browser) if browser.get_cookie("session") else {}


def goes_to_login(answer: TestResponse) -> bool:
    return answer.status_code == 302 and (
        urlsplit(answer.headers["Location"]).path == LOGIN
    )


def test_logout_is_announced_once_with_the_token(
    app: Flask, ends: Ends, rocketpunch_provider: SandboxProvider
) -> None:
    browser = app.test_client()
    token = login_as(browser, provider=rocketpunch_provider)

    logout(browser)

    assert ends.signals == [("logout", True, token.access_token)]
    assert ends.hooks == [("logout", token.access_token, False)]
    assert LOGIN_ID_KEY not in saved_session(app, browser)


def test_logout_without_a_login_announces_nothing(app: Flask, ends: Ends) -> None:
    logout(app.test_client())
    assert ends.signals == []


def test_refresh_rejected_with_invalid_grant_ends_the_login(
    app: Flask, ends: Ends, rocketpunch_provider: SandboxProvider
) -> None:
    browser = app.test_client()
    token = login_as(browser, expires_in=30, provider=rocketpunch_provider)

    with misbehave(rocketpunch_provider, refresh_invalid_grant=True):
        answer = browser.get("/private")
        again = browser.get("/private")

    assert goes_to_login(answer)
    assert goes_to_login(again)
    assert ends.signals == [("rejected", True, token.access_token)]
    assert ends.hooks == [("rejected", token.access_token, False)]
    # Once: the second request has no login left to end or to refresh.
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1
    # A refused refresh token is not sent to be revoked.
    assert rocketpunch_provider.requests_to("revoke") == []


@pytest.mark.parametrize(
    "error", ["invalid_grant", "unauthorized_client", "invalid_scope"]
)
def test_every_refusal_of_the_refresh_token_ends_the_login_alike(
    make_app: AppFactory, stub_provider: StubProvider, error: str
) -> None:
    app = protected_app(make_app, TOKEN_URL=f"{stub_provider.url}/oauth/token")
    recorder = Ends(app)
    browser = app.test_client()
    stale = stale_token()
    store_token(browser, stale)
    stub_provider.token(400, {"error": error, "error_description": "no"})

    answer = browser.get("/private")
    again = browser.get("/private")

    assert goes_to_login(answer)
    assert goes_to_login(again)
    assert recorder.signals == [("rejected", True, "old-access")]
    assert [seen.path for seen in stub_provider.seen] == ["/oauth/token"]
    assert LOGIN_ID_KEY not in saved_session(app, browser)
    recorder.close()


def test_other_token_endpoint_errors_do_not_end_the_login(
    make_app: AppFactory, stub_provider: StubProvider
) -> None:
    app = protected_app(make_app, TOKEN_URL=f"{stub_provider.url}/oauth/token")
    recorder = Ends(app)
    browser = app.test_client()
    stale = stale_token()
    store_token(browser, stale)
    stub_provider.token(400, {"error": "invalid_request"})

    answer = browser.get("/private")

    assert answer.status_code == 400
    assert recorder.signals == []
    assert LOGIN_ID_KEY in session_data(app, browser)
    recorder.close()


def test_expired_token_without_refresh_token_ends_the_login_as_expired(
    app: Flask, ends: Ends
) -> None:
    browser = app.test_client()
    dead = stale_token(refresh=False)
    store_token(browser, dead)

    assert goes_to_login(browser.get("/private"))
    assert ends.signals == [("expired", True, "old-access")]


def test_a_token_sealed_under_another_key_ends_the_login_as_undecryptable(
    app: Flask, ends: Ends, rocketpunch_provider: SandboxProvider
) -> None:
    from flask_rocketpunch.crypto import keyring_for
    from flask_rocketpunch.storage import TOKEN_KEY
    from flask_rocketpunch.tokens import seal_token

    browser = app.test_client()
    token = login_as(browser, provider=rocketpunch_provider)
    # As after a SECRET_KEY rotation without SECRET_KEY_FALLBACKS, where the
    # session itself survives (a server-side session, say).
    with browser.session_transaction() as saved:
        saved[TOKEN_KEY] = seal_token(token, keyring_for({"SECRET_KEY": "old-key"}))

    assert goes_to_login(browser.get("/private"))
    assert ends.signals == [("undecryptable", True, None)]
    assert ends.hooks == [("undecryptable", None, False)]


def test_logout_everywhere_is_announced_and_reaches_each_browser_next_time(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = protected_app(make_app, storage=MemoryStorage())
    recorder = Ends(app)
    phone, laptop = app.test_client(), app.test_client()
    login_as(phone, provider=rocketpunch_provider)
    login_as(laptop, provider=rocketpunch_provider)
    sub = SAMPLE_USERS[0].sub

    ended = extension(app).logout_everywhere(sub, app)

    # From outside any request (a CLI command, a job): no browser's own.
    assert ended == 2
    assert [(r, c) for r, c, _ in recorder.signals] == [
        ("logout_everywhere", False),
        ("logout_everywhere", False),
    ]
    assert recorder.hooks == []
    # Each browser learns it at its next request, where the app can end its
    # own session of the user.
    assert goes_to_login(phone.get("/private"))
    assert goes_to_login(laptop.get("/private"))
    assert recorder.signals[2:] == [("missing", True, None), ("missing", True, None)]
    assert [reason for reason, _, _ in recorder.hooks] == ["missing", "missing"]
    recorder.close()


def test_logout_everywhere_from_a_browser_of_the_user_ends_its_own_login_now(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = protected_app(make_app, storage=MemoryStorage())
    recorder = Ends(app)

    @app.post("/everywhere")
    def everywhere() -> str:
        return str(extension(app).logout_everywhere(SAMPLE_USERS[0].sub))

    browser, other = app.test_client(), app.test_client()
    login_as(browser, provider=rocketpunch_provider)
    login_as(other, provider=rocketpunch_provider)

    assert browser.post("/everywhere").get_data(as_text=True) == "2"

    assert sorted(c for _, c, _ in recorder.signals) == [False, True]
    assert [reason for reason, _, _ in recorder.hooks] == ["logout_everywhere"]
    # Its session forgot the login: nothing more is announced there.
    assert goes_to_login(browser.get("/private"))
    assert len(recorder.signals) == 2
    recorder.close()


def test_signal_receivers_see_the_session_without_the_login(
    app: Flask, rocketpunch_provider: SandboxProvider
) -> None:
    seen: list[bool] = []

    def receive(sender: Flask, **extra: t.Any) -> None:
        seen.append(LOGIN_ID_KEY in session)

    browser = app.test_client()
    login_as(browser, expires_in=30, provider=rocketpunch_provider)
    with (
        login_ended.connected_to(receive, app),
        misbehave(rocketpunch_provider, refresh_invalid_grant=True),
    ):
        browser.get("/private")

    assert seen == [False]
