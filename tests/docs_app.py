"""The app the examples of ``docs/testing.rst`` test, as ``myapp``.

``tests/test_testing_kit.py`` copies it into a fresh project beside the
page's examples and runs them with pytest, so every example on that page
is kept true.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

from flask import Flask, session

from flask_rocketpunch import (
    RocketpunchOAuth,
    Token,
    login_required_rocketpunch,
    rocketpunch,
)


def create_app(config: cabc.Mapping[str, t.Any]) -> Flask:
    """A small app that logs users in with Rocketpunch."""
    app = Flask("myapp")
    app.config.update(config)
    rp = RocketpunchOAuth(app)

    @rp.on_login
    def sign_in(token: Token) -> None:
        # What Flask-Login's login_user() does, in short: the app's own
        # session of the user.
        session["name"] = rocketpunch.userinfo()["name"]

    @app.get("/")
    def home() -> str:
        name = session.get("name")
        return f"Signed in as {name}" if name else "Welcome"

    @app.get("/dashboard")
    @login_required_rocketpunch
    def dashboard() -> str:
        return f"Dashboard of {rocketpunch.userinfo()['name']}"

    @app.get("/settings/email")
    @login_required_rocketpunch(scopes=["email"])
    def email_settings() -> dict[str, t.Any]:
        return {"email": rocketpunch.userinfo()["email"]}

    return app
