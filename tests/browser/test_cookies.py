"""The session cookie on the cross-site callback, in a real headless Chromium.

The provider (a sandbox served on its own server) is opened as
``http://127.0.0.1:<p1>`` and the example app as ``http://localhost:<p2>``:
two different sites, so the provider's redirect to the callback is a
cross-site top-level navigation, as it is with the real Rocketpunch. Whether
the browser sends the session cookie with it depends on ``SameSite``.
"""

from __future__ import annotations

import collections.abc as cabc
import re
import socket
import typing as t
from urllib.parse import urlsplit

import pytest

from flask_rocketpunch.sandbox import SAMPLE_USERS, SandboxProvider, SandboxServer

if t.TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Response, expect

    from browser.conftest import LiveApp, ServeApp
else:
    from browser.lazy import expect


pytestmark = pytest.mark.browser

CLIENT_ID = "browser-test-client"
CLIENT_SECRET = "browser-test-client-secret"
CALLBACK_PATH = "/auth/rocketpunch/callback"
MINJI = SAMPLE_USERS[0]


@pytest.fixture
def provider_server() -> cabc.Iterator[SandboxServer]:
    """The sandbox provider on its own server: ``http://127.0.0.1:<p1>``."""
    with SandboxServer(SandboxProvider(flavor="current")) as server:
        yield server


def provider_of(server: SandboxServer) -> SandboxProvider:
    assert server.provider is not None
    return server.provider


def serve_cross_site(
    serve_app: ServeApp, provider_server: SandboxServer, samesite: str
) -> LiveApp:
    """The example app, configured for the provider server, opened as
    ``http://localhost:<p2>``."""
    addresses = {info[4][0] for info in socket.getaddrinfo("localhost", None)}
    if "127.0.0.1" not in addresses:
        pytest.fail(f"localhost does not resolve to 127.0.0.1 here: {addresses}")
    provider = provider_of(provider_server)
    base = provider_server.url

    def config(url: str) -> dict[str, t.Any]:
        callback = f"{url}{CALLBACK_PATH}"
        provider.register_client(CLIENT_ID, CLIENT_SECRET, callback, name="Example")
        return {
            "ROCKETPUNCH_CLIENT_ID": CLIENT_ID,
            "ROCKETPUNCH_CLIENT_SECRET": CLIENT_SECRET,
            "ROCKETPUNCH_AUTHORIZE_URL": f"{base}/oauth/authorize",
            "ROCKETPUNCH_TOKEN_URL": f"{base}/oauth/token",
            "ROCKETPUNCH_REVOKE_URL": f"{base}/oauth/revoke",
            "ROCKETPUNCH_USERINFO_URL": f"{base}/oauth/userinfo",
            "ROCKETPUNCH_API_BASE_URL": f"{base}/api/v1/",
            "ROCKETPUNCH_REDIRECT_URI": callback,
            "SESSION_COOKIE_SAMESITE": samesite,
        }

    live = serve_app(config, host="localhost")
    assert urlsplit(live.url).hostname == "localhost"
    assert urlsplit(base).hostname == "127.0.0.1"
    return live


def log_in_through_provider(page: Page, live: LiveApp) -> list[Response]:
    """Start the login on the app, approve on the provider's site, and
    return the responses to the callback."""
    callbacks: list[Response] = []

    def record(response: Response) -> None:
        if urlsplit(response.url).path == CALLBACK_PATH:
            callbacks.append(response)

    page.on("response", record)
    page.goto(f"{live.url}/")
    page.click("#login-button")
    expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/oauth/authorize\?"))
    page.check(f'input[name="user"][value="{MINJI.sub}"]')
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/oauth/authorize"))
    page.wait_for_load_state()
    return callbacks


def session_cookie(context: BrowserContext, live: LiveApp) -> dict[str, t.Any]:
    cookies = [
        c for c in context.cookies(live.url) if c.get("name") == "example_app_session"
    ]
    assert len(cookies) == 1, cookies
    return dict(cookies[0])


def test_lax_session_cookie_comes_back_on_the_cross_site_callback(
    context: BrowserContext,
    page: Page,
    serve_app: ServeApp,
    provider_server: SandboxServer,
) -> None:
    live = serve_cross_site(serve_app, provider_server, "Lax")

    callbacks = log_in_through_provider(page, live)

    expect(page).to_have_url(f"{live.url}/dashboard")
    expect(page.locator("#user-name")).to_have_text(MINJI.name or "")
    assert [r.status for r in callbacks] == [302]
    assert live.wsgi.cookie_sent_to(CALLBACK_PATH) == [True]
    assert session_cookie(context, live)["sameSite"] == "Lax"
    tokens = provider_of(provider_server).requests_to("token")
    assert [r.status for r in tokens] == [200]


def test_strict_session_cookie_is_withheld_and_the_callback_says_why(
    context: BrowserContext,
    page: Page,
    serve_app: ServeApp,
    provider_server: SandboxServer,
) -> None:
    live = serve_cross_site(serve_app, provider_server, "Strict")

    callbacks = log_in_through_provider(page, live)

    assert [r.status for r in callbacks] == [400]
    assert urlsplit(page.url).path == CALLBACK_PATH
    assert live.wsgi.cookie_sent_to(CALLBACK_PATH) == [False]
    # The cookie exists; the browser just did not send it cross-site.
    assert session_cookie(context, live)["sameSite"] == "Strict"
    expect(page.locator("#rocketpunch-error-message")).to_contain_text(
        "Start the login again"
    )
    # What to check is in the developer's details (open on an English page).
    message = page.locator("#rocketpunch-error-detail")
    expect(message).to_be_visible()
    expect(message).to_contain_text("did not send its session cookie")
    expect(message).to_contain_text("SESSION_COOKIE_SAMESITE")
    expect(message).to_contain_text("'Strict'")
    # The code was never exchanged, and the user is not logged in.
    assert provider_of(provider_server).requests_to("token") == []
    page.goto(f"{live.url}/")
    expect(page.locator("#login-button")).to_be_visible()
