"""Two providers sharing a :class:`SharedState` (a secret and a ledger file)
behave as one sandbox: what one worker issues, another honours, and what one
spends or revokes, every other refuses. Each provider keeps its own memory,
exactly as two gunicorn workers do (``test_sandbox_processes`` runs the
real thing)."""

from __future__ import annotations

import logging
import secrets
import typing as t
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask.testing import FlaskClient

from flask_rocketpunch.sandbox import (
    SandboxProvider,
    SharedState,
    create_sandbox_app,
    s256,
)
from flask_rocketpunch.sandbox.errors import APIError, TokenError
from flask_rocketpunch.testing import consent_form

CLIENT = "shared-client"
SECRET = "shared-secret"
REDIRECT = "http://app.example/callback"


def worker(path: Path | None, key: str = "app-secret-key") -> SandboxProvider:
    provider = SandboxProvider(shared=SharedState(key, path))
    provider.register_client(CLIENT, SECRET, REDIRECT)
    return provider


@pytest.fixture
def pair(tmp_path: Path) -> tuple[SandboxProvider, SandboxProvider]:
    path = tmp_path / SharedState.FILE_NAME
    return worker(path), worker(path)


def params(verifier: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "scope": "profile email",
        "state": "s",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }


def code_from(provider: SandboxProvider, verifier: str) -> str:
    location = provider.approve(params(verifier), "minji")
    return dict(parse_qsl(urlsplit(location).query))["code"]


def exchange(provider: SandboxProvider, code: str, verifier: str) -> dict[str, t.Any]:
    return dict(
        provider.token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
                "client_id": CLIENT,
                "client_secret": SECRET,
            }
        )
    )


def refresh(provider: SandboxProvider, token: str) -> dict[str, t.Any]:
    return dict(
        provider.token_request(
            {
                "grant_type": "refresh_token",
                "refresh_token": token,
                "client_id": CLIENT,
                "client_secret": SECRET,
            }
        )
    )


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_code_from_one_worker_is_exchanged_by_another_and_only_once(
    pair: tuple[SandboxProvider, SandboxProvider],
) -> None:
    a, b = pair
    verifier = secrets.token_urlsafe(48)
    code = code_from(a, verifier)
    issued = exchange(b, code, verifier)
    # Any worker reads the token; the claims are the consenting user's.
    token = a.authenticate_bearer(bearer(issued["access_token"]))
    assert a.claims(token)["preferred_username"] == "minji"

    # Replayed at the worker that issued it: refused, and the grant it
    # gave is revoked everywhere (RFC 6749 4.1.2).
    with pytest.raises(TokenError, match="expired or already used"):
        exchange(a, code, verifier)
    for provider in (a, b):
        with pytest.raises(APIError, match="revoked"):
            provider.authenticate_bearer(bearer(issued["access_token"]))
        with pytest.raises(TokenError, match="revoked"):
            refresh(provider, issued["refresh_token"])


def test_a_code_keeps_its_bindings_in_another_worker(
    pair: tuple[SandboxProvider, SandboxProvider],
) -> None:
    a, b = pair
    verifier = secrets.token_urlsafe(48)
    code = code_from(a, verifier)
    with pytest.raises(TokenError, match="PKCE"):
        exchange(b, code, secrets.token_urlsafe(48))
    # The failed attempt spent the code, as in one process.
    with pytest.raises(TokenError, match="already used"):
        exchange(a, code, verifier)


def test_a_rotated_refresh_token_is_refused_by_every_worker(
    pair: tuple[SandboxProvider, SandboxProvider],
) -> None:
    a, b = pair
    verifier = secrets.token_urlsafe(48)
    first = exchange(a, code_from(a, verifier), verifier)
    second = refresh(b, first["refresh_token"])
    third = refresh(a, second["refresh_token"])
    assert b.authenticate_bearer(bearer(third["access_token"])).user_sub
    for provider in (a, b):
        with pytest.raises(TokenError, match="already used"):
            refresh(provider, first["refresh_token"])


def test_revoking_in_one_worker_is_seen_by_the_other(
    pair: tuple[SandboxProvider, SandboxProvider],
) -> None:
    a, b = pair
    verifier = secrets.token_urlsafe(48)
    one = exchange(a, code_from(a, verifier), verifier)
    two = exchange(a, code_from(a, verifier), verifier)

    # An access token alone: the other tokens of its grant still work.
    b.revoke_request(
        {"token": one["access_token"], "client_id": CLIENT, "client_secret": SECRET}
    )
    with pytest.raises(APIError, match="revoked"):
        a.authenticate_bearer(bearer(one["access_token"]))
    assert refresh(a, one["refresh_token"])["access_token"]

    # A refresh token: its whole grant.
    assert b.revoke(two["refresh_token"]) is True
    with pytest.raises(APIError, match="revoked"):
        a.authenticate_bearer(bearer(two["access_token"]))
    with pytest.raises(TokenError, match="revoked"):
        refresh(a, two["refresh_token"])


def test_a_consent_form_served_by_one_worker_is_accepted_by_another(
    pair: tuple[SandboxProvider, SandboxProvider],
) -> None:
    a, b = pair
    page = create_sandbox_app(a).test_client()
    post = create_sandbox_app(b).test_client()
    served = page.get("/oauth/authorize", query_string=params("v" * 43))
    action, fields = consent_form(served.get_data(as_text=True), "")
    fields.update(decision="approve", user="alex")
    decided = post.post(action, data=fields)
    assert decided.status_code == 302
    assert decided.headers["Location"].startswith(f"{REDIRECT}?code=")


def test_another_secret_makes_another_sandbox(tmp_path: Path) -> None:
    path = tmp_path / SharedState.FILE_NAME
    a, other = worker(path), worker(path, key="another-app")
    verifier = secrets.token_urlsafe(48)
    issued = exchange(a, code_from(a, verifier), verifier)
    with pytest.raises(APIError, match="invalid"):
        other.authenticate_bearer(bearer(issued["access_token"]))
    with pytest.raises(TokenError, match="invalid"):
        refresh(other, issued["refresh_token"])
    with pytest.raises(TokenError, match="invalid"):
        exchange(other, code_from(a, verifier), verifier)
    # A forged code or token in the shared shape is no more accepted.
    with pytest.raises(TokenError, match="invalid"):
        exchange(a, issued["refresh_token"], verifier)


def test_the_ledger_holds_no_code_or_token(
    pair: tuple[SandboxProvider, SandboxProvider], tmp_path: Path
) -> None:
    a, b = pair
    verifier = secrets.token_urlsafe(48)
    code = code_from(a, verifier)
    issued = exchange(b, code, verifier)
    a.revoke(issued["refresh_token"])
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for value in (code, issued["access_token"], issued["refresh_token"]):
        assert value.encode() not in stored
    assert SECRET.encode() not in stored


def test_an_unusable_state_file_falls_back_to_one_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    provider = worker(blocker / SharedState.FILE_NAME)
    verifier = secrets.token_urlsafe(48)
    code = code_from(provider, verifier)
    with caplog.at_level(logging.WARNING, logger="flask_rocketpunch"):
        issued = exchange(provider, code, verifier)
    assert "cannot use its state file" in caplog.text
    assert "flask rocketpunch sandbox" in caplog.text
    assert provider.authenticate_bearer(bearer(issued["access_token"]))
    # The one process still refuses a replay, and revokes what it gave.
    with pytest.raises(TokenError, match="already used"):
        exchange(provider, code, verifier)
    with pytest.raises(APIError, match="revoked"):
        provider.authenticate_bearer(bearer(issued["access_token"]))


def test_the_in_app_sandbox_keeps_its_ledger_in_the_instance_folder(
    tmp_path: Path,
) -> None:
    from flask import Flask

    from flask_rocketpunch import RocketpunchOAuth
    from flask_rocketpunch.testing import complete_login

    app = Flask("instance_app", instance_path=str(tmp_path / "instance"))
    app.config.update(SECRET_KEY="k", TESTING=True, ROCKETPUNCH_SANDBOX=True)
    RocketpunchOAuth(app)
    client: FlaskClient = app.test_client()
    assert complete_login(client).status_code == 302
    assert (tmp_path / "instance" / SharedState.FILE_NAME).exists()
