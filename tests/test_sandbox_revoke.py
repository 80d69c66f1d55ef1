"""The sandbox's revocation endpoint (RFC 7009)."""

from __future__ import annotations

from test_sandbox_support import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, Sandbox
from test_sandbox_support import clock as clock
from test_sandbox_support import make_sandbox as make_sandbox
from test_sandbox_support import sandbox as sandbox


def test_revoke_then_refresh_fails_and_access_token_dies_too(
    sandbox: Sandbox,
) -> None:
    token = sandbox.login()
    revoked = sandbox.revoke(token["refresh_token"], token_type_hint="refresh_token")
    assert revoked.status_code == 200
    assert revoked.headers["Cache-Control"] == "no-store"
    assert sandbox.refresh(token["refresh_token"]).json()["error"] == "invalid_grant"
    assert sandbox.get("/oauth/userinfo", token["access_token"]).status_code == 401


def test_revoke_is_idempotent_and_unknown_tokens_succeed(sandbox: Sandbox) -> None:
    token = sandbox.login()
    assert sandbox.revoke(token["refresh_token"]).status_code == 200
    assert sandbox.revoke(token["refresh_token"]).status_code == 200
    assert sandbox.revoke("rt_unknown").status_code == 200


def test_revoking_an_access_token_keeps_the_refresh_token(sandbox: Sandbox) -> None:
    token = sandbox.login()
    assert sandbox.revoke(token["access_token"]).status_code == 200
    assert sandbox.get("/oauth/userinfo", token["access_token"]).status_code == 401
    assert sandbox.refresh(token["refresh_token"]).status_code == 200


def test_revoke_requires_client_authentication_and_a_token(sandbox: Sandbox) -> None:
    token = sandbox.login()
    anonymous = sandbox.session.post(
        sandbox.url("/oauth/revoke"), data={"token": token["refresh_token"]}
    )
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    missing = sandbox.session.post(
        sandbox.url("/oauth/revoke"),
        data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert missing.status_code == 400
    assert missing.json()["code"] == "C0002"
    assert sandbox.refresh(token["refresh_token"]).status_code == 200


def test_another_client_cannot_revoke_a_token(sandbox: Sandbox) -> None:
    token = sandbox.login()
    sandbox.provider.register_client("other", "other-secret", REDIRECT_URI)
    response = sandbox.revoke(
        token["refresh_token"], client_id="other", client_secret="other-secret"
    )
    assert response.status_code == 200
    assert sandbox.refresh(token["refresh_token"]).status_code == 200
