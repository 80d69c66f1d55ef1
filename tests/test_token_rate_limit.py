"""A ``429`` from the token endpoint (code exchange or refresh) is a
:class:`RateLimitError` with its ``Retry-After``, answered with a ``429``
page or JSON that says when to try again (never a 502); the rate-limit
headers of API answers as data."""

from __future__ import annotations

import collections.abc as cabc
import typing as t
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from flask import Flask
from recording import RecordingProvider, endpoints, log_in
from support import WANTS_JSON, app_clock, config_keys, create_app, page_text

from flask_rocketpunch import (
    APIError,
    RateLimit,
    RateLimitError,
    RocketpunchError,
    login_failed,
    rate_limit_of,
    rocketpunch,
)
from flask_rocketpunch.flow import token_request
from flask_rocketpunch.settings import load_settings

RATE_LIMITED = {"code": "C0010", "message": "Rate limit exceeded"}


@pytest.fixture
def api_host() -> cabc.Iterator[RecordingProvider]:
    provider = RecordingProvider().start()
    yield provider
    provider.stop()


def limited_app(provider: RecordingProvider) -> Flask:
    app = create_app(
        config_keys(
            {
                "CLIENT_ID": "rp_app_limits",
                "CLIENT_SECRET": "rp_sec_not-shown",
                **endpoints(provider),
            }
        )
    )

    @app.get("/posts")
    def posts() -> t.Any:
        return rocketpunch.get("posts").json()

    return app


def callback_after_429(
    app: Flask, provider: RecordingProvider, headers: dict[str, str]
) -> t.Any:
    client = app.test_client()
    start = client.get("/auth/rocketpunch/login")
    state = dict(parse_qsl(urlsplit(start.headers["Location"]).query))["state"]
    provider.script("/oauth/token", 429, RATE_LIMITED, headers=headers)
    return client.get(
        "/auth/rocketpunch/callback",
        query_string={"code": "c", "state": state},
        headers=WANTS_JSON,
    )


def test_429_at_the_code_exchange_is_a_429_json_with_retry_after(
    api_host: RecordingProvider,
) -> None:
    app = limited_app(api_host)
    failures: list[RocketpunchError] = []

    def record(sender: Flask, error: RocketpunchError, **extra: t.Any) -> None:
        failures.append(error)

    with login_failed.connected_to(record, app):
        answer = callback_after_429(app, api_host, {"Retry-After": "30"})

    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "30"
    body = answer.get_json()
    assert body["error"] == "RateLimitError"
    assert body["retry_after"] == 30
    assert "Try again in 30 seconds" in body["message"]
    assert [type(e) for e in failures] == [RateLimitError]
    error = failures[0]
    assert isinstance(error, RateLimitError)
    assert (error.status_code, error.code, error.retry_after) == (429, "C0010", 30)


def test_429_at_the_code_exchange_is_a_429_page(api_host: RecordingProvider) -> None:
    app = limited_app(api_host)
    client = app.test_client()
    start = client.get("/auth/rocketpunch/login")
    state = dict(parse_qsl(urlsplit(start.headers["Location"]).query))["state"]
    api_host.script("/oauth/token", 429, RATE_LIMITED, headers={"Retry-After": "45"})

    page = client.get(
        "/auth/rocketpunch/callback", query_string={"code": "c", "state": state}
    )

    assert page.status_code == 429
    assert page.headers["Retry-After"] == "45"
    assert page.headers["Cache-Control"] == "no-store"
    text = page_text(page)
    assert "Try again in 45 seconds" in text
    assert "Traceback" not in text


def test_429_without_retry_after_still_says_when(api_host: RecordingProvider) -> None:
    answer = callback_after_429(limited_app(api_host), api_host, {})

    assert answer.status_code == 429
    assert "Retry-After" not in answer.headers
    assert "retry_after" not in answer.get_json()
    assert "Try again in a minute" in answer.get_json()["detail"]


def test_429_at_an_expired_tokens_refresh_keeps_the_login(
    api_host: RecordingProvider,
) -> None:
    app = limited_app(api_host)
    clock = app_clock(app)
    client = app.test_client()
    log_in(client)
    clock.advance(3600)  # expired: the next call must refresh first
    api_host.script("/oauth/token", 429, RATE_LIMITED, headers={"Retry-After": "20"})

    answer = client.get("/posts", headers=WANTS_JSON)

    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "20"
    assert api_host.to("/api/v1/posts") == []
    # Once the limit is over, the same login refreshes and works.
    del api_host.scripts["/oauth/token"]
    assert client.get("/posts").status_code == 200
    assert api_host.last("/oauth/token").form["grant_type"] == "refresh_token"
    assert api_host.last("/api/v1/posts").header("Authorization") == api_host.bearer(2)


def test_429_at_a_refresh_within_the_leeway_uses_the_valid_token(
    api_host: RecordingProvider,
) -> None:
    app = limited_app(api_host)
    clock = app_clock(app)
    client = app.test_client()
    log_in(client)
    clock.advance(900 - 60)  # still valid for a minute, inside the leeway
    api_host.script("/oauth/token", 429, RATE_LIMITED, headers={"Retry-After": "20"})

    answer = client.get("/posts")

    assert answer.status_code == 200
    assert api_host.last("/api/v1/posts").header("Authorization") == api_host.bearer(1)


def test_token_request_reads_the_code_of_a_429(api_host: RecordingProvider) -> None:
    settings = load_settings(
        config_keys({"CLIENT_ID": "c", "CLIENT_SECRET": "s", **endpoints(api_host)})
    )
    api_host.script("/oauth/token", 429, {"error": "slow_down"})

    with requests.Session() as http, pytest.raises(RateLimitError) as info:
        token_request(http, settings, {"grant_type": "refresh_token"})

    assert info.value.code == "slow_down"
    assert info.value.retry_after is None
    assert info.value.http_status == 429


def test_rate_limit_headers_of_a_success_and_of_an_error(
    api_host: RecordingProvider,
) -> None:
    with requests.Session() as http:
        headers = {"X-RP-API-Key": "k"}
        ok = http.get(f"{api_host.url}/api/v1/posts", headers=headers, timeout=10)
        assert rate_limit_of(ok) == RateLimit(remaining=41)
        api_host.script(
            "/api/v1/posts",
            429,
            RATE_LIMITED,
            headers={
                "Retry-After": "60",
                "X-RP-RateLimit-Scope": "post.create",
                "X-RP-RateLimit-Scope-Remaining": "0",
                "X-RP-RateLimit-Remaining": "17",
            },
        )
        limited = http.get(f"{api_host.url}/api/v1/posts", headers=headers, timeout=10)

    assert rate_limit_of(limited) == RateLimit(17, "post.create", 0)
    from flask_rocketpunch.client import api_error

    error = api_error(limited)
    assert isinstance(error, RateLimitError)
    assert (error.scope, error.remaining, error.scope_remaining) == (
        "post.create",
        17,
        0,
    )
    assert error.rate_limit == RateLimit(17, "post.create", 0)


@pytest.mark.parametrize("value", ["", "-1", "many", "1e3", "9" * 30])
def test_rate_limit_counts_that_are_not_counts_are_none(value: str) -> None:
    response = requests.Response()
    response.headers["X-RP-RateLimit-Remaining"] = value
    assert rate_limit_of(response).remaining is None


def test_an_error_without_a_response_has_no_rate_limit() -> None:
    assert APIError(500, None, "m").rate_limit == RateLimit()
