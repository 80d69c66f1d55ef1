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

import pytest
import requests
from support import AppFactory, log_in_over_http, protected_app, register_served_app

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
def running(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> cabc.Iterator[Running]:
    """The provider (the kit's sandbox server) and the client app, both
    served over HTTP, and a browser logged in as ``minji`` through the
    consent page."""
    # Over the sandbox's 900-second lifetime: the token is always due.
    app = protected_app(make_app, REFRESH_LEEWAY=1000)
    with SandboxServer(app, threaded=True) as app_server:
        register_served_app(app, rocketpunch_provider, app_server.url)
        with requests.Session() as browser:
            landed = log_in_over_http(browser, app_server.url).landed
            assert landed.status_code == 302, landed.text
            assert browser.cookies.get("session")
            yield Running(rocketpunch_provider, app_server.url, browser)


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
