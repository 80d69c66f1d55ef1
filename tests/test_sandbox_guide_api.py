"""The guide flavor's sample API (``GET|POST /api/v1/posts`` and
``GET /api/v1/me/company-permissions``), answered in the July 2026 guide's
shapes: ``{"error": {"code", "message", "status"}}`` and ``X-RateLimit-*``."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from flask_rocketpunch.sandbox import SandboxProvider, create_sandbox_app

CLIENT_ID = "guide-client"


@pytest.fixture
def provider() -> SandboxProvider:
    provider = SandboxProvider(flavor="guide")
    provider.register_client(CLIENT_ID, "secret", "http://127.0.0.1/cb")
    return provider


@pytest.fixture
def api(provider: SandboxProvider) -> FlaskClient:
    return create_sandbox_app(provider).test_client()


def bearer(provider: SandboxProvider, scopes: str = "profile:read") -> dict[str, str]:
    token = provider.issue_token("minji", CLIENT_ID, scopes)
    return {"Authorization": f"Bearer {token['access_token']}"}


def test_posts_are_listed_a_page_at_a_time(
    api: FlaskClient, provider: SandboxProvider
) -> None:
    answer = api.get("/api/v1/posts?page=1&pageSize=1", headers=bearer(provider))
    assert answer.status_code == 200
    assert "X-RateLimit-Remaining" in answer.headers
    assert "X-RP-RateLimit-Remaining" not in answer.headers


def test_a_page_that_is_not_a_number_is_a_guide_shaped_400(
    api: FlaskClient, provider: SandboxProvider
) -> None:
    answer = api.get("/api/v1/posts?page=first", headers=bearer(provider))
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["status"] == 400
    assert "page" in error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/v1/posts"), ("GET", "/api/v1/me/company-permissions")],
)
def test_operations_beyond_the_guides_scopes_are_refused_with_403(
    api: FlaskClient, provider: SandboxProvider, method: str, path: str
) -> None:
    # The guide's scopes are profile:read and profile:email only: no token of
    # the guide flavor may write posts or read company permissions.
    answer = api.open(
        path, method=method, json={"text": "hi"}, headers=bearer(provider)
    )
    assert answer.status_code == 403
    assert answer.get_json()["error"]["status"] == 403


def test_the_api_needs_a_token(api: FlaskClient) -> None:
    answer = api.get("/api/v1/posts")
    assert answer.status_code == 401
    assert answer.get_json()["error"]["status"] == 401
