"""The sandbox's token endpoint: code exchange, PKCE, client authentication, refresh."""

from __future__ import annotations

import base64
import secrets
import threading

import pytest
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


def test_pkce_verifier_must_match_the_challenge(sandbox: Sandbox) -> None:
    code = sandbox.code()
    wrong = sandbox.exchange(code, code_verifier=secrets.token_urlsafe(48))
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"


def test_missing_pkce_verifier_is_invalid_request(sandbox: Sandbox) -> None:
    response = sandbox.exchange(sandbox.code(), code_verifier=None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "a" * 42 + "!"])
def test_malformed_pkce_verifier_is_invalid_grant(
    sandbox: Sandbox, verifier: str
) -> None:
    # As docs/errors.rst says: a verifier that cannot match the challenge.
    response = sandbox.exchange(sandbox.code(), code_verifier=verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_is_single_use_and_reuse_revokes_its_tokens(sandbox: Sandbox) -> None:
    code = sandbox.code()
    first = sandbox.exchange(code).json()
    second = sandbox.exchange(code)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert sandbox.get("/oauth/userinfo", first["access_token"]).status_code == 401
    assert sandbox.refresh(first["refresh_token"]).json()["error"] == "invalid_grant"


def test_code_expires_after_five_minutes(sandbox: Sandbox, clock: FakeClock) -> None:
    fresh = sandbox.code()
    stale = sandbox.code()
    clock.advance(299)
    assert sandbox.exchange(fresh).status_code == 200
    clock.advance(2)
    expired = sandbox.exchange(stale)
    assert expired.status_code == 400
    assert expired.json()["error"] == "invalid_grant"


def test_code_is_bound_to_redirect_uri_and_client(sandbox: Sandbox) -> None:
    mismatch = sandbox.exchange(sandbox.code(), redirect_uri=REDIRECT_URI + "/")
    assert mismatch.json()["error"] == "invalid_grant"
    sandbox.provider.register_client("other", "other-secret", REDIRECT_URI)
    stolen = sandbox.exchange(
        sandbox.code(), client_id="other", client_secret="other-secret"
    )
    assert stolen.json()["error"] == "invalid_grant"
    unknown = sandbox.exchange("no-such-code")
    assert unknown.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": None}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"code": None}, "invalid_request"),
        ({"redirect_uri": None}, "invalid_request"),
    ],
)
def test_token_request_errors_follow_rfc_6749(
    sandbox: Sandbox, data: dict[str, str | None], error: str
) -> None:
    body: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": sandbox.code(),
        "redirect_uri": REDIRECT_URI,
        "code_verifier": sandbox.verifier,
        **data,
    }
    response = sandbox.token_call(body)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert response.headers["Cache-Control"] == "no-store"


def test_client_authenticates_with_http_basic(sandbox: Sandbox) -> None:
    response = sandbox.exchange(sandbox.code(), basic=True)
    assert response.status_code == 200
    assert "client_secret" not in sandbox.provider.requests_to("token")[0].params


def test_client_authenticates_with_form_body(sandbox: Sandbox) -> None:
    response = sandbox.exchange(sandbox.code())
    assert response.status_code == 200
    assert sandbox.provider.requests_to("token")[0].params["client_secret"] == (
        CLIENT_SECRET
    )


def test_basic_credentials_are_form_urlencoded(sandbox: Sandbox) -> None:
    sandbox.provider.register_client("id:with%colon", "s&cret é", REDIRECT_URI)
    token = sandbox.provider.issue_token("minji", "id:with%colon", "profile")
    response = sandbox.session.post(
        sandbox.url("/oauth/token"),
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=("id%3Awith%25colon", "s%26cret+%C3%A9"),
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("auth", "data"),
    [
        (None, {"client_id": None, "client_secret": None}),
        (None, {"client_secret": "wrong"}),
        (None, {"client_id": "nobody"}),
        ((CLIENT_ID, "wrong"), {"client_id": None, "client_secret": None}),
        (("nobody", CLIENT_SECRET), {"client_id": None, "client_secret": None}),
    ],
)
def test_failed_client_authentication_is_invalid_client_401(
    sandbox: Sandbox,
    auth: tuple[str, str] | None,
    data: dict[str, str | None],
) -> None:
    body: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": sandbox.code(),
        "redirect_uri": REDIRECT_URI,
        "code_verifier": sandbox.verifier,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **data,
    }
    response = sandbox.session.post(
        sandbox.url("/oauth/token"),
        data={k: v for k, v in body.items() if v is not None},
        auth=auth,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_two_client_authentication_methods_at_once_are_rejected(
    sandbox: Sandbox,
) -> None:
    response = sandbox.exchange(sandbox.code(), basic=True, client_secret=CLIENT_SECRET)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_refresh_rotates_and_the_old_refresh_token_then_fails(
    sandbox: Sandbox,
) -> None:
    token = sandbox.login()
    first = sandbox.refresh(token["refresh_token"], basic=True)
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"].startswith("rt_")
    assert rotated["refresh_token"] != token["refresh_token"]
    reused = sandbox.refresh(token["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert sandbox.refresh(rotated["refresh_token"]).status_code == 200
    assert sandbox.provider.refresh_tokens[token["refresh_token"]].used


def test_refresh_may_only_downscope(sandbox: Sandbox) -> None:
    token = sandbox.login()
    narrowed = sandbox.refresh(token["refresh_token"], scope="profile").json()
    assert narrowed["scope"] == "profile"
    assert (
        "email" not in sandbox.get("/oauth/userinfo", narrowed["access_token"]).json()
    )
    # the refresh token keeps the original grant
    widened_back = sandbox.refresh(narrowed["refresh_token"]).json()
    assert widened_back["scope"] == "profile email"
    wider = sandbox.refresh(widened_back["refresh_token"], scope="profile post:write")
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"
    assert sandbox.refresh(widened_back["refresh_token"]).status_code == 200


def test_refresh_token_expires_after_30_days(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    token = sandbox.login()
    clock.advance(30 * 24 * 3600)
    assert sandbox.refresh(token["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_token_is_bound_to_its_client(sandbox: Sandbox) -> None:
    token = sandbox.login()
    sandbox.provider.register_client("other", "other-secret", REDIRECT_URI)
    response = sandbox.refresh(
        token["refresh_token"], client_id="other", client_secret="other-secret"
    )
    assert response.json()["error"] == "invalid_grant"


def test_repeated_token_parameter_is_invalid_request(sandbox: Sandbox) -> None:
    token = sandbox.login()
    response = sandbox.session.post(
        sandbox.url("/oauth/token"),
        data=[
            ("grant_type", "refresh_token"),
            ("refresh_token", token["refresh_token"]),
            ("refresh_token", token["refresh_token"]),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ],
    )
    assert response.json()["error"] == "invalid_request"


def test_concurrent_refreshes_of_one_token_let_exactly_one_win(
    sandbox: Sandbox,
) -> None:
    token = sandbox.login()
    results: list[int] = []

    def refresh() -> None:
        results.append(sandbox.refresh(token["refresh_token"]).status_code)

    threads = [threading.Thread(target=refresh) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] + [400] * 7
    assert sandbox.provider.grant_counts()["refresh_token"] == 8


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer some-token",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    ],
)
def test_malformed_client_credentials_are_invalid_client_401(
    sandbox: Sandbox, authorization: str
) -> None:
    response = sandbox.session.post(
        sandbox.url("/oauth/token"),
        data={"grant_type": "refresh_token", "refresh_token": "rt_x"},
        headers={"Authorization": authorization},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
