"""The Flask-Login recipe of docs/hooks.rst, for real: a user table in
SQLite (Flask-SQLAlchemy), ``login_user`` in ``on_login``, ``logout_user``
on ``login_ended``. When Rocketpunch ends the login (a refused refresh, a
revoked grant, a logout, "log out everywhere"), the app's own session ends
with it: no "Signed in as ..." over pages that bounce to the login."""

from __future__ import annotations

import typing as t
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from support import LOGIN, AppFactory, extension, session_data
from werkzeug.test import TestResponse

from flask_rocketpunch import (
    MemoryStorage,
    Token,
    login_ended,
    login_required_rocketpunch,
    rocketpunch,
)
from flask_rocketpunch.sandbox import SAMPLE_USERS, SandboxProvider
from flask_rocketpunch.testing import complete_login, login_as, logout, misbehave


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    rocketpunch_sub: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]


def flask_login_app(make_app: AppFactory, tmp_path: Path, **config: t.Any) -> Flask:
    """A newcomer's app: users in SQLite, Flask-Login for the local session,
    "Log in with Rocketpunch" to sign in."""
    app = make_app(**config)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'users.db'}"
    db.init_app(app)
    with app.app_context():
        db.create_all()
    login_manager = LoginManager(app)
    login_manager.login_view = "rocketpunch.login"
    rp = extension(app)

    def load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id))

    login_manager.user_loader(load_user)

    # The recipe: sign the local user in when Rocketpunch's login completes...
    @rp.on_login
    def sign_in_local_user(token: Token) -> None:
        claims = rocketpunch.userinfo()
        query = select(User).filter_by(rocketpunch_sub=claims["sub"])
        user = db.session.execute(query).scalar_one_or_none()
        if user is None:
            user = User(rocketpunch_sub=claims["sub"], name=claims["name"])
            db.session.add(user)
        db.session.commit()
        login_user(user)

    # ...and out whenever that login ends, for whatever reason.
    @login_ended.connect_via(app)
    def sign_out_local_user(sender: Flask, current: bool, **extra: t.Any) -> None:
        if current:
            logout_user()

    @app.get("/home")
    def signed_in_as() -> str:
        if current_user.is_authenticated:
            return f"Signed in as {current_user.name}"
        return "Not signed in"

    @login_required_rocketpunch
    def profile() -> str:
        return f"Rocketpunch profile of {rocketpunch.userinfo()['name']}"

    # As @app.get("/profile") above @login_required above the view.
    app.get("/profile")(login_required(profile))

    return app


@pytest.fixture
def app(make_app: AppFactory, tmp_path: Path) -> Flask:
    # Tokens are refreshed on every request, so that a refused refresh token
    # shows at the next one.
    return flask_login_app(make_app, tmp_path, REFRESH_LEEWAY=3600)


def page(browser: FlaskClient, path: str) -> str:
    return browser.get(path).get_data(as_text=True)


def goes_to_login(answer: TestResponse) -> bool:
    return answer.status_code == 302 and (
        urlsplit(answer.headers["Location"]).path == LOGIN
    )


def signed_out(app: Flask, browser: FlaskClient) -> bool:
    """Flask-Login's session is over: no user id left in the cookie."""
    if browser.get_cookie("session") is None:
        return True
    return "_user_id" not in session_data(app, browser)


def test_login_signs_the_local_user_in(app: Flask) -> None:
    browser = app.test_client()

    assert complete_login(browser, next="/profile").headers["Location"] == "/profile"

    assert page(browser, "/home") == "Signed in as Minji Kim"
    assert page(browser, "/profile") == "Rocketpunch profile of Minji Kim"
    with app.app_context():
        assert db.session.execute(select(User.name)).scalars().all() == ["Minji Kim"]


def test_a_refused_refresh_signs_the_local_user_out_too(
    app: Flask, rocketpunch_provider: SandboxProvider
) -> None:
    browser = app.test_client()
    complete_login(browser)
    assert page(browser, "/home") == "Signed in as Minji Kim"

    with misbehave(rocketpunch_provider, refresh_invalid_grant=True):
        answer = browser.get("/profile")

    assert goes_to_login(answer)
    assert page(browser, "/home") == "Not signed in"
    assert signed_out(app, browser)
    # Flask-Login's own guard now sends the user to Rocketpunch's login too.
    assert goes_to_login(browser.get("/profile"))


def test_a_revoked_refresh_token_signs_the_local_user_out_too(
    app: Flask, rocketpunch_provider: SandboxProvider
) -> None:
    browser = app.test_client()
    token = login_as(browser, provider=rocketpunch_provider, run_hooks=True)
    assert page(browser, "/home") == "Signed in as Minji Kim"
    assert token.refresh_token is not None

    rocketpunch_provider.revoke(token.refresh_token)

    assert goes_to_login(browser.get("/profile"))
    assert page(browser, "/home") == "Not signed in"
    assert signed_out(app, browser)


def test_the_logout_route_signs_the_local_user_out(
    app: Flask, rocketpunch_provider: SandboxProvider
) -> None:
    browser = app.test_client()
    login_as(browser, provider=rocketpunch_provider, run_hooks=True)

    logout(browser)

    assert page(browser, "/home") == "Not signed in"


def test_logout_everywhere_signs_each_browser_out_at_its_next_request(
    make_app: AppFactory, tmp_path: Path, rocketpunch_provider: SandboxProvider
) -> None:
    app = flask_login_app(make_app, tmp_path, storage=MemoryStorage())
    phone, laptop = app.test_client(), app.test_client()
    login_as(phone, provider=rocketpunch_provider, run_hooks=True)
    login_as(laptop, provider=rocketpunch_provider, run_hooks=True)
    assert page(laptop, "/home") == "Signed in as Minji Kim"

    # From a CLI command or an admin page: no browser's request.
    assert extension(app).logout_everywhere(SAMPLE_USERS[0].sub, app) == 2

    # Each browser's next visit to a page that looks at Rocketpunch ends it.
    assert goes_to_login(phone.get("/profile"))
    assert goes_to_login(laptop.get("/profile"))
    assert page(phone, "/home") == "Not signed in"
    assert page(laptop, "/home") == "Not signed in"
