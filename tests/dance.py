"""Helpers to go through the login dance without a browser: the login route,
the sandbox's consent form answered as a person would, and the callback."""

from __future__ import annotations

import collections.abc as cabc
import typing as t
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_rocketpunch import login_required_rocketpunch
from flask_rocketpunch.testing.consent import _FormParser as ConsentFormParser
from flask_rocketpunch.testing.consent import answer_consent

#: What the ``make_app`` fixture returns: build an app with config keys.
AppFactory = cabc.Callable[..., Flask]

CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret-Zq9!x:+/="
SECRET_KEY = "test-secret-key-for-sessions"
CALLBACK = "http://localhost/auth/rocketpunch/callback"
LOGIN = "/auth/rocketpunch/login"
CALLBACK_PATH = "/auth/rocketpunch/callback"
LOGOUT = "/auth/rocketpunch/logout"


def protected_app(make_app: AppFactory, **config: t.Any) -> Flask:
    """The test app plus a ``/private`` page that needs a Rocketpunch login."""
    app = make_app(**config)

    @app.get("/private")
    @login_required_rocketpunch
    def private() -> str:
        return "private page"

    return app


def parse_form(page: str) -> tuple[str, dict[str, str]]:
    """The consent form's action and fields as the browser would send them."""
    parser = ConsentFormParser()
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
    return answer_consent(
        client, authorize_url, decision=decision, user=user or "minji"
    )


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
