"""Concurrency: one logged-in browser, fifty simultaneous requests, a token
due for refresh.

The client app itself is served over real HTTP by a threaded Werkzeug server,
the provider by another; the browser is a ``requests.Session`` that goes
through the real login dance. With a rotating refresh token, two refreshes of
the same token would log the user out (the second one gets
``invalid_grant``): exactly one refresh grant may reach the provider.
"""

from __future__ import annotations

import collections.abc as cabc
import concurrent.futures
import typing as t
from urllib.parse import urljoin

import pytest
import requests
from dance import CLIENT_ID, CLIENT_SECRET, SECRET_KEY, parse_form
from flask import Flask

from flask_rocketpunch import RocketpunchOAuth, login_required_rocketpunch, rocketpunch
from flask_rocketpunch.sandbox import SandboxProvider, SandboxServer

CONCURRENT = 50
#: Seconds any single HTTP call may take; the whole burst is bounded too.
CALL_TIMEOUT = 20.0
BURST_TIMEOUT = 60.0


class Running(t.NamedTuple):
    provider: SandboxProvider
    app_url: str
    browser: requests.Session


@pytest.fixture
def running() -> cabc.Iterator[Running]:
    """The provider and the client app, both served over HTTP, and a browser
    logged in as ``minji`` through the consent page."""
    provider = SandboxProvider(flavor="current")
    with SandboxServer(provider, threaded=True) as provider_server:
        app = Flask("concurrent_app")
        app.config.update(
            SECRET_KEY=SECRET_KEY,
            ROCKETPUNCH_CLIENT_ID=CLIENT_ID,
            ROCKETPUNCH_CLIENT_SECRET=CLIENT_SECRET,
            ROCKETPUNCH_AUTHORIZE_URL=f"{provider_server.url}/oauth/authorize",
            ROCKETPUNCH_TOKEN_URL=f"{provider_server.url}/oauth/token",
            ROCKETPUNCH_REVOKE_URL=f"{provider_server.url}/oauth/revoke",
            ROCKETPUNCH_USERINFO_URL=f"{provider_server.url}/oauth/userinfo",
            ROCKETPUNCH_API_BASE_URL=f"{provider_server.url}/api/v1/",
            # Over the sandbox's 900-second lifetime: the token is always due.
            ROCKETPUNCH_REFRESH_LEEWAY=1000,
        )
        RocketpunchOAuth(app)

        @app.get("/")
        def home() -> str:
            return "home"

        @app.get("/me")
        @login_required_rocketpunch
        def me() -> dict[str, t.Any]:
            return rocketpunch.userinfo()

        with SandboxServer(app, threaded=True) as app_server:
            provider.register_client(
                CLIENT_ID,
                CLIENT_SECRET,
                f"{app_server.url}/auth/rocketpunch/callback",
                name="Concurrent App",
            )
            with requests.Session() as browser:
                log_in(browser, app_server.url)
                yield Running(provider, app_server.url, browser)


def log_in(browser: requests.Session, app_url: str) -> None:
    """The real dance: login route, consent page, approve, callback."""
    start = browser.get(
        f"{app_url}/auth/rocketpunch/login",
        allow_redirects=False,
        timeout=CALL_TIMEOUT,
    )
    assert start.status_code == 302
    authorize_url = start.headers["Location"]
    page = browser.get(authorize_url, timeout=CALL_TIMEOUT)
    assert page.status_code == 200
    action, fields = parse_form(page.text)
    fields.update(decision="approve", user="minji")
    decided = browser.post(
        urljoin(authorize_url, action),
        data=fields,
        allow_redirects=False,
        timeout=CALL_TIMEOUT,
    )
    assert decided.status_code == 302
    back = browser.get(
        decided.headers["Location"], allow_redirects=False, timeout=CALL_TIMEOUT
    )
    assert back.status_code == 302, back.text
    assert browser.cookies.get("session")


def burst(running: Running, path: str) -> list[requests.Response]:
    """``CONCURRENT`` simultaneous GETs of ``path``, all with the browser's
    session cookie as it is now."""
    cookie = running.browser.cookies.get("session")
    assert cookie

    def fetch(_: int) -> requests.Response:
        return requests.get(
            f"{running.app_url}{path}",
            cookies={"session": cookie},
            headers={"Accept": "text/html"},
            allow_redirects=False,
            timeout=CALL_TIMEOUT,
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        futures = [pool.submit(fetch, n) for n in range(CONCURRENT)]
        _done, pending = concurrent.futures.wait(futures, timeout=BURST_TIMEOUT)
        assert not pending, f"{len(pending)} requests did not finish in time"
        return [future.result() for future in futures]


def test_fifty_concurrent_requests_make_exactly_one_refresh(
    running: Running,
) -> None:
    assert running.provider.grant_counts()["refresh_token"] == 0

    responses = burst(running, "/me")

    statuses = [response.status_code for response in responses]
    assert statuses == [200] * CONCURRENT, statuses
    users = {response.json()["preferred_username"] for response in responses}
    assert users == {"minji"}
    assert running.provider.grant_counts()["refresh_token"] == 1
    refreshes = running.provider.requests_to("token")[1:]
    assert [r.status for r in refreshes] == [200]


def test_fifty_concurrent_requests_with_a_rejected_refresh_all_log_in_again(
    running: Running,
) -> None:
    running.provider.faults.refresh_invalid_grant = True

    responses = burst(running, "/me")

    statuses = [response.status_code for response in responses]
    assert statuses == [302] * CONCURRENT, statuses
    for response in responses:
        assert response.headers["Location"].startswith("/auth/rocketpunch/login")
        assert "next=/me" in response.headers["Location"]
    assert running.provider.grant_counts()["refresh_token"] == 1
