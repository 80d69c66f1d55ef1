"""The figures other than speed: cookie size, concurrent refreshes, memory.

They use an app with the built-in sandbox (``ROCKETPUNCH_SANDBOX = True``),
the whole login going through its consent page as a browser would.
"""

from __future__ import annotations

import concurrent.futures
import tracemalloc

from flask import Flask
from steps import session_cookie
from twins import SECRET_KEY, USER

from flask_rocketpunch import RocketpunchOAuth
from flask_rocketpunch.helpers import token_manager
from flask_rocketpunch.testing import complete_login


def make_sandbox_app(flavor: str = "current", leeway: int = 300) -> Flask:
    """An app with the built-in sandbox, for the figures other than speed."""
    app = Flask("bench_sandbox")
    app.config.update(
        SECRET_KEY=SECRET_KEY,
        TESTING=True,
        ROCKETPUNCH_SANDBOX=True,
        ROCKETPUNCH_SANDBOX_FLAVOR=flavor,
        ROCKETPUNCH_REFRESH_LEEWAY=leeway,
    )
    ext = RocketpunchOAuth(app)
    provider = ext.sandbox(app)
    assert provider is not None
    # Hundreds of logins in a minute: beyond Rocketpunch's real limits.
    provider.enforce_rate_limit = False

    @app.get("/refresh")
    def refresh() -> str:
        return str(token_manager().valid_token().expires_at)

    return app


def cookie_sizes() -> None:
    """The session cookie's size after a login, for each sandbox flavor."""
    for flavor in ("current", "guide"):
        client = make_sandbox_app(flavor).test_client()
        complete_login(client, user=USER)
        size = len(session_cookie(client))
        print(
            f"session cookie after login ({flavor} flavor): {size} bytes"
            " (browser limit 4096)"
        )


def concurrent_refreshes() -> None:
    """50 threads refresh one token at once: one refresh grant is expected."""
    app = make_sandbox_app(leeway=1000)
    provider = app.extensions["rocketpunch"].sandbox(app)
    client = app.test_client()
    complete_login(client)
    cookie = session_cookie(client)
    before = provider.grant_counts()["refresh_token"]

    def refresh_once(_: int) -> int:
        c = app.test_client()
        c.set_cookie("session", cookie)
        return c.get("/refresh").status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(refresh_once, range(50)))
    grants = provider.grant_counts()["refresh_token"] - before
    print(
        f"50 concurrent refreshes of one token: {grants} refresh grant(s),"
        f" {statuses.count(200)}/50 answered 200"
    )


def login_memory(logins: int = 200) -> None:
    """Peak memory traced while an app is made and ``logins`` browsers log
    in, one after the other."""
    tracemalloc.start()
    app = make_sandbox_app()
    for _ in range(logins):
        complete_login(app.test_client())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak memory over {logins} logins: {peak / 1024:.0f} KiB")
