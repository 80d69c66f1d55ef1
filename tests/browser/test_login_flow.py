"""The example app's login journeys in a real headless Chromium, against the
sandbox served by the app itself (no client id configured)."""

from __future__ import annotations

import re
import typing as t
from urllib.parse import parse_qs, urlsplit

import pytest

from flask_rocketpunch.sandbox import SAMPLE_USERS, SandboxUser

if t.TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Request, Response, expect

    from browser.conftest import LiveApp, ServeApp
else:
    from browser.lazy import expect


pytestmark = pytest.mark.browser

LOGIN_PATH = "/auth/rocketpunch/login"
CALLBACK_PATH = "/auth/rocketpunch/callback"
CONSENT_URL = re.compile(r"/_rocketpunch_sandbox/oauth/authorize\?")

MINJI, SEOJUN, ALEX, *_ = SAMPLE_USERS


def start_login(page: Page, live: LiveApp) -> None:
    """From the home page, click "Log in with Rocketpunch" and wait for the
    consent page."""
    page.goto(f"{live.url}/")
    page.click("#login-button")
    expect(page).to_have_url(CONSENT_URL)


def consent(page: Page, decision: str, user: SandboxUser = MINJI) -> None:
    """On the consent page, choose ``user`` and click Approve or Deny."""
    page.check(f'input[name="user"][value="{user.sub}"]')
    page.get_by_role("button", name=decision, exact=True).click()


def expect_dashboard(page: Page, live: LiveApp, user: SandboxUser) -> None:
    expect(page).to_have_url(f"{live.url}/dashboard")
    expect(page.locator("#user-name")).to_have_text(user.name or "")


def record_navigations(page: Page) -> list[str]:
    """The URLs of the page's navigation requests from now on, redirects
    included, in order."""
    urls: list[str] = []

    def record(request: Request) -> None:
        if request.is_navigation_request():
            urls.append(request.url)

    page.on("request", record)
    return urls


def paths_of(urls: list[str]) -> list[str]:
    return [urlsplit(url).path for url in urls]


def test_approve_shows_the_dashboard_with_name_email_and_picture(
    page: Page, live_app: LiveApp
) -> None:
    start_login(page, live_app)
    consent(page, "Approve", SEOJUN)

    expect_dashboard(page, live_app, SEOJUN)
    expect(page.locator("#user-email")).to_have_text(str(SEOJUN.email))
    picture = page.locator("#user-picture")
    expect(picture).to_be_visible()
    src = picture.get_attribute("src") or ""
    # Inline, so it never depends on the Host header of some request.
    assert src.startswith("data:image/svg+xml;base64,"), src[:40]
    page.wait_for_function("document.getElementById('user-picture').complete")
    assert picture.evaluate("img => img.naturalWidth") > 0, "the picture did not load"


def test_deny_lands_on_the_friendly_page_without_a_loop(
    page: Page, live_app: LiveApp
) -> None:
    navigations = record_navigations(page)
    responses: list[Response] = []
    page.on("response", lambda r: responses.append(r))

    start_login(page, live_app)
    consent(page, "Deny")

    expect(page.locator("#denied-message")).to_be_visible()
    expect(page.locator("#denied-message")).to_contain_text("cancelled")
    page.wait_for_load_state("networkidle")
    assert urlsplit(page.url).path == CALLBACK_PATH
    callback_statuses = [
        r.status for r in responses if urlsplit(r.url).path == CALLBACK_PATH
    ]
    assert callback_statuses == [403]
    paths = paths_of(navigations)
    assert paths.count(LOGIN_PATH) == 1, paths
    assert paths.count(CALLBACK_PATH) == 1, paths
    assert "/dashboard" not in paths, paths
    assert live_app.sandbox.requests_to("token") == []

    # The way out goes to a public page, which does not send the user back.
    page.click("#home-link")
    expect(page).to_have_url(f"{live_app.url}/")
    expect(page.locator("#login-button")).to_be_visible()
    assert paths_of(navigations).count(LOGIN_PATH) == 1


def test_two_tabs_logging_in_at_once_both_succeed(
    context: BrowserContext, page: Page, live_app: LiveApp
) -> None:
    first, second = page, context.new_page()
    start_login(first, live_app)
    start_login(second, live_app)

    # Approve in the reverse order of the logins: the second tab's login must
    # not have replaced the first tab's.
    consent(second, "Approve", ALEX)
    expect_dashboard(second, live_app, ALEX)
    consent(first, "Approve", MINJI)
    expect_dashboard(first, live_app, MINJI)

    tokens = live_app.sandbox.requests_to("token")
    assert [r.status for r in tokens] == [200, 200]
    # One browser, one session: the login finished last is the one kept.
    second.reload()
    expect_dashboard(second, live_app, MINJI)


def test_logout_returns_home_and_the_dashboard_logs_in_again_without_consent(
    page: Page, live_app: LiveApp
) -> None:
    start_login(page, live_app)
    consent(page, "Approve", MINJI)
    expect_dashboard(page, live_app, MINJI)

    page.click("#logout-button")
    expect(page).to_have_url(f"{live_app.url}/")
    expect(page.locator("#login-button")).to_be_visible()
    revocations = live_app.sandbox.requests_to("revoke")
    assert [r.status for r in revocations] == [200]

    navigations = record_navigations(page)
    page.goto(f"{live_app.url}/dashboard")
    # A new login: the browser is still signed in to the sandbox and the
    # consent covers the scopes, so, as on Rocketpunch, no consent page.
    expect_dashboard(page, live_app, MINJI)
    logins = [urlsplit(url) for url in navigations if urlsplit(url).path == LOGIN_PATH]
    assert [parse_qs(url.query) for url in logins] == [{"next": ["/dashboard"]}]
    assert any(CONSENT_URL.search(url) for url in navigations)
    authorizations = live_app.sandbox.requests_to("authorize")
    assert [(r.method, r.status) for r in authorizations] == [
        ("GET", 200),
        ("POST", 302),
        ("GET", 302),
    ]


def test_guide_flavor_sandbox_login_reaches_the_dashboard(
    page: Page, serve_app: ServeApp
) -> None:
    live = serve_app({"ROCKETPUNCH_SANDBOX_FLAVOR": "guide"})
    assert live.sandbox.flavor == "guide"

    start_login(page, live)
    consent(page, "Approve", MINJI)

    expect_dashboard(page, live, MINJI)
    assert [r.status for r in live.sandbox.requests_to("token")] == [200]
