"""Values from a request or a provider reach the log only neutralised: no
record can be forged (newline, carriage return, Unicode line separators), no
terminal is driven (ANSI escapes), no line is flooded, and no secret (code,
state, token, verifier, client secret) is written, whatever the callback or
the provider sends."""

from __future__ import annotations

import logging
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import (
    CALLBACK_PATH,
    LOGIN,
    SECRET_KEY,
    WANTS_JSON,
    AppFactory,
    StubProvider,
    credentials,
    protected_app,
    query_of,
)

from flask_rocketpunch.crypto import pkce_verifier

#: Text built to forge records, drive terminals or flood lines.
HOSTILE = [
    "forged\nERROR:flask_rocketpunch:admin logged in",
    "forged\r\x1b[2K\x1b[31mcleared line",
    "forged\u2028line\u2029paragraph\x85next line\x0bvt\x0cff",
    "forged\x00nul\x7fdel\x1b]0;title\x07",
    "forged" + "\n" * 3 + "x" * 20_000,
]
#: What a stub token endpoint hands out; these must never be logged.
ACCESS = "access-SECRET-a1b2c3d4e5"
REFRESH = "refresh-SECRET-f6g7h8i9j0"
CODE = "code-SECRET-k1l2m3n4o5"
#: A message longer than this floods the log.
LONGEST_LINE = 2_000


class Logged:
    """Every record of every logger, checked for forgery and secrets."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self.secrets: list[str] = []

    def check(self) -> list[str]:
        messages = [record.getMessage() for record in self.caplog.records]
        for message in messages:
            bad = [c for c in message if not c.isprintable()]
            assert not bad, (bad[:5], message[:300])
            assert len(message) <= LONGEST_LINE, message[:300]
            for secret in self.secrets:
                assert secret not in message, (secret, message[:300])
        return messages


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Logged:
    caplog.set_level(logging.DEBUG)
    return Logged(caplog)


def start_login(browser: FlaskClient, logged: Logged) -> str:
    """Start a login; return its state (remembered as a secret)."""
    state = query_of(browser.get(LOGIN).headers["Location"])["state"]
    logged.secrets += [state, pkce_verifier(SECRET_KEY, state)]
    return state


def stub_app(make_app: AppFactory, stub: StubProvider) -> Flask:
    """The protected test app with its token endpoint on ``stub``."""
    app = protected_app(make_app, TOKEN_URL=f"{stub.url}/oauth/token")
    return app


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    "param", ["state", "code", "error", "error_description", "error_uri", "iss"]
)
def test_each_callback_parameter_is_neutralised_in_the_log(
    make_app: AppFactory, logged: Logged, param: str, value: str
) -> None:
    app = protected_app(make_app)
    logged.secrets.append(credentials(app)[1])
    browser = app.test_client()
    state = start_login(browser, logged)
    query = {"state": state, "code": CODE}
    if param.startswith("error"):
        query = {"state": state, "error": "access_denied"}
    query[param] = value

    answer = browser.get(CALLBACK_PATH, query_string=query, headers=WANTS_JSON)

    assert answer.status_code in (400, 403)
    messages = logged.check()
    assert any("Login failed" in m for m in messages)
    if param == "error":
        # The provider's text is in the log, neutralised, not dropped.
        assert any("forged" in m for m in messages)


@pytest.mark.parametrize("value", HOSTILE)
def test_the_token_endpoints_error_fields_are_neutralised_in_the_log(
    make_app: AppFactory, stub_provider: StubProvider, logged: Logged, value: str
) -> None:
    app = stub_app(make_app, stub_provider)
    logged.secrets.append(credentials(app)[1])
    browser = app.test_client()
    stub_provider.token(
        400, {"error": value, "error_description": value, "error_uri": value}
    )
    state = start_login(browser, logged)

    answer = browser.get(
        CALLBACK_PATH, query_string={"state": state, "code": CODE}, headers=WANTS_JSON
    )

    assert answer.status_code == 400
    messages = logged.check()
    assert any("OAuth error forged" in m for m in messages)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_token_answer_with_hostile_fields_is_neutralised_in_the_log(
    make_app: AppFactory, stub_provider: StubProvider, logged: Logged, value: str
) -> None:
    app = stub_app(make_app, stub_provider)
    logged.secrets += [credentials(app)[1], ACCESS, REFRESH, CODE]
    browser = app.test_client()
    token: dict[str, t.Any] = {
        "access_token": ACCESS,
        "refresh_token": REFRESH,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": f"profile {value}",
    }
    for field in ("token_type", "expires_in", "scope"):
        stub_provider.token(200, {**token, field: value})
        state = start_login(browser, logged)
        answer = browser.get(
            CALLBACK_PATH,
            query_string={"state": state, "code": CODE},
            headers=WANTS_JSON,
        )
        assert answer.status_code < 500 or answer.status_code == 502, field
    logged.check()


@pytest.mark.parametrize("value", HOSTILE)
def test_a_refresh_rejected_with_hostile_fields_is_neutralised_in_the_log(
    make_app: AppFactory, stub_provider: StubProvider, logged: Logged, value: str
) -> None:
    # Tokens that live less than the refresh leeway: the next request refreshes.
    app = stub_app(make_app, stub_provider)
    logged.secrets += [credentials(app)[1], ACCESS, REFRESH, CODE]
    browser = app.test_client()
    stub_provider.token(
        200,
        {
            "access_token": ACCESS,
            "refresh_token": REFRESH,
            "token_type": "Bearer",
            "expires_in": 10,
            "scope": "profile",
        },
    )
    state = start_login(browser, logged)
    landed = browser.get(CALLBACK_PATH, query_string={"state": state, "code": CODE})
    assert landed.status_code == 302

    for error in ("invalid_grant", value):
        stub_provider.token(
            400, {"error": error, "error_description": value, "error_uri": value}
        )
        answer = browser.get("/private", headers=WANTS_JSON)
        assert answer.status_code in (400, 401), answer.get_data(as_text=True)
        if error == "invalid_grant":
            # The login ended; log in again for the second round.
            stub_provider.token(
                200,
                {
                    "access_token": ACCESS,
                    "refresh_token": REFRESH,
                    "token_type": "Bearer",
                    "expires_in": 10,
                },
            )
            state = start_login(browser, logged)
            browser.get(CALLBACK_PATH, query_string={"state": state, "code": CODE})
    messages = logged.check()
    assert any("The refresh token was rejected (invalid_grant)" in m for m in messages)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_host_header_is_neutralised_in_the_log(
    make_app: AppFactory, logged: Logged, value: str
) -> None:
    # Without ROCKETPUNCH_REDIRECT_URI the redirect URI follows the request's
    # host, and a plain-http public host is warned about with the URI in it.
    app = protected_app(make_app, REDIRECT_URI=None)
    host = "example.com" + value[:300]
    app.test_client().get(LOGIN, environ_overrides={"HTTP_HOST": host})
    messages = logged.check()
    assert any("plain http://" in m for m in messages)
