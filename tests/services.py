"""The services some tests need, found through environment variables.

``REDIS_URL`` names a Redis server for the Redis storage tests. Without it
(or when it does not answer) those tests are skipped locally, and fail in CI
(``CI=true``), where the services must run.
"""

from __future__ import annotations

import collections.abc as cabc
import os

import pytest
import redis


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run every service.", pytrace=False)
    pytest.skip(f"{reason}: start it with `make services`.")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The URL of a Redis server that answers, from ``REDIS_URL``."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        _unavailable("REDIS_URL is not set")
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis at REDIS_URL does not answer ({type(exc).__name__})")
    finally:
        client.close()
    return url


@pytest.fixture
def redis_client(redis_url: str) -> cabc.Iterator[redis.Redis]:
    """A client of :func:`redis_url`'s database, emptied before and after."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
