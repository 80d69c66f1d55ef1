"""The protected view's cost with each token storage, against bare Flask.

For each storage that can be reached (the session cookie always; Redis with
``REDIS_URL``; PostgreSQL with ``DATABASE_URL``; SQLite in a temporary
file), our app logs in once, then ``GET /protected`` is timed against the
bare twin reading the same session cookie, one request each in turn. What
is printed: the ratio of the medians, the time each request adds (median and
99th percentile), and the size of the session cookie.
"""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import gc
import importlib.util
import os
import statistics
import tempfile

from flask.testing import FlaskClient
from steps import get_step, logged_in, session_cookie
from twins import OURS_LOGIN_PATH, make_bare, make_ours

from flask_rocketpunch.extension import LOGIN_ID_KEY
from flask_rocketpunch.sandbox import SandboxProvider
from flask_rocketpunch.storage import TOKEN_KEY, TokenStorage

#: Requests per side, after as many of warm-up.
REQUESTS = 4000


def _p99(samples: list[int]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def _storages(tmp: str) -> cabc.Iterator[tuple[str, TokenStorage | None]]:
    yield "session cookie", None
    if os.environ.get("REDIS_URL") and importlib.util.find_spec("redis"):
        from flask_rocketpunch.storage.redis import RedisStorage

        yield "Redis", RedisStorage.from_url(os.environ["REDIS_URL"])
    if importlib.util.find_spec("flask_rocketpunch.storage.sqlalchemy"):
        from flask_rocketpunch.storage.sqlalchemy import (  # type: ignore[import-not-found,unused-ignore]
            SQLAlchemyStorage,
        )

        url = os.environ.get("DATABASE_URL", "")
        if url.startswith("postgresql"):
            yield "PostgreSQL", SQLAlchemyStorage.from_url(url)
        yield "SQLite", SQLAlchemyStorage.from_url(f"sqlite:///{tmp}/tokens.db")


def _time(ours: FlaskClient, bare: FlaskClient) -> tuple[list[int], list[int]]:
    ours_step, bare_step = get_step(ours, "/protected"), get_step(bare, "/protected")
    for _ in range(REQUESTS // 4):
        ours_step()
        bare_step()
    ours_ns: list[int] = []
    bare_ns: list[int] = []
    gc.collect()
    gc.disable()
    try:
        for index in range(REQUESTS):
            if index % 2:
                ours_ns.append(ours_step())
                bare_ns.append(bare_step())
            else:
                bare_ns.append(bare_step())
                ours_ns.append(ours_step())
    finally:
        gc.enable()
    return ours_ns, bare_ns


def storage_costs(provider: SandboxProvider, base_url: str, client_secret: str) -> None:
    """Print the per-storage figures; ``provider`` must know the client of
    :func:`~twins.make_ours` with ``client_secret``."""
    print(
        f"{'storage':<16}{'ratio':>8}{'added median':>15}{'added p99':>12}{'cookie':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, storage in _storages(tmp):
            with contextlib.suppress(AttributeError):
                storage.create_table()  # type: ignore[union-attr]
            ours = make_ours(base_url, client_secret, storage=storage)
            client = logged_in(ours, provider, OURS_LOGIN_PATH)
            cookie = session_cookie(client)
            # The bare twin checks the session key ours reads first: the token
            # itself in the cookie, or the login id of a server-side storage.
            key = TOKEN_KEY if storage is None else LOGIN_ID_KEY
            bare = make_bare(base_url, "unused", protected_key=key).test_client()
            bare.set_cookie("session", cookie)
            ours_ns, bare_ns = _time(client, bare)
            ratio = statistics.median(ours_ns) / statistics.median(bare_ns)
            added = (statistics.median(ours_ns) - statistics.median(bare_ns)) / 1000
            added_p99 = (_p99(ours_ns) - _p99(bare_ns)) / 1000
            print(
                f"{name:<16}{'x' + format(ratio, '.2f'):>8}"
                f"{added:>12.0f} µs{added_p99:>9.0f} µs{len(cookie):>7} B",
                flush=True,
            )
