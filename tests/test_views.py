"""The three routes, end to end against the sandbox over real HTTP: login
(authorization request, state, PKCE, ``next``), callback (state checks,
provider errors, token exchange and its failures) and logout (revocation)."""

from __future__ import annotations

import json
import logging

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from support import (
    CALLBACK,
    CALLBACK_PATH,
    LOGIN,
    LOGOUT,
    AppFactory,
    app_clock,
    closed_port_url,
    consented_callback,
    credentials,
    local,
    page_text,
    protected_app,
    query_of,
    session_data,
)
from werkzeug.test import TestResponse

from flask_rocketpunch.sandbox import SandboxProvider, SandboxServer, s256
from flask_rocketpunch.testing import answer_consent, complete_login

# -- helpers -----------------------------------------------------------------


def start_login(client: FlaskClient, next_url: str | None = None) -> TestResponse:
    """``GET`` the login route; the answer must redirect to the provider."""
    args = {"next": next_url} if next_url is not None else {}
    response = client.get(LOGIN, query_string=args)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def assert_logged_out(client: FlaskClient) -> None:
    """A protected page sends this browser to log in: no token is stored."""
    response = client.get("/private")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(LOGIN)


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return protected_app(make_app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# -- login -------------------------------------------------------------------


def test_login_redirects_to_authorize_url_with_every_parameter_and_no_store(
    client: FlaskClient, rocketpunch_server: SandboxServer
) -> None:
    response = start_login(client)
    location = response.headers["Location"]
    assert location.startswith(f"{rocketpunch_server.url}/oauth/authorize?")
    params = query_of(location)
    assert params["client_id"] == credentials(client.application)[0]
    assert params["redirect_uri"] == CALLBACK
    assert params["response_type"] == "code"
    assert params["scope"] == "profile"
    assert len(params["state"]) >= 43
    assert len(params["code_challenge"]) == 43
    assert params["code_challenge_method"] == "S256"
    assert "no-store" in response.headers["Cache-Control"]


def test_every_login_gets_a_fresh_state_and_challenge(client: FlaskClient) -> None:
    seen = [query_of(start_login(client).headers["Location"]) for _ in range(3)]
    assert len({p["state"] for p in seen}) == 3
    assert len({p["code_challenge"] for p in seen}) == 3


def test_use_pkce_false_sends_no_code_challenge(make_app: AppFactory) -> None:
    client = protected_app(make_app, USE_PKCE=False).test_client()
    params = query_of(start_login(client).headers["Location"])
    assert "code_challenge" not in params
    assert "code_challenge_method" not in params
    assert params["state"]


def test_local_next_is_where_the_login_lands(client: FlaskClient) -> None:
    response = complete_login(client, next="/private?tab=2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/private?tab=2"


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/steal",
        "//evil.example/steal",
        "///evil.example/steal",
        "/\\evil.example/steal",
        "\\\\evil.example/steal",
        "/\t/evil.example/steal",
        "javascript:alert(1)",
        "evil.example/steal",
        "http:evil.example",
    ],
)
def test_next_outside_the_app_is_ignored_and_login_lands_on_login_redirect(
    make_app: AppFactory, next_url: str
) -> None:
    client = protected_app(make_app, LOGIN_REDIRECT="/welcome").test_client()
    response = complete_login(client, next=next_url)
    assert response.status_code == 302
    assert response.headers["Location"] == "/welcome"


def test_two_tabs_both_complete_in_reverse_order(client: FlaskClient) -> None:
    first_tab = consented_callback(client, "/first")
    second_tab = consented_callback(client, "/second")
    second = client.get(second_tab)
    assert second.status_code == 302
    assert second.headers["Location"] == "/second"
    first = client.get(first_tab)
    assert first.status_code == 302
    assert first.headers["Location"] == "/first"
    assert client.get("/private").status_code == 200


def test_logins_beyond_max_pending_keep_only_the_newest(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = protected_app(make_app, MAX_PENDING_LOGINS=2)
    # Several rounds: logins started within the same second must still be
    # ordered by age, whatever their keys in the cookie.
    for _ in range(8):
        client = app.test_client()
        oldest = consented_callback(client, "/one")
        middle = consented_callback(client, "/two")
        newest = consented_callback(client, "/three")

        dropped = client.get(oldest)
        assert dropped.status_code == 400, "the oldest login should be dropped"
        assert "does not match any login started in this browser" in page_text(dropped)

        assert client.get(newest).headers["Location"] == "/three"
        assert client.get(middle).headers["Location"] == "/two"
    assert rocketpunch_provider.grant_counts()["authorization_code"] == 16


def test_pending_logins_in_the_cookie_stay_bounded(
    app: Flask, client: FlaskClient
) -> None:
    for _ in range(12):
        start_login(client)
    assert len(session_data(app, client)["_rocketpunch_pending"]) == 5


def test_session_cookie_does_not_carry_the_state(
    app: Flask, client: FlaskClient
) -> None:
    state = query_of(start_login(client).headers["Location"])["state"]
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert state not in cookie.value
    data = session_data(app, client)
    assert data["_rocketpunch_pending"]
    assert state not in json.dumps(data)


# -- callback: success -------------------------------------------------------


def test_callback_stores_token_and_redirects_to_next_with_security_headers(
    client: FlaskClient,
) -> None:
    bounce = client.get("/private")
    assert bounce.status_code == 302
    assert query_of(bounce.headers["Location"]) == {"next": "/private"}

    response = complete_login(client, next="/private")
    assert response.status_code == 302
    assert response.headers["Location"] == "/private"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response.headers["Cache-Control"]
    page = client.get("/private")
    assert page.status_code == 200
    assert page_text(page) == "private page"


def test_token_in_the_session_cookie_is_not_readable(
    app: Flask, client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    complete_login(client)
    (access_token,) = rocketpunch_provider.access_tokens
    (refresh_token,) = rocketpunch_provider.refresh_tokens
    stored = json.dumps(session_data(app, client))
    assert access_token not in stored
    assert refresh_token not in stored
    assert access_token.split(".")[1] not in stored


def test_code_exchange_sends_grant_code_redirect_uri_verifier_and_credentials(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    start = start_login(client)
    challenge = query_of(start.headers["Location"])["code_challenge"]
    back = answer_consent(
        client, start.headers["Location"], decision="approve", user="minji"
    )
    code = query_of(back)["code"]
    assert client.get(local(back)).status_code == 302

    (exchange,) = rocketpunch_provider.requests_to("token")
    assert exchange.method == "POST"
    assert exchange.headers["Content-Type"].startswith(
        "application/x-www-form-urlencoded"
    )
    params = exchange.params
    client_id, secret = credentials(client.application)
    assert params["grant_type"] == "authorization_code"
    assert params["code"] == code
    assert params["redirect_uri"] == CALLBACK
    assert s256(params["code_verifier"]) == challenge
    assert params["client_id"] == client_id
    assert params["client_secret"] == secret
    assert "Authorization" not in exchange.headers
    assert exchange.status == 200


# -- callback: state ---------------------------------------------------------


def test_callback_without_state_is_400_saying_so(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    back = consented_callback(client)
    response = client.get(CALLBACK_PATH, query_string={"code": query_of(back)["code"]})
    assert response.status_code == 400
    assert "no 'state' parameter" in page_text(response)
    assert rocketpunch_provider.requests_to("token") == []


def test_callback_with_tampered_state_is_400_state_mismatch(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    params = query_of(consented_callback(client))
    params["state"] = params["state"][:-4] + "AAAA"
    response = client.get(CALLBACK_PATH, query_string=params)
    assert response.status_code == 400
    page = page_text(response)
    assert "StateMismatchError" in page
    assert "does not match any login started in this browser" in page
    assert params["code"] not in page
    assert rocketpunch_provider.requests_to("token") == []
    assert_logged_out(client)


def test_callback_with_cookie_but_no_login_in_flight_is_400(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    complete_login(client)
    assert client.get_cookie("session") is not None
    response = client.get(CALLBACK_PATH, query_string={"state": "abc", "code": "x"})
    assert response.status_code == 400
    page = page_text(response)
    assert "NoLoginInFlightError" in page
    assert "no Rocketpunch login in flight" in page
    assert rocketpunch_provider.grant_counts()["authorization_code"] == 1


def test_callback_from_a_fresh_browser_is_400_pointing_at_host_and_samesite(
    app: Flask, client: FlaskClient
) -> None:
    back = consented_callback(client)
    response = app.test_client().get(back)
    assert response.status_code == 400
    page = page_text(response)
    assert "did not send its session cookie back" in page
    assert "localhost" in page
    assert "127.0.0.1" in page
    assert "samesite" in page.lower()


def test_callback_on_127001_after_login_on_localhost_is_400_explaining_why(
    client: FlaskClient,
) -> None:
    back = consented_callback(client)
    response = client.get(back, base_url="http://127.0.0.1")
    assert response.status_code == 400
    page = page_text(response)
    assert "localhost and 127.0.0.1 are different sites" in page


def test_state_older_than_login_ttl_is_400_expired(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = protected_app(make_app, LOGIN_TTL=1)
    client = app.test_client()
    clock = app_clock(app)
    back = consented_callback(client)
    # LOGIN_TTL is stored rounded to the second, so allow half a second more.
    clock.advance(1.6)
    response = client.get(back)
    assert response.status_code == 400
    assert "expired" in page_text(response)
    assert rocketpunch_provider.requests_to("token") == []
    assert_logged_out(client)


def test_state_used_twice_is_400_the_second_time(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    back = consented_callback(client)
    assert client.get(back).status_code == 302
    again = client.get(back)
    assert again.status_code == 400
    assert rocketpunch_provider.grant_counts()["authorization_code"] == 1


def test_callback_with_valid_state_but_no_code_is_400(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    params = query_of(consented_callback(client))
    del params["code"]
    response = client.get(CALLBACK_PATH, query_string=params)
    assert response.status_code == 400
    assert "no 'code' parameter" in page_text(response)
    assert rocketpunch_provider.requests_to("token") == []
    assert_logged_out(client)


# -- callback: errors from the authorization endpoint ---------------------------


def test_deny_shows_login_cancelled_403_and_stores_nothing(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    response = complete_login(client, next="/private", decision="deny")
    assert response.status_code == 403
    assert "Location" not in response.headers
    page = page_text(response)
    assert "Login cancelled" in page
    assert 'href="/private"' not in page
    assert rocketpunch_provider.requests_to("token") == []
    assert_logged_out(client)


@pytest.mark.parametrize(
    "error",
    [
        "invalid_request",
        "unauthorized_client",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "something_new",
        "invalid_client",
    ],
)
def test_every_authorization_error_code_gets_an_error_page_not_a_500(
    client: FlaskClient, rocketpunch_provider: SandboxProvider, error: str
) -> None:
    state = query_of(start_login(client).headers["Location"])["state"]
    response = client.get(
        CALLBACK_PATH,
        query_string={
            "error": error,
            "error_description": "Explained by the provider",
            "state": state,
        },
    )
    assert 400 <= response.status_code < 600
    assert response.status_code != 500
    page = page_text(response)
    assert "Login with Rocketpunch failed" in page
    assert f"({error})" in page
    assert "Rocketpunch said: Explained by the provider" in page
    assert "Traceback" not in page
    assert rocketpunch_provider.requests_to("token") == []
    assert_logged_out(client)


def test_error_description_is_shown_escaped(client: FlaskClient) -> None:
    state = query_of(start_login(client).headers["Location"])["state"]
    response = client.get(
        CALLBACK_PATH,
        query_string={
            "error": "invalid_request",
            "error_description": "<script>alert(1)</script>",
            "state": state,
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_json_clients_get_json_errors(client: FlaskClient) -> None:
    bad_state = client.get(
        CALLBACK_PATH,
        query_string={"state": "nope", "code": "x"},
        headers={"Accept": "application/json"},
    )
    assert bad_state.status_code == 400
    assert bad_state.is_json
    body = bad_state.get_json()
    assert body["error"] == "NoLoginInFlightError"
    assert "login" in body["message"]

    state = query_of(start_login(client).headers["Location"])["state"]
    denied = client.get(
        CALLBACK_PATH,
        query_string={"error": "access_denied", "state": state},
        headers={"Accept": "application/json"},
    )
    assert denied.status_code == 403
    assert denied.get_json()["error"] == "access_denied"


# -- callback: the token exchange fails ------------------------------------------


def test_replayed_code_is_invalid_grant_400_and_nothing_is_stored(
    app: Flask, client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    back = consented_callback(client)
    code = query_of(back)["code"]
    assert client.get(back).status_code == 302

    attacker = app.test_client()
    state = query_of(start_login(attacker).headers["Location"])["state"]
    response = attacker.get(CALLBACK_PATH, query_string={"code": code, "state": state})
    assert response.status_code == 400
    page = page_text(response)
    assert "invalid_grant" in page
    assert code not in page
    assert rocketpunch_provider.requests_to("token")[-1].status == 400
    assert_logged_out(attacker)


FAULTS: list[tuple[str, object, int]] = [
    ("token_status", 500, 502),
    ("token_status", 503, 502),
    ("token_delay", 30.0, 504),  # far longer than the test may wait
    ("token_malformed", True, 502),
    ("token_wrong_content_type", True, 502),
    ("token_missing_fields", ("access_token",), 502),
    ("token_missing_fields", ("expires_in",), 502),
    ("token_type_override", "mac", 502),
    ("token_huge", True, 502),
]


@pytest.mark.parametrize(("fault", "value", "status"), FAULTS)
def test_token_endpoint_fault_gives_error_page_and_stores_nothing(
    make_app: AppFactory,
    rocketpunch_provider: SandboxProvider,
    fault: str,
    value: object,
    status: int,
) -> None:
    app = protected_app(make_app, TIMEOUT=0.5)
    client = app.test_client()
    back = consented_callback(client)
    code = query_of(back)["code"]
    setattr(rocketpunch_provider.faults, fault, value)
    response = client.get(back)
    assert response.status_code == status
    if fault == "token_delay":
        # The app gave up before the provider answered.
        assert rocketpunch_provider.requests_to("token")[-1].status is None
    page = page_text(response)
    assert "Login with Rocketpunch failed" in page
    assert "ProviderError" in page
    assert credentials(app)[1] not in page
    assert code not in page
    rocketpunch_provider.faults.reset()
    assert_logged_out(client)


def test_unreachable_token_endpoint_gives_502_and_stores_nothing(
    make_app: AppFactory,
) -> None:
    app = protected_app(make_app, TOKEN_URL=closed_port_url())
    client = app.test_client()
    back = consented_callback(client)
    response = client.get(back)
    assert response.status_code == 502
    page = page_text(response)
    assert "could not be reached" in page
    assert credentials(app)[1] not in page
    assert query_of(back)["code"] not in page
    assert_logged_out(client)


def test_invalid_client_at_token_endpoint_is_an_error_page_naming_the_keys(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = protected_app(make_app)
    client = app.test_client()
    client_id, secret = credentials(app)
    back = consented_callback(client)
    rocketpunch_provider.register_client(client_id, "another-secret", CALLBACK)
    response = client.get(back)
    page = page_text(response)
    assert response.status_code >= 400
    assert "ROCKETPUNCH_CLIENT_SECRET" in page
    assert secret not in page
    assert_logged_out(client)


# -- logout ------------------------------------------------------------------


def test_logout_revokes_the_refresh_token_drops_the_token_and_redirects(
    client: FlaskClient,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_server: SandboxServer,
) -> None:
    complete_login(client)
    (refresh_token,) = rocketpunch_provider.refresh_tokens
    assert client.get("/private").status_code == 200

    response = client.post(LOGOUT)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert "no-store" in response.headers["Cache-Control"]
    (revoke,) = rocketpunch_provider.requests_to("revoke")
    assert revoke.params["token"] == refresh_token
    assert revoke.params["token_type_hint"] == "refresh_token"
    assert revoke.status == 200
    assert rocketpunch_provider.refresh_tokens[refresh_token].revoked

    client_id, secret = credentials(client.application)
    refresh = requests.post(
        f"{rocketpunch_server.url}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": secret,
        },
        timeout=5,
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
    assert_logged_out(client)


@pytest.mark.parametrize(
    ("next_url", "location"),
    [("/bye?x=1", "/bye?x=1"), ("//evil.example", "/"), ("https://evil.example", "/")],
)
def test_logout_goes_to_a_safe_next_only(
    client: FlaskClient, next_url: str, location: str
) -> None:
    complete_login(client)
    response = client.post(LOGOUT, data={"next": next_url})
    assert response.status_code == 303
    assert response.headers["Location"] == location


def test_logout_by_get_is_405(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    complete_login(client)
    assert client.get(LOGOUT).status_code == 405
    assert rocketpunch_provider.requests_to("revoke") == []
    assert client.get("/private").status_code == 200


def test_logout_with_revoke_endpoint_down_still_logs_out_and_warns(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = protected_app(make_app, REVOKE_URL=closed_port_url()).test_client()
    complete_login(client)
    with caplog.at_level(logging.WARNING, logger="flask_rocketpunch"):
        response = client.post(LOGOUT)
    assert response.status_code == 303
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("Revoking the refresh token failed" in m for m in warnings)
    assert_logged_out(client)


def test_logout_with_revoke_url_none_makes_no_revocation_call(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    client = protected_app(make_app, REVOKE_URL=None).test_client()
    complete_login(client)
    response = client.post(LOGOUT)
    assert response.status_code == 303
    assert rocketpunch_provider.requests_to("revoke") == []
    assert_logged_out(client)


def test_logout_also_forgets_logins_in_flight(app: Flask, client: FlaskClient) -> None:
    complete_login(client)
    back = consented_callback(client)
    assert client.post(LOGOUT).status_code == 303
    if client.get_cookie("session") is not None:
        assert "_rocketpunch_pending" not in session_data(app, client)
    assert client.get(back).status_code == 400
