"""Helpers for the refresh coordinator tests: tokens, a ``do_refresh`` that
counts its calls, and each cross-process coordinator built the same way in
a test and in a child process."""

from __future__ import annotations

import dataclasses
import json
import secrets
import threading
import time
import typing as t

import redis
from flask import Flask

from flask_rocketpunch.encoding import b64url_encode
from flask_rocketpunch.refresh_sqlite import SQLiteCoordinator
from flask_rocketpunch.storage.redis import RedisCoordinator
from flask_rocketpunch.tokens import Token

SECRET_KEY = "coordination-suite-secret-key"
#: ``ROCKETPUNCH_TIMEOUT`` of the apps the coordinators serve, and a lease
#: longer than twice that: a dead winner is replaced within seconds.
TIMEOUT = 0.5
LEASE = 2.0
#: Seconds any wait on another thread or process may take before the test
#: fails (a bound on a hang, not on speed).
HANG = 60.0

Coordinator: t.TypeAlias = SQLiteCoordinator | RedisCoordinator


def bare_app(**config: t.Any) -> Flask:
    """An app that only stores or coordinates: a secret key and a client."""
    app = Flask("bare")
    app.config.update(
        SECRET_KEY=SECRET_KEY,
        ROCKETPUNCH_CLIENT_ID="bare",
        ROCKETPUNCH_CLIENT_SECRET="bare-secret",
    )
    app.config.update(config)
    return app


def make_token(name: str, subject: str | None = "OA-user-1", life: int = 3600) -> Token:
    """A token with whole-second expiry (storages keep whole seconds); with a
    ``subject``, its access token is a JWT whose ``sub`` claim names it, as
    Rocketpunch's are."""
    access = f"access-{name}-{secrets.token_hex(12)}"
    if subject is not None:
        claims = b64url_encode(json.dumps({"sub": subject, "jti": access}).encode())
        access = f"eyJhbGciOiJIUzI1NiJ9.{claims}.{secrets.token_hex(8)}"
    return Token(
        access_token=access,
        expires_at=float(int(time.time()) + life),
        refresh_token=f"refresh-{name}-{secrets.token_hex(12)}",
        scopes=frozenset({"profile"}),
    )


class Refresher:
    """A ``do_refresh`` that counts its calls, takes a little time, and
    returns ``result`` or raises ``error``."""

    def __init__(
        self, result: Token, *, delay: float = 0.0, error: Exception | None = None
    ) -> None:
        self.result = result
        self.delay = delay
        self.error = error
        self.calls: list[Token] = []
        self._lock = threading.Lock()

    def __call__(self, stale: Token) -> Token:
        with self._lock:
            self.calls.append(stale)
        time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.result


@dataclasses.dataclass(frozen=True)
class Backend:
    """Where coordinators meet: a SQLite file or a Redis URL."""

    kind: t.Literal["sqlite", "redis"]
    location: str

    def coordinator(
        self, client: redis.Redis | None = None, **options: t.Any
    ) -> Coordinator:
        """A new coordinator (as in another process), set up with an app
        whose ``ROCKETPUNCH_TIMEOUT`` is :data:`TIMEOUT`."""
        coordinator: Coordinator
        if self.kind == "sqlite":
            coordinator = SQLiteCoordinator(self.location, lease=LEASE, **options)
        else:
            if client is None:
                client = redis.Redis.from_url(self.location)
            coordinator = RedisCoordinator(client, lease=LEASE, **options)
        coordinator.init_app(bare_app(ROCKETPUNCH_TIMEOUT=TIMEOUT))
        return coordinator
