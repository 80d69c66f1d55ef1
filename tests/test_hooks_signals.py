"""The ``on_login``, ``on_error`` and ``unauthorized_handler`` hooks, and the
four blinker signals, seen from an app that uses them."""

from __future__ import annotations

import typing as t

from flask import redirect
from support import (
    CALLBACK_PATH,
    LOGIN,
    LOGOUT,
    AppFactory,
    begin_login,
    extension,
    protected_app,
)
from werkzeug.wrappers import Response

from flask_rocketpunch import (
    NoLoginInFlightError,
    OAuthError,
    ReauthorizationRequired,
    RocketpunchError,
    StateError,
    StateMismatchError,
    Token,
    logged_in,
    logged_out,
    login_failed,
    rocketpunch,
    token_refreshed,
)
from flask_rocketpunch.sandbox import SandboxProvider
from flask_rocketpunch.testing import complete_login


class Recorder:
    """A signal receiver that remembers each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, dict[str, t.Any]]] = []

    def __call__(self, sender: object, **kwargs: t.Any) -> None:
        self.calls.append((sender, kwargs))


# -- on_login ------------------------------------------------------------------


def test_on_login_gets_the_token_and_its_response_is_sent(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = protected_app(make_app, SCOPES="profile email")
    local_users: dict[str, dict[str, t.Any]] = {}
    seen: list[Token] = []

    @extension(app).on_login
    def create_local_user(token: Token) -> Response:
        seen.append(token)
        claims = rocketpunch.userinfo()
        local_users[claims["sub"]] = {"email": claims["email"]}
        return redirect("/welcome-new-user")

    client = app.test_client()
    response = complete_login(client, "seojun", next="/private")
    assert response.status_code == 302
    assert response.headers["Location"] == "/welcome-new-user"
    (token,) = seen
    assert isinstance(token, Token)
    assert token.access_token in rocketpunch_provider.access_tokens
    assert token.scopes == frozenset({"profile", "email"})
    assert local_users == {
        "OA-8f2e4b6d1c3a5e7f9b0d2c4e6a8f1b3d": {"email": "seojun@example.org"}
    }
    assert client.get("/private").status_code == 200


def test_on_login_returning_none_falls_back_to_next(make_app: AppFactory) -> None:
    app = protected_app(make_app)
    calls: list[Token] = []

    @extension(app).on_login
    def remember(token: Token) -> None:
        calls.append(token)

    response = complete_login(app.test_client(), next="/private")
    assert response.status_code == 302
    assert response.headers["Location"] == "/private"
    assert len(calls) == 1


# -- on_error ------------------------------------------------------------------


def test_on_error_gets_access_denied_and_its_response_is_sent(
    make_app: AppFactory,
) -> None:
    app = protected_app(make_app)
    errors: list[RocketpunchError] = []

    @extension(app).on_error
    def handle(error: RocketpunchError) -> tuple[str, int]:
        errors.append(error)
        return "You said no; that is fine.", 200

    client = app.test_client()
    response = complete_login(client, decision="deny")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "You said no; that is fine."
    (error,) = errors
    assert isinstance(error, OAuthError)
    assert error.error == "access_denied"
    assert error.error_description
    assert client.get("/private").status_code == 302


def test_on_error_gets_state_errors(make_app: AppFactory) -> None:
    app = protected_app(make_app)
    errors: list[RocketpunchError] = []

    @extension(app).on_error
    def handle(error: RocketpunchError) -> Response:
        errors.append(error)
        return redirect("/login-problem")

    client = app.test_client()
    state = begin_login(client)["state"]
    tampered = client.get(CALLBACK_PATH, query_string={"state": state + "x"})
    assert tampered.status_code == 302
    assert tampered.headers["Location"] == "/login-problem"
    stranger = app.test_client().get(CALLBACK_PATH, query_string={"state": state})
    assert stranger.headers["Location"] == "/login-problem"
    assert [type(e) for e in errors] == [StateMismatchError, NoLoginInFlightError]
    assert all(isinstance(e, StateError) for e in errors)


def test_on_error_returning_none_keeps_the_default_page(
    make_app: AppFactory,
) -> None:
    app = protected_app(make_app)
    errors: list[RocketpunchError] = []

    @extension(app).on_error
    def note(error: RocketpunchError) -> None:
        errors.append(error)

    response = complete_login(app.test_client(), decision="deny")
    assert response.status_code == 403
    assert "Login cancelled" in response.get_data(as_text=True)
    assert len(errors) == 1


# -- signals -------------------------------------------------------------------


def test_logged_in_is_sent_once_with_the_app_and_the_token(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = protected_app(make_app)
    received = Recorder()
    with logged_in.connected_to(received, app):
        assert complete_login(app.test_client()).status_code == 302
    ((sender, kwargs),) = received.calls
    assert sender is app
    assert isinstance(kwargs["token"], Token)
    assert kwargs["token"].access_token in rocketpunch_provider.access_tokens


def test_login_failed_is_sent_once_with_the_error(make_app: AppFactory) -> None:
    app = protected_app(make_app)
    received = Recorder()
    logged = Recorder()
    with (
        login_failed.connected_to(received, app),
        logged_in.connected_to(logged, app),
    ):
        complete_login(app.test_client(), decision="deny")
    ((sender, kwargs),) = received.calls
    assert sender is app
    assert isinstance(kwargs["error"], OAuthError)
    assert kwargs["error"].error == "access_denied"
    assert logged.calls == []


def test_token_refreshed_is_sent_once_when_a_protected_view_refreshes(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = protected_app(make_app, REFRESH_LEEWAY=1000)
    client = app.test_client()
    complete_login(client)
    (first_access,) = rocketpunch_provider.access_tokens
    received = Recorder()
    with token_refreshed.connected_to(received, app):
        assert client.get("/private").status_code == 200
    ((sender, kwargs),) = received.calls
    assert sender is app
    token = kwargs["token"]
    assert isinstance(token, Token)
    assert token.access_token != first_access
    assert token.access_token in rocketpunch_provider.access_tokens
    assert token.refresh_token in rocketpunch_provider.refresh_tokens
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1


def test_logged_out_is_sent_once_with_the_dropped_token(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = protected_app(make_app)
    client = app.test_client()
    complete_login(client)
    (refresh_token,) = rocketpunch_provider.refresh_tokens
    received = Recorder()
    with logged_out.connected_to(received, app):
        assert client.post(LOGOUT).status_code == 303
    ((sender, kwargs),) = received.calls
    assert sender is app
    assert isinstance(kwargs["token"], Token)
    assert kwargs["token"].refresh_token == refresh_token


def test_signals_of_another_app_are_not_received(make_app: AppFactory) -> None:
    watched = protected_app(make_app)
    other = make_app()
    received = Recorder()
    with logged_in.connected_to(received, watched):
        complete_login(other.test_client())
    assert received.calls == []


# -- unauthorized handler ------------------------------------------------------


def test_default_unauthorized_answer_is_a_redirect_to_login_with_next(
    make_app: AppFactory,
) -> None:
    client = protected_app(make_app).test_client()
    response = client.get("/private?x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == f"{LOGIN}?next=/private?x%3D1"
    as_json = client.get("/private", headers={"Accept": "application/json"})
    assert as_json.status_code == 401
    assert as_json.get_json()["error"] == "login_required"


def test_unauthorized_handler_replaces_the_default_redirect(
    make_app: AppFactory,
) -> None:
    app = protected_app(make_app)
    reasons: list[ReauthorizationRequired] = []

    @extension(app).unauthorized_handler
    def please_log_in(error: ReauthorizationRequired) -> tuple[str, int]:
        reasons.append(error)
        return "Please log in first.", 401

    client = app.test_client()
    response = client.get("/private")
    assert response.status_code == 401
    assert response.get_data(as_text=True) == "Please log in first."
    assert "Location" not in response.headers
    assert len(reasons) == 1
    complete_login(client)
    assert client.get("/private").status_code == 200
