"""SQLAlchemyStorage on real databases: SQLite (a file) and PostgreSQL
(``DATABASE_URL``). Tokens at rest, expiry and purge, compare-and-set, log
out everywhere, the ways to set it up, and one refresh per login across
threads and processes, with the failures a user would notice."""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import hashlib
import json
import logging
import multiprocessing
import secrets
import socket
import threading
import time
import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sql_support import (
    WAIT,
    TcpRelay,
    add_token_view,
    as_login,
    die_while_refreshing,
    get_token,
    refresh_in_process,
    token_app,
)

from flask_rocketpunch import (
    ConfigurationError,
    OAuthError,
    RocketpunchOAuth,
    Token,
    current_token,
    rocketpunch,
    token_refreshed,
)
from flask_rocketpunch.encoding import b64url_encode
from flask_rocketpunch.exceptions import StorageError
from flask_rocketpunch.extension import LOGIN_ID_KEY
from flask_rocketpunch.refresh_sqlite import SQLiteCoordinator
from flask_rocketpunch.sandbox import SandboxProvider
from flask_rocketpunch.storage import storage_from_url
from flask_rocketpunch.storage.sql_refresh import SQLAlchemyCoordinator
from flask_rocketpunch.storage.sqlalchemy import SQLAlchemyStorage
from flask_rocketpunch.testing import complete_login, login_as

SECRET = "sql-storage-test-secret"
#: Enough for ``load_settings`` (the coordinator reads ROCKETPUNCH_TIMEOUT).
CLIENT = {"ROCKETPUNCH_CLIENT_ID": "client", "ROCKETPUNCH_CLIENT_SECRET": "secret"}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_token(subject: str | None = "user-1", expires_in: int = 900) -> Token:
    """A token whose access token is a JWT naming ``subject`` (Rocketpunch's
    are JWTs: the ``sub`` files the login under its user)."""
    access = f"at-{secrets.token_urlsafe(24)}"
    if subject is not None:
        claims = b64url_encode(json.dumps({"sub": subject, "jti": access}).encode())
        access = f"eyJhbGciOiJIUzI1NiJ9.{claims}.{secrets.token_hex(8)}"
    return Token(
        access_token=access,
        expires_at=int(time.time()) + expires_in,
        refresh_token=f"rt-{secrets.token_urlsafe(24)}",
        scopes=frozenset({"profile"}),
    )


def sealing_app(**config: t.Any) -> Flask:
    app = Flask("sealing")
    app.config.update(SECRET_KEY=SECRET, **CLIENT, **config)
    return app


def rows_of(storage: SQLAlchemyStorage) -> list[sa.Row[t.Any]]:
    with storage.engine.connect() as conn:
        return list(conn.execute(sa.select(storage.table)).all())


def login_id_of(client: t.Any) -> str:
    with client.session_transaction() as session:
        return str(session[LOGIN_ID_KEY])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL: a SQLite file, or ``DATABASE_URL`` (its tables
    dropped after the test)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tokens.db'}"
    engine: sa.Engine = request.getfixturevalue("pg_engine")
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def engines(url: str) -> cabc.Iterator[cabc.Callable[[], sa.Engine]]:
    """Makes engines on ``url``, each with its own pool, disposed after."""
    made: list[sa.Engine] = []

    def make() -> sa.Engine:
        made.append(sa.create_engine(url))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def storage(engines: cabc.Callable[[], sa.Engine], clock: Clock) -> SQLAlchemyStorage:
    """A storage with its table, sealing with :data:`SECRET`."""
    storage = SQLAlchemyStorage(engines(), clock=clock)
    storage.init_app(sealing_app())
    storage.create_table()
    return storage


@pytest.fixture
def config(rocketpunch_config: dict[str, str]) -> dict[str, t.Any]:
    """An app's configuration against the sandbox server."""
    return {"SECRET_KEY": SECRET, **rocketpunch_config}


# -- tokens at rest -------------------------------------------------------------------


def test_a_stored_token_is_read_back_until_deleted(storage: SQLAlchemyStorage) -> None:
    token = make_token()
    assert storage.get("login-a") is None
    storage.set("login-a", token)
    assert storage.get("login-a") == token
    storage.delete("login-a")
    assert storage.get("login-a") is None
    storage.delete("login-a")  # twice is fine
    without_refresh = dataclasses.replace(token, refresh_token=None)
    storage.set("login-a", without_refresh)
    assert storage.get("login-a") == without_refresh
    storage.coordinator().forget(without_refresh)  # nothing to forget


def test_each_login_keeps_its_own_token(storage: SQLAlchemyStorage) -> None:
    first, second = make_token(), make_token()
    storage.set("login-a", first)
    storage.set("login-b", second)
    newer = make_token()
    storage.set("login-a", newer)
    assert storage.get("login-a") == newer
    assert storage.get("login-b") == second
    storage.delete("login-b")
    assert storage.get("login-a") == newer
    assert storage.get("login-b") is None


def test_the_table_holds_no_readable_token(storage: SQLAlchemyStorage) -> None:
    tokens = [make_token() for _ in range(3)]
    for number, token in enumerate(tokens):
        storage.set(f"login-{number}", token)
    storage.replace("login-0", tokens[0], make_token())

    dump = repr(rows_of(storage))

    assert len(rows_of(storage)) == 3
    for token in tokens:
        assert token.refresh_token is not None
        for secret in (token.access_token, token.refresh_token):
            assert secret not in dump
            assert secret[3:23] not in dump
    assert sha(tokens[1].refresh_token or "") in dump  # a hash, never the token


def test_a_tampered_row_reads_as_logged_out(storage: SQLAlchemyStorage) -> None:
    storage.set("login-a", make_token())
    (row,) = rows_of(storage)
    middle = len(row.sealed) // 2
    flipped = row.sealed[:middle] + ("A" if row.sealed[middle] != "A" else "B")
    with storage.engine.begin() as conn:
        conn.execute(
            sa.update(storage.table).values(sealed=flipped + row.sealed[middle + 1 :])
        )
    assert storage.get("login-a") is None


def test_a_row_copied_to_another_login_does_not_open(
    storage: SQLAlchemyStorage,
) -> None:
    storage.set("victim", make_token())
    storage.set("attacker", make_token())
    (victim,) = [row for row in rows_of(storage) if row.login_id == "victim"]
    with storage.engine.begin() as conn:
        conn.execute(
            sa.update(storage.table)
            .where(storage.table.c.login_id == "attacker")
            .values(sealed=victim.sealed)
        )
    assert storage.get("attacker") is None
    assert storage.get("victim") is not None


def test_a_rotated_secret_key_still_opens_tokens_with_the_old_one_as_fallback(
    engines: cabc.Callable[[], sa.Engine],
) -> None:
    app = sealing_app()
    storage = SQLAlchemyStorage(engines())
    storage.init_app(app)
    storage.create_table()
    token = make_token()
    storage.set("login-a", token)

    app.config.update(SECRET_KEY="a-new-key", SECRET_KEY_FALLBACKS=[SECRET])
    assert storage.get("login-a") == token
    storage.set("login-b", token)  # sealed under the new key

    app.config.update(SECRET_KEY="a-new-key", SECRET_KEY_FALLBACKS=[])
    assert storage.get("login-a") is None
    assert storage.get("login-b") == token


def test_reading_a_token_is_one_statement(storage: SQLAlchemyStorage) -> None:
    storage.set("login-a", make_token())
    statements: list[str] = []

    def count(*args: t.Any) -> None:
        statements.append(args[2])

    sa.event.listen(storage.engine, "before_cursor_execute", count)
    try:
        assert storage.get("login-a") is not None
        assert storage.get("nobody") is None
    finally:
        sa.event.remove(storage.engine, "before_cursor_execute", count)
    assert len(statements) == 2
    assert all(s.lstrip().upper().startswith("SELECT") for s in statements)


# -- expiry and purge -----------------------------------------------------------------


def test_a_row_not_written_for_ttl_reads_as_logged_out_and_is_deleted(
    engines: cabc.Callable[[], sa.Engine], clock: Clock
) -> None:
    storage = SQLAlchemyStorage(engines(), ttl=3600, clock=clock)
    storage.init_app(sealing_app())
    storage.create_table()
    storage.set("login-a", make_token())
    clock.now += 3599
    assert storage.get("login-a") is not None
    storage.set("login-b", make_token())  # written later: kept longer
    clock.now += 2
    assert storage.get("login-a") is None
    assert [row.login_id for row in rows_of(storage)] == ["login-b"]


def test_purge_deletes_the_expired_rows_only(
    engines: cabc.Callable[[], sa.Engine], clock: Clock
) -> None:
    storage = SQLAlchemyStorage(engines(), ttl=60, clock=clock)
    storage.init_app(sealing_app())
    storage.create_table()
    storage.set("old-1", make_token())
    storage.set("old-2", make_token())
    clock.now += 61
    storage.set("recent", make_token())
    assert storage.purge() == 2
    assert [row.login_id for row in rows_of(storage)] == ["recent"]
    assert storage.purge() == 0


def test_flask_rocketpunch_purge_deletes_expired_logins(
    engines: cabc.Callable[[], sa.Engine], clock: Clock
) -> None:
    storage = SQLAlchemyStorage(engines(), ttl=60, clock=clock)
    app = sealing_app()
    RocketpunchOAuth(app, storage=storage)
    storage.create_table()
    for number in range(3):
        storage.set(f"login-{number}", make_token())
    clock.now += 61
    storage.set("recent", make_token())

    result = app.test_cli_runner().invoke(args=["rocketpunch", "purge"])

    assert result.exit_code == 0, result.output
    assert "Purged 3 expired login(s)" in result.output
    assert [row.login_id for row in rows_of(storage)] == ["recent"]


def test_flask_rocketpunch_purge_says_when_the_database_fails(tmp_path: Path) -> None:
    storage = SQLAlchemyStorage.from_url(f"sqlite:///{tmp_path / 'missing' / 't.db'}")
    app = sealing_app()
    RocketpunchOAuth(app, storage=storage)

    result = app.test_cli_runner().invoke(args=["rocketpunch", "purge"])

    assert result.exit_code == 1
    assert "The token database failed" in result.output
    assert "Traceback" not in result.output
    storage.engine.dispose()


# -- compare-and-set and finding a user's logins ------------------------------------


def test_replace_stores_only_over_the_token_it_replaces(
    storage: SQLAlchemyStorage,
) -> None:
    old, new, late = make_token(), make_token(), make_token()
    storage.set("login-a", old)

    assert storage.replace("login-a", old, new) is True
    assert storage.replace("login-a", old, late) is False  # a late request
    assert storage.get("login-a") == new
    assert storage.replace("login-a", old, new) is True  # already there
    assert storage.replace("nobody", old, new) is False
    (row,) = rows_of(storage)
    assert row.version == 2
    assert row.refresh_hash == sha(new.refresh_token or "")
    assert row.previous_hash == sha(old.refresh_token or "")


def test_logins_of_finds_every_login_of_a_user(
    storage: SQLAlchemyStorage, clock: Clock
) -> None:
    phone, laptop = make_token("user-1"), make_token("user-1")
    storage.set("phone", phone)
    storage.set("laptop", laptop)
    storage.set("other", make_token("user-2"))
    storage.set("anonymous", make_token(None))

    assert sorted(storage.logins_of("user-1")) == sorted(
        [("phone", phone), ("laptop", laptop)]
    )
    assert storage.logins_of("nobody") == []
    clock.now += storage.ttl + 1
    assert storage.logins_of("user-1") == []


def test_logout_everywhere_revokes_and_deletes_every_login_of_the_user(
    engines: cabc.Callable[[], sa.Engine],
    config: dict[str, t.Any],
    rocketpunch_provider: SandboxProvider,
) -> None:
    storage = SQLAlchemyStorage(engines())
    app = token_app(config, storage)
    storage.create_table()
    phone, laptop, other = (app.test_client() for _ in range(3))
    tokens = [
        login_as(browser, user, provider=rocketpunch_provider)
        for browser, user in ((phone, "minji"), (laptop, "minji"), (other, "seojun"))
    ]
    user = rocketpunch_provider.get_user("minji")
    assert user is not None

    ended = app.extensions["rocketpunch"].logout_everywhere(user.sub, app)

    assert ended == 2
    revoked = {r.params["token"] for r in rocketpunch_provider.requests_to("revoke")}
    assert revoked == {tokens[0].refresh_token, tokens[1].refresh_token}
    assert get_token(phone)[0] == 401
    assert get_token(laptop)[0] == 401
    assert get_token(other)[0] == 200
    assert len(rows_of(storage)) == 1


# -- setting it up --------------------------------------------------------------------


def test_storage_url_makes_a_storage_with_its_table_and_coordinator(
    url: str, config: dict[str, t.Any], rocketpunch_provider: SandboxProvider
) -> None:
    app = Flask("from_url")
    app.config.update(config, ROCKETPUNCH_STORAGE_URL=url)
    ext = RocketpunchOAuth(app)
    storage = ext.storage_of(app)
    assert isinstance(storage, SQLAlchemyStorage)
    try:
        assert sa.inspect(storage.engine).has_table("rocketpunch_tokens")
        assert ext.app_state(app).coordinator.shared is storage.coordinator()

        client = app.test_client()
        response = complete_login(client, provider=rocketpunch_provider)
        assert response.status_code == 302
        assert len(rows_of(storage)) == 1
    finally:
        storage.engine.dispose()


def test_a_storage_url_of_another_database_names_the_ones_supported() -> None:
    with pytest.raises(ConfigurationError, match="postgresql\\+psycopg:// or sqlite"):
        storage_from_url("mysql://user@127.0.0.1/db")


def test_from_url_creates_the_table_once_the_database_is_back(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "later"
    storage = SQLAlchemyStorage.from_url(f"sqlite:///{folder / 'tokens.db'}")
    app = sealing_app()
    storage.init_app(app)  # the folder does not exist: the database is "down"
    folder.mkdir()
    token = make_token()
    storage.set("login-a", token)
    assert storage.get("login-a") == token
    storage.engine.dispose()


def test_a_flask_sqlalchemy_db_gets_the_table_on_its_metadata(
    url: str, config: dict[str, t.Any], rocketpunch_provider: SandboxProvider
) -> None:
    db = SQLAlchemy()
    storage = SQLAlchemyStorage(db, table_name="oauth_tokens")
    assert db.metadata.tables["oauth_tokens"] is storage.table

    app = Flask("with_db")
    app.config.update(config, SQLALCHEMY_DATABASE_URI=url)
    db.init_app(app)
    token_app_ext = RocketpunchOAuth(app, storage=storage)
    with app.app_context():
        db.create_all()
        assert sa.inspect(db.engine).has_table("oauth_tokens")
        assert storage.engine is db.engine
    try:
        response = complete_login(app.test_client(), provider=rocketpunch_provider)
        assert response.status_code == 302
        assert len(rows_of(storage)) == 1
        assert token_app_ext.storage_of(app) is storage
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_flask_sqlalchemy_db_must_be_set_up_first(url: str) -> None:
    storage = SQLAlchemyStorage(SQLAlchemy())
    with pytest.raises(ConfigurationError, match=r"db\.init_app\(app\)"):
        storage.engine  # noqa: B018
    with pytest.raises(ConfigurationError, match=r"call db\.init_app\(app\) before"):
        storage.init_app(sealing_app(SQLALCHEMY_DATABASE_URI=url))


def test_the_table_is_declared_on_the_metadata_given(
    engines: cabc.Callable[[], sa.Engine],
) -> None:
    metadata = sa.MetaData()
    storage = SQLAlchemyStorage(engines(), metadata=metadata)
    assert metadata.tables["rocketpunch_tokens"] is storage.table
    assert SQLAlchemyStorage(engines(), metadata=metadata).table is storage.table
    sa.Table("taken", metadata, sa.Column("id", sa.Integer, primary_key=True))
    with pytest.raises(ConfigurationError, match="table_name"):
        SQLAlchemyStorage(engines(), metadata=metadata, table_name="taken")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+nodriver://user:s3cr3t-pw@127.0.0.1/db",
        "postgresql+psycopg://user:s3cr3t-pw@127.0.0.1:port/db",
    ],
)
def test_a_storage_url_that_cannot_be_used_says_how_to_write_one(url: str) -> None:
    with pytest.raises(ConfigurationError, match="postgresql\\+psycopg://") as caught:
        SQLAlchemyStorage.from_url(url)
    assert "s3cr3t-pw" not in caught.value.message


def test_a_storage_not_set_up_with_an_app_says_so(
    engines: cabc.Callable[[], sa.Engine],
) -> None:
    with pytest.raises(ConfigurationError, match="not set up with an app"):
        SQLAlchemyStorage(engines()).set("login-a", make_token())


def test_something_else_than_an_engine_or_db_is_refused() -> None:
    with pytest.raises(TypeError, match="Engine or a Flask-SQLAlchemy db"):
        SQLAlchemyStorage("sqlite:///tokens.db")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ttl"):
        SQLAlchemyStorage(sa.create_engine("sqlite://"), ttl=0)


def test_an_explicit_lease_must_outlast_two_timeouts(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tokens.db'}")
    app = sealing_app(ROCKETPUNCH_TIMEOUT=(2, 3))
    with pytest.raises(ConfigurationError, match="ROCKETPUNCH_TIMEOUT") as caught:
        RocketpunchOAuth(app, storage=SQLAlchemyStorage(engine, lease=10))
    assert "longer than twice the timeout (10 seconds)" in caught.value.message

    accepted = SQLAlchemyStorage(engine, lease=10.5)
    RocketpunchOAuth(sealing_app(ROCKETPUNCH_TIMEOUT=(2, 3)), storage=accepted)
    assert accepted.coordinator().lease == 10.5
    default = SQLAlchemyStorage(engine)
    RocketpunchOAuth(sealing_app(ROCKETPUNCH_TIMEOUT=(2, 3)), storage=default)
    assert default.coordinator().lease == 11
    engine.dispose()


# -- refreshing through an app --------------------------------------------------------


def test_login_then_refresh_through_an_app(
    storage: SQLAlchemyStorage,
    config: dict[str, t.Any],
    rocketpunch_provider: SandboxProvider,
) -> None:
    app = token_app({**config, "ROCKETPUNCH_REFRESH_LEEWAY": 1000}, storage)
    client = app.test_client()
    refreshed: list[Token] = []

    def record(sender: Flask, token: Token) -> None:
        refreshed.append(token)

    assert complete_login(client, provider=rocketpunch_provider).status_code == 302
    with token_refreshed.connected_to(record, app):
        status, body = get_token(client)

    assert status == 200
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1
    assert len(refreshed) == 1
    assert body["access_token"] == refreshed[0].access_token
    stored = storage.get(login_id_of(client))
    assert stored is not None
    assert stored.refresh_token == refreshed[0].refresh_token
    assert stored.access_token == refreshed[0].access_token
    (row,) = rows_of(storage)
    used = [
        token
        for token, record in rocketpunch_provider.refresh_tokens.items()
        if record.used
    ]
    assert row.version == 2
    assert row.refresh_hash == sha(refreshed[0].refresh_token or "")
    assert [row.previous_hash] == [sha(token) for token in used]


def test_an_expired_token_without_refresh_token_logs_out_and_deletes_the_row(
    storage: SQLAlchemyStorage,
    config: dict[str, t.Any],
    rocketpunch_provider: SandboxProvider,
) -> None:
    app = token_app(config, storage)
    client = app.test_client()
    token = login_as(client, provider=rocketpunch_provider, expires_in=0)
    storage.set(login_id_of(client), dataclasses.replace(token, refresh_token=None))

    assert get_token(client)[0] == 401
    assert rows_of(storage) == []
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 0


def test_a_rejected_refresh_token_logs_out_and_deletes_the_row(
    storage: SQLAlchemyStorage,
    config: dict[str, t.Any],
    rocketpunch_provider: SandboxProvider,
) -> None:
    app = token_app(config, storage)
    client = app.test_client()
    login_as(client, provider=rocketpunch_provider, expires_in=60)
    rocketpunch_provider.faults.refresh_invalid_grant = True

    assert get_token(client)[0] == 401
    assert rows_of(storage) == []


def run_threads(
    count: int, work: cabc.Callable[[int], tuple[int, t.Any]]
) -> list[tuple[int, t.Any]]:
    results: list[tuple[int, t.Any]] = []
    lock = threading.Lock()

    def one(number: int) -> None:
        result = work(number)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


def stale_login(
    storage: SQLAlchemyStorage, config: dict[str, t.Any], provider: SandboxProvider
) -> str:
    """Log a user in whose token is due for a refresh; the login id."""
    client = token_app(config, storage, "login").test_client()
    login_as(client, provider=provider, expires_in=60)
    return login_id_of(client)


@pytest.mark.parametrize("host_file", [False, True], ids=["own", "host-file"])
def test_one_refresh_across_threads_each_with_its_own_app_and_engine(
    storage: SQLAlchemyStorage,
    engines: cabc.Callable[[], sa.Engine],
    config: dict[str, t.Any],
    rocketpunch_provider: SandboxProvider,
    tmp_path: Path,
    host_file: bool,
) -> None:
    """With the storage's own coordinator, or with the per-host SQLite file
    of one host's workers (``coordinator=SQLiteCoordinator(...)``)."""
    login_id = stale_login(storage, config, rocketpunch_provider)
    rocketpunch_provider.faults.token_delay = 0.2
    apps = []
    for number in range(6):
        app = Flask(f"w{number}")
        app.config.update(config)
        coordinator = SQLiteCoordinator(tmp_path / "refresh.db") if host_file else None
        RocketpunchOAuth(
            app, storage=SQLAlchemyStorage(engines()), coordinator=coordinator
        )
        apps.append(add_token_view(app))
    clients = [as_login(app, login_id) for app in apps]
    start = threading.Barrier(len(clients))

    def work(number: int) -> tuple[int, t.Any]:
        start.wait(WAIT)
        return get_token(clients[number])

    results = run_threads(len(clients), work)

    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1
    stored = storage.get(login_id)
    assert stored is not None
    assert results == [(200, {"access_token": stored.access_token})] * len(clients)


def test_one_rejected_refresh_across_threads_logs_every_one_out(
    storage: SQLAlchemyStorage,
    engines: cabc.Callable[[], sa.Engine],
    config: dict[str, t.Any],
    rocketpunch_provider: SandboxProvider,
) -> None:
    login_id = stale_login(storage, config, rocketpunch_provider)
    rocketpunch_provider.faults.token_delay = 0.2
    rocketpunch_provider.faults.refresh_invalid_grant = True
    clients = [
        as_login(token_app(config, SQLAlchemyStorage(engines()), f"w{n}"), login_id)
        for n in range(6)
    ]
    start = threading.Barrier(len(clients))

    def work(number: int) -> tuple[int, t.Any]:
        start.wait(WAIT)
        return get_token(clients[number])

    results = run_threads(len(clients), work)

    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1
    assert [status for status, _ in results] == [401] * len(clients)
    assert rows_of(storage) == []


def wait_for(condition: cabc.Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.01)


def test_a_logout_while_another_request_refreshes_is_not_undone(
    storage: SQLAlchemyStorage,
    config: dict[str, t.Any],
    rocketpunch_provider: SandboxProvider,
) -> None:
    """The refreshing request may finish first (and answer with the new
    token) or after (and answer "log in again"); either way the login is
    over once both are done."""
    app = token_app({**config, "ROCKETPUNCH_REVOKE_URL": None}, storage)
    refreshing = app.test_client()
    login_as(refreshing, provider=rocketpunch_provider, expires_in=60)
    other_tab = as_login(app, login_id_of(refreshing))
    rocketpunch_provider.faults.token_delay = 0.5
    answers: list[tuple[int, t.Any]] = []
    request = threading.Thread(target=lambda: answers.append(get_token(refreshing)))
    request.start()
    wait_for(lambda: rocketpunch_provider.grant_counts()["refresh_token"] == 1)

    assert other_tab.post("/auth/rocketpunch/logout").status_code == 303
    request.join(WAIT)

    assert answers
    assert answers[0][0] in (200, 401)
    assert rows_of(storage) == []
    assert get_token(refreshing)[0] == 401


def test_a_request_holding_a_long_replaced_token_uses_the_stored_one(
    engines: cabc.Callable[[], sa.Engine],
    config: dict[str, t.Any],
    rocketpunch_provider: SandboxProvider,
) -> None:
    """A request read the token, then another process refreshed it, longer
    ago than the window when the first one needs it: its refresh token must
    not be sent again; the stored token is used."""
    writer = SQLAlchemyStorage(engines(), window=0)
    writer.create_table()
    refresher = as_login(token_app(config, writer, "refresher"), "")
    login_as(refresher, provider=rocketpunch_provider, expires_in=60)
    login_id = login_id_of(refresher)
    slow_app = token_app(config, SQLAlchemyStorage(engines(), window=0), "slow")
    has_read, go_on = threading.Event(), threading.Event()

    @slow_app.get("/posts")
    def posts() -> dict[str, int]:
        assert current_token() is not None  # read before the other refresh
        has_read.set()
        go_on.wait(WAIT)
        return {"posts": rocketpunch.get("posts").json()["totalItems"]}

    slow = as_login(slow_app, login_id)
    answers: list[t.Any] = []
    request = threading.Thread(target=lambda: answers.append(slow.get("/posts")))
    request.start()
    assert has_read.wait(WAIT)
    status, body = get_token(refresher)
    go_on.set()
    request.join(WAIT)

    assert status == 200
    assert answers[0].status_code == 200
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1
    (call,) = rocketpunch_provider.requests_to("posts")
    assert call.headers["Authorization"] == f"Bearer {body['access_token']}"


def test_one_refresh_across_processes(
    url: str,
    storage: SQLAlchemyStorage,
    config: dict[str, t.Any],
    rocketpunch_provider: SandboxProvider,
) -> None:
    login_id = stale_login(storage, config, rocketpunch_provider)
    rocketpunch_provider.faults.token_delay = 0.2
    context = multiprocessing.get_context("spawn")
    count = 4
    start = context.Barrier(count)
    results: t.Any = context.Queue()
    workers = [
        context.Process(
            target=refresh_in_process, args=(url, config, login_id, start, results)
        )
        for _ in range(count)
    ]
    for worker in workers:
        worker.start()
    answers = [results.get(timeout=WAIT) for _ in workers]
    for worker in workers:
        worker.join(WAIT)

    assert [worker.exitcode for worker in workers] == [0] * count
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1
    stored = storage.get(login_id)
    assert stored is not None
    assert answers == [(200, {"access_token": stored.access_token})] * count


def test_a_winner_that_dies_before_calling_the_provider_is_replaced(
    url: str,
    storage: SQLAlchemyStorage,
    config: dict[str, t.Any],
    rocketpunch_provider: SandboxProvider,
) -> None:
    """PostgreSQL releases the row's lock when the winner's connection
    closes: the dying process holds a lease of a minute, and this app gives
    up waiting after 2 x 0.5 + 2 seconds, so it succeeds only if the lock
    went with the process. SQLite's lease has to end first."""
    postgres = url.startswith("postgresql")
    config = {**config, "ROCKETPUNCH_TIMEOUT": 0.5}
    login_id = stale_login(storage, config, rocketpunch_provider)
    context = multiprocessing.get_context("spawn")
    holding, die = context.Event(), context.Event()
    dying = context.Process(
        target=die_while_refreshing,
        args=(url, config, login_id, 60.0 if postgres else 2.5, holding, die),
    )
    dying.start()
    assert holding.wait(WAIT), "the dying process did not win the refresh"
    (row,) = rows_of(storage)
    client = as_login(token_app(config, SQLAlchemyStorage(storage.engine)), login_id)
    outcome: list[tuple[int, t.Any]] = []
    asking = threading.Thread(target=lambda: outcome.append(get_token(client)))
    asked_at = time.time()
    asking.start()
    die.set()
    dying.join(WAIT)
    asking.join(WAIT)

    assert dying.exitcode == 3
    assert outcome
    assert outcome[0][0] == 200
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1
    stored = storage.get(login_id)
    assert stored is not None
    assert outcome[0][1] == {"access_token": stored.access_token}
    if not postgres:
        assert row.lease_until is not None
        assert asked_at < row.lease_until <= time.time()


# -- waiting too long, and the database failing ---------------------------------------


@pytest.mark.parametrize("expires_in", [60, 0], ids=["still-valid", "expired"])
def test_waiting_too_long_for_another_refresh_never_logs_out(
    url: str,
    storage: SQLAlchemyStorage,
    config: dict[str, t.Any],
    rocketpunch_provider: SandboxProvider,
    expires_in: int,
) -> None:
    config = {**config, "ROCKETPUNCH_TIMEOUT": 0.2}  # a wait of 1.4 + 1 seconds
    app = token_app(config, storage)
    client = app.test_client()
    token = login_as(client, provider=rocketpunch_provider, expires_in=expires_in)
    login_id = login_id_of(client)
    with storage.engine.connect() as holder:
        # Another process is refreshing, and takes too long.
        if url.startswith("postgresql"):
            holder.execute(
                sa.select(storage.table)
                .where(storage.table.c.login_id == login_id)
                .with_for_update()
            )
        else:
            holder.execute(
                sa.update(storage.table).values(
                    lease_owner="elsewhere", lease_until=time.time() + 3600
                )
            )
            holder.commit()
        if expires_in:
            status, body = get_token(client)
            assert (status, body) == (200, {"access_token": token.access_token})
        else:
            response = client.get("/token", headers={"Accept": "application/json"})
            assert response.status_code == 503
            assert "did not finish in time" in response.get_json()["detail"]
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 0
    kept = storage.get(login_id)
    assert kept is not None
    assert kept.refresh_token == token.refresh_token


def test_an_unreachable_database_raises_storage_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for url in (
        f"postgresql+psycopg://user:s3cr3t-pw@127.0.0.1:{free_port()}/nothing",
        f"sqlite:///{tmp_path / 'missing' / 'tokens.db'}",
    ):
        storage = SQLAlchemyStorage.from_url(url)
        storage.init_app(sealing_app())
        with pytest.raises(StorageError, match="try again in a moment"):
            storage.get("login-a")
        with pytest.raises(StorageError, match="try again in a moment"):
            storage.set("login-a", make_token())
        with pytest.raises(StorageError, match="try again in a moment"):
            storage.purge()
        token = make_token()
        with pytest.raises(StorageError, match="try again in a moment"):
            storage.coordinator().refresh_once(
                "login-a", token, lambda t: t, lambda: None
            )
        storage.coordinator().forget(token)  # logged; a logout goes on
        storage.engine.dispose()
    assert "Traceback" not in caplog.text
    assert "s3cr3t-pw" not in caplog.text
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert all("The token database failed while" in r.getMessage() for r in warnings)


@pytest.fixture
def outage(
    url: str, tmp_path: Path
) -> cabc.Iterator[tuple[str, cabc.Callable[[], None], cabc.Callable[[], None]]]:
    """A URL to the test database that can be taken away and brought back:
    through a TCP relay for PostgreSQL; for SQLite, the file moved aside."""
    if url.startswith("sqlite"):
        path = tmp_path / "tokens.db"
        aside = tmp_path / "aside.db"

        def down() -> None:
            path.rename(aside)
            path.mkdir()  # a folder where the file was: it does not open

        def up() -> None:
            path.rmdir()
            aside.rename(path)

        yield url, down, up
        return
    parsed = sa.make_url(url)
    relay = TcpRelay((parsed.host or "127.0.0.1", parsed.port or 5432)).start()

    def restart() -> None:
        relay.start()

    yield parsed.set(port=relay.port).render_as_string(False), relay.stop, restart
    relay.stop()


def test_the_database_going_down_answers_503_and_loses_nothing(
    outage: tuple[str, cabc.Callable[[], None], cabc.Callable[[], None]],
    config: dict[str, t.Any],
    rocketpunch_provider: SandboxProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, down, up = outage
    app = token_app({**config, "ROCKETPUNCH_STORAGE_URL": url}, None)
    storage = app.extensions["rocketpunch"].storage_of(app)
    client = app.test_client()
    token = login_as(client, provider=rocketpunch_provider)
    assert get_token(client) == (200, {"access_token": token.access_token})
    storage.engine.dispose()  # SQLite: no file kept open

    caplog.set_level(logging.INFO)
    down()
    page = client.get("/token")
    api = client.get("/token", headers={"Accept": "application/json"})
    up()

    assert page.status_code == 503
    assert "try again in a moment" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
    assert api.status_code == 503
    assert api.get_json()["error"] == "StorageError"
    assert get_token(client) == (200, {"access_token": token.access_token})
    assert "Traceback" not in caplog.text
    for secret in (token.access_token, token.refresh_token or "", SECRET):
        assert secret not in caplog.text
    assert any(
        r.levelno == logging.WARNING and "token database failed" in r.getMessage()
        for r in caplog.records
    )
    storage.engine.dispose()


def test_a_pool_with_no_connection_free_answers_503_and_recovers(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each refresh in flight holds a connection on PostgreSQL: a pool too
    small for the traffic makes requests fail with a 503 after the pool's
    timeout, never hang, and the log says which limit was reached."""
    engine = sa.create_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    storage = SQLAlchemyStorage(engine)
    storage.init_app(sealing_app())
    storage.create_table()
    token = make_token()
    storage.set("login-a", token)

    # The only connection is busy elsewhere.
    with engine.connect(), pytest.raises(StorageError):
        storage.get("login-a")
    assert storage.get("login-a") == token
    assert "QueuePool limit of size 1 overflow 0 reached" in caplog.text
    engine.dispose()


@pytest.mark.parametrize("answer", ["new-token", "invalid_grant"])
def test_the_database_failing_during_a_refresh_keeps_the_providers_answer(
    outage: tuple[str, cabc.Callable[[], None], cabc.Callable[[], None]],
    answer: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, down, up = outage
    storage = SQLAlchemyStorage.from_url(url)
    storage.init_app(sealing_app())
    coordinator = coordinator_of(storage)
    stale, new = make_token(), make_token()
    storage.set("login-a", stale)

    def do_refresh(token: Token) -> Token:
        storage.engine.dispose()  # SQLite: no file kept open
        down()
        if answer == "invalid_grant":
            raise OAuthError("invalid_grant")
        return new

    try:
        if answer == "invalid_grant":
            with pytest.raises(OAuthError, match="invalid_grant"):
                coordinator.refresh_once("login-a", stale, do_refresh, lambda: None)
        else:
            got = coordinator.refresh_once("login-a", stale, do_refresh, lambda: None)
            assert got == (new, True)
    finally:
        up()

    assert "The token database failed while" in caplog.text
    assert new.access_token not in caplog.text
    if answer == "invalid_grant":
        assert storage.get("login-a") == stale  # the request deletes it later
    else:
        assert storage.replace("login-a", stale, new) is True  # as the manager does
        assert storage.get("login-a") == new
    storage.engine.dispose()


def test_a_dropped_connection_is_replaced_without_an_error(
    pg_engine: sa.Engine,
) -> None:
    storage = SQLAlchemyStorage(sa.create_engine(pg_engine.url))
    storage.init_app(sealing_app())
    storage.create_table()
    token = make_token()
    storage.set("login-a", token)
    with pg_engine.connect() as admin:
        ended = admin.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND usename = current_user"
            )
        ).scalar()
    assert ended
    assert storage.get("login-a") == token
    storage.engine.dispose()


# -- the coordinator on its own -------------------------------------------------------


def coordinator_of(storage: SQLAlchemyStorage) -> SQLAlchemyCoordinator:
    coordinator = storage.coordinator()
    coordinator.init_app(sealing_app())
    return coordinator


def test_a_request_holding_the_replaced_token_gets_the_new_one_within_the_window(
    storage: SQLAlchemyStorage, clock: Clock
) -> None:
    coordinator = coordinator_of(storage)
    old, new = make_token(), make_token()
    storage.set("login-a", old)
    calls: list[Token] = []

    def do_refresh(token: Token) -> Token:
        calls.append(token)
        return new

    def reload() -> Token | None:
        return storage.get("login-a")

    assert coordinator.refresh_once("login-a", old, do_refresh, reload) == (new, True)
    clock.now += storage.window
    assert coordinator.refresh_once("login-a", old, do_refresh, reload) == (
        new,
        False,
    )
    clock.now += 1
    with pytest.raises(OAuthError, match="replaced by a newer one"):
        coordinator.refresh_once("login-a", old, do_refresh, reload)
    assert calls == [old]


def test_forget_ends_the_window_of_a_logged_out_token(
    storage: SQLAlchemyStorage,
) -> None:
    coordinator = coordinator_of(storage)
    old, new = make_token(), make_token()
    storage.set("login-a", old)
    coordinator.refresh_once("login-a", old, lambda token: new, lambda: None)

    coordinator.forget(new)

    with pytest.raises(OAuthError, match="replaced by a newer one"):
        coordinator.refresh_once("login-a", old, lambda token: new, lambda: None)


def test_a_login_without_a_row_is_refreshed_only_if_kept_elsewhere(
    storage: SQLAlchemyStorage,
) -> None:
    coordinator = coordinator_of(storage)
    stale, new = make_token(), make_token()
    kept_elsewhere = coordinator.refresh_once(
        "elsewhere", stale, lambda t: new, lambda: stale
    )
    assert kept_elsewhere == (new, True)
    refreshed_elsewhere = coordinator.refresh_once(
        "elsewhere", stale, lambda t: make_token(), lambda: new
    )
    assert refreshed_elsewhere == (new, False)
    with pytest.raises(OAuthError, match="login ended"):
        coordinator.refresh_once("gone", stale, lambda t: new, lambda: None)
    assert rows_of(storage) == []


def test_a_failed_provider_call_lets_the_next_process_refresh(
    storage: SQLAlchemyStorage,
) -> None:
    coordinator = coordinator_of(storage)
    stale, new = make_token(), make_token()
    storage.set("login-a", stale)

    def unreachable(token: Token) -> Token:
        raise ConnectionError("provider down")

    def rejected(token: Token) -> Token:
        raise OAuthError("invalid_scope")

    with pytest.raises(ConnectionError):
        coordinator.refresh_once("login-a", stale, unreachable, lambda: None)
    with pytest.raises(OAuthError, match="invalid_scope"):
        coordinator.refresh_once("login-a", stale, rejected, lambda: None)
    assert storage.get("login-a") == stale  # kept, lease released
    assert coordinator.refresh_once("login-a", stale, lambda t: new, lambda: None) == (
        new,
        True,
    )
    assert storage.get("login-a") == new


def test_a_row_that_does_not_open_counts_as_no_row(
    engines: cabc.Callable[[], sa.Engine],
) -> None:
    app = sealing_app()
    storage = SQLAlchemyStorage(engines())
    storage.init_app(app)
    storage.create_table()
    coordinator = coordinator_of(storage)
    stale = make_token()
    storage.set("login-a", stale)
    app.config["SECRET_KEY"] = "another-key"  # no fallback: the row is lost
    calls: list[Token] = []

    def do_refresh(token: Token) -> Token:
        calls.append(token)
        return make_token()

    with pytest.raises(OAuthError, match="login ended"):
        coordinator.refresh_once(
            "login-a", stale, do_refresh, lambda: storage.get("login-a")
        )
    assert calls == []


def test_a_winner_slower_than_its_lease_still_hands_over_its_token(
    engines: cabc.Callable[[], sa.Engine], caplog: pytest.LogCaptureFixture
) -> None:
    """Only a stalled process is slower than a lease (it is longer than two
    token endpoint calls): PostgreSQL ends its session, and the token it got
    is stored by the request's compare-and-set instead."""
    storage = SQLAlchemyStorage(engines(), lease=0.3)  # below any valid lease
    storage.init_app(sealing_app())
    storage.create_table()
    stale, new = make_token(), make_token()
    storage.set("login-a", stale)

    def stalled(token: Token) -> Token:
        time.sleep(1.0)
        return new

    got = storage.coordinator().refresh_once("login-a", stale, stalled, lambda: None)

    assert got == (new, True)
    assert storage.replace("login-a", stale, new) is True
    assert storage.get("login-a") == new
    assert new.access_token not in caplog.text


def test_a_logout_during_a_refresh_is_not_undone(
    storage: SQLAlchemyStorage, caplog: pytest.LogCaptureFixture
) -> None:
    """On PostgreSQL the logout waits for the refresh to end; on SQLite the
    refresh's compare-and-set finds the row gone. Either way the user stays
    logged out."""
    caplog.set_level(logging.INFO)
    coordinator = coordinator_of(storage)
    stale, new = make_token(), make_token()
    storage.set("login-a", stale)
    logout = threading.Thread(target=storage.delete, args=("login-a",))

    def refresh_while_logging_out(token: Token) -> Token:
        logout.start()
        logout.join(0.3)
        return new

    got = coordinator.refresh_once(
        "login-a", stale, refresh_while_logging_out, lambda: None
    )
    logout.join(WAIT)

    assert got == (new, True)
    assert storage.replace("login-a", stale, new) is False
    assert storage.get("login-a") is None
