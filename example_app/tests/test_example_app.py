"""The example app, tested as users should test theirs: with the testing kit
and Flask's test client, no mocks."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from example_app import create_app
from flask_rocketpunch.sandbox import SandboxProvider
from flask_rocketpunch.testing import (
    complete_login,
    last_request,
    login_as,
    logout,
    misbehave,
)


def test_home_page_shows_the_login_button(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'id="login-button"' in page.get_data(as_text=True)


def test_dashboard_sends_a_logged_out_visitor_to_log_in(client: FlaskClient) -> None:
    response = client.get("/dashboard")
    assert response.status_code == 302
    target = urlsplit(response.location)
    assert target.path == "/auth/rocketpunch/login"
    assert parse_qs(target.query)["next"] == ["/dashboard"]


def test_logged_in_user_sees_name_and_email_on_the_dashboard(
    client: FlaskClient,
) -> None:
    login_as(client, "minji")
    page = client.get("/dashboard")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Minji Kim" in text
    assert "minji@example.com" in text


def test_full_login_lands_on_next_and_shows_the_chosen_user(
    client: FlaskClient,
) -> None:
    response = complete_login(client, "alex", next="/dashboard")
    assert response.status_code == 302
    assert response.location == "/dashboard"
    assert "Alex Rivera" in client.get("/dashboard").get_data(as_text=True)


def test_deny_lands_on_the_friendly_page_without_a_redirect_loop(
    client: FlaskClient,
) -> None:
    response = complete_login(client, decision="deny", next="/dashboard")
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert 'id="denied-message"' in text
    # Its links lead to the public home page and to a new login, never to a
    # protected page that would redirect back to the consent page.
    assert client.get("/").status_code == 200


def test_token_near_expiry_is_refreshed_exactly_once(
    client: FlaskClient, sandbox: SandboxProvider
) -> None:
    login_as(client, expires_in=60)  # within the 300 s leeway
    assert client.get("/dashboard").status_code == 200
    assert client.get("/dashboard").status_code == 200
    assert sandbox.grant_counts()["refresh_token"] == 1


def test_revoked_refresh_token_sends_the_user_to_log_in_again(
    client: FlaskClient, sandbox: SandboxProvider
) -> None:
    token = login_as(client, expires_in=0)
    assert token.refresh_token is not None
    sandbox.revoke(token.refresh_token)
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert response.location.startswith("/auth/rocketpunch/login")


def test_token_endpoint_outage_during_login_shows_an_error_page(
    client: FlaskClient, sandbox: SandboxProvider
) -> None:
    with misbehave(sandbox, token_status=503):
        response = complete_login(client)
    assert response.status_code == 502
    text = response.get_data(as_text=True)
    assert "Login with Rocketpunch failed" in text
    assert "answered HTTP 503" in text
    assert client.get("/dashboard").status_code == 302  # not logged in


def test_missing_scope_at_userinfo_shows_an_error_page(
    client: FlaskClient, sandbox: SandboxProvider
) -> None:
    login_as(client)
    with misbehave(sandbox, userinfo_status=403):
        response = client.get("/dashboard")
    assert response.status_code == 502
    assert "lacks the required scope" in response.get_data(as_text=True)


def test_rate_limit_is_shown_with_retry_after(
    client: FlaskClient, sandbox: SandboxProvider
) -> None:
    login_as(client)
    with misbehave(sandbox, rate_limit_retry_after=30):
        response = client.get("/api/me")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"


def test_logout_revokes_the_refresh_token(
    client: FlaskClient, sandbox: SandboxProvider
) -> None:
    token = login_as(client)
    response = logout(client)
    assert response.status_code == 303
    assert last_request(sandbox, "revoke").params["token"] == token.refresh_token
    assert token.refresh_token is not None
    assert sandbox.refresh_tokens[token.refresh_token].revoked
    assert client.get("/dashboard").status_code == 302


def test_refreshes_are_coordinated_in_the_chosen_instance_folder(
    tmp_path: Path,
) -> None:
    # Gunicorn: 'example_app:create_app(instance_path="/srv/app/instance")'.
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "example-app-tests"},
        instance_path=str(tmp_path),
    )
    assert app.instance_path == str(tmp_path)
    client = app.test_client()
    login_as(client, expires_in=0)
    assert client.get("/api/me").status_code == 200
    assert (tmp_path / "rocketpunch-refresh.sqlite3").exists()


def test_without_a_secret_key_every_worker_shares_one_kept_in_the_instance_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    first = create_app({"TESTING": True}, instance_path=str(tmp_path))
    second = create_app({"TESTING": True}, instance_path=str(tmp_path))

    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 40
    assert sorted(p.name for p in tmp_path.iterdir()) == ["example-secret-key"]
