"""The sandbox's rate limits, as the OpenAPI description's Rate Limits
section states them: 60 calls a minute and 5,000 a day per App Key, the
operation-specific limits, their headers and the 429 answer."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from test_sandbox_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    FakeClock,
    Sandbox,
)
from test_sandbox_support import clock as clock
from test_sandbox_support import make_sandbox as make_sandbox
from test_sandbox_support import sandbox as sandbox
from werkzeug.test import TestResponse

from flask_rocketpunch import RateLimitError, RocketpunchOAuth, rocketpunch
from flask_rocketpunch.sandbox import SandboxProvider, create_sandbox_app
from flask_rocketpunch.sandbox.ratelimit import (
    OPERATION_LIMITS,
    OPERATION_SCOPES,
    OperationLimit,
)
from flask_rocketpunch.testing import login_as, misbehave, sandbox_of

#: A clock at the start of a UTC day, so windows are easy to reason about.
MIDNIGHT = 1_800_057_600.0


def make_provider(clock: FakeClock, **options: t.Any) -> SandboxProvider:
    provider = SandboxProvider(clock=clock, **options)
    provider.register_client(
        CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, owners=["minji", "seojun"]
    )
    return provider


class Caller:
    """Calls the sandbox app with one user's bearer token."""

    def __init__(
        self, provider: SandboxProvider, user: str = "minji", scopes: str = "profile"
    ) -> None:
        self.provider = provider
        self.client = create_sandbox_app(provider).test_client()
        token = provider.issue_token(user, CLIENT_ID, scopes)["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def userinfo(self) -> TestResponse:
        return self.client.get("/oauth/userinfo", headers=self.headers)

    def create_post(self, text: str = "Hello") -> TestResponse:
        # API calls carry the App Key (the client id) beside the token.
        headers = {**self.headers, "X-RP-API-Key": CLIENT_ID}
        return self.client.post("/api/v1/posts", json={"text": text}, headers=headers)


def test_the_limits_are_the_spec_figures_and_on_by_default() -> None:
    provider = SandboxProvider()
    assert provider.rate_limit_per_minute == 60
    assert provider._limiter.per_day == 5000
    assert provider.enforce_rate_limit is True
    assert OPERATION_LIMITS["post.create"] == OperationLimit(2, 10, 50)
    assert OPERATION_LIMITS["event.sub.update"] == OperationLimit(15, 150, 800)
    assert OPERATION_SCOPES["createPost"] == "post.create"
    assert OPERATION_SCOPES["deleteEventFaq"] == "event.sub.delete"
    assert len(OPERATION_LIMITS) == 14
    # The guide says nothing of limits: counted and reported, not enforced.
    assert SandboxProvider("guide").enforce_rate_limit is False


def test_sixty_calls_a_minute_then_429_c0010_until_the_minute_ends(
    clock: FakeClock,
) -> None:
    clock.now = MIDNIGHT + 15
    caller = Caller(make_provider(clock))
    remaining = [
        caller.userinfo().headers["X-RP-RateLimit-Remaining"] for _ in range(60)
    ]
    assert remaining == [str(n) for n in range(59, -1, -1)]

    limited = caller.userinfo()
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "45"
    assert limited.headers["X-RP-RateLimit-Remaining"] == "0"
    # Only the global limit: no operation identifier.
    assert "X-RP-RateLimit-Scope" not in limited.headers
    body = limited.get_json()
    assert body["code"] == "C0010"
    assert set(body) == {"code", "message", "timestamp", "details"}
    assert "per minute" in body["message"]

    clock.advance(44)
    assert caller.userinfo().status_code == 429
    clock.advance(1)
    again = caller.userinfo()
    assert again.status_code == 200
    assert again.headers["X-RP-RateLimit-Remaining"] == "59"


def test_the_budget_is_per_app_key(clock: FakeClock) -> None:
    provider = make_provider(clock, rate_limit_per_minute=1)
    provider.register_client("other-app", "other-secret", REDIRECT_URI)
    mine = Caller(provider)
    assert mine.userinfo().status_code == 200
    assert mine.userinfo().status_code == 429
    theirs = provider.issue_token("minji", "other-app", "profile")["access_token"]
    answer = mine.client.get(
        "/oauth/userinfo", headers={"Authorization": f"Bearer {theirs}"}
    )
    assert answer.status_code == 200


def test_the_daily_limit_lasts_until_utc_midnight(clock: FakeClock) -> None:
    clock.now = MIDNIGHT + 86400 - 3600  # 23:00 UTC
    caller = Caller(make_provider(clock, rate_limit_per_day=3, access_token_ttl=7200))
    for _ in range(3):
        assert caller.userinfo().status_code == 200
        clock.advance(60)  # a new minute each time: only the day counts
    limited = caller.userinfo()
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) == 3600 - 180
    assert limited.get_json()["details"] == "App Key per day"
    clock.now = MIDNIGHT + 86400
    assert caller.userinfo().status_code == 200


def test_post_create_has_its_own_limits_and_headers(clock: FakeClock) -> None:
    clock.now = MIDNIGHT + 30
    provider = make_provider(clock)
    caller = Caller(provider, scopes="profile post:write")
    first, second = caller.create_post(), caller.create_post()
    assert [first.status_code, second.status_code] == [201, 201]
    assert first.headers["X-RP-RateLimit-Scope"] == "post.create"
    assert first.headers["X-RP-RateLimit-Scope-Remaining"] == "1"
    assert second.headers["X-RP-RateLimit-Scope-Remaining"] == "0"
    assert second.headers["X-RP-RateLimit-Remaining"] == "58"

    limited = caller.create_post()
    assert limited.status_code == 429
    assert limited.headers["X-RP-RateLimit-Scope"] == "post.create"
    assert limited.headers["Retry-After"] == "30"
    # The global budget was not spent by the refused call.
    assert limited.headers["X-RP-RateLimit-Remaining"] == "58"
    assert limited.get_json()["details"] == "post.create per minute"
    # Reads are not limited by post.create.
    read = caller.userinfo()
    assert read.status_code == 200
    assert "X-RP-RateLimit-Scope-Remaining" not in read.headers

    # Another user of the same app has a budget of their own.
    other = Caller(provider, "seojun", "profile post:write")
    assert other.create_post().status_code == 201


def test_post_create_hourly_limit(clock: FakeClock) -> None:
    clock.now = MIDNIGHT
    caller = Caller(make_provider(clock), scopes="profile post:write")
    for _ in range(5):
        assert caller.create_post().status_code == 201
        assert caller.create_post().status_code == 201
        clock.advance(60)
    limited = caller.create_post()
    assert limited.status_code == 429
    assert limited.headers["X-RP-RateLimit-Scope"] == "post.create"
    assert limited.headers["Retry-After"] == str(3600 - 300)
    assert limited.get_json()["details"] == "post.create per hour"


def test_the_token_endpoint_counts_and_refuses_without_spending_the_code(
    make_sandbox: t.Callable[..., Sandbox], clock: FakeClock
) -> None:
    sandbox = make_sandbox()
    sandbox.provider.rate_limit_per_minute = 1
    token = sandbox.login()  # one token call: the minute's budget
    code = sandbox.code()
    limited = sandbox.exchange(code)
    assert limited.status_code == 429
    assert limited.json()["code"] == "C0010"
    assert limited.headers["Retry-After"].isdigit()
    assert limited.headers["X-RP-RateLimit-Remaining"] == "0"
    assert sandbox.refresh(token["refresh_token"]).status_code == 429
    assert sandbox.revoke(token["refresh_token"]).status_code == 429
    clock.advance(60)
    assert sandbox.exchange(code).status_code == 200


def test_fault_switch_makes_the_token_endpoint_answer_429(sandbox: Sandbox) -> None:
    code = sandbox.code()
    with misbehave(sandbox.provider, token_rate_limit_retry_after=17):
        limited = sandbox.exchange(code)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "17"
    assert limited.json()["code"] == "C0010"
    # Nothing was consumed: the code still works.
    assert sandbox.exchange(code).status_code == 200


def test_token_status_429_fault_is_the_spec_rate_limit(sandbox: Sandbox) -> None:
    sandbox.provider.faults.token_status = 429
    limited = sandbox.exchange(sandbox.code())
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.json()["code"] == "C0010"


def test_enforcement_can_be_relaxed_for_load_tests(clock: FakeClock) -> None:
    caller = Caller(make_provider(clock, enforce_rate_limit=False))
    answers = [caller.userinfo() for _ in range(70)]
    assert {a.status_code for a in answers} == {200}
    assert answers[-1].headers["X-RP-RateLimit-Remaining"] == "0"
    caller.provider.enforce_rate_limit = True
    assert caller.userinfo().status_code == 429


def test_guide_flavor_reports_x_ratelimit_headers_and_its_error_shape(
    clock: FakeClock,
) -> None:
    clock.now = MIDNIGHT + 10
    provider = SandboxProvider("guide", clock=clock, rate_limit_per_minute=2)
    provider.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    client = create_sandbox_app(provider).test_client()
    token = provider.issue_token("minji", CLIENT_ID, "profile:read")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    answer = client.get("/api/v1/profiles/me", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["X-RateLimit-Limit"] == "2"
    assert answer.headers["X-RateLimit-Remaining"] == "1"
    assert answer.headers["X-RateLimit-Reset"] == str(int(MIDNIGHT) + 60)
    assert not any(name.startswith("X-RP-") for name, _ in answer.headers)

    provider.enforce_rate_limit = True
    client.get("/api/v1/profiles/me", headers=headers)
    limited = client.get("/api/v1/profiles/me", headers=headers)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "50"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.get_json()["error"]["code"] == "C0010"
    assert limited.get_json()["error"]["status"] == 429


def rate_limited_app() -> Flask:
    app = Flask("rate_limited_app")
    app.config.update(TESTING=True, SECRET_KEY="rate-limits", ROCKETPUNCH_SANDBOX=True)
    RocketpunchOAuth(app)

    @app.get("/posts")
    def posts() -> t.Any:
        try:
            answer = rocketpunch.get("posts")
        except RateLimitError as error:
            return {"retry_after": error.retry_after}, 429
        return {"remaining": answer.headers["X-RP-RateLimit-Remaining"]}

    return app


def test_an_app_in_sandbox_mode_meets_the_limit_as_a_rate_limit_error() -> None:
    app = rate_limited_app()
    provider = sandbox_of(app)
    provider.clock = FakeClock(MIDNIGHT + 20)
    client = app.test_client()
    login_as(client)
    answers = [client.get("/posts") for _ in range(61)]
    assert [a.status_code for a in answers[:60]] == [200] * 60
    assert answers[59].get_json() == {"remaining": "0"}
    assert answers[60].status_code == 429
    assert answers[60].get_json() == {"retry_after": 40}


@pytest.mark.parametrize("flavor", ["current", "guide"])
def test_reset_forgets_the_counts(clock: FakeClock, flavor: t.Any) -> None:
    provider = SandboxProvider(flavor, clock=clock, rate_limit_per_minute=1)
    provider.enforce_rate_limit = True
    provider.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    client = create_sandbox_app(provider).test_client()
    path = provider.flavor_spec.userinfo_path

    def call() -> int:
        scope = provider.profile_scope
        token = provider.issue_token("minji", CLIENT_ID, scope)["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        return client.get(path, headers=headers).status_code

    assert call() == 200
    assert call() == 429
    provider.reset()
    assert call() == 200


def test_token_and_revocation_answers_report_the_budget(sandbox: Sandbox) -> None:
    issued = sandbox.exchange(sandbox.code())
    assert issued.status_code == 200
    assert issued.headers["X-RP-RateLimit-Remaining"] == "59"
    refreshed = sandbox.refresh(issued.json()["refresh_token"], basic=True)
    assert refreshed.headers["X-RP-RateLimit-Remaining"] == "58"
    revoked = sandbox.revoke(refreshed.json()["refresh_token"])
    assert revoked.status_code == 200
    assert revoked.headers["X-RP-RateLimit-Remaining"] == "57"
