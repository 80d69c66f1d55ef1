"""Fixtures for the tests that need real servers: Redis and PostgreSQL.

``make services`` (``.ci/services start``) runs private ones on 127.0.0.1 and
prints their URLs; export them as ``REDIS_URL`` and ``DATABASE_URL``. A test
that asks for one of these fixtures while its server is missing (variable
unset, or nothing answers at the URL) is skipped with that advice; under CI
(``CI=true``) it fails instead, so a CI run never passes by skipping them.

Never point the variables at servers that hold data you care about:
``redis_client`` empties the Redis database of ``REDIS_URL`` around each test,
and ``pg_engine`` drops every table in the ``public`` schema of the database
of ``DATABASE_URL`` (whose name must contain "test").

Registered from ``conftest.py`` with ``pytest_plugins``.
"""

from __future__ import annotations

import collections.abc as cabc
import os
import typing as t
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

REDIS_ADVICE = "Redis is not running: start it with `make services` (or set REDIS_URL)"
POSTGRES_ADVICE = (
    "PostgreSQL is not running: start it with `make services` (or set DATABASE_URL)"
)

#: Seconds to wait for a server to answer before calling it missing.
CONNECT_TIMEOUT = 3
#: Seconds the table cleanup waits for a lock (a connection a test left in a
#: transaction) before failing instead of hanging.
CLEANUP_LOCK_TIMEOUT = 10


def missing(advice: str, detail: str) -> t.NoReturn:
    """Skip the test, or fail it under CI, saying how to start the server."""
    message = f"{advice}. {detail}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def redacted(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo = f"{parts.username or ''}:***"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def first_line(error: BaseException) -> str:
    """The driver's own message, without SQLAlchemy's SQL and links."""
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip() or type(cause).__name__
    return text.splitlines()[0]


def connect_args(url: sa.URL) -> dict[str, t.Any]:
    if url.get_backend_name() == "postgresql":
        return {"connect_timeout": CONNECT_TIMEOUT}
    return {}


def redis_problem(url: str) -> str | None:
    """Why no Redis server answers at ``url``, or None when one does."""
    try:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=CONNECT_TIMEOUT,
        )
    except ValueError as error:
        return f"REDIS_URL is not a Redis URL: {first_line(error)}"
    try:
        client.ping()
    except redis.RedisError as error:
        return f"{redacted(url)}: {first_line(error)}"
    finally:
        client.close()
    return None


@pytest.fixture(scope="session")
def redis_url() -> str:
    """``REDIS_URL``, once a Redis server answered a PING there."""
    url = os.environ.get("REDIS_URL", "").strip()
    problem = redis_problem(url) if url else "REDIS_URL is not set."
    if problem:
        missing(REDIS_ADVICE, problem)
    return url


@pytest.fixture
def redis_client(redis_url: str) -> cabc.Iterator[redis.Redis]:
    """A client on the database of ``REDIS_URL``, emptied (FLUSHDB) before and
    after the test. Replies are bytes."""
    client = redis.Redis.from_url(redis_url, socket_timeout=30)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


def database_problem(raw: str) -> str | None:
    """Why no database answers at the SQLAlchemy URL ``raw``, or None when a
    connection worked."""
    try:
        url = make_url(raw)
        engine = sa.create_engine(
            url, poolclass=NullPool, connect_args=connect_args(url)
        )
    except (ArgumentError, ImportError) as error:
        return f"DATABASE_URL is not usable: {first_line(error)}"
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as error:
        return f"{url.render_as_string(hide_password=True)}: {first_line(error)}"
    finally:
        engine.dispose()
    return None


@pytest.fixture(scope="session")
def database_url() -> str:
    """``DATABASE_URL`` (a SQLAlchemy URL), once a connection to it worked."""
    url = os.environ.get("DATABASE_URL", "").strip()
    problem = database_problem(url) if url else "DATABASE_URL is not set."
    if problem:
        missing(POSTGRES_ADVICE, problem)
    return url


def drop_public_tables(engine: sa.Engine) -> None:
    """Drop every table in the ``public`` schema (and, with CASCADE, the views
    and foreign keys that depend on them)."""
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"SET LOCAL lock_timeout = '{CLEANUP_LOCK_TIMEOUT}s'")
        )
        names = sa.inspect(connection).get_table_names(schema="public")
        if names:
            quote = connection.dialect.identifier_preparer.quote
            tables = ", ".join(f"public.{quote(name)}" for name in names)
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {tables} CASCADE"))


@pytest.fixture
def pg_engine(database_url: str) -> cabc.Iterator[sa.Engine]:
    """A SQLAlchemy engine on ``DATABASE_URL`` (PostgreSQL). The test starts
    with no table in the ``public`` schema, and every table there is dropped
    after it: create tables in ``public`` (the default), not in a schema of
    your own."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        missing(
            POSTGRES_ADVICE,
            f"pg_engine needs PostgreSQL; DATABASE_URL is {url.get_backend_name()}.",
        )
    if "test" not in (url.database or ""):
        pytest.fail(
            f"pg_engine drops every table of the database of DATABASE_URL, and"
            f" {url.database!r} does not look like a test database (its name"
            f" must contain 'test'). Use `make services`.",
            pytrace=False,
        )
    engine = sa.create_engine(url, connect_args=connect_args(url))
    drop_public_tables(engine)
    try:
        yield engine
    finally:
        # Connections the test returned to the pool go first, so that their
        # sessions hold no lock on the tables.
        engine.dispose()
        drop_public_tables(engine)
        engine.dispose()
