"""Fixtures for the real-browser tests.

A headless Chromium (the Debian ``chromium`` package; Playwright's own browser
download is not used) is driven by Playwright's Python package. Each test gets
a fresh browser context (its own cookies) and talks to the example app served
by a real threaded Werkzeug server on 127.0.0.1.

Without Chromium (or without the ``playwright`` package) the tests skip with a
message saying what to install; under CI (``CI=true``) that is a failure.
``ROCKETPUNCH_CHROMIUM`` names the browser executable to use; when it is set,
no other place is searched.

When a test fails, a screenshot and the HTML of every page it opened are saved
under ``test-artifacts/<test name>/`` and their paths are printed.
"""

from __future__ import annotations

import collections.abc as cabc
import os
import re
import shutil
import sys
import typing as t
from pathlib import Path

import pytest

from flask_rocketpunch.sandbox import SandboxProvider, SandboxServer
from flask_rocketpunch.testing import sandbox_of

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask
    from playwright.sync_api import Browser, BrowserContext, Page

INSTALL_HINT = (
    "The browser tests need Chromium: install the Debian packages chromium and"
    " chromium-driver (apt-get install chromium chromium-driver), or set"
    " ROCKETPUNCH_CHROMIUM to a Chromium executable."
)

#: Chromium flags: headless, runs as root in CI, and no background connections
#: to Google (they are refused, noisily, in CI).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

#: How long one browser action or expectation may wait, in milliseconds.
TIMEOUT_MS = 10_000

SECRET_KEY = "browser-tests-secret-key-not-for-production"

ARTIFACTS_DIR = "test-artifacts"

#: The repository root, where the ``example_app`` package lives.
REPO_ROOT = Path(__file__).resolve().parents[2]

_reports_key = pytest.StashKey[dict[str, pytest.TestReport]]()


# -- failure reports ----------------------------------------------------------


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> cabc.Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so that fixtures can tell at
    teardown whether the test failed."""
    report = yield
    item.stash.setdefault(_reports_key, {})[report.when] = report
    return report


def _failed(item: pytest.Item) -> bool:
    reports = item.stash.get(_reports_key, {})
    return any(report.failed for report in reports.values())


def _redact(url: str) -> str:
    """``url`` without the values of codes, states and tokens (CI logs are
    read by many)."""
    return re.sub(
        r"([?&](?:code|state|code_challenge|\w*token)=)[^&#]*", r"\1[redacted]", url
    )


def _save_artifacts(item: pytest.Item, pages: list[Page]) -> None:
    """Save a screenshot and the HTML of each page under
    ``test-artifacts/<test name>/`` and print where they are."""
    name = re.sub(r"[^\w.-]+", "_", item.name).strip("_")
    folder = item.config.rootpath / ARTIFACTS_DIR / name
    shutil.rmtree(folder, ignore_errors=True)  # nothing left from an earlier run
    folder.mkdir(parents=True)
    print(f"\nBrowser artifacts of the failed test {item.nodeid}:")
    for number, page in enumerate(pages, start=1):
        if page.is_closed():
            continue
        stem = folder / f"page-{number}"
        print(f"  page {number}: {_redact(page.url)}")
        try:
            page.screenshot(path=str(stem.with_suffix(".png")), full_page=True)
            print(f"    screenshot: {stem.with_suffix('.png')}")
        except Exception as exc:  # keep saving what can be saved
            print(f"    screenshot failed: {exc}")
        try:
            stem.with_suffix(".html").write_text(page.content(), encoding="utf-8")
            print(f"    HTML:       {stem.with_suffix('.html')}")
        except Exception as exc:
            print(f"    HTML failed: {exc}")


# -- the browser ----------------------------------------------------------------


def _unavailable(message: str) -> t.NoReturn:
    """Skip locally; fail under CI, where the browser must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{message} (CI=true: a missing browser is a failure)", pytrace=False
        )
    pytest.skip(message)


def find_chromium() -> str | None:
    """The Chromium executable: exactly ``ROCKETPUNCH_CHROMIUM`` when set,
    else ``chromium`` on ``PATH``, else ``/usr/bin/chromium``."""
    override = os.environ.get("ROCKETPUNCH_CHROMIUM")
    if override:
        path = Path(override)
        return override if path.is_file() and os.access(path, os.X_OK) else None
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    default = Path("/usr/bin/chromium")
    if default.is_file() and os.access(default, os.X_OK):
        return str(default)
    return None


@pytest.fixture(scope="package")
def browser() -> cabc.Iterator[Browser]:
    """One headless Chromium for the browser tests.

    Package scope, not session: Playwright's sync API runs an event loop in
    the main thread while it is open, and Flask's async views (asgiref) refuse
    to run in a thread with a running loop, so it must be closed before the
    other tests run.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable(
            "The Python package playwright is not installed (pip install"
            f" playwright). {INSTALL_HINT}"
        )
    executable = find_chromium()
    if executable is None:
        where = os.environ.get("ROCKETPUNCH_CHROMIUM") or "chromium on PATH"
        _unavailable(f"No Chromium executable found ({where}). {INSTALL_HINT}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(
    browser: Browser, request: pytest.FixtureRequest
) -> cabc.Iterator[BrowserContext]:
    """A fresh browser context (its own cookies) for one test. On failure,
    every page still open is saved to ``test-artifacts/``."""
    ctx = browser.new_context()
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield ctx
        if _failed(request.node):
            _save_artifacts(request.node, list(ctx.pages))
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab in the test's fresh context."""
    return context.new_page()


# -- the example app over HTTP --------------------------------------------------


class DeferredApp:
    """A WSGI app that forwards to :attr:`app`, set once the server's port is
    known (the app's configuration needs it). It also records, for each
    request, the path and whether a session cookie came with it."""

    def __init__(self) -> None:
        self.app: WSGIApplication | None = None
        #: ``(path, session cookie sent)`` for each request, in order.
        self.seen: list[tuple[str, bool]] = []

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> cabc.Iterable[bytes]:
        assert self.app is not None, "the app is not set yet"
        cookies = environ.get("HTTP_COOKIE", "")
        name = re.escape(self.app.config["SESSION_COOKIE_NAME"])  # type: ignore[attr-defined]
        self.seen.append(
            (
                environ.get("PATH_INFO", ""),
                re.search(rf"(?:^|;\s*){name}=", cookies) is not None,
            )
        )
        return self.app(environ, start_response)

    def cookie_sent_to(self, path: str) -> list[bool]:
        """Whether the session cookie came with each request to ``path``."""
        return [sent for seen_path, sent in self.seen if seen_path == path]


class LiveApp(t.NamedTuple):
    """The example app served over HTTP."""

    app: Flask
    server: SandboxServer
    #: The URL the browser opens, without a trailing slash.
    url: str
    wsgi: DeferredApp

    @property
    def sandbox(self) -> SandboxProvider:
        """The app's in-process sandbox provider (sandbox mode only)."""
        return sandbox_of(self.app)


def _create_example_app(config: cabc.Mapping[str, t.Any]) -> Flask:
    """``example_app.create_app(config)``; the package is not installed, it is
    imported from the repository root."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.append(str(REPO_ROOT))
    from example_app import create_app

    return create_app(config)


ServeApp = cabc.Callable[..., LiveApp]


@pytest.fixture
def serve_app() -> cabc.Iterator[ServeApp]:
    """Serve the example app on 127.0.0.1 on a free port.

    ``serve_app(config=None, *, host="127.0.0.1")`` returns a
    :class:`LiveApp`; ``config`` may be a mapping or a function of the
    browser-facing base URL returning one. ``host`` is the host name the
    browser uses (``localhost`` resolves to 127.0.0.1). Servers stop at the
    end of the test.
    """
    servers: list[SandboxServer] = []

    def serve(
        config: cabc.Mapping[str, t.Any]
        | cabc.Callable[[str], cabc.Mapping[str, t.Any]]
        | None = None,
        *,
        host: str = "127.0.0.1",
    ) -> LiveApp:
        wsgi = DeferredApp()
        server = SandboxServer(wsgi, host="127.0.0.1", port=0, threaded=True)
        server.start()
        servers.append(server)
        url = f"http://{host}:{server.port}"
        settings: dict[str, t.Any] = {"SECRET_KEY": SECRET_KEY, "TESTING": True}
        if callable(config):
            settings.update(config(url))
        elif config is not None:
            settings.update(config)
        app = _create_example_app(settings)
        wsgi.app = app
        return LiveApp(app, server, url, wsgi)

    try:
        yield serve
    finally:
        for server in reversed(servers):
            server.stop()


@pytest.fixture
def live_app(serve_app: ServeApp) -> LiveApp:
    """The example app in sandbox mode (no client id: the consent page is
    served by the app itself), opened as ``http://127.0.0.1:<port>``."""
    return serve_app()


# -- timing ---------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: t.Any) -> None:
    """Print how long the browser tests took (setup, call and teardown,
    including starting Chromium)."""
    total = 0.0
    tests: set[str] = set()
    for reports in terminalreporter.stats.values():
        for report in reports:
            if isinstance(report, pytest.TestReport) and "browser" in report.keywords:
                total += report.duration
                tests.add(report.nodeid)
    if tests:
        terminalreporter.write_line(
            f"browser tests: {len(tests)} in {total:.2f}s (including Chromium start)"
        )
