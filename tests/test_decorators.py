"""``login_required_rocketpunch``: who gets in, who is sent to log in, and
what happens to tokens that are due, dead, or lack a scope."""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import LOGIN, WANTS_JSON, AppFactory, local, newest_access_token

from flask_rocketpunch import (
    ReauthorizationRequired,
    current_token,
    login_required_rocketpunch,
    rocketpunch,
)
from flask_rocketpunch.sandbox import SandboxProvider, SandboxServer
from flask_rocketpunch.testing import answer_consent, complete_login, login_as


def decorated_app(make_app: AppFactory, **config: t.Any) -> Flask:
    """The test app with views behind the decorator, bare and with scopes."""
    app = make_app(**config)

    @app.get("/bare")
    @login_required_rocketpunch
    def bare() -> t.Any:
        token = current_token()
        assert token is not None
        return {"view": "bare", "access_token": token.access_token}

    @app.get("/email")
    @login_required_rocketpunch(scopes=["email"])
    def email() -> t.Any:
        return {"view": "email", "email": rocketpunch.userinfo().get("email")}

    @app.get("/profile-only")
    @login_required_rocketpunch(scopes=["profile"])
    def profile_only() -> t.Any:
        return {"view": "profile-only"}

    @app.route("/preflight", methods=["GET", "OPTIONS"])
    @login_required_rocketpunch
    def preflight() -> t.Any:
        return {"view": "preflight"}

    @app.get("/needs-new-login")
    def needs_new_login() -> t.Any:
        raise ReauthorizationRequired("The app decided you must log in again.")

    return app


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return decorated_app(make_app)


@pytest.fixture
def browser(app: Flask) -> FlaskClient:
    return app.test_client()


def login_target(location: str) -> tuple[str, str | None]:
    """The path of a redirect and its ``next`` parameter."""
    parts = urlsplit(location)
    values = parse_qs(parts.query).get("next")
    return parts.path, values[0] if values else None


def test_anonymous_browser_is_redirected_to_login_with_next_page_and_query(
    browser: FlaskClient,
) -> None:
    answer = browser.get("/bare?tab=posts&page=2")

    assert answer.status_code == 302
    assert login_target(answer.headers["Location"]) == (
        LOGIN,
        "/bare?tab=posts&page=2",
    )


def test_anonymous_browser_lands_on_the_page_after_logging_in(
    browser: FlaskClient,
) -> None:
    location = browser.get("/bare?tab=posts").headers["Location"]
    _, next_url = login_target(location)

    back = complete_login(browser, next=next_url)

    assert back.headers["Location"] == "/bare?tab=posts"
    assert browser.get("/bare?tab=posts").get_json()["view"] == "bare"


def test_anonymous_json_client_gets_401_with_login_url(browser: FlaskClient) -> None:
    answer = browser.get("/bare?x=1", headers=WANTS_JSON)

    assert answer.status_code == 401
    body = answer.get_json()
    assert body["error"] == "login_required"
    assert login_target(body["login_url"]) == (LOGIN, "/bare?x=1")
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_options_request_passes_without_login(browser: FlaskClient) -> None:
    answer = browser.open("/preflight", method="OPTIONS")

    assert answer.status_code == 200
    assert answer.get_json() == {"view": "preflight"}
    assert browser.get("/preflight").status_code == 302


def test_logged_in_user_sees_bare_and_scoped_views_without_refresh(
    browser: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    complete_login(browser)

    assert browser.get("/bare").get_json()["view"] == "bare"
    assert browser.get("/profile-only").get_json() == {"view": "profile-only"}
    assert rocketpunch_provider.grant_counts() == {"authorization_code": 1}


def test_token_within_leeway_is_refreshed_before_the_view_runs(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    browser = decorated_app(make_app, REFRESH_LEEWAY=1000).test_client()
    complete_login(browser)
    first = newest_access_token(rocketpunch_provider)

    seen = browser.get("/bare").get_json()["access_token"]

    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1
    assert seen != first
    assert seen == newest_access_token(rocketpunch_provider)


def test_rejected_refresh_drops_the_token_and_sends_the_browser_to_login(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    browser = decorated_app(make_app, REFRESH_LEEWAY=1000).test_client()
    complete_login(browser)
    rocketpunch_provider.faults.refresh_invalid_grant = True

    answer = browser.get("/bare")

    assert answer.status_code == 302
    assert login_target(answer.headers["Location"]) == (LOGIN, "/bare")
    rocketpunch_provider.faults.refresh_invalid_grant = False
    again = browser.get("/bare")
    assert again.status_code == 302
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1


def test_rejected_refresh_gives_json_client_401(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    browser = decorated_app(make_app, REFRESH_LEEWAY=1000).test_client()
    complete_login(browser)
    rocketpunch_provider.faults.refresh_invalid_grant = True

    answer = browser.get("/bare", headers=WANTS_JSON)

    assert answer.status_code == 401
    assert answer.get_json()["error"] == "login_required"


def test_missing_scope_starts_new_authorization_for_union_of_scopes(
    browser: FlaskClient,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_server: SandboxServer,
) -> None:
    complete_login(browser)

    answer = browser.get("/email")

    assert answer.status_code == 302
    location = answer.headers["Location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        f"{rocketpunch_server.url}/oauth/authorize"
    )
    query = parse_qs(parts.query)
    assert set(query["scope"][0].split()) == {"profile", "email"}

    back = answer_consent(browser, location, decision="approve", user="minji")
    landed = browser.get(local(back))
    assert landed.headers["Location"] == "/email"
    assert browser.get("/email").get_json() == {
        "view": "email",
        "email": "minji@example.com",
    }
    assert rocketpunch_provider.grant_counts() == {"authorization_code": 2}


def test_missing_scope_gives_json_client_401(browser: FlaskClient) -> None:
    complete_login(browser)

    answer = browser.get("/email", headers=WANTS_JSON)

    assert answer.status_code == 401
    assert answer.get_json()["error"] == "login_required"


def test_view_raising_reauthorization_required_redirects_to_login(
    browser: FlaskClient,
) -> None:
    complete_login(browser)

    answer = browser.get("/needs-new-login")

    assert answer.status_code == 302
    assert login_target(answer.headers["Location"]) == (
        LOGIN,
        "/needs-new-login",
    )
    as_json = browser.get("/needs-new-login", headers=WANTS_JSON)
    assert as_json.status_code == 401
    assert as_json.get_json()["detail"] == "The app decided you must log in again."


def test_async_view_is_protected_and_runs(make_app: AppFactory) -> None:
    pytest.importorskip(
        "asgiref", reason="async views need Flask[async] (asgiref is not installed)"
    )
    app = make_app()

    @app.get("/async")
    @login_required_rocketpunch
    async def async_view() -> t.Any:
        return {"view": "async", "sub": rocketpunch.userinfo()["sub"]}

    browser = app.test_client()
    assert browser.get("/async").status_code == 302
    complete_login(browser)
    assert browser.get("/async").get_json()["view"] == "async"


def test_scopes_given_as_one_string_are_scopes_not_characters(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = make_app()

    @app.get("/mail")
    @login_required_rocketpunch(scopes="email")
    def mail() -> t.Any:
        return {"view": "mail"}

    browser = app.test_client()
    login_as(browser, scopes="profile", provider=rocketpunch_provider)

    answer = browser.get("/mail")

    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert set(query["scope"][0].split()) == {"profile", "email"}
    login_as(browser, scopes="profile email", provider=rocketpunch_provider)
    assert browser.get("/mail").get_json() == {"view": "mail"}
