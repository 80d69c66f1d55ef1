"""Fault injection on every outgoing call: the code exchange at the callback,
the refresh inside a protected view, API and userinfo calls, and the
revocation at logout.

Each fault (connection refused, timeout, 5xx, a body that is not JSON, a wrong
content type, missing fields, a token type other than Bearer, a very large
answer) must end in a clear error page with a 5xx status of its own (never a
bare 500), nothing stored, and no secret (client secret, code, verifier,
access or refresh token) in the page or in the logs at DEBUG level.
"""

from __future__ import annotations

import collections.abc as cabc
import json
import logging
import time
import typing as t

import pytest
from support import (
    LOGOUT,
    AppFactory,
    StubProvider,
    app_clock,
    consented_callback,
    protected_app,
    query_of,
    sealed_token,
)
from werkzeug.test import TestResponse

from flask_rocketpunch.sandbox import SandboxProvider, SandboxServer
from flask_rocketpunch.testing import complete_login

#: Small enough to keep the suite fast, large enough for a loaded machine.
TIMEOUT = 0.5
#: How long a "hanging" endpoint sleeps: well past TIMEOUT.
HANG = 1.5
#: How long the stub's revocation endpoint holds its answer (the stub lets
#: go at the end of the test): far longer than a logout may take.
REVOKE_HANG = 60.0
SECRET_PARAMS = ("code", "code_verifier", "client_secret", "refresh_token", "token")

Fault = cabc.Callable[[SandboxProvider, SandboxServer], None]


def _stop(provider: SandboxProvider, server: SandboxServer) -> None:
    server.stop()


def _set(**switches: t.Any) -> Fault:
    def apply(provider: SandboxProvider, server: SandboxServer) -> None:
        for name, value in switches.items():
            setattr(provider.faults, name, value)

    return apply


#: Faults of the token endpoint, with the status and the words of the page.
TOKEN_FAULTS: dict[str, tuple[Fault, int, str]] = {
    "connection refused": (_stop, 502, "could not be reached"),
    "timeout": (_set(token_delay=HANG), 504, "did not answer within"),
    "HTTP 500": (_set(token_status=500), 502, "answered HTTP 500"),
    "HTTP 502": (_set(token_status=502), 502, "answered HTTP 502"),
    "HTTP 503": (_set(token_status=503), 502, "answered HTTP 503"),
    "not JSON": (_set(token_malformed=True), 502, "not valid JSON"),
    "wrong content type": (
        _set(token_wrong_content_type=True),
        502,
        "instead of JSON",
    ),
    "no access_token": (
        _set(token_missing_fields=("access_token",)),
        502,
        "access_token",
    ),
    "no token_type": (_set(token_missing_fields=("token_type",)), 502, "token_type"),
    "no expires_in": (_set(token_missing_fields=("expires_in",)), 502, "expires_in"),
    "token_type mac": (_set(token_type_override="mac"), 502, "Bearer"),
    "very large": (_set(token_huge=True), 502, "larger than"),
}


def known_secrets(provider: SandboxProvider) -> set[str]:
    """Every secret the provider saw or issued, and the client secrets."""
    found = {client.client_secret for client in provider.clients.values()}
    found.update(provider.codes)
    found.update(provider.access_tokens)
    found.update(provider.refresh_tokens)
    for recorded in provider.requests:
        for name in SECRET_PARAMS:
            value = recorded.params.get(name)
            if value:
                found.add(value)
        bearer = recorded.headers.get("Authorization", "")
        if bearer.startswith("Bearer "):
            found.add(bearer[len("Bearer ") :])
    return {secret for secret in found if len(secret) >= 8}


def assert_no_secret(
    provider: SandboxProvider,
    response: TestResponse,
    caplog: pytest.LogCaptureFixture,
    extra: cabc.Iterable[str] = (),
) -> None:
    body = response.get_data(as_text=True)
    logs = caplog.text + "".join(repr(r.args) for r in caplog.records)
    for secret in known_secrets(provider) | set(extra):
        assert secret not in body, "a secret is shown in the page"
        assert secret not in logs, "a secret is written to the logs"


def assert_clear_error(response: TestResponse, status: int, words: str) -> str:
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:2000]
    assert words in body.replace("&#39;", "'"), body[:2000]
    assert "Traceback" not in body
    assert len(body) < 20_000
    return body


@pytest.fixture(autouse=True)
def debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


# -- the code exchange at the callback ---------------------------------------


@pytest.mark.parametrize("fault", list(TOKEN_FAULTS))
def test_code_exchange_fault_gives_a_clear_error_and_stores_nothing(
    make_app: AppFactory,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_server: SandboxServer,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    apply, status, words = TOKEN_FAULTS[fault]
    app = make_app(TIMEOUT=TIMEOUT)
    client = app.test_client()
    back = consented_callback(client)
    code = query_of(back)["code"]
    apply(rocketpunch_provider, rocketpunch_server)

    response = client.get(back)

    body = assert_clear_error(response, status, words)
    assert "Login with Rocketpunch failed" in body
    assert "ProviderError" in body
    assert response.headers["Cache-Control"] == "no-store"
    assert sealed_token(client) is None
    assert_no_secret(rocketpunch_provider, response, caplog, extra=[code])


# -- the refresh inside a protected view --------------------------------------


@pytest.mark.parametrize("fault", list(TOKEN_FAULTS))
def test_refresh_fault_of_an_expired_token_gives_a_clear_error_and_keeps_it(
    make_app: AppFactory,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_server: SandboxServer,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    apply, status, words = TOKEN_FAULTS[fault]
    app = protected_app(make_app, TIMEOUT=TIMEOUT)
    client = app.test_client()
    assert complete_login(client).status_code == 302
    before = sealed_token(client)
    # The token's 900 seconds are over, as far as the app can tell.
    app_clock(app).advance(1000)
    apply(rocketpunch_provider, rocketpunch_server)

    response = client.get("/me")

    assert_clear_error(response, status, words)
    assert "ProviderError" in response.get_data(as_text=True)
    # Nothing new stored, and a passing failure does not log the user out.
    assert sealed_token(client) == before
    assert_no_secret(rocketpunch_provider, response, caplog)


@pytest.mark.parametrize("fault", ["HTTP 500", "HTTP 503", "timeout"])
def test_refresh_fault_of_a_still_valid_token_keeps_serving_with_it(
    make_app: AppFactory,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_server: SandboxServer,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    apply, _status, _words = TOKEN_FAULTS[fault]
    # The token is always due (leeway over its lifetime) but not expired.
    app = protected_app(make_app, TIMEOUT=TIMEOUT, REFRESH_LEEWAY=1000)
    client = app.test_client()
    assert complete_login(client).status_code == 302
    before = sealed_token(client)
    apply(rocketpunch_provider, rocketpunch_server)

    response = client.get("/me")

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["preferred_username"] == "minji"
    assert sealed_token(client) == before
    assert "still valid" in caplog.text
    assert_no_secret(rocketpunch_provider, response, caplog)


@pytest.mark.parametrize(
    "fault", ["not JSON", "wrong content type", "no access_token", "very large"]
)
def test_refresh_answer_lost_after_rotation_sends_the_user_to_log_in(
    make_app: AppFactory,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_server: SandboxServer,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    # The provider rotated the refresh token but its answer was unusable: the
    # old refresh token is spent, so the user logs in again; never a 500.
    apply, _status, _words = TOKEN_FAULTS[fault]
    app = protected_app(make_app, TIMEOUT=TIMEOUT, REFRESH_LEEWAY=1000)
    client = app.test_client()
    assert complete_login(client).status_code == 302
    apply(rocketpunch_provider, rocketpunch_server)

    first = client.get("/me")
    rocketpunch_provider.faults.reset()
    second = client.get("/me")

    for response in (first, second):
        assert response.status_code in (200, 302), response.get_data(as_text=True)
        assert_no_secret(rocketpunch_provider, response, caplog)
    assert second.status_code == 302
    assert second.headers["Location"].startswith("/auth/rocketpunch/login")
    assert sealed_token(client) is None


# -- userinfo and API calls ---------------------------------------------------


HUGE_CLAIMS = json.dumps({"sub": "minji", "padding": "x" * 5_000_000}).encode()

#: What a misbehaving userinfo endpoint answers: status, content type, body,
#: and the words of the page.
USERINFO_ANSWERS: dict[str, tuple[int, str, bytes, str]] = {
    "HTTP 500": (500, "text/html", b"<h1>oops</h1>", "500"),
    "HTTP 503": (503, "application/json", b"{}", "503"),
    "not JSON": (200, "application/json", b"<html>maintenance</html>", "JSON"),
    "JSON but not an object": (200, "application/json", b"[1, 2]", "JSON"),
    "wrong content type": (200, "text/html", b'{"sub": "minji"}', "JSON"),
    "very large": (200, "application/json", HUGE_CLAIMS, "large"),
}


@pytest.mark.parametrize("answer", list(USERINFO_ANSWERS))
def test_userinfo_misbehaving_gives_a_clear_error(
    make_app: AppFactory,
    rocketpunch_provider: SandboxProvider,
    stub_provider: StubProvider,
    caplog: pytest.LogCaptureFixture,
    answer: str,
) -> None:
    app = protected_app(make_app, USERINFO_URL=f"{stub_provider.url}/oauth/userinfo")
    client = app.test_client()
    assert complete_login(client).status_code == 302
    before = sealed_token(client)
    status, content_type, body, words = USERINFO_ANSWERS[answer]
    stub_provider.answer("/oauth/userinfo", status, body, content_type=content_type)

    response = client.get("/me")

    page = response.get_data(as_text=True)
    assert response.status_code == 502, page[:500]
    assert words in page, page[:500]
    assert "Traceback" not in page
    assert sealed_token(client) == before
    assert_no_secret(rocketpunch_provider, response, caplog)


#: Faults of userinfo and the API: fault, status, words of the page.
API_FAULTS: dict[str, tuple[Fault, int, str]] = {
    "connection refused": (_stop, 502, "could not be reached"),
    "timeout": (_set(timeout=True, timeout_delay=HANG), 504, "did not answer within"),
    "HTTP 500": (_set(userinfo_status=500, api_status=500), 502, "500"),
    "HTTP 503": (_set(userinfo_status=503, api_status=503), 502, "503"),
    "rate limited": (_set(rate_limit_retry_after=7), 429, "retry after 7"),
}


@pytest.mark.parametrize("path", ["/me", "/posts"])
@pytest.mark.parametrize("fault", list(API_FAULTS))
def test_api_and_userinfo_fault_gives_a_clear_error_and_keeps_the_token(
    make_app: AppFactory,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_server: SandboxServer,
    caplog: pytest.LogCaptureFixture,
    fault: str,
    path: str,
) -> None:
    apply, status, words = API_FAULTS[fault]
    app = protected_app(make_app, TIMEOUT=TIMEOUT)
    client = app.test_client()
    assert complete_login(client).status_code == 302
    assert client.get(path).status_code == 200
    before = sealed_token(client)
    apply(rocketpunch_provider, rocketpunch_server)

    response = client.get(path)

    assert_clear_error(response, status, words)
    if fault == "rate limited":
        assert response.headers["Retry-After"] == "7"
    assert sealed_token(client) == before
    assert_no_secret(rocketpunch_provider, response, caplog)


# -- the revocation at logout -------------------------------------------------


#: How a misbehaving revocation endpoint answers: status and delay.
REVOKE_FAULTS: dict[str, tuple[int, float]] = {
    "HTTP 500": (500, 0.0),
    "HTTP 503": (503, 0.0),
    "HTTP 400": (400, 0.0),
    "timeout": (200, REVOKE_HANG),
}


@pytest.mark.parametrize("fault", [*REVOKE_FAULTS, "connection refused"])
def test_revocation_fault_never_blocks_the_logout(
    make_app: AppFactory,
    rocketpunch_provider: SandboxProvider,
    stub_provider: StubProvider,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    app = protected_app(
        make_app, TIMEOUT=TIMEOUT, REVOKE_URL=f"{stub_provider.url}/oauth/revoke"
    )
    client = app.test_client()
    assert complete_login(client).status_code == 302
    if fault == "connection refused":
        stub_provider.stop()
    else:
        status, delay = REVOKE_FAULTS[fault]
        stub_provider.answer(
            "/oauth/revoke",
            status,
            b"<html>down</html>",
            content_type="application/json",
            delay=delay,
        )
    started = time.monotonic()

    response = client.post(LOGOUT)

    # It did not wait for the provider (a bound that holds on a loaded machine).
    assert time.monotonic() - started < REVOKE_HANG / 2
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert sealed_token(client) is None
    assert "Revoking the refresh token failed" in caplog.text
    assert client.get("/me").status_code == 302
    assert_no_secret(rocketpunch_provider, response, caplog)


def test_logout_revokes_the_refresh_token(
    make_app: AppFactory,
    rocketpunch_provider: SandboxProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = protected_app(make_app)
    client = app.test_client()
    assert complete_login(client).status_code == 302
    (refresh_token,) = rocketpunch_provider.refresh_tokens

    response = client.post(LOGOUT)

    assert response.status_code == 303
    (revocation,) = rocketpunch_provider.requests_to("revoke")
    assert revocation.params["token"] == refresh_token
    assert revocation.params["token_type_hint"] == "refresh_token"
    assert rocketpunch_provider.refresh_tokens[refresh_token].revoked
    assert_no_secret(rocketpunch_provider, response, caplog)
