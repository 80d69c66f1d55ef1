"""Answer the sandbox's consent page as a person would, without a browser."""

from __future__ import annotations

import html.parser
from urllib.parse import urljoin, urlsplit

import requests
from flask.testing import FlaskClient

from ..sandbox.registry import providers_of
from ..sandbox.views import SIGNED_IN_COOKIE

#: Seconds allowed for each request to a sandbox served over HTTP.
HTTP_TIMEOUT = 10.0


class _FormParser(html.parser.HTMLParser):
    """Collects the first form's action and the fields a browser would send."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form" and self.action is None:
            self.action = values.get("action", "")
            self._in_form = True
        elif tag == "input" and self._in_form and values.get("name"):
            kind = values.get("type", "text")
            if kind in ("radio", "checkbox") and "checked" not in values:
                return
            self.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def consent_form(page: str, url: str) -> tuple[str, dict[str, str]]:
    """Read the consent form from the HTML of a sandbox consent page, for a
    test that drives the login over HTTP itself (with :mod:`requests`, say)
    instead of through :func:`complete_login`.

    .. code-block:: python

        page = browser.get(authorize_url)
        action, fields = consent_form(page.text, authorize_url)
        fields.update(decision="approve", user="minji")
        back = browser.post(action, data=fields, allow_redirects=False)

    :param page: the page's HTML.
    :param url: the URL the page was fetched from, to resolve the form's
        action against.
    :return: the absolute URL to post the form to, and the fields a browser
        would send (the hidden ones and the checked choices); add
        ``decision`` (``"approve"`` or ``"deny"``) and ``user`` (a sample
        user's ``preferred_username`` or ``sub``).
    :raises AssertionError: the page has no form (an error page, say).

    .. versionadded:: 0.1
    """
    parser = _FormParser()
    parser.feed(page)
    if parser.action is None:
        raise AssertionError(f"The page at {_no_query(url)} has no consent form.")
    return urljoin(url, parser.action), parser.fields


def _no_query(url: str) -> str:
    # The query carries state and the PKCE challenge: keep it out of messages.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _excerpt(text: str) -> str:
    return " ".join(text.split())[:300]


def answer_consent(
    client: FlaskClient, authorize_url: str, *, decision: str, user: str
) -> str:
    """Open the consent page at ``authorize_url``, choose ``user`` and click
    ``decision``; return the URL the sandbox sends the browser back to,
    without visiting it.

    The middle step of :func:`complete_login`, for tests of the callback
    itself: two logins in flight, a callback visited twice or from another
    browser, a tampered ``state``.

    .. code-block:: python

        start = client.get("/auth/rocketpunch/login")
        back = answer_consent(client, start.location, decision="approve", user="minji")
        first, again = client.get(back), client.get(back)
        assert again.status_code == 400

    The page is fetched with ``client`` when it is served by the app under
    test (the in-app sandbox), else over HTTP (a
    :class:`~flask_rocketpunch.sandbox.SandboxServer`).

    Like Rocketpunch, the sandbox skips its consent page when the user
    signed in to it already approved the requested scopes for the app;
    the URL back is then returned without a page. ``client`` stays signed
    in to the in-app sandbox as the last user who approved, unless
    ``user`` is someone else: then it signs out first, so that the page
    is shown and ``user`` is the one who approves. Over HTTP nothing is
    remembered between calls, so the page is always shown.

    :param client: a Flask test client of the app.
    :param authorize_url: where the app's login route redirected to.
    :param decision: ``"approve"`` or ``"deny"``.
    :param user: the sandbox user's ``preferred_username`` or ``sub``.
    :return: the callback URL with its ``code`` (or ``error``) and ``state``;
        when the sandbox refused the request itself, the URL it sent the
        error to.
    :raises AssertionError: the sandbox answered with an error page.

    .. versionadded:: 0.1
    """
    on_app = urlsplit(authorize_url).netloc in ("", _client_host(client))
    if on_app:
        _sign_out_unless(client, authorize_url, user)
        page = client.get(authorize_url)
        status, text = page.status_code, page.get_data(as_text=True)
        location = page.headers.get("Location")
    else:
        fetched = requests.get(
            authorize_url, allow_redirects=False, timeout=HTTP_TIMEOUT
        )
        status, text = fetched.status_code, fetched.text
        location = fetched.headers.get("Location")
    if status in (302, 303) and location:
        # The sandbox refused the request and sent the error back to the app.
        return urljoin(authorize_url, location)
    if status != 200:
        raise AssertionError(
            f"The consent page at {_no_query(authorize_url)} answered {status}:"
            f" {_excerpt(text)}"
        )
    action, fields = consent_form(text, authorize_url)
    fields["decision"] = decision
    fields["user"] = user
    if on_app:
        answer = client.post(action, data=fields)
        status, text = answer.status_code, answer.get_data(as_text=True)
        location = answer.headers.get("Location")
    else:
        posted = requests.post(
            action, data=fields, allow_redirects=False, timeout=HTTP_TIMEOUT
        )
        status, text = posted.status_code, posted.text
        location = posted.headers.get("Location")
    if status != 302 or not location:
        raise AssertionError(
            f"The consent form was rejected ({status}): {_excerpt(text)}"
        )
    return urljoin(action, location)


def _sign_out_unless(client: FlaskClient, authorize_url: str, user: str) -> None:
    """Drop the sandbox's signed-in cookie unless it names ``user``."""
    path = urlsplit(authorize_url).path.removesuffix("/oauth/authorize") or "/"
    host = _client_host(client)
    cookie = client.get_cookie(SIGNED_IN_COOKIE, domain=host, path=path)
    if cookie is None:
        return
    signed_in = cookie.value.rpartition(".")[0]
    for provider in providers_of(client.application).values():
        account = provider.get_user(user)
        if account is not None and account.sub == signed_in:
            return
    client.delete_cookie(SIGNED_IN_COOKIE, domain=host, path=path)


def _client_host(client: FlaskClient) -> str:
    server_name = client.application.config.get("SERVER_NAME")
    return str(server_name) if server_name else "localhost"
