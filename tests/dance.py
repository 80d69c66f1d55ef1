"""Helpers to go through the login dance without a browser: the login route,
the sandbox's consent form answered as a person would, and the callback."""

from __future__ import annotations

import collections.abc as cabc
import html.parser
from urllib.parse import urljoin, urlsplit

import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

#: What the ``make_app`` fixture returns: build an app with config keys.
AppFactory = cabc.Callable[..., Flask]

CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret-Zq9!x:+/="
SECRET_KEY = "test-secret-key-for-sessions"
CALLBACK = "http://localhost/auth/rocketpunch/callback"


class FormParser(html.parser.HTMLParser):
    """Collects the first form's action and its named inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = a.get("action", "")
            self._in_form = True
        elif tag == "input" and self._in_form and a.get("name"):
            kind = a.get("type", "text")
            if kind == "radio" and "checked" not in a:
                return
            self.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def parse_form(page: str) -> tuple[str, dict[str, str]]:
    """The consent form's action and fields as the browser would send them."""
    parser = FormParser()
    parser.feed(page)
    assert parser.action is not None, "no form on the page"
    return parser.action, parser.fields


def _local_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def consent(
    client: FlaskClient,
    authorize_url: str,
    *,
    decision: str = "approve",
    user: str | None = None,
) -> str:
    """Answer the sandbox's consent page like a person; return the Location
    the provider redirects the browser to."""
    on_app = urlsplit(authorize_url).netloc in ("", "localhost")
    if on_app:
        page = client.get(_local_path(authorize_url))
        assert page.status_code == 200, page.get_data(as_text=True)
        action, fields = parse_form(page.get_data(as_text=True))
    else:
        resp = requests.get(authorize_url, timeout=5)
        assert resp.status_code == 200, resp.text
        action, fields = parse_form(resp.text)
    fields["decision"] = decision
    if user is not None:
        fields["user"] = user
    target = urljoin(authorize_url, action)
    if on_app:
        answer = client.post(_local_path(target), data=fields)
        assert answer.status_code == 302, answer.get_data(as_text=True)
        return answer.headers["Location"]
    posted = requests.post(target, data=fields, allow_redirects=False, timeout=5)
    assert posted.status_code == 302, posted.text
    return posted.headers["Location"]


def login(
    client: FlaskClient,
    *,
    next_url: str | None = None,
    decision: str = "approve",
    user: str | None = None,
) -> TestResponse:
    """The whole dance: login route, consent page, callback. Returns the
    callback's response."""
    query = {"next": next_url} if next_url is not None else {}
    start = client.get("/auth/rocketpunch/login", query_string=query)
    assert start.status_code == 302, start.get_data(as_text=True)
    back = consent(client, start.headers["Location"], decision=decision, user=user)
    assert back.startswith(CALLBACK) or "/auth/rocketpunch/callback" in back
    return client.get(_local_path(back))
