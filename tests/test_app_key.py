"""The App Key (``X-RP-API-Key``): sent on every call to the API host's
operations, beside the bearer token, and nowhere else; checked on real
recording servers on 127.0.0.1 and on the sandbox's own record."""

from __future__ import annotations

import collections.abc as cabc
import typing as t

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from recording import RecordingProvider, endpoints, log_in
from support import (
    LOGOUT,
    AppFactory,
    app_clock,
    config_keys,
    create_app,
    protected_app,
)

from flask_rocketpunch import ConfigurationError, rocketpunch
from flask_rocketpunch.headers import is_api_url
from flask_rocketpunch.sandbox import SandboxProvider
from flask_rocketpunch.settings import load_settings
from flask_rocketpunch.testing import complete_login, last_request

CLIENT_ID = "rp_app_test0123"


@pytest.fixture
def api_host() -> cabc.Iterator[RecordingProvider]:
    provider = RecordingProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def other_host() -> cabc.Iterator[RecordingProvider]:
    provider = RecordingProvider().start()
    yield provider
    provider.stop()


def recorded_app(**config: t.Any) -> Flask:
    """An app with pages that call userinfo and the API, pointed at the
    recording providers by ``config``."""
    app = create_app(
        config_keys(
            {"CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": "rp_sec_not-shown", **config}
        )
    )

    @app.get("/me")
    def me() -> t.Any:
        return rocketpunch.userinfo()

    @app.get("/posts")
    def posts() -> t.Any:
        headers = dict(request.args)
        try:
            return rocketpunch.get("posts", headers=headers or None).json()
        except ValueError as exc:
            return {"refused": str(exc)}, 400

    @app.post("/posts")
    def create() -> t.Any:
        return rocketpunch.post("posts", json={"text": "hello"}).json()

    return app


def walk_every_call(app: Flask) -> FlaskClient:
    """Log in, call userinfo, read and write posts, refresh the token (the
    clock moves past its expiry) and call again, then log out."""
    clock = app_clock(app)
    client = app.test_client()
    log_in(client)
    assert client.get("/me").status_code == 200
    assert client.get("/posts").status_code == 200
    assert client.post("/posts").status_code == 200
    clock.advance(3600)
    assert client.get("/posts").status_code == 200
    assert client.post(LOGOUT).status_code == 303
    return client


def test_app_key_on_every_api_call_and_userinfo_never_on_token_or_revoke(
    api_host: RecordingProvider,
) -> None:
    """Production's layout: token, revoke, userinfo and the API on one host."""
    walk_every_call(recorded_app(**endpoints(api_host)))

    api_calls = api_host.to("/api/v1/posts")
    assert [r.method for r in api_calls] == ["GET", "POST", "GET"]
    for call in [*api_calls, *api_host.to("/oauth/userinfo")]:
        assert call.header("X-RP-API-Key") == CLIENT_ID
        assert (call.header("Authorization") or "").startswith("Bearer access-")
    token_calls = api_host.to("/oauth/token")
    assert [r.form["grant_type"] for r in token_calls] == [
        "authorization_code",
        "refresh_token",
    ]
    for call in [*token_calls, *api_host.to("/oauth/revoke")]:
        assert call.header("X-RP-API-Key") is None
    # The refreshed token is the one the last API call carried.
    assert api_calls[-1].header("Authorization") == api_host.bearer(2)


def test_app_key_never_reaches_another_host(
    api_host: RecordingProvider, other_host: RecordingProvider
) -> None:
    """The API on one host; token, revocation and userinfo on another: the
    other host never sees the App Key, not even at userinfo."""
    elsewhere = endpoints(other_host)
    app = recorded_app(
        **{**elsewhere, "API_BASE_URL": endpoints(api_host)["API_BASE_URL"]}
    )

    walk_every_call(app)

    assert {r.path for r in other_host.received} == {
        "/oauth/token",
        "/oauth/userinfo",
        "/oauth/revoke",
    }
    assert all(r.header("X-RP-API-Key") is None for r in other_host.received)
    assert {r.path for r in api_host.received} == {"/api/v1/posts"}
    assert all(r.header("X-RP-API-Key") == CLIENT_ID for r in api_host.received)


def test_app_key_stays_off_other_paths_of_the_api_host(
    api_host: RecordingProvider,
) -> None:
    """Only URLs under ``API_BASE_URL`` (and userinfo) get the key, not
    other paths of the same host that an absolute URL could name."""
    settings = load_settings(
        config_keys(
            {"CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": "s", **endpoints(api_host)}
        )
    )

    assert is_api_url(settings, f"{api_host.url}/api/v1/posts")
    assert is_api_url(settings, f"{api_host.url}/oauth/userinfo")
    assert not is_api_url(settings, f"{api_host.url}/oauth/token")
    assert not is_api_url(settings, f"{api_host.url}/oauth/revoke")
    assert not is_api_url(settings, f"{api_host.url}/api/v2/posts")
    assert not is_api_url(settings, "http://127.0.0.2:1/api/v1/posts")


def test_app_key_setting_replaces_the_client_id(api_host: RecordingProvider) -> None:
    app = recorded_app(APP_KEY="rp_app_other", **endpoints(api_host))
    client = app.test_client()
    log_in(client)

    assert client.get("/posts").status_code == 200
    assert client.get("/me").status_code == 200

    assert api_host.last("/api/v1/posts").header("X-RP-API-Key") == "rp_app_other"
    assert api_host.last("/oauth/userinfo").header("X-RP-API-Key") == "rp_app_other"
    assert api_host.last("/oauth/token").form["client_id"] == CLIENT_ID


def test_a_caller_may_replace_the_app_key_for_one_call(
    api_host: RecordingProvider,
) -> None:
    client = recorded_app(**endpoints(api_host)).test_client()
    log_in(client)

    assert client.get("/posts?X-RP-API-Key=rp_app_once").status_code == 200

    assert api_host.last("/api/v1/posts").header("X-RP-API-Key") == "rp_app_once"
    assert api_host.last("/api/v1/posts").header("Authorization") == api_host.bearer(1)


def test_a_caller_cannot_send_another_bearer_token(
    api_host: RecordingProvider,
) -> None:
    app = recorded_app(**endpoints(api_host))
    client = app.test_client()
    log_in(client)

    answer = client.get("/posts?authorization=Bearer+someone-else")

    assert answer.status_code == 400
    assert "'Authorization' header cannot be passed" in answer.get_json()["refused"]
    assert api_host.to("/api/v1/posts") == []


@pytest.mark.parametrize("value", ["rp_app_x\r\nX-Evil: 1", " rp_app_x", "a\tb"])
def test_an_app_key_with_spaces_or_line_breaks_is_refused(value: str) -> None:
    with pytest.raises(ConfigurationError, match="ROCKETPUNCH_APP_KEY"):
        load_settings(
            config_keys({"CLIENT_ID": "c", "CLIENT_SECRET": "s", "APP_KEY": value})
        )


def test_check_shows_the_app_key(api_host: RecordingProvider) -> None:
    app = recorded_app(**endpoints(api_host))
    shown = app.test_cli_runner().invoke(args=["rocketpunch", "check"]).output
    assert "APP_KEY" in shown
    assert CLIENT_ID in shown.split("APP_KEY", 1)[1].splitlines()[0]

    app = recorded_app(APP_KEY="rp_app_other", **endpoints(api_host))
    shown = app.test_cli_runner().invoke(args=["rocketpunch", "check"]).output
    assert "rp_app_other" in shown.split("APP_KEY", 1)[1].splitlines()[0]


def test_sandbox_records_the_app_key_on_api_calls_only(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = protected_app(make_app)
    client = app.test_client()
    assert complete_login(client).status_code == 302

    assert client.get("/posts").status_code == 200
    assert client.get("/me").status_code == 200

    client_id = app.config["ROCKETPUNCH_CLIENT_ID"]
    for endpoint in ("posts", "userinfo"):
        headers = lowered(last_request(rocketpunch_provider, endpoint).headers)
        assert headers["x-rp-api-key"] == client_id
        assert headers["authorization"].startswith("Bearer ")
    for endpoint in ("token", "revoke"):
        if endpoint == "revoke":
            assert client.post(LOGOUT).status_code == 303
        headers = lowered(last_request(rocketpunch_provider, endpoint).headers)
        assert "x-rp-api-key" not in headers


def lowered(headers: cabc.Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
