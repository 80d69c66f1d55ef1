"""A provider as the July 2026 guide describes it (no PKCE, no refresh token
rotation, ``profile:read`` scopes, the profile at ``/api/v1/profiles/me``,
``{"error": {"message"}}`` API errors, no revocation), configured as the
guide says: everything keeps working."""

from __future__ import annotations

import collections.abc as cabc
import typing as t
from urllib.parse import parse_qsl, urlsplit

import pytest
from dance import CALLBACK, CLIENT_ID, CLIENT_SECRET, SECRET_KEY, login
from flask import Flask
from flask.testing import FlaskClient

from flask_rocketpunch import (
    APIError,
    RocketpunchOAuth,
    login_required_rocketpunch,
    rocketpunch,
)
from flask_rocketpunch.sandbox import RecordedRequest, SandboxProvider, SandboxServer

GuideApp = cabc.Callable[..., Flask]

LOGIN = "/auth/rocketpunch/login"
LOGOUT = "/auth/rocketpunch/logout"
MINJI_SUB = "OA-5a1d3c0e9b7f4e21a8c6d2b4f0e1a7c3"


@pytest.fixture
def guide_provider() -> SandboxProvider:
    return SandboxProvider(flavor="guide")


@pytest.fixture
def guide_server(guide_provider: SandboxProvider) -> cabc.Iterator[SandboxServer]:
    with SandboxServer(guide_provider) as running:
        yield running


@pytest.fixture
def guide_app(guide_provider: SandboxProvider, guide_server: SandboxServer) -> GuideApp:
    """Build an app configured for the guide's provider; keyword arguments
    are extra ``ROCKETPUNCH_*`` keys without the prefix."""

    def factory(**extra: t.Any) -> Flask:
        base = guide_server.url
        app = Flask("guide_client_app")
        app.config.update(
            SECRET_KEY=SECRET_KEY,
            ROCKETPUNCH_CLIENT_ID=CLIENT_ID,
            ROCKETPUNCH_CLIENT_SECRET=CLIENT_SECRET,
            ROCKETPUNCH_AUTHORIZE_URL=f"{base}/oauth/authorize",
            ROCKETPUNCH_TOKEN_URL=f"{base}/oauth/token",
            ROCKETPUNCH_SCOPES="profile:read profile:email",
            ROCKETPUNCH_USE_PKCE=False,
            ROCKETPUNCH_REVOKE_URL=None,
            ROCKETPUNCH_USERINFO_URL=f"{base}/api/v1/profiles/me",
            ROCKETPUNCH_API_BASE_URL=f"{base}/api/v1/",
        )
        app.config.update({f"ROCKETPUNCH_{k}": v for k, v in extra.items()})
        guide_provider.register_client(CLIENT_ID, CLIENT_SECRET, CALLBACK)
        RocketpunchOAuth(app)

        @app.get("/")
        def home() -> str:
            return "home"

        @app.get("/me")
        @login_required_rocketpunch
        def me() -> t.Any:
            try:
                return rocketpunch.userinfo()
            except APIError as exc:
                return {
                    "status_code": exc.status_code,
                    "code": exc.code,
                    "message": exc.message,
                    "kind": type(exc).__name__,
                }, 502

        return app

    return factory


@pytest.fixture
def client(guide_app: GuideApp) -> FlaskClient:
    browser = guide_app().test_client()
    assert login(browser).status_code == 302
    return browser


def test_login_works_without_pkce(
    guide_app: GuideApp, guide_provider: SandboxProvider
) -> None:
    browser = guide_app().test_client()
    start = browser.get(LOGIN)
    params = dict(parse_qsl(urlsplit(start.headers["Location"]).query))
    assert params["scope"] == "profile:email profile:read"
    assert "code_challenge" not in params
    assert params["state"]

    response = login(browser, next_url="/me")
    assert response.status_code == 302
    assert response.headers["Location"] == "/me"
    (exchange,) = guide_provider.requests_to("token")
    assert exchange.status == 200
    assert "code_verifier" not in exchange.params
    assert exchange.params["grant_type"] == "authorization_code"


def test_userinfo_returns_the_profile_from_the_profiles_endpoint(
    client: FlaskClient, guide_provider: SandboxProvider
) -> None:
    response = client.get("/me")
    assert response.status_code == 200
    profile = response.get_json()
    assert profile["sub"] == MINJI_SUB
    assert profile["preferred_username"] == "minji"
    assert profile["email"] == "minji@example.com"
    (call,) = guide_provider.requests_to("profile")
    assert call.headers["Authorization"].startswith("Bearer ")
    assert guide_provider.requests_to("userinfo") == []


def refresh_requests(provider: SandboxProvider) -> list[RecordedRequest]:
    return [
        r
        for r in provider.requests_to("token")
        if r.params.get("grant_type") == "refresh_token"
    ]


def test_refresh_keeps_the_same_refresh_token_and_the_token_keeps_working(
    guide_app: GuideApp, guide_provider: SandboxProvider
) -> None:
    # A leeway longer than the guide's one hour tokens: every use refreshes.
    first_worker = guide_app(REFRESH_LEEWAY=4000)
    browser = first_worker.test_client()
    login(browser)
    (refresh_token,) = guide_provider.refresh_tokens

    for _ in range(2):
        response = browser.get("/me")
        assert response.status_code == 200
        assert response.get_json()["sub"] == MINJI_SUB
    assert len(refresh_requests(guide_provider)) >= 1

    # Another worker process reads the refreshed token from the cookie: it
    # still has the refresh token, which still works.
    cookie = browser.get_cookie("session")
    assert cookie is not None
    other = guide_app(REFRESH_LEEWAY=4000).test_client()
    other.set_cookie("session", cookie.value)
    response = other.get("/me")
    assert response.status_code == 200
    assert response.get_json()["sub"] == MINJI_SUB

    refreshes = refresh_requests(guide_provider)
    assert len(refreshes) >= 2
    assert {r.params["refresh_token"] for r in refreshes} == {refresh_token}
    assert {r.status for r in refreshes} == {200}
    assert list(guide_provider.refresh_tokens) == [refresh_token]


def test_rejected_access_token_soon_after_a_refresh_is_refreshed_again(
    guide_app: GuideApp, guide_provider: SandboxProvider
) -> None:
    browser = guide_app().test_client()
    login(browser)
    for _ in range(2):
        # The provider drops the current access token (say, a key rotation):
        # the API answers 401, and the client refreshes once and retries.
        current = list(guide_provider.access_tokens)[-1]
        assert guide_provider.revoke(current)
        response = browser.get("/me")
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["sub"] == MINJI_SUB
    assert guide_provider.grant_counts()["refresh_token"] == 2


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (403, "The access token lacks the required scope 'profile:read'."),
        (500, "The sandbox answered 500 (fault)."),
    ],
)
def test_api_errors_in_the_guide_shape_become_api_error_with_its_message(
    client: FlaskClient, guide_provider: SandboxProvider, status: int, message: str
) -> None:
    guide_provider.faults.userinfo_status = status
    response = client.get("/me")
    assert response.status_code == 502
    body = response.get_json()
    assert body["kind"] == "APIError"
    assert body["status_code"] == status
    assert body["message"] == message
    (call,) = guide_provider.requests_to("profile")
    assert call.status == status


def test_logout_makes_no_revocation_call(
    client: FlaskClient, guide_provider: SandboxProvider
) -> None:
    response = client.post(LOGOUT)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert guide_provider.requests_to("revoke") == []
    after = client.get("/me")
    assert after.status_code == 302
    assert after.headers["Location"].startswith(LOGIN)
