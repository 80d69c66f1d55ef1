"""No client secret, code, PKCE verifier or token ever reaches the logs, at
any level, in our records, the libraries' ones, or the server's request lines."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask.testing import FlaskClient
from support import (
    LOGIN,
    SECRET_KEY,
    WANTS_JSON,
    AppFactory,
    credentials,
    local,
    log_in_over_http,
    newest_access_token,
    protected_app,
    query_of,
    register_served_app,
)

from flask_rocketpunch.crypto import pkce_verifier
from flask_rocketpunch.sandbox import SandboxProvider, SandboxServer
from flask_rocketpunch.testing import answer_consent, complete_login


class Dance:
    """Runs logins step by step and remembers every state it saw."""

    def __init__(self, browser: FlaskClient) -> None:
        self.browser = browser
        self.states: list[str] = []

    def to_callback(self) -> str:
        """Start a login and consent; return the callback URL (not visited)."""
        start = self.browser.get(LOGIN)
        authorize_url = start.headers["Location"]
        self.states.append(query_of(authorize_url)["state"])
        return answer_consent(
            self.browser, authorize_url, decision="approve", user="minji"
        )

    def verifiers(self) -> list[str]:
        return [pkce_verifier(SECRET_KEY, state) for state in self.states]


def secrets_in(provider: SandboxProvider, dance: Dance) -> list[str]:
    found = [
        credentials(dance.browser.application)[1],
        *provider.codes,
        *provider.access_tokens,
        *provider.refresh_tokens,
        *dance.verifiers(),
    ]
    assert len(found) >= 8
    return found


def assert_no_secret_logged(
    caplog: pytest.LogCaptureFixture,
    secrets: list[str],
    *,
    browser_origin: str | None = None,
) -> None:
    """No record carries a secret. ``browser_origin``: urllib3 lines about
    requests to it come from the test's own browser, not from the app."""
    checked = 0
    for record in caplog.records:
        message = record.getMessage()
        if (
            browser_origin is not None
            and record.name.startswith("urllib3")
            and message.startswith(browser_origin)
        ):
            continue
        checked += 1
        args = str(record.args)
        for secret in secrets:
            assert secret not in message, (record.name, message)
            assert secret not in args, (record.name, args)
            if record.exc_info:
                formatted = logging.Formatter().formatException(record.exc_info)
                assert secret not in formatted, (record.name, formatted)
    assert checked > 0


def test_login_api_refresh_failures_and_logout_log_no_secret(
    make_app: AppFactory,
    rocketpunch_provider: SandboxProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    app = protected_app(make_app)
    browser = app.test_client()
    dance = Dance(browser)

    # A full login, then an API call.
    assert browser.get(local(dance.to_callback())).status_code == 302
    assert browser.get("/posts").status_code == 200

    # A forced refresh: the API rejects the access token, the client refreshes.
    rocketpunch_provider.revoke(newest_access_token(rocketpunch_provider))
    assert browser.get("/posts").status_code == 200
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1

    # A callback whose state was tampered with.
    back = dance.to_callback()
    forged = urlencode({"code": query_of(back)["code"], "state": "forged-state"})
    bad_state = browser.get(f"{urlsplit(back).path}?{forged}", headers=WANTS_JSON)
    assert bad_state.status_code == 400

    # A callback whose code exchange fails at the token endpoint.
    callback = dance.to_callback()
    rocketpunch_provider.faults.token_status = 503
    failed = browser.get(local(callback), headers=WANTS_JSON)
    assert failed.status_code == 502
    rocketpunch_provider.faults.token_status = 400
    rejected = browser.get(local(dance.to_callback()), headers=WANTS_JSON)
    assert rejected.status_code == 400
    rocketpunch_provider.faults.reset()

    # Logout revokes the refresh token.
    assert browser.post("/auth/rocketpunch/logout").status_code == 303
    assert len(rocketpunch_provider.requests_to("revoke")) == 1

    ours = [r.getMessage() for r in caplog.records if r.name == "flask_rocketpunch"]
    assert any("Login completed" in m for m in ours)
    assert any("refreshing once" in m for m in ours)
    assert sum("Login failed" in m for m in ours) == 3
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert len(dance.states) == 4
    assert_no_secret_logged(caplog, secrets_in(rocketpunch_provider, dance))


def test_werkzeug_request_line_of_the_callback_has_the_code_redacted(
    make_app: AppFactory,
    rocketpunch_provider: SandboxProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    app = make_app()
    with SandboxServer(app, quiet=False) as served, requests.Session() as http:
        register_served_app(app, rocketpunch_provider, served.url)
        origin = served.url
        steps = log_in_over_http(http, served.url)
        state = query_of(steps.authorize_url)["state"]
        code = query_of(steps.callback_url)["code"]
        assert steps.landed.status_code == 302
        assert steps.landed.headers["Location"] == "/"

    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    (callback_line,) = [m for m in lines if "/auth/rocketpunch/callback" in m]
    assert "code=[redacted]" in callback_line
    assert "state=[redacted]" in callback_line
    assert state not in callback_line
    assert '" 302 ' in callback_line
    secrets = [
        code,
        credentials(app)[1],
        pkce_verifier(SECRET_KEY, state),
        *rocketpunch_provider.access_tokens,
        *rocketpunch_provider.refresh_tokens,
    ]
    assert_no_secret_logged(caplog, secrets, browser_origin=origin)


def test_tokens_shorter_than_the_leeway_log_one_warning_saying_what_to_change(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # The sandbox's tokens live 900 seconds: a 1000-second leeway means every
    # request refreshes, which the developer should hear about once.
    app = make_app(REFRESH_LEEWAY=1000)
    caplog.set_level(logging.WARNING, logger="flask_rocketpunch")
    complete_login(app.test_client())
    complete_login(app.test_client())
    warnings = [r for r in caplog.records if "REFRESH_LEEWAY" in r.getMessage()]
    assert len(warnings) == 1
    assert "lives 900 seconds" in warnings[0].getMessage()


def test_tokens_longer_than_the_leeway_log_no_warning(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    caplog.set_level(logging.WARNING, logger="flask_rocketpunch")
    complete_login(app.test_client())
    assert not [r for r in caplog.records if "REFRESH_LEEWAY" in r.getMessage()]


def test_provider_text_in_a_log_line_cannot_forge_a_record(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    browser = make_app().test_client()
    start = browser.get("/auth/rocketpunch/login")
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    forged = "odd\nERROR:flask_rocketpunch:forged\r\x1b[2Krecord"

    with caplog.at_level(logging.INFO, logger="flask_rocketpunch"):
        answer = browser.get(
            "/auth/rocketpunch/callback", query_string={"state": state, "error": forged}
        )

    assert answer.status_code == 400
    lines = [record.getMessage() for record in caplog.records]
    assert any("forged" in line for line in lines)
    assert not any(c in line for line in lines for c in "\n\r\x1b")
