"""Fixtures for the example app's tests.

Only the public testing kit (``flask_rocketpunch.testing``, loaded as a
pytest plugin) and Flask's test client are used: a model for the test suites
of apps that use flask-rocketpunch.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from example_app import create_app
from flask_rocketpunch.sandbox import SandboxProvider
from flask_rocketpunch.testing import sandbox_of


@pytest.fixture
def app() -> Flask:
    """The example app on its built-in sandbox (no client id configured)."""
    return create_app({"TESTING": True, "SECRET_KEY": "example-app-tests"})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def sandbox(app: Flask) -> SandboxProvider:
    """The app's sandbox provider: its users, tokens, requests and faults."""
    return sandbox_of(app)
