"""The two flavors end to end: the current provider and the July 2026 guide's."""

from __future__ import annotations

import dataclasses
from urllib.parse import urljoin

import pytest
from test_sandbox_support import (
    CLIENT_ID,
    REDIRECT_URI,
    Sandbox,
    SandboxFactory,
    jwt_payload,
    redirect_query,
)
from test_sandbox_support import clock as clock
from test_sandbox_support import guide as guide
from test_sandbox_support import make_sandbox as make_sandbox

from flask_rocketpunch.sandbox import FLAVORS, SAMPLE_USERS, Flavor, SandboxProvider


@pytest.mark.parametrize("over", ["http", "in-process"])
def test_current_flavor_full_flow_code_token_userinfo_refresh_revoke(
    make_sandbox: SandboxFactory, over: str
) -> None:
    sb: Sandbox = make_sandbox("current", over)
    params = sb.params()
    form = sb.consent(params)
    assert "Test Client App" in form.text
    assert "Read your email address" in form.text
    assert sorted(form.decisions) == ["approve", "deny"]
    assert form.users == [u.sub for u in SAMPLE_USERS]
    assert form.checked_user == SAMPLE_USERS[0].sub
    assert all(image.endswith(".svg") for image in form.images)
    avatar = sb.session.get(urljoin(form.url, form.images[1]))
    assert avatar.status_code == 200
    assert avatar.headers["Content-Type"].startswith("image/svg+xml")

    approved = sb.decide(form, user=SAMPLE_USERS[1].sub)
    assert approved.status_code == 302
    query = redirect_query(approved, REDIRECT_URI)
    assert query["state"] == params["state"]

    token_response = sb.exchange(query["code"])
    assert token_response.status_code == 200
    assert token_response.headers["Cache-Control"] == "no-store"
    assert token_response.headers["Pragma"] == "no-cache"
    token = token_response.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 900
    assert token["scope"] == "profile email"
    assert token["refresh_token"].startswith("rt_")
    claims = jwt_payload(token["access_token"])
    assert claims["sub"] == SAMPLE_USERS[1].sub
    assert claims["client_id"] == CLIENT_ID
    assert claims["scope"] == "profile email"
    assert claims["exp"] == int(sb.provider.clock()) + 900

    info = sb.get("/oauth/userinfo", token["access_token"])
    assert info.status_code == 200
    assert info.json() == {
        "sub": SAMPLE_USERS[1].sub,
        "name": "박서준",
        "preferred_username": "seojun",
        "picture": urljoin(form.url, form.images[1]),
        "email": "seojun@example.org",
    }
    # The code exchange spent one call of the App Key's 60 a minute.
    assert info.headers["X-RP-RateLimit-Remaining"] == "58"

    refreshed = sb.refresh(token["refresh_token"])
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["refresh_token"] != token["refresh_token"]
    assert sb.get("/oauth/userinfo", new["access_token"]).status_code == 200

    assert sb.revoke(new["refresh_token"]).status_code == 200
    assert sb.refresh(new["refresh_token"]).json()["error"] == "invalid_grant"
    assert sb.get("/oauth/userinfo", new["access_token"]).status_code == 401
    assert sb.provider.grant_counts() == {"authorization_code": 1, "refresh_token": 2}


@pytest.mark.parametrize("over", ["http", "in-process"])
def test_guide_flavor_full_flow_without_pkce_or_rotation(
    make_sandbox: SandboxFactory, over: str
) -> None:
    sb: Sandbox = make_sandbox("guide", over)
    code = sb.code(code_challenge=None, code_challenge_method=None)
    token = sb.exchange(code, code_verifier=None).json()
    assert token["expires_in"] == 3600
    assert token["scope"] == "profile:read profile:email"
    profile = sb.get("/api/v1/profiles/me", token["access_token"])
    assert profile.status_code == 200
    assert profile.json()["email"] == SAMPLE_USERS[0].email
    assert profile.json()["preferred_username"] == "minji"

    refreshed = sb.refresh(token["refresh_token"])
    assert refreshed.status_code == 200
    assert "refresh_token" not in refreshed.json()
    again = sb.refresh(token["refresh_token"])
    assert again.status_code == 200, "guide flavor does not rotate refresh tokens"

    error = sb.get("/api/v1/profiles/me", "not-a-token")
    assert error.status_code == 401
    assert error.json() == {
        "error": {
            "code": "C0001",
            "message": "The access token is invalid.",
            "status": 401,
        }
    }
    assert error.headers["WWW-Authenticate"].startswith("Bearer")


def test_guide_flavor_ignores_pkce_when_sent(guide: Sandbox) -> None:
    code = guide.code()
    assert guide.exchange(code, code_verifier="x" * 43).status_code == 200


def test_guide_flavor_has_no_metadata_and_current_has_no_profiles_me(
    make_sandbox: SandboxFactory,
) -> None:
    current: Sandbox = make_sandbox("current")
    guide: Sandbox = make_sandbox("guide")
    assert guide.get("/.well-known/oauth-authorization-server").status_code == 404
    token = current.login()
    missing = current.get("/api/v1/profiles/me", token["access_token"])
    assert missing.status_code == 404
    assert missing.json()["code"] == "C0008"


def test_provider_rejects_an_unknown_flavor() -> None:
    with pytest.raises(ValueError, match="flavor"):
        SandboxProvider("future")  # type: ignore[arg-type]


# -- the flavor descriptions -------------------------------------------------------


def test_flavors_describe_the_current_provider_and_the_guide() -> None:
    assert set(FLAVORS) == {"current", "guide"}
    current, guide = FLAVORS["current"], FLAVORS["guide"]
    assert (current.name, guide.name) == ("current", "guide")
    assert (current.requires_pkce, guide.requires_pkce) == (True, False)
    assert (current.rotates_refresh_tokens, guide.rotates_refresh_tokens) == (
        True,
        False,
    )
    assert (current.revocation, guide.revocation) == (True, False)
    assert current.userinfo_path == "/oauth/userinfo"
    assert guide.userinfo_path == "/api/v1/profiles/me"
    assert (current.client_scopes, guide.client_scopes) == (
        ("profile",),
        ("profile:read",),
    )
    assert list(current.scopes) == [
        "profile",
        "email",
        "post:write",
        "company:manage:read",
        "job:write",
        "job:manage:read",
        "event:write",
    ]
    assert list(guide.scopes) == ["profile:read", "profile:email"]
    assert (current.profile_scope, current.email_scope) == ("profile", "email")
    assert (guide.profile_scope, guide.email_scope) == ("profile:read", "profile:email")


def test_a_flavor_description_cannot_be_changed() -> None:
    current = FLAVORS["current"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        current.requires_pkce = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        current.scopes["admin"] = "Everything"  # type: ignore[index]
    with pytest.raises(TypeError):
        FLAVORS["future"] = current  # type: ignore[index]
    assert "admin" not in SandboxProvider().scopes_supported


@pytest.mark.parametrize("name", ["current", "guide"])
def test_the_provider_does_what_its_flavor_describes(
    make_sandbox: SandboxFactory, name: Flavor
) -> None:
    spec = FLAVORS[name]
    sb: Sandbox = make_sandbox(name)
    provider = sb.provider
    assert provider.flavor_spec is spec
    assert provider.scopes_supported == spec.scopes
    assert provider.requires_pkce is spec.requires_pkce
    scopes = f"{spec.profile_scope} {spec.email_scope}"
    token = provider.issue_token("minji", CLIENT_ID, scopes)
    assert token["expires_in"] == spec.access_token_ttl
    assert token["refresh_token"].startswith(spec.refresh_token_prefix)

    claims = sb.get(spec.userinfo_path, token["access_token"])
    assert claims.status_code == 200
    assert claims.json()["email"] == SAMPLE_USERS[0].email
    refreshed = sb.refresh(token["refresh_token"]).json()
    assert ("refresh_token" in refreshed) is spec.rotates_refresh_tokens

    metadata = sb.get("/.well-known/oauth-authorization-server")
    assert (metadata.status_code == 200) is spec.metadata
    error = sb.get(spec.userinfo_path, "not-a-token").json()
    if spec.coded_errors:
        assert set(error) == {"code", "message", "timestamp", "details"}
    else:
        assert error["error"]["message"] == "The access token is invalid."
        assert error["error"]["status"] == 401


@pytest.mark.parametrize("over", ["http", "in-process"])
def test_guide_flavor_serves_neither_revocation_nor_userinfo(
    make_sandbox: SandboxFactory, over: str
) -> None:
    guide: Sandbox = make_sandbox("guide", over)
    token = guide.provider.issue_token("minji", CLIENT_ID, "profile:read")
    revoke = guide.revoke(token["refresh_token"])
    userinfo = guide.get("/oauth/userinfo", token["access_token"])
    for answer in (revoke, userinfo):
        assert answer.status_code == 404
        assert answer.json() == {
            "error": {"code": "C0008", "message": "Resource not found.", "status": 404}
        }
    # The refresh token was not revoked; the guide's profile answers.
    assert guide.refresh(token["refresh_token"]).status_code == 200
    profile = guide.get("/api/v1/profiles/me", token["access_token"])
    assert profile.status_code == 200
    assert "X-RateLimit-Remaining" in profile.headers
