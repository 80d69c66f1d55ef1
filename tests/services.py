"""Fixtures for tests that need a real PostgreSQL server.

Export ``DATABASE_URL`` (a SQLAlchemy URL, e.g.
``postgresql+psycopg://user:password@127.0.0.1:5432/rocketpunch_test``) to run
them. Without a server they are skipped locally, with advice on how to start
one, and fail under CI (``CI=true``), so that CI never passes by skipping.

Registered from ``conftest.py`` with ``pytest_plugins``.
"""

from __future__ import annotations

import collections.abc as cabc
import os
import typing as t

import pytest
import sqlalchemy as sa

ADVICE = (
    "PostgreSQL is not running: start it with `make services` (or set DATABASE_URL)"
)


def missing(detail: str) -> t.NoReturn:
    """Skip the test, or fail it under CI."""
    message = f"{ADVICE}. {detail}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def database_url() -> str:
    """``DATABASE_URL``, once a connection to it worked."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        missing("DATABASE_URL is not set.")
    try:
        parsed = sa.make_url(url)
        engine = sa.create_engine(
            parsed, poolclass=sa.NullPool, connect_args={"connect_timeout": 3}
        )
    except (sa.exc.ArgumentError, ImportError) as error:
        missing(f"DATABASE_URL is not usable: {type(error).__name__}.")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as error:
        where = parsed.render_as_string(hide_password=True)
        missing(f"{where}: {str(getattr(error, 'orig', error)).splitlines()[0]}")
    finally:
        engine.dispose()
    return url


@pytest.fixture
def pg_engine(database_url: str) -> cabc.Iterator[sa.Engine]:
    """An engine on ``DATABASE_URL``; the tables a test created there are
    dropped after it."""
    engine = sa.create_engine(database_url)
    before = set(sa.inspect(engine).get_table_names())
    try:
        yield engine
    finally:
        engine.dispose()
        created = set(sa.inspect(engine).get_table_names()) - before
        if created:
            quote = engine.dialect.identifier_preparer.quote
            with engine.begin() as conn:
                # Fail rather than hang behind a connection a test left open.
                conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
                conn.exec_driver_sql(
                    "DROP TABLE IF EXISTS "
                    + ", ".join(quote(name) for name in sorted(created))
                    + " CASCADE"
                )
        engine.dispose()
