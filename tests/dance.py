"""The names ``tests/test_sandbox_mode.py`` still imports from the old login
helpers. It is being rewritten on another branch; new tests use the testing
kit (``complete_login``, ``consent_form``) and ``support`` instead. Delete
this module once nothing imports it."""

from __future__ import annotations

from flask.testing import FlaskClient
from support import AppFactory as AppFactory
from werkzeug.test import TestResponse

from flask_rocketpunch.testing import complete_login, consent_form


def parse_form(page: str) -> tuple[str, dict[str, str]]:
    """The consent form's action and fields as the browser would send them."""
    return consent_form(page, "")


def login(
    client: FlaskClient,
    *,
    next_url: str | None = None,
    user: str = "minji",
) -> TestResponse:
    """:func:`~flask_rocketpunch.testing.complete_login` by its old name."""
    return complete_login(client, user, next=next_url)
