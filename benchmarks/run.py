"""Benchmarks of flask-rocketpunch. They print figures; they assert nothing.

Run with ``make bench`` or ``python benchmarks/run.py``. Everything runs in
process against the built-in sandbox, so the figures measure the extension,
not a network.

Figures:

- the size of the session cookie after a login (the browsers' limit is 4096
  bytes), for both sandbox flavors;
- the time of a whole login (login route, consent, callback with the code
  exchange);
- the time of a request to a protected view with a valid token (decrypting
  the token from the cookie);
- concurrent refreshes: how many refresh grants 50 threads make for one token,
  and how long they take;
- memory: peak allocation of 200 logins (tracemalloc).
"""

from __future__ import annotations

import concurrent.futures
import logging
import statistics
import sys
import time
import tracemalloc

from flask import Flask
from flask.testing import FlaskClient

from flask_rocketpunch import (
    RocketpunchOAuth,
    login_required_rocketpunch,
    rocketpunch,
)
from flask_rocketpunch.helpers import token_manager
from flask_rocketpunch.testing import complete_login


def make_app(flavor: str = "current", leeway: int = 300) -> Flask:
    app = Flask("bench")
    app.config.update(
        SECRET_KEY="bench-secret",
        ROCKETPUNCH_SANDBOX=True,
        ROCKETPUNCH_SANDBOX_FLAVOR=flavor,
        ROCKETPUNCH_REFRESH_LEEWAY=leeway,
    )
    RocketpunchOAuth(app)

    @app.get("/protected")
    @login_required_rocketpunch
    def protected() -> str:
        return "ok"

    @app.get("/me")
    @login_required_rocketpunch
    def me() -> dict[str, object]:
        return rocketpunch.userinfo()

    @app.get("/refresh")
    def refresh() -> str:
        return str(token_manager().valid_token().expires_at)

    return app


def cookie_size(client: FlaskClient) -> int:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return len(cookie.value)


def timed(n: int, f: object) -> list[float]:
    assert callable(f)
    out = []
    for _ in range(n):
        start = time.perf_counter()
        f()
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(name: str, samples: list[float], unit: str = "ms") -> None:
    samples = sorted(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(
        f"{name:<44} median {statistics.median(samples):7.2f} {unit}"
        f"   p95 {p95:7.2f} {unit}   n={len(samples)}"
    )


def main() -> None:
    # The sandbox warns at every app start that it is not Rocketpunch.
    logging.getLogger("flask_rocketpunch").setLevel(logging.ERROR)
    print(f"Python {sys.version.split()[0]}")
    for flavor in ("current", "guide"):
        app = make_app(flavor)
        client = app.test_client()
        complete_login(client, user="minji")
        print(
            f"session cookie after login ({flavor} flavor):"
            f"{cookie_size(client):>9} bytes (browser limit 4096)"
        )

    app = make_app()

    def one_login() -> None:
        client = app.test_client()
        response = complete_login(client)
        assert response.status_code == 302

    report("whole login (login, consent, callback)", timed(200, one_login))

    client = app.test_client()
    complete_login(client)
    report("protected view, valid token", timed(1000, lambda: client.get("/protected")))
    report("protected view + userinfo()", timed(300, lambda: client.get("/me")))

    # Concurrent refreshes of one token: 50 threads, one refresh grant.
    app = make_app(leeway=1000)
    provider = app.extensions["rocketpunch"].sandbox(app)
    client = app.test_client()
    complete_login(client)
    cookie = client.get_cookie("session")
    assert cookie is not None
    before = provider.grant_counts()["refresh_token"]

    def refresh_once(_: int) -> int:
        c = app.test_client()
        c.set_cookie("session", cookie.value)
        return c.get("/refresh").status_code

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(refresh_once, range(50)))
    elapsed = (time.perf_counter() - start) * 1000
    grants = provider.grant_counts()["refresh_token"] - before
    print(
        f"50 concurrent refreshes of one token:        {grants} refresh grant(s),"
        f" {statuses.count(200)}/50 OK, {elapsed:.1f} ms"
    )

    tracemalloc.start()
    app = make_app()
    for _ in range(200):
        one_login()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak memory over 200 logins:           {peak / 1024:10.0f} KiB")


if __name__ == "__main__":
    main()
