"""No client secret, code, PKCE verifier or token ever reaches the logs, at
any level, in our records, the libraries' ones, or the server's request lines."""

from __future__ import annotations

import logging
import typing as t
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests
from dance import (
    CLIENT_ID,
    CLIENT_SECRET,
    SECRET_KEY,
    AppFactory,
    consent,
    login,
    parse_form,
)
from flask.testing import FlaskClient

from flask_rocketpunch import login_required_rocketpunch, rocketpunch
from flask_rocketpunch.crypto import pkce_verifier
from flask_rocketpunch.sandbox import SandboxProvider, SandboxServer

WANTS_JSON = {"Accept": "application/json"}


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


class Dance:
    """Runs logins step by step and remembers every state it saw."""

    def __init__(self, browser: FlaskClient) -> None:
        self.browser = browser
        self.states: list[str] = []

    def to_callback(self) -> str:
        """Start a login and consent; return the callback URL (not visited)."""
        start = self.browser.get("/auth/rocketpunch/login")
        authorize_url = start.headers["Location"]
        self.states.append(parse_qs(urlsplit(authorize_url).query)["state"][0])
        return consent(self.browser, authorize_url)

    def verifiers(self) -> list[str]:
        return [pkce_verifier(SECRET_KEY, state) for state in self.states]


def secrets_in(provider: SandboxProvider, dance: Dance) -> list[str]:
    found = [
        CLIENT_SECRET,
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
    provider: SandboxProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    app = make_app()

    @app.get("/posts")
    @login_required_rocketpunch
    def posts() -> t.Any:
        return {"total": rocketpunch.get("posts").json()["totalItems"]}

    browser = app.test_client()
    dance = Dance(browser)

    # A full login, then an API call.
    assert browser.get(local(dance.to_callback())).status_code == 302
    assert browser.get("/posts").status_code == 200

    # A forced refresh: the API rejects the access token, the client refreshes.
    provider.revoke(list(provider.access_tokens)[-1])
    assert browser.get("/posts").status_code == 200
    assert provider.grant_counts()["refresh_token"] == 1

    # A callback whose state was tampered with.
    back = urlsplit(dance.to_callback())
    query = parse_qs(back.query)
    forged = urlencode({"code": query["code"][0], "state": "forged-state"})
    bad_state = browser.get(f"{back.path}?{forged}", headers=WANTS_JSON)
    assert bad_state.status_code == 400

    # A callback whose code exchange fails at the token endpoint.
    callback = dance.to_callback()
    provider.faults.token_status = 503
    failed = browser.get(local(callback), headers=WANTS_JSON)
    assert failed.status_code == 502
    provider.faults.token_status = 400
    rejected = browser.get(local(dance.to_callback()), headers=WANTS_JSON)
    assert rejected.status_code == 400
    provider.faults.reset()

    # Logout revokes the refresh token.
    assert browser.post("/auth/rocketpunch/logout").status_code == 303
    assert len(provider.requests_to("revoke")) == 1

    ours = [r.getMessage() for r in caplog.records if r.name == "flask_rocketpunch"]
    assert any("Login completed" in m for m in ours)
    assert any("refreshing once" in m for m in ours)
    assert sum("Login failed" in m for m in ours) == 3
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert len(dance.states) == 4
    assert_no_secret_logged(caplog, secrets_in(provider, dance))


def test_werkzeug_request_line_of_the_callback_has_the_code_redacted(
    make_app: AppFactory,
    provider: SandboxProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    app = make_app()
    with SandboxServer(app, quiet=False) as served:
        provider.register_client(
            CLIENT_ID, CLIENT_SECRET, f"{served.url}/auth/rocketpunch/callback"
        )
        origin = served.url
        http = requests.Session()
        start = http.get(
            f"{served.url}/auth/rocketpunch/login", allow_redirects=False, timeout=5
        )
        authorize_url = start.headers["Location"]
        state = parse_qs(urlsplit(authorize_url).query)["state"][0]
        page = http.get(authorize_url, timeout=5)
        action, fields = parse_form(page.text)
        fields["decision"] = "approve"
        decided = http.post(
            urljoin(authorize_url, action),
            data=fields,
            allow_redirects=False,
            timeout=5,
        )
        callback = decided.headers["Location"]
        code = parse_qs(urlsplit(callback).query)["code"][0]
        landed = http.get(callback, allow_redirects=False, timeout=5)
        assert landed.status_code == 302
        assert landed.headers["Location"] == "/"

    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    (callback_line,) = [m for m in lines if "/auth/rocketpunch/callback" in m]
    assert "code=[redacted]" in callback_line
    assert '" 302 ' in callback_line
    secrets = [
        code,
        CLIENT_SECRET,
        pkce_verifier(SECRET_KEY, state),
        *provider.access_tokens,
        *provider.refresh_tokens,
    ]
    assert_no_secret_logged(caplog, secrets, browser_origin=origin)


def test_tokens_shorter_than_the_leeway_log_one_warning_saying_what_to_change(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # The sandbox's tokens live 900 seconds: a 1000-second leeway means every
    # request refreshes, which the developer should hear about once.
    app = make_app(REFRESH_LEEWAY=1000)
    caplog.set_level(logging.WARNING, logger="flask_rocketpunch")
    login(app.test_client())
    login(app.test_client())
    warnings = [r for r in caplog.records if "REFRESH_LEEWAY" in r.getMessage()]
    assert len(warnings) == 1
    assert "lives 900 seconds" in warnings[0].getMessage()


def test_tokens_longer_than_the_leeway_log_no_warning(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    caplog.set_level(logging.WARNING, logger="flask_rocketpunch")
    login(app.test_client())
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
