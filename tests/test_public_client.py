"""The app-level client: public data with the App Key alone, in a request,
in a ``flask`` CLI command and in a plain thread with no app context, with
the app's pooled session, its timeout, the host check and typed errors."""

from __future__ import annotations

import collections.abc as cabc
import threading
import typing as t

import click
import pytest
from flask import Flask
from recording import RecordingProvider, endpoints, log_in
from support import config_keys, create_app, extension, sandbox_app

from flask_rocketpunch import (
    APIError,
    ProviderError,
    PublicClient,
    RateLimitError,
    rocketpunch,
    rocketpunch_public,
)
from flask_rocketpunch.testing import last_request

CLIENT_ID = "rp_app_public01"


@pytest.fixture
def api_host() -> cabc.Iterator[RecordingProvider]:
    provider = RecordingProvider().start()
    yield provider
    provider.stop()


def public_app(provider: RecordingProvider, **config: t.Any) -> Flask:
    app = create_app(
        config_keys(
            {
                "CLIENT_ID": CLIENT_ID,
                "CLIENT_SECRET": "rp_sec_not-shown",
                **endpoints(provider),
                **config,
            }
        )
    )

    @app.get("/public/<path:path>")
    def public(path: str) -> t.Any:
        return rocketpunch_public.get(path, params={"page": 1}).json()

    @app.get("/mine")
    def mine() -> t.Any:
        return rocketpunch.get("posts").json()

    @app.cli.command("latest-posts")
    def latest_posts() -> None:
        items = rocketpunch_public.get("posts").json()["items"]
        click.echo(f"{len(items)} post(s)")

    return app


def assert_public_call(received: t.Any) -> None:
    assert received.header("X-RP-API-Key") == CLIENT_ID
    assert received.header("Authorization") is None


def test_in_a_request_without_a_user(api_host: RecordingProvider) -> None:
    client = public_app(api_host).test_client()

    answer = client.get("/public/jobs")

    assert answer.status_code == 200
    assert answer.get_json()["items"] == [{"id": 1, "path": "/api/v1/jobs"}]
    received = api_host.last("/api/v1/jobs")
    assert_public_call(received)
    assert received.method == "GET"


def test_a_logged_in_users_token_never_rides_on_the_public_client(
    api_host: RecordingProvider,
) -> None:
    client = public_app(api_host).test_client()
    log_in(client)

    assert client.get("/mine").status_code == 200
    assert client.get("/public/posts").status_code == 200

    mine, public = api_host.to("/api/v1/posts")
    assert mine.header("Authorization") == api_host.bearer(1)
    assert_public_call(public)


def test_in_a_flask_cli_command(api_host: RecordingProvider) -> None:
    app = public_app(api_host)

    result = app.test_cli_runner().invoke(args=["latest-posts"])

    assert result.exit_code == 0, result.output
    assert result.output == "1 post(s)\n"
    received = api_host.last("/api/v1/posts")
    assert_public_call(received)
    assert received.header("Accept-Language") is None


def test_in_a_thread_with_no_app_context(api_host: RecordingProvider) -> None:
    app = public_app(api_host, LANGUAGE="en")
    rp = extension(app)
    results: list[object] = []

    def job() -> None:
        try:
            public = rp.public_client(app)
            results.append(public.get("codes/seniorities").json())
        except Exception as exc:  # reported to the test below
            results.append(exc)

    worker = threading.Thread(target=job)
    worker.start()
    worker.join(timeout=20)

    assert len(results) == 1
    assert isinstance(results[0], dict), results
    assert results[0]["language"] == "en"
    received = api_host.last("/api/v1/codes/seniorities")
    assert_public_call(received)
    assert received.header("Accept-Language") == "en"


def test_the_proxy_needs_an_app_context() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        rocketpunch_public.get("posts")


def test_uses_the_apps_pooled_session() -> None:
    """The in-app sandbox is reachable only through the transport mounted on
    the app's own HTTP session (its host name never resolves): a public call
    that reaches it went through that session."""
    app = sandbox_app()
    provider = extension(app).sandbox(app)
    assert provider is not None

    answer = extension(app).public_client(app).get("posts")
    assert answer.status_code == 200

    received = last_request(provider, "posts")
    headers = {k.lower(): v for k, v in received.headers.items()}
    assert headers["x-rp-api-key"] == "sandbox-client"
    assert "authorization" not in headers


def test_timeout_is_a_provider_error(api_host: RecordingProvider) -> None:
    app = public_app(api_host, TIMEOUT=0.3)
    api_host.script("/api/v1/posts", 200, {}, delay=10)

    with pytest.raises(ProviderError) as info:
        extension(app).public_client(app).get("posts")

    assert info.value.reason == "timeout"


def test_rate_limit_is_a_rate_limit_error_with_the_headers(
    api_host: RecordingProvider,
) -> None:
    app = public_app(api_host)
    api_host.script(
        "/api/v1/posts",
        429,
        {"code": "C0010", "message": "Rate limit exceeded"},
        headers={"Retry-After": "12", "X-RP-RateLimit-Remaining": "0"},
    )

    with pytest.raises(RateLimitError) as info:
        extension(app).public_client(app).get("posts")

    assert info.value.retry_after == 12
    assert info.value.code == "C0010"
    assert info.value.remaining == 0
    assert info.value.scope is None


def test_an_api_error_is_typed(api_host: RecordingProvider) -> None:
    app = public_app(api_host)
    api_host.script(
        "/api/v1/posts/7",
        404,
        {"code": "P0002", "message": "Post not found", "details": "postId"},
    )

    with pytest.raises(APIError) as info:
        extension(app).public_client(app).get("posts/7")

    assert not isinstance(info.value, RateLimitError)
    assert (info.value.status_code, info.value.code) == (404, "P0002")
    assert info.value.message == "Post not found"


def test_refuses_another_host(api_host: RecordingProvider) -> None:
    app = public_app(api_host)

    with pytest.raises(ValueError, match="not on the Rocketpunch API host"):
        extension(app).public_client(app).get("https://example.com/api/v1/posts")

    assert api_host.received == []


def test_a_wrong_app_key_is_the_providers_401(api_host: RecordingProvider) -> None:
    app = public_app(api_host)

    with pytest.raises(APIError) as info:
        extension(app).public_client(app).get("posts", headers={"X-RP-API-Key": None})

    assert info.value.status_code == 401
    assert info.value.code == "C0001"
    assert api_host.last("/api/v1/posts").header("X-RP-API-Key") is None


def test_has_no_userinfo(api_host: RecordingProvider) -> None:
    app = public_app(api_host)
    public = extension(app).public_client(app)

    assert isinstance(public, PublicClient)
    with pytest.raises(TypeError, match="no user"):
        public.userinfo()
    assert api_host.received == []
