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
from flask import session
from flask.testing import FlaskClient
from support import (
    LOGIN,
    LOGOUT,
    SECRET_KEY,
    AppFactory,
    CountingStorage,
    newest_access_token,
    protected_app,
    session_cookie,
    session_serializer,
)

from flask_rocketpunch import (
    MemoryStorage,
    Token,
    TokenStorage,
    login_ended,
    login_required_rocketpunch,
    rocketpunch,
)
from flask_rocketpunch.sandbox import SandboxProvider
from flask_rocketpunch.testing import complete_login

TOKEN_KEY = "_rocketpunch_token"


def all_tokens(provider: SandboxProvider) -> list[str]:
    tokens = [*provider.access_tokens, *provider.refresh_tokens]
    assert tokens
    return tokens


def test_session_cookie_contains_neither_access_nor_refresh_token(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = protected_app(make_app, REFRESH_LEEWAY=1000)
    browser = app.test_client()
    complete_login(browser)
    assert browser.get("/posts").status_code == 200  # refreshed: rotated tokens

    raw = session_cookie(browser)
    data = session_serializer(app).loads(raw)
    decoded = json.dumps(data)

    assert isinstance(data[TOKEN_KEY], str)
    assert len(rocketpunch_provider.refresh_tokens) >= 2
    for token in all_tokens(rocketpunch_provider):
        assert token not in raw
        assert token not in decoded
        assert token[-20:] not in decoded


def test_rotated_secret_key_with_fallback_keeps_the_user_logged_in(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    old = protected_app(make_app)
    browser = old.test_client()
    complete_login(browser)
    cookie = session_cookie(browser)

    new = protected_app(
        make_app, SECRET_KEY="a-new-key", SECRET_KEY_FALLBACKS=[SECRET_KEY]
    )
    after = new.test_client()
    after.set_cookie("session", cookie, domain="localhost")

    answer = after.get("/posts")

    assert answer.status_code == 200
    assert answer.get_json()["totalItems"] >= 1
    assert rocketpunch_provider.grant_counts() == {"authorization_code": 1}


def test_new_secret_key_without_fallback_means_logged_out_not_500(
    make_app: AppFactory,
) -> None:
    old = protected_app(make_app)
    browser = old.test_client()
    complete_login(browser)
    cookie = session_cookie(browser)

    new = protected_app(make_app, SECRET_KEY="a-new-key")
    after = new.test_client()
    after.set_cookie("session", cookie, domain="localhost")

    answer = after.get("/posts")

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(LOGIN)


def test_token_encrypted_under_an_old_key_only_is_dropped(
    make_app: AppFactory,
) -> None:
    """The session is still signed validly (fallback) but the token was
    sealed under a key the app no longer has: treated as logged out."""
    old = protected_app(make_app)
    browser = old.test_client()
    complete_login(browser)
    data = session_serializer(old).loads(session_cookie(browser))

    new = protected_app(make_app, SECRET_KEY="a-new-key")
    after = new.test_client()
    after.set_cookie("session", session_serializer(new).dumps(data), domain="localhost")

    ended: list[tuple[str, t.Any]] = []

    def record(sender: t.Any, reason: str, token: t.Any, **extra: t.Any) -> None:
        ended.append((reason, token))

    with login_ended.connected_to(record, new):
        answer = after.get("/posts")

    assert answer.status_code == 302
    assert TOKEN_KEY in data
    # The login is over: the app is told why, and the session forgets it
    # (the cookie, left empty, is deleted).
    assert ended == [("undecryptable", None)]
    assert session_cookie(after) == ""


def test_tampered_encrypted_token_means_logged_out(make_app: AppFactory) -> None:
    app = protected_app(make_app)
    browser = app.test_client()
    complete_login(browser)
    data = session_serializer(app).loads(session_cookie(browser))
    sealed = data[TOKEN_KEY]
    middle = len(sealed) // 2
    flipped = "A" if sealed[middle] != "A" else "B"
    data[TOKEN_KEY] = sealed[:middle] + flipped + sealed[middle + 1 :]
    browser.set_cookie(
        "session", session_serializer(app).dumps(data), domain="localhost"
    )

    assert browser.get(
        "/posts", headers={"Accept": "application/json"}
    ).status_code == (401)
    answer = browser.get("/posts")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(LOGIN)


def test_garbage_token_value_means_logged_out(make_app: AppFactory) -> None:
    app = protected_app(make_app)
    browser = app.test_client()
    complete_login(browser)
    data = session_serializer(app).loads(session_cookie(browser))
    data[TOKEN_KEY] = "not base64 at all!"
    browser.set_cookie(
        "session", session_serializer(app).dumps(data), domain="localhost"
    )

    assert browser.get("/posts").status_code == 302


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


def use_login_call_logout(
    provider: SandboxProvider, browser: FlaskClient, stored: t.Callable[[], str | None]
) -> None:
    """Log in, call the API, log out; ``stored`` gives the stored access token."""
    complete_login(browser)
    access = stored()
    assert access == newest_access_token(provider)
    cookie = session_cookie(browser)

    assert browser.get("/posts").status_code == 200
    (call,) = provider.requests_to("posts")
    assert call.headers["Authorization"] == f"Bearer {access}"
    assert access not in cookie

    logout = browser.post(LOGOUT)
    assert logout.status_code == 303
    assert stored() is None
    (revoked,) = provider.requests_to("revoke")
    assert revoked.params["token"] == list(provider.refresh_tokens)[-1]
    assert browser.get("/posts").status_code == 302


def test_memory_storage_is_used_for_login_api_calls_and_logout(
    rocketpunch_provider: SandboxProvider, make_app: AppFactory
) -> None:
    storage = MemoryStorage()
    browser = protected_app(make_app, storage=storage).test_client()

    def stored() -> str | None:
        tokens = list(storage.tokens.values())
        return tokens[0].access_token if tokens else None

    use_login_call_logout(rocketpunch_provider, browser, stored)


def test_custom_sqlite_storage_is_used_for_login_api_calls_and_logout(
    rocketpunch_provider: SandboxProvider, make_app: AppFactory, tmp_path: Path
) -> None:
    storage = SqliteStorage(tmp_path / "tokens.sqlite3")
    app = protected_app(make_app, storage=storage)
    browser = app.test_client()

    def stored() -> str | None:
        rows = storage.rows()
        return json.loads(rows[0][1])["a"] if rows else None

    use_login_call_logout(rocketpunch_provider, browser, stored)
    assert session_cookie(browser) == ""  # logout dropped the login id too


def test_session_cookie_after_login_stays_small(
    make_app: AppFactory,
) -> None:
    app = make_app(SCOPES="profile email")
    browser = app.test_client()
    complete_login(browser)
    # A second tab starts a login that stays in flight.
    browser.get(LOGIN, query_string={"next": "/somewhere"})

    size = len("session=") + len(session_cookie(browser))

    assert size < 1500


def test_huge_session_logs_a_warning_before_the_browser_limit(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    rnd = random.Random(0)
    blob = "".join(rnd.choice(string.ascii_letters) for _ in range(3760))

    @app.get("/fill")
    def fill() -> str:
        session["blob"] = blob
        return "filled"

    browser = app.test_client()
    browser.get("/fill")
    caplog.set_level(logging.WARNING, logger="flask_rocketpunch")

    assert browser.get(LOGIN).status_code == 302

    size = len(session_cookie(browser))
    assert 3800 < size < 4093
    warnings = [r.getMessage() for r in caplog.records if r.name == "flask_rocketpunch"]
    assert any("close to the 4096-byte limit" in m for m in warnings), warnings


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
    complete_login(browser)
    storage.reads = 0
    assert browser.get("/three-calls").status_code == 200
    assert storage.reads == 1
