"""The sandbox's user API: userinfo, bearer tokens, the rate limit, the sample
API and the metadata."""

from __future__ import annotations

import json

import pytest
from test_sandbox_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    IN_PROCESS_ORIGIN,
    REDIRECT_URI,
    FakeClock,
    Sandbox,
    SandboxFactory,
)
from test_sandbox_support import clock as clock
from test_sandbox_support import make_sandbox as make_sandbox
from test_sandbox_support import sandbox as sandbox

from flask_rocketpunch.sandbox import (
    SAMPLE_USERS,
    SandboxProvider,
    SandboxUser,
    create_sandbox_app,
)

OWN = "https://cdn.example/own.png"
APP_KEY = {"X-RP-API-Key": CLIENT_ID}


def test_userinfo_has_email_only_with_email_scope(sandbox: Sandbox) -> None:
    with_email = sandbox.login(scope="profile email")
    without = sandbox.login(scope="profile")
    claims = sandbox.get("/oauth/userinfo", with_email["access_token"]).json()
    assert claims["email"] == SAMPLE_USERS[0].email
    claims = sandbox.get("/oauth/userinfo", without["access_token"]).json()
    assert "email" not in claims
    assert set(claims) == {"sub", "name", "preferred_username", "picture"}
    assert claims["picture"].startswith("http")


def test_userinfo_without_profile_scope_is_403_c0011(sandbox: Sandbox) -> None:
    token = sandbox.login(scope="email")
    response = sandbox.get("/oauth/userinfo", token["access_token"])
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "C0011"
    assert {"message", "timestamp", "details"} <= set(body)
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer a.b.c"],
)
def test_missing_or_invalid_bearer_is_401_c0001_with_challenge(
    sandbox: Sandbox, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = sandbox.session.get(sandbox.url("/oauth/userinfo"), headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "C0001"
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="rocketpunch"')


def test_forged_access_token_signature_is_rejected(sandbox: Sandbox) -> None:
    token = sandbox.login()["access_token"]
    header, payload, _ = token.split(".")
    forged = f"{header}.{payload}.{'A' * 43}"
    assert sandbox.get("/oauth/userinfo", forged).status_code == 401


def test_access_token_expires_per_expires_in(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    token = sandbox.login()
    clock.advance(899)
    assert sandbox.get("/oauth/userinfo", token["access_token"]).status_code == 200
    clock.advance(1)
    expired = sandbox.get("/oauth/userinfo", token["access_token"])
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]


def test_access_token_lifetime_is_configurable_per_provider_and_per_token(
    clock: FakeClock,
) -> None:
    provider = SandboxProvider(clock=clock, access_token_ttl=60)
    provider.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    assert provider.issue_token("minji", CLIENT_ID, "profile")["expires_in"] == 60
    short = provider.issue_token("minji", CLIENT_ID, ["profile"], expires_in=5)
    assert short["expires_in"] == 5
    assert provider.access_tokens[short["access_token"]].expires_at == clock() + 5


def test_issue_token_tokens_work_everywhere(sandbox: Sandbox) -> None:
    token = sandbox.provider.issue_token("seojun", CLIENT_ID, "profile email")
    claims = sandbox.get("/oauth/userinfo", token["access_token"]).json()
    assert claims["preferred_username"] == "seojun"
    assert sandbox.refresh(token["refresh_token"]).status_code == 200
    expired = sandbox.provider.issue_token("alex", CLIENT_ID, "profile", expires_in=0)
    assert sandbox.get("/oauth/userinfo", expired["access_token"]).status_code == 401


def test_issue_token_rejects_unknown_user_client_or_scope(sandbox: Sandbox) -> None:
    with pytest.raises(LookupError):
        sandbox.provider.issue_token("nobody", CLIENT_ID, "profile")
    with pytest.raises(LookupError):
        sandbox.provider.issue_token("minji", "nobody", "profile")
    with pytest.raises(ValueError, match="profile:read"):
        sandbox.provider.issue_token("minji", CLIENT_ID, "profile:read")


def test_rate_limit_remaining_counts_down_per_client(sandbox: Sandbox) -> None:
    token = sandbox.login()  # the token call spends one of the 60
    remaining = [
        sandbox.get("/oauth/userinfo", token["access_token"]).headers[
            "X-RP-RateLimit-Remaining"
        ]
        for _ in range(3)
    ]
    assert remaining == ["58", "57", "56"]


def test_enforced_rate_limit_answers_429_until_the_minute_ends(
    clock: FakeClock,
) -> None:
    clock.now = 1_800_000_020.0
    provider = SandboxProvider(
        clock=clock, rate_limit_per_minute=2, enforce_rate_limit=True
    )
    provider.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    token = provider.issue_token("minji", CLIENT_ID, "profile")["access_token"]
    client = create_sandbox_app(provider).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/oauth/userinfo", headers=headers).status_code == 200
    assert client.get("/oauth/userinfo", headers=headers).status_code == 200
    limited = client.get("/oauth/userinfo", headers=headers)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "40"
    clock.advance(40)
    assert client.get("/oauth/userinfo", headers=headers).status_code == 200


def test_sample_api_lists_and_creates_posts_with_scope(sandbox: Sandbox) -> None:
    reader = sandbox.provider.issue_token("minji", CLIENT_ID, "profile")
    listed = sandbox.session.get(
        sandbox.url("/api/v1/posts"),
        params={"page": 1, "pageSize": 2},
        headers={"Authorization": f"Bearer {reader['access_token']}", **APP_KEY},
    )
    assert listed.status_code == 200
    assert listed.json()["pageSize"] == 2
    assert len(listed.json()["items"]) == 2
    denied = sandbox.session.post(
        sandbox.url("/api/v1/posts"),
        json={"text": "hi"},
        headers={"Authorization": f"Bearer {reader['access_token']}", **APP_KEY},
    )
    assert denied.status_code == 403
    assert denied.json()["code"] == "C0011"
    writer = sandbox.provider.issue_token("minji", CLIENT_ID, "profile post:write")
    created = sandbox.session.post(
        sandbox.url("/api/v1/posts"),
        files={"request": (None, json.dumps({"text": "hello"}), "application/json")},
        headers={"Authorization": f"Bearer {writer['access_token']}", **APP_KEY},
    )
    assert created.status_code == 201
    assert created.json()["content"] == "hello"
    first = sandbox.get("/api/v1/posts", writer["access_token"]).json()["items"][0]
    assert first["content"] == "hello"


def test_company_permissions_need_their_scope(sandbox: Sandbox) -> None:
    plain = sandbox.provider.issue_token("minji", CLIENT_ID, "profile")
    manager = sandbox.provider.issue_token("minji", CLIENT_ID, "company:manage:read")
    path = "/api/v1/me/company-permissions"
    assert sandbox.get(path, plain["access_token"]).status_code == 403
    companies = sandbox.get(path, manager["access_token"]).json()["companies"]
    assert companies[0]["company"]["permalink"] == "rocketpunch-sandbox"


def test_unknown_api_path_is_404_in_the_flavor_error_shape(
    make_sandbox: SandboxFactory,
) -> None:
    current: Sandbox = make_sandbox("current")
    guide: Sandbox = make_sandbox("guide")
    assert current.get("/api/v1/nothing").json()["code"] == "C0008"
    assert guide.get("/api/v1/nothing").json() == {
        "error": {"code": "C0008", "message": "Resource not found.", "status": 404}
    }


def test_metadata_describes_the_endpoints(sandbox: Sandbox) -> None:
    metadata = sandbox.get("/.well-known/oauth-authorization-server").json()
    assert metadata["token_endpoint"] == IN_PROCESS_ORIGIN + "/oauth/token"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["scopes_supported"][:2] == ["profile", "email"]


USERS_WITH_ODD_PICTURES = (
    SandboxUser(sub="OA-own", name="Own", preferred_username="own", picture=OWN),
    SandboxUser(sub="OA-none", name="None", preferred_username="none"),
    SandboxUser(sub="OA-gone", name="Gone", preferred_username="gone", avatar="x.svg"),
    SandboxUser(sub="OA-up", name="Up", preferred_username="up", avatar="../x.svg"),
)


@pytest.mark.parametrize("inline", [True, False])
def test_picture_is_the_users_own_url_or_none_without_a_served_avatar(
    clock: FakeClock, inline: bool
) -> None:
    provider = SandboxProvider(
        users=USERS_WITH_ODD_PICTURES, clock=clock, inline_pictures=inline
    )
    provider.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    client = create_sandbox_app(provider).test_client()
    pictures: dict[str, object] = {}
    for user in USERS_WITH_ODD_PICTURES:
        token = provider.issue_token(user.sub, CLIENT_ID, "profile")["access_token"]
        info = client.get(
            "/oauth/userinfo", headers={"Authorization": f"Bearer {token}"}
        )
        pictures[user.sub] = info.get_json()["picture"]
    assert pictures["OA-own"] == OWN
    assert pictures["OA-none"] is None
    if inline:
        assert pictures["OA-gone"] is None
        assert pictures["OA-up"] is None
    else:
        assert pictures["OA-gone"] == "http://localhost/static/x.svg"
