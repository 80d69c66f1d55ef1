"""Tokens at rest: encrypted in the session cookie (unreadable, rotation with
SECRET_KEY_FALLBACKS, tampering), other storages, and the cookie's size."""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import string
import typing as t
from pathlib import Path

import pytest
from dance import SECRET_KEY, AppFactory, login
from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from flask_rocketpunch import (
    MemoryStorage,
    Token,
    TokenStorage,
    login_required_rocketpunch,
    rocketpunch,
)
from flask_rocketpunch.sandbox import SandboxProvider

TOKEN_KEY = "_rocketpunch_token"


def add_views(app: Flask) -> Flask:
    @app.get("/private")
    @login_required_rocketpunch
    def private() -> t.Any:
        return {"posts": rocketpunch.get("posts").json()["totalItems"]}

    return app


def serializer(app: Flask) -> URLSafeTimedSerializer:
    interface = app.session_interface
    assert isinstance(interface, SecureCookieSessionInterface)
    signer = interface.get_signing_serializer(app)
    assert signer is not None
    return signer


def session_cookie(browser: FlaskClient) -> str:
    """The session cookie's value; empty when the browser has none."""
    cookie = browser.get_cookie("session")
    return "" if cookie is None else cookie.value


def all_tokens(provider: SandboxProvider) -> list[str]:
    tokens = [*provider.access_tokens, *provider.refresh_tokens]
    assert tokens
    return tokens


def test_session_cookie_contains_neither_access_nor_refresh_token(
    make_app: AppFactory, provider: SandboxProvider
) -> None:
    app = add_views(make_app(REFRESH_LEEWAY=1000))
    browser = app.test_client()
    login(browser)
    assert browser.get("/private").status_code == 200  # refreshed: rotated tokens

    raw = session_cookie(browser)
    data = serializer(app).loads(raw)
    decoded = json.dumps(data)

    assert isinstance(data[TOKEN_KEY], str)
    assert len(provider.refresh_tokens) >= 2
    for token in all_tokens(provider):
        assert token not in raw
        assert token not in decoded
        assert token[-20:] not in decoded


def test_rotated_secret_key_with_fallback_keeps_the_user_logged_in(
    make_app: AppFactory, provider: SandboxProvider
) -> None:
    old = add_views(make_app())
    browser = old.test_client()
    login(browser)
    cookie = session_cookie(browser)

    new = add_views(make_app(SECRET_KEY="a-new-key", SECRET_KEY_FALLBACKS=[SECRET_KEY]))
    after = new.test_client()
    after.set_cookie("session", cookie, domain="localhost")

    answer = after.get("/private")

    assert answer.status_code == 200
    assert answer.get_json()["posts"] >= 1
    assert provider.grant_counts() == {"authorization_code": 1}


def test_new_secret_key_without_fallback_means_logged_out_not_500(
    make_app: AppFactory,
) -> None:
    old = add_views(make_app())
    browser = old.test_client()
    login(browser)
    cookie = session_cookie(browser)

    new = add_views(make_app(SECRET_KEY="a-new-key"))
    after = new.test_client()
    after.set_cookie("session", cookie, domain="localhost")

    answer = after.get("/private")

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/auth/rocketpunch/login")


def test_token_encrypted_under_an_old_key_only_is_dropped(
    make_app: AppFactory,
) -> None:
    """The session is still signed validly (fallback) but the token was
    sealed under a key the app no longer has: treated as logged out."""
    old = add_views(make_app())
    browser = old.test_client()
    login(browser)
    data = serializer(old).loads(session_cookie(browser))

    new = add_views(make_app(SECRET_KEY="a-new-key"))
    after = new.test_client()
    after.set_cookie("session", serializer(new).dumps(data), domain="localhost")

    answer = after.get("/private")

    assert answer.status_code == 302
    assert TOKEN_KEY in data
    assert TOKEN_KEY not in serializer(new).loads(session_cookie(after))


def test_tampered_encrypted_token_means_logged_out(make_app: AppFactory) -> None:
    app = add_views(make_app())
    browser = app.test_client()
    login(browser)
    data = serializer(app).loads(session_cookie(browser))
    sealed = data[TOKEN_KEY]
    middle = len(sealed) // 2
    flipped = "A" if sealed[middle] != "A" else "B"
    data[TOKEN_KEY] = sealed[:middle] + flipped + sealed[middle + 1 :]
    browser.set_cookie("session", serializer(app).dumps(data), domain="localhost")

    assert browser.get(
        "/private", headers={"Accept": "application/json"}
    ).status_code == (401)
    answer = browser.get("/private")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/auth/rocketpunch/login")


def test_garbage_token_value_means_logged_out(make_app: AppFactory) -> None:
    app = add_views(make_app())
    browser = app.test_client()
    login(browser)
    data = serializer(app).loads(session_cookie(browser))
    data[TOKEN_KEY] = "not base64 at all!"
    browser.set_cookie("session", serializer(app).dumps(data), domain="localhost")

    assert browser.get("/private").status_code == 302


class SqliteStorage(TokenStorage):
    """Tokens in a real sqlite3 file, keyed by the login id."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE tokens (uid TEXT PRIMARY KEY, data TEXT)")

    def rows(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.path) as db:
            return list(db.execute("SELECT uid, data FROM tokens"))

    def get(self, key: str) -> Token | None:
        with sqlite3.connect(self.path) as db:
            row = db.execute("SELECT data FROM tokens WHERE uid = ?", (key,)).fetchone()
        return None if row is None else Token.from_dict(json.loads(row[0]))

    def set(self, key: str, token: Token) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute(
                "INSERT OR REPLACE INTO tokens (uid, data) VALUES (?, ?)",
                (key, json.dumps(token.to_dict())),
            )

    def delete(self, key: str) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute("DELETE FROM tokens WHERE uid = ?", (key,))


def storage_app(make_app: AppFactory, storage: TokenStorage) -> Flask:
    """The app ``make_app`` builds, with its own token storage."""
    return add_views(make_app(storage=storage))


def use_login_call_logout(
    provider: SandboxProvider, browser: FlaskClient, stored: t.Callable[[], str | None]
) -> None:
    """Log in, call the API, log out; ``stored`` gives the stored access token."""
    login(browser)
    access = stored()
    assert access == list(provider.access_tokens)[-1]
    cookie = session_cookie(browser)

    assert browser.get("/private").status_code == 200
    (call,) = provider.requests_to("posts")
    assert call.headers["Authorization"] == f"Bearer {access}"
    assert access not in cookie

    logout = browser.post("/auth/rocketpunch/logout")
    assert logout.status_code == 303
    assert stored() is None
    (revoked,) = provider.requests_to("revoke")
    assert revoked.params["token"] == list(provider.refresh_tokens)[-1]
    assert browser.get("/private").status_code == 302


def test_memory_storage_is_used_for_login_api_calls_and_logout(
    provider: SandboxProvider, make_app: AppFactory
) -> None:
    storage = MemoryStorage()
    browser = storage_app(make_app, storage).test_client()

    def stored() -> str | None:
        tokens = list(storage.tokens.values())
        return tokens[0].access_token if tokens else None

    use_login_call_logout(provider, browser, stored)


def test_custom_sqlite_storage_is_used_for_login_api_calls_and_logout(
    provider: SandboxProvider, make_app: AppFactory, tmp_path: Path
) -> None:
    storage = SqliteStorage(tmp_path / "tokens.sqlite3")
    app = storage_app(make_app, storage)
    browser = app.test_client()

    def stored() -> str | None:
        rows = storage.rows()
        return json.loads(rows[0][1])["a"] if rows else None

    use_login_call_logout(provider, browser, stored)
    assert session_cookie(browser) == ""  # logout dropped the login id too


def test_session_cookie_after_login_stays_small(
    make_app: AppFactory,
) -> None:
    app = make_app(SCOPES="profile email")
    browser = app.test_client()
    login(browser)
    # A second tab starts a login that stays in flight.
    browser.get("/auth/rocketpunch/login", query_string={"next": "/somewhere"})

    size = len("session=") + len(session_cookie(browser))

    assert size < 1500


def test_huge_session_logs_a_warning_before_the_browser_limit(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    rnd = random.Random(0)
    blob = "".join(rnd.choice(string.ascii_letters) for _ in range(3720))

    @app.get("/fill")
    def fill() -> str:
        session["blob"] = blob
        return "filled"

    browser = app.test_client()
    browser.get("/fill")
    caplog.set_level(logging.WARNING, logger="flask_rocketpunch")

    assert browser.get("/auth/rocketpunch/login").status_code == 302

    size = len(session_cookie(browser))
    assert 3800 < size < 4093
    warnings = [r.getMessage() for r in caplog.records if r.name == "flask_rocketpunch"]
    assert any("close to the 4096-byte limit" in m for m in warnings), warnings


class CountingStorage(MemoryStorage):
    """A memory storage that counts reads, like a database would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, key: str) -> Token | None:
        self.reads += 1
        return super().get(key)


def test_one_request_reads_the_storage_once_however_many_api_calls(
    make_app: AppFactory,
) -> None:
    storage = CountingStorage()
    app = make_app(storage=storage)

    @app.get("/three-calls")
    @login_required_rocketpunch
    def three_calls() -> dict[str, t.Any]:
        rocketpunch.get("posts")
        rocketpunch.get("posts")
        return rocketpunch.userinfo()

    browser = app.test_client()
    login(browser)
    storage.reads = 0
    assert browser.get("/three-calls").status_code == 200
    assert storage.reads == 1
