"""A provider as the July 2026 guide describes it (no PKCE, no refresh token
rotation, ``profile:read`` scopes, the profile at ``/api/v1/profiles/me``,
``{"error": {"message"}}`` API errors, no revocation), configured as the
guide says: everything keeps working."""

from __future__ import annotations

import collections.abc as cabc
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import (
    LOGIN,
    LOGOUT,
    AppFactory,
    newest_access_token,
    query_of,
    refresh_grants,
)

from flask_rocketpunch import APIError, login_required_rocketpunch, rocketpunch
from flask_rocketpunch.sandbox import SandboxProvider, SandboxServer
from flask_rocketpunch.testing import complete_login

GuideApp = cabc.Callable[..., Flask]

MINJI_SUB = "OA-5a1d3c0e9b7f4e21a8c6d2b4f0e1a7c3"


@pytest.fixture
def rocketpunch_provider() -> SandboxProvider:
    """The kit's provider, in the guide's flavor, for every test here."""
    return SandboxProvider(flavor="guide")


@pytest.fixture
def guide_app(make_app: AppFactory, rocketpunch_server: SandboxServer) -> GuideApp:
    """Build an app configured for the guide's provider; keyword arguments
    are extra ``ROCKETPUNCH_*`` keys without the prefix."""

    def factory(**extra: t.Any) -> Flask:
        app = make_app(
            **{
                "SCOPES": "profile:read profile:email",
                "USE_PKCE": False,
                "REVOKE_URL": None,
                "USERINFO_URL": f"{rocketpunch_server.url}/api/v1/profiles/me",
                **extra,
            }
        )

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
    assert complete_login(browser).status_code == 302
    return browser


def test_login_works_without_pkce(
    guide_app: GuideApp, rocketpunch_provider: SandboxProvider
) -> None:
    browser = guide_app().test_client()
    start = browser.get(LOGIN)
    params = query_of(start.headers["Location"])
    assert params["scope"] == "profile:email profile:read"
    assert "code_challenge" not in params
    assert params["state"]

    response = complete_login(browser, next="/me")
    assert response.status_code == 302
    assert response.headers["Location"] == "/me"
    (exchange,) = rocketpunch_provider.requests_to("token")
    assert exchange.status == 200
    assert "code_verifier" not in exchange.params
    assert exchange.params["grant_type"] == "authorization_code"


def test_userinfo_returns_the_profile_from_the_profiles_endpoint(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    response = client.get("/me")
    assert response.status_code == 200
    profile = response.get_json()
    assert profile["sub"] == MINJI_SUB
    assert profile["preferred_username"] == "minji"
    assert profile["email"] == "minji@example.com"
    (call,) = rocketpunch_provider.requests_to("profile")
    assert call.headers["Authorization"].startswith("Bearer ")
    assert rocketpunch_provider.requests_to("userinfo") == []


def test_refresh_keeps_the_same_refresh_token_and_the_token_keeps_working(
    guide_app: GuideApp, rocketpunch_provider: SandboxProvider
) -> None:
    # A leeway longer than the guide's one hour tokens: every use refreshes.
    first_worker = guide_app(REFRESH_LEEWAY=4000)
    browser = first_worker.test_client()
    complete_login(browser)
    (refresh_token,) = rocketpunch_provider.refresh_tokens

    for _ in range(2):
        response = browser.get("/me")
        assert response.status_code == 200
        assert response.get_json()["sub"] == MINJI_SUB
    assert len(refresh_grants(rocketpunch_provider.requests)) >= 1

    # Another worker process reads the refreshed token from the cookie: it
    # still has the refresh token, which still works.
    cookie = browser.get_cookie("session")
    assert cookie is not None
    other = guide_app(REFRESH_LEEWAY=4000).test_client()
    other.set_cookie("session", cookie.value)
    response = other.get("/me")
    assert response.status_code == 200
    assert response.get_json()["sub"] == MINJI_SUB

    refreshes = refresh_grants(rocketpunch_provider.requests)
    assert len(refreshes) >= 2
    assert {r.params["refresh_token"] for r in refreshes} == {refresh_token}
    assert {r.status for r in refreshes} == {200}
    assert list(rocketpunch_provider.refresh_tokens) == [refresh_token]


def test_rejected_access_token_soon_after_a_refresh_is_refreshed_again(
    guide_app: GuideApp, rocketpunch_provider: SandboxProvider
) -> None:
    browser = guide_app().test_client()
    complete_login(browser)
    for _ in range(2):
        # The provider drops the current access token (say, a key rotation):
        # the API answers 401, and the client refreshes once and retries.
        current = newest_access_token(rocketpunch_provider)
        assert rocketpunch_provider.revoke(current)
        response = browser.get("/me")
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["sub"] == MINJI_SUB
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 2


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (403, "The access token lacks the required scope 'profile:read'."),
        (500, "The sandbox answered 500 (fault)."),
    ],
)
def test_api_errors_in_the_guide_shape_become_api_error_with_its_message(
    client: FlaskClient,
    rocketpunch_provider: SandboxProvider,
    status: int,
    message: str,
) -> None:
    rocketpunch_provider.faults.userinfo_status = status
    response = client.get("/me")
    assert response.status_code == 502
    body = response.get_json()
    assert body["kind"] == "APIError"
    assert body["status_code"] == status
    assert body["message"] == message
    (call,) = rocketpunch_provider.requests_to("profile")
    assert call.status == status


def test_logout_makes_no_revocation_call(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    response = client.post(LOGOUT)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert rocketpunch_provider.requests_to("revoke") == []
    after = client.get("/me")
    assert after.status_code == 302
    assert after.headers["Location"].startswith(LOGIN)
