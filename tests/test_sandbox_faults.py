"""The sandbox's fault switches, and reset."""

from __future__ import annotations

import time

import pytest
import requests
from test_sandbox_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    Sandbox,
    SandboxFactory,
    sandbox_app,
)
from test_sandbox_support import clock as clock
from test_sandbox_support import guide as guide
from test_sandbox_support import make_sandbox as make_sandbox
from test_sandbox_support import sandbox as sandbox

from flask_rocketpunch.sandbox import SandboxServer
from flask_rocketpunch.testing import consent_form, sandbox_of


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, "server_error"), (503, "temporarily_unavailable"), (400, "invalid_request")],
)
def test_fault_token_status_answers_that_status_and_consumes_nothing(
    sandbox: Sandbox, status: int, error: str
) -> None:
    code = sandbox.code()
    sandbox.provider.faults.token_status = status
    response = sandbox.exchange(code)
    assert response.status_code == status
    assert response.json()["error"] == error
    sandbox.provider.faults.token_status = None
    assert sandbox.exchange(code).status_code == 200


def test_fault_token_delay_times_out_in_process(sandbox: Sandbox) -> None:
    sandbox.provider.faults.token_delay = 1.0
    with pytest.raises(requests.ReadTimeout):
        sandbox.session.post(sandbox.url("/oauth/token"), data={}, timeout=0.05)
    # The caller gave up before the sandbox answered: no status is recorded yet.
    (received,) = sandbox.provider.requests_to("token")
    assert received.status is None


def test_fault_token_delay_times_out_over_http(make_sandbox: SandboxFactory) -> None:
    sb: Sandbox = make_sandbox("current", "http")
    sb.provider.faults.token_delay = 0.3
    with pytest.raises(requests.ReadTimeout):
        sb.session.post(sb.url("/oauth/token"), data={}, timeout=0.05)


def test_fault_token_delay_only_slows_when_there_is_time(sandbox: Sandbox) -> None:
    sandbox.provider.faults.token_delay = 0.05
    started = time.monotonic()
    assert sandbox.exchange(sandbox.code()).status_code == 200
    assert time.monotonic() - started >= 0.05


def test_fault_token_malformed_answers_200_non_json(sandbox: Sandbox) -> None:
    sandbox.provider.faults.token_malformed = True
    response = sandbox.exchange(sandbox.code())
    assert response.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_fault_token_wrong_content_type(sandbox: Sandbox) -> None:
    sandbox.provider.faults.token_wrong_content_type = True
    response = sandbox.exchange(sandbox.code())
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.json()["token_type"] == "Bearer"


def test_fault_token_missing_fields_and_type_override(sandbox: Sandbox) -> None:
    sandbox.provider.faults.token_missing_fields = ("expires_in", "refresh_token")
    sandbox.provider.faults.token_type_override = "mac"
    body = sandbox.exchange(sandbox.code()).json()
    assert "expires_in" not in body
    assert "refresh_token" not in body
    assert body["token_type"] == "mac"


@pytest.mark.parametrize("stream", [False, True])
def test_fault_token_huge_answers_megabytes(sandbox: Sandbox, stream: bool) -> None:
    sandbox.provider.faults.token_huge = True
    data = {
        "grant_type": "authorization_code",
        "code": sandbox.code(),
        "redirect_uri": REDIRECT_URI,
        "code_verifier": sandbox.verifier,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    with sandbox.session.post(
        sandbox.url("/oauth/token"), data=data, stream=stream
    ) as response:
        first = next(response.iter_content(1024))
        assert first.startswith(b"{")
        assert len(first) + sum(len(c) for c in response.iter_content(65536)) > (
            4 * 1024 * 1024
        )


def test_fault_refresh_invalid_grant(sandbox: Sandbox) -> None:
    token = sandbox.login()
    sandbox.provider.faults.refresh_invalid_grant = True
    assert sandbox.refresh(token["refresh_token"]).json()["error"] == "invalid_grant"
    sandbox.provider.faults.refresh_invalid_grant = False
    assert sandbox.refresh(token["refresh_token"]).status_code == 200


@pytest.mark.parametrize(
    ("status", "code"), [(403, "C0011"), (401, "C0001"), (500, "C9999")]
)
def test_fault_userinfo_status(sandbox: Sandbox, status: int, code: str) -> None:
    token = sandbox.login()
    sandbox.provider.faults.userinfo_status = status
    response = sandbox.get("/oauth/userinfo", token["access_token"])
    assert response.status_code == status
    assert response.json()["code"] == code


def test_fault_api_status(sandbox: Sandbox) -> None:
    token = sandbox.login()
    sandbox.provider.faults.api_status = 502
    response = sandbox.get("/api/v1/posts", token["access_token"])
    assert response.status_code == 502
    assert response.json()["code"] == "C9999"
    assert sandbox.get("/oauth/userinfo", token["access_token"]).status_code == 200


@pytest.mark.parametrize("path", ["/oauth/userinfo", "/api/v1/posts"])
def test_fault_rate_limit_answers_429_c0010_with_retry_after(
    sandbox: Sandbox, path: str
) -> None:
    token = sandbox.login()
    sandbox.provider.faults.rate_limit_retry_after = 17
    response = sandbox.get(path, token["access_token"])
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "17"
    assert response.json()["code"] == "C0010"


def test_fault_rate_limit_in_guide_flavor_shape(guide: Sandbox) -> None:
    guide.provider.faults.rate_limit_retry_after = 3
    response = guide.get("/api/v1/profiles/me")
    assert response.status_code == 429
    assert response.json() == {
        "error": {"code": "C0010", "message": "Rate limit exceeded.", "status": 429}
    }
    assert response.headers["Retry-After"] == "3"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RP-RateLimit-Remaining" not in response.headers


def test_fault_connect_refused_raises_connection_error_in_process(
    sandbox: Sandbox,
) -> None:
    sandbox.provider.faults.connect_refused = True
    with pytest.raises(requests.ConnectionError):
        sandbox.get("/oauth/userinfo")
    assert sandbox.provider.requests == []


def test_fault_timeout_raises_read_timeout_in_process(sandbox: Sandbox) -> None:
    sandbox.provider.faults.timeout = True
    with pytest.raises(requests.ReadTimeout):
        sandbox.exchange("any")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/oauth/userinfo"),
        ("POST", "/oauth/token"),
        ("POST", "/oauth/revoke"),
        ("GET", "/api/v1/posts"),
    ],
)
def test_fault_timeout_delays_every_back_channel_endpoint_over_http(
    make_sandbox: SandboxFactory, method: str, path: str
) -> None:
    sb: Sandbox = make_sandbox("current", "http")
    sb.provider.faults.timeout = True
    sb.provider.faults.timeout_delay = 0.3
    with pytest.raises(requests.ReadTimeout):
        sb.session.request(method, sb.url(path), timeout=0.05)


def test_fault_timeout_never_delays_the_consent_page(
    make_sandbox: SandboxFactory,
) -> None:
    sb: Sandbox = make_sandbox("current", "http")
    sb.provider.faults.timeout = True
    # Far longer than the read timeout below: a delayed page would time out.
    sb.provider.faults.timeout_delay = 120
    params = sb.params()
    page = sb.session.get(sb.url("/oauth/authorize"), params=params, timeout=30)
    assert page.status_code == 200
    action, fields = consent_form(page.text, page.url)
    fields.update(decision="approve", user="minji")
    decided = sb.session.post(action, data=fields, allow_redirects=False, timeout=30)
    assert decided.status_code == 302
    assert "code=" in decided.headers["Location"]


def test_fault_timeout_in_app_delays_no_page_and_fails_the_login_cleanly() -> None:
    app = sandbox_app()
    provider = sandbox_of(app)
    provider.faults.timeout = True
    provider.faults.timeout_delay = 120
    with SandboxServer(app) as served, requests.Session() as browser:
        page = browser.get(f"{served.url}/auth/rocketpunch/login", timeout=30)
        assert page.status_code == 200
        action, fields = consent_form(page.text, page.url)
        fields.update(decision="approve", user="minji")
        # The back channel (the code exchange) "times out" at once, in process.
        landed = browser.post(action, data=fields, timeout=30)
    assert landed.status_code == 504
    assert "Traceback" not in landed.text


def test_reset_turns_faults_off_and_forgets_state(sandbox: Sandbox) -> None:
    sandbox.login()
    sandbox.provider.faults.token_status = 500
    sandbox.provider.faults.token_missing_fields = ("scope",)
    sandbox.provider.reset()
    assert sandbox.provider.faults == type(sandbox.provider.faults)()
    assert sandbox.provider.requests == []
    assert sandbox.provider.codes == {}
    assert sandbox.provider.access_tokens == {}
    assert sandbox.provider.refresh_tokens == {}
    assert sandbox.login()["access_token"]
