"""Fixtures shared by the integration tests.

The extension runs in a Flask app driven by Flask's test client; the provider
is the sandbox, served by a real threaded Werkzeug server on 127.0.0.1, so
every token, revocation and API call crosses a real socket.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

import pytest
from dance import CALLBACK, CLIENT_ID, CLIENT_SECRET, SECRET_KEY, AppFactory
from flask import Flask

from flask_rocketpunch import RocketpunchOAuth, TokenStorage
from flask_rocketpunch.sandbox import SandboxProvider, SandboxServer

# The PostgreSQL fixtures (database_url, pg_engine).
pytest_plugins = ["services"]


@pytest.fixture
def provider() -> SandboxProvider:
    """A fresh sandbox provider, current flavor."""
    return SandboxProvider(flavor="current")


@pytest.fixture
def server(provider: SandboxProvider) -> cabc.Iterator[SandboxServer]:
    """The provider served over HTTP on 127.0.0.1."""
    with SandboxServer(provider) as running:
        yield running


@pytest.fixture
def make_app(provider: SandboxProvider, server: SandboxServer) -> AppFactory:
    """Build an app whose extension talks to the sandbox server. Keyword
    arguments are ``ROCKETPUNCH_*`` keys without the prefix (or any other
    config key in upper case with its own name); ``storage=`` is passed to
    the extension."""

    def factory(*, storage: TokenStorage | None = None, **config: t.Any) -> Flask:
        app = Flask("client_app")
        app.config.update(
            SECRET_KEY=SECRET_KEY,
            ROCKETPUNCH_CLIENT_ID=CLIENT_ID,
            ROCKETPUNCH_CLIENT_SECRET=CLIENT_SECRET,
            ROCKETPUNCH_AUTHORIZE_URL=f"{server.url}/oauth/authorize",
            ROCKETPUNCH_TOKEN_URL=f"{server.url}/oauth/token",
            ROCKETPUNCH_REVOKE_URL=f"{server.url}/oauth/revoke",
            ROCKETPUNCH_USERINFO_URL=f"{server.url}/oauth/userinfo",
            ROCKETPUNCH_API_BASE_URL=f"{server.url}/api/v1/",
        )
        for key, value in config.items():
            name = (
                key
                if key in app.config or key.startswith(("SESSION_", "SECRET_"))
                else f"ROCKETPUNCH_{key}"
            )
            app.config[name] = value
        provider.register_client(
            CLIENT_ID,
            CLIENT_SECRET,
            config.get("REDIRECT_URI", CALLBACK),
            name="Client App",
        )
        RocketpunchOAuth(app, storage=storage)

        @app.get("/")
        def home() -> str:
            return "home"

        return app

    return factory
