"""The in-app sandbox (``ROCKETPUNCH_SANDBOX = True``) under gunicorn with
several worker processes: each worker builds its own provider, and logins,
refreshes and API calls must work whichever worker answers each step.

The example app runs under a real gunicorn master (``-w 4``); a browser
(a :class:`requests.Session`) logs in through the login route, the consent
page (answered with the kit's :func:`~flask_rocketpunch.testing.consent_form`)
and the callback, then calls a protected JSON page with a token that is
always due, so every call refreshes (rotating the refresh token) and calls
userinfo.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from herd_support.harness import EXAMPLE_APP, gunicorn

from flask_rocketpunch.testing import consent_form

pytestmark = pytest.mark.herd

WORKERS = 4
LOGINS = 8
#: Protected calls per login; each one refreshes the token first.
CALLS = 4
USERS = ("minji", "seojun", "alex")


def new_browser() -> requests.Session:
    """A browser that opens a new connection for every request, so that any
    worker may answer each one (a kept-alive connection stays with one)."""
    browser = requests.Session()
    browser.headers["Connection"] = "close"
    return browser


def log_in(browser: requests.Session, url: str, user: str) -> requests.Response:
    """The whole login as a browser makes it; the answer of the page the
    callback sends the browser on to."""
    page = browser.get(f"{url}/auth/rocketpunch/login?next=/dashboard", timeout=30)
    assert page.status_code == 200, page.text
    assert "/_rocketpunch_sandbox/oauth/authorize" in page.url
    action, fields = consent_form(page.text, page.url)
    fields.update(decision="approve", user=user)
    return browser.post(action, data=fields, timeout=30)


def test_logins_refreshes_and_api_calls_work_across_gunicorn_workers(
    tmp_path: Path,
) -> None:
    env = {
        "FLASK_SECRET_KEY": "sandbox-processes-test",
        # gunicorn runs without debug: the sandbox must be forced on.
        "FLASK_ROCKETPUNCH_SANDBOX_FORCE": "true",
        # Longer than the sandbox's 900-second tokens: every call refreshes.
        "FLASK_ROCKETPUNCH_REFRESH_LEEWAY": "1000",
    }
    with gunicorn(
        tmp_path,
        "app",
        app=EXAMPLE_APP,
        app_kwargs={},
        env=env,
        workers=WORKERS,
        threads=2,
    ) as server:
        offset = server.access_offset()
        failures = []
        for n in range(LOGINS):
            user = USERS[n % len(USERS)]
            with new_browser() as browser:
                landed = log_in(browser, server.url, user)
                if landed.status_code != 200 or user not in landed.text:
                    failures.append(f"login {n}: {landed.status_code}")
                    continue
                for call in range(CALLS):
                    me = browser.get(
                        f"{server.url}/api/me",
                        headers={"Accept": "application/json"},
                        timeout=30,
                    )
                    if (
                        me.status_code != 200
                        or me.json().get("preferred_username") != user
                    ):
                        failures.append(f"login {n} call {call}: {me.status_code}")
                # The logout revokes the grant in one worker; the cookie
                # from before it is refused by every worker.
                before = browser.cookies.copy()
                out = browser.post(f"{server.url}/auth/rocketpunch/logout", timeout=30)
                assert out.status_code == 200
            with new_browser() as stale:
                stale.cookies.update(before)
                again = stale.get(
                    f"{server.url}/api/me",
                    headers={"Accept": "application/json"},
                    timeout=30,
                )
                if again.status_code != 401:
                    failures.append(f"login {n} after logout: {again.status_code}")
        assert failures == []
        # Several workers took part (32 requests on 32 connections).
        assert len(server.workers_since(offset, "/api/me")) > 1
        assert "Traceback" not in server.child.output()
