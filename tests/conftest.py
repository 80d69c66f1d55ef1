"""Fixtures shared by the integration tests, built on the testing kit.

The extension runs in a Flask app driven by Flask's test client; the provider
is the kit's sandbox (``rocketpunch_provider``), served by a real threaded
Werkzeug server on 127.0.0.1 (``rocketpunch_server``), so every token,
revocation and API call crosses a real socket.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

import pytest
import requests
from flask import Flask
from support import AppFactory, StubProvider, config_keys, create_app

from flask_rocketpunch import TokenStorage
from flask_rocketpunch.sandbox import SandboxProvider
from flask_rocketpunch.testing import register_app

# Redis and PostgreSQL fixtures (redis_url, redis_client, database_url, pg_engine).
pytest_plugins = ["services"]

# The PostgreSQL fixtures (database_url, pg_engine), and the check of every
# sandbox response against the OpenAPI description (openapi_check).
pytest_plugins = ["services", "openapi_check"]


@pytest.fixture
def make_app(
    rocketpunch_provider: SandboxProvider, rocketpunch_config: dict[str, str]
) -> AppFactory:
    """Build an app pointed at the sandbox server with the kit's client
    (``rocketpunch_config``), registered with its redirect URI. Keyword
    arguments are ``ROCKETPUNCH_*`` keys without the prefix (or any other
    config key in upper case with its own name); ``storage=`` is passed to
    the extension."""

    def factory(*, storage: TokenStorage | None = None, **config: t.Any) -> Flask:
        app = create_app({**rocketpunch_config, **config_keys(config)}, storage=storage)
        register_app(app, rocketpunch_provider)
        return app

    return factory


@pytest.fixture
def stub_provider() -> cabc.Iterator[StubProvider]:
    """A provider on 127.0.0.1 that answers as the test scripts it."""
    stub = StubProvider().start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def http() -> cabc.Iterator[requests.Session]:
    """A pooled HTTP session, as the app keeps one."""
    with requests.Session() as session:
        yield session
