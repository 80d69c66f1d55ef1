"""The storage contract: one set of tests run against every storage (the
session cookie, memory, Redis, SQLAlchemy on SQLite and on PostgreSQL).

Each storage is driven through a :class:`Harness` that knows how to reach
it as the extension does: the cookie storage inside a request of a browser
(a test client), the others from a plain app context, as a CLI command or a
job would."""

from __future__ import annotations

import collections.abc as cabc
import hashlib
import importlib.util
import threading
import typing as t
from pathlib import Path

import pytest
from coordination import make_token
from flask import Flask, session
from flask.testing import FlaskClient

from flask_rocketpunch import MemoryStorage, RocketpunchOAuth, SessionStorage
from flask_rocketpunch.storage import TOKEN_KEY, TokenStorage
from flask_rocketpunch.tokens import Token

OLD_KEY = "contract-old-secret-key"
NEW_KEY = "contract-new-secret-key"
HAS_SQL = importlib.util.find_spec("flask_rocketpunch.storage.sqlalchemy") is not None


class Harness:
    """One storage, reached as the extension reaches it."""

    def __init__(self, storage: TokenStorage) -> None:
        self.app = Flask("contract")
        self.app.config.update(
            SECRET_KEY=NEW_KEY,
            ROCKETPUNCH_CLIENT_ID="contract",
            ROCKETPUNCH_CLIENT_SECRET="contract-secret",
        )
        self.storage = storage
        RocketpunchOAuth(self.app, storage=storage)
        self._browsers: dict[str, FlaskClient] = {}

    def _browser(self, key: str) -> FlaskClient:
        # One browser per login: the cookie storage keeps a login in its own.
        return self._browsers.setdefault(key, self.app.test_client())

    def run(self, key: str, action: cabc.Callable[[], t.Any]) -> t.Any:
        with self.app.app_context():
            return action()

    def get(self, key: str) -> Token | None:
        return t.cast("Token | None", self.run(key, lambda: self.storage.get(key)))

    def set(self, key: str, token: Token) -> None:
        self.run(key, lambda: self.storage.set(key, token))

    def delete(self, key: str) -> None:
        self.run(key, lambda: self.storage.delete(key))

    def replace(self, key: str, old: Token, new: Token) -> bool:
        return bool(self.run(key, lambda: self.storage.replace(key, old, new)))

    def blob(self, key: str) -> object:
        """What the storage keeps for ``key``, as it keeps it."""
        raise NotImplementedError

    def put_blob(self, key: str, blob: object) -> None:
        """Make the storage keep ``blob`` for ``key``, as if written there."""
        raise NotImplementedError


class SessionHarness(Harness):
    def run(self, key: str, action: cabc.Callable[[], t.Any]) -> t.Any:
        browser = self._browser(key)
        with (
            browser.session_transaction() as saved,
            self.app.test_request_context(),
        ):
            session.update(saved)
            result = action()
            saved.clear()
            saved.update(session)
        return result

    def blob(self, key: str) -> object:
        with self._browser(key).session_transaction() as saved:
            return saved.get(TOKEN_KEY)

    def put_blob(self, key: str, blob: object) -> None:
        with self._browser(key).session_transaction() as saved:
            saved[TOKEN_KEY] = blob


class MemoryHarness(Harness):
    pass


class RedisHarness(Harness):
    def __init__(self, storage: TokenStorage, client: t.Any) -> None:
        super().__init__(storage)
        self.client = client

    def _name(self, key: str) -> str:
        # The documented layout: <prefix>login:<sha256 of the login id>.
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{t.cast(t.Any, self.storage).key_prefix}login:{digest}"

    def blob(self, key: str) -> object:
        return self.client.hget(self._name(key), "t")

    def put_blob(self, key: str, blob: object) -> None:
        self.client.hset(self._name(key), "t", t.cast(bytes, blob))


class SQLHarness(Harness):
    def blob(self, key: str) -> object:
        import sqlalchemy as sa

        storage = t.cast(t.Any, self.storage)
        table = storage.table
        with storage.engine.connect() as conn:
            return conn.execute(
                sa.select(table.c.sealed).where(table.c.login_id == key)
            ).scalar_one_or_none()

    def put_blob(self, key: str, blob: object) -> None:
        import sqlalchemy as sa

        storage = t.cast(t.Any, self.storage)
        table = storage.table
        with storage.engine.begin() as conn:
            conn.execute(
                sa.update(table).where(table.c.login_id == key).values(sealed=blob)
            )


KINDS = ["session", "memory", "redis", "sqlite", "postgresql"]
#: Storages whose tokens leave the process (sealed on the way).
SEALING = ["session", "redis", "sqlite", "postgresql"]
#: Storages shared by every browser and process.
SHARED = ["redis", "sqlite", "postgresql"]
#: Storages where a compare-and-set can lose (not the browser's own cookie).
CAS = ["memory", *SHARED]


@pytest.fixture(params=KINDS)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    kind = request.param
    if kind == "session":
        return SessionHarness(SessionStorage())
    if kind == "memory":
        return MemoryHarness(MemoryStorage())
    if kind == "redis":
        from flask_rocketpunch.storage.redis import RedisStorage

        client = request.getfixturevalue("redis_client")
        return RedisHarness(RedisStorage(client), client)
    if not HAS_SQL:
        pytest.skip("flask_rocketpunch.storage.sqlalchemy is not built yet")
    from flask_rocketpunch.storage.sqlalchemy import (  # type: ignore[import-not-found,unused-ignore]
        SQLAlchemyStorage,
    )

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'tokens.sqlite3'}"
        return SQLHarness(SQLAlchemyStorage.from_url(url))
    engine = request.getfixturevalue("pg_engine")
    storage = SQLAlchemyStorage(engine)
    storage.create_table()
    return SQLHarness(storage)


def test_get_set_delete(harness: Harness) -> None:
    token = make_token("one")

    assert harness.get("login-a") is None
    harness.set("login-a", token)
    assert harness.get("login-a") == token
    harness.delete("login-a")
    assert harness.get("login-a") is None
    harness.delete("login-a")  # deleting twice is fine


def test_set_replaces_the_token_of_a_login(harness: Harness) -> None:
    first, second = make_token("first"), make_token("second")
    harness.set("login-a", first)
    harness.set("login-a", second)
    assert harness.get("login-a") == second


def test_logins_are_kept_apart(harness: Harness) -> None:
    a, b = make_token("a", subject="OA-a"), make_token("b", subject="OA-b")
    harness.set("login-a", a)
    harness.set("login-b", b)

    assert harness.get("login-a") == a
    assert harness.get("login-b") == b
    harness.delete("login-a")
    assert harness.get("login-b") == b


def test_a_token_survives_a_key_rotation_with_fallbacks(harness: Harness) -> None:
    token = make_token("rotated")
    harness.app.config["SECRET_KEY"] = OLD_KEY
    harness.set("login-a", token)

    harness.app.config.update(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY])
    assert harness.get("login-a") == token

    harness.app.config["SECRET_KEY_FALLBACKS"] = []
    if isinstance(harness, MemoryHarness):
        return  # memory keeps Token objects: there is nothing to open
    assert harness.get("login-a") is None


@pytest.mark.parametrize("harness", SEALING, indirect=True)
def test_the_token_is_sealed_where_it_is_kept(harness: Harness) -> None:
    token = make_token("sealed")
    harness.set("login-a", token)

    blob = harness.blob("login-a")

    text = blob.decode() if isinstance(blob, bytes) else str(blob)
    assert token.access_token not in text
    assert token.refresh_token is not None
    assert token.refresh_token not in text


@pytest.mark.parametrize("harness", SEALING, indirect=True)
def test_a_tampered_blob_reads_as_no_token(harness: Harness) -> None:
    harness.set("login-a", make_token("tampered"))
    blob = harness.blob("login-a")
    text = blob.decode() if isinstance(blob, bytes) else str(blob)
    flipped = text[:-5] + ("A" if text[-5] != "A" else "B") + text[-4:]

    harness.put_blob(
        "login-a", flipped.encode() if isinstance(blob, bytes) else flipped
    )

    assert harness.get("login-a") is None


@pytest.mark.parametrize("harness", SHARED, indirect=True)
def test_another_logins_blob_reads_as_no_token(harness: Harness) -> None:
    harness.set("login-a", make_token("a"))
    harness.set("login-b", make_token("b"))

    harness.put_blob("login-b", harness.blob("login-a"))

    assert harness.get("login-b") is None


def test_replace_is_a_compare_and_set(harness: Harness) -> None:
    old, new, late = make_token("old"), make_token("new"), make_token("late")
    harness.set("login-a", old)

    assert harness.replace("login-a", old, new)
    if isinstance(harness, SessionHarness):
        # The cookie is the browser's own: the newest answer always wins.
        return
    assert not harness.replace("login-a", old, late)
    assert harness.get("login-a") == new


@pytest.mark.parametrize("harness", CAS, indirect=True)
def test_replace_under_contention_lets_one_writer_win(harness: Harness) -> None:
    old = make_token("old")
    harness.set("login-a", old)
    candidates = [make_token(f"new-{i}") for i in range(8)]
    won: list[Token] = []
    barrier = threading.Barrier(len(candidates))

    def write(new: Token) -> None:
        barrier.wait(10)
        if harness.replace("login-a", old, new):
            won.append(new)

    threads = [threading.Thread(target=write, args=(c,)) for c in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(won) == 1
    assert harness.get("login-a") == won[0]


def test_concurrent_logins_do_not_see_each_other(harness: Harness) -> None:
    tokens = {f"login-{i}": make_token(f"t{i}", subject=f"OA-{i}") for i in range(8)}
    errors: list[str] = []

    def use(key: str, token: Token) -> None:
        for _ in range(5):
            harness.set(key, token)
            if harness.get(key) != token:
                errors.append(key)

    threads = [threading.Thread(target=use, args=item) for item in tokens.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert all(harness.get(key) == token for key, token in tokens.items())
