"""The login id: the key a login's token is stored under, kept in the signed
session, renewed at every login and dropped at logout; and what it makes
possible (several logins per storage, log out everywhere)."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_rocketpunch import (
    ConfigurationError,
    MemoryStorage,
    RocketpunchOAuth,
    SessionStorage,
    TokenStorage,
    login_required_rocketpunch,
)
from flask_rocketpunch.sandbox import SandboxProvider
from flask_rocketpunch.testing import complete_login, login_as, logout

LOGIN_ID_KEY = "_rocketpunch_login"


def make_app(
    config: dict[str, str], storage: TokenStorage | None = None, **extra: t.Any
) -> Flask:
    app = Flask("login_id_app")
    app.config.update(SECRET_KEY="login-id-tests", **config)
    app.config.update(extra)
    RocketpunchOAuth(app, storage=storage)

    @app.get("/private")
    @login_required_rocketpunch
    def private() -> str:
        return "private"

    return app


def login_id(client: FlaskClient) -> str | None:
    with client.session_transaction() as session:
        value = session.get(LOGIN_ID_KEY)
    return value if isinstance(value, str) else None


def test_every_login_gets_a_new_login_id_and_logout_drops_it(
    rocketpunch_config: dict[str, str],
) -> None:
    client = make_app(rocketpunch_config).test_client()
    with client.session_transaction() as session:
        session[LOGIN_ID_KEY] = "planted-by-an-attacker"

    complete_login(client)
    first = login_id(client)
    complete_login(client)
    second = login_id(client)

    assert first is not None
    assert second is not None
    assert "planted-by-an-attacker" not in (first, second)
    assert first != second
    assert len(second) >= 43
    assert client.get("/private").status_code == 200
    logout(client)
    assert login_id(client) is None


def test_memory_storage_keeps_each_browser_apart(
    rocketpunch_config: dict[str, str], rocketpunch_provider: SandboxProvider
) -> None:
    storage = MemoryStorage()
    app = make_app(rocketpunch_config, storage)
    minji, alex = app.test_client(), app.test_client()

    login_as(minji, "minji", provider=rocketpunch_provider)
    login_as(alex, "alex", provider=rocketpunch_provider)

    assert len(storage.tokens) == 2
    assert minji.get("/private").status_code == 200
    logout(minji)
    assert minji.get("/private").status_code == 302
    assert alex.get("/private").status_code == 200


def test_a_new_login_in_the_same_browser_forgets_the_old_token(
    rocketpunch_config: dict[str, str],
) -> None:
    storage = MemoryStorage()
    client = make_app(rocketpunch_config, storage).test_client()

    complete_login(client, "minji")
    complete_login(client, "alex")

    assert len(storage.tokens) == 1


def test_logout_everywhere_ends_every_login_of_one_user(
    rocketpunch_config: dict[str, str], rocketpunch_provider: SandboxProvider
) -> None:
    storage = MemoryStorage()
    app = make_app(rocketpunch_config, storage)
    phone, laptop, other = app.test_client(), app.test_client(), app.test_client()
    complete_login(phone, "minji")
    complete_login(laptop, "minji")
    complete_login(other, "alex")
    minji = rocketpunch_provider.get_user("minji")
    assert minji is not None

    ext = app.extensions["rocketpunch"]
    with app.app_context():
        ended = ext.logout_everywhere(minji.sub)

    assert ended == 2
    assert phone.get("/private").status_code == 302
    assert laptop.get("/private").status_code == 302
    assert other.get("/private").status_code == 200
    assert len(rocketpunch_provider.requests_to("revoke")) == 2
    assert ext.logout_everywhere(minji.sub, app) == 0  # outside a request too


def test_logout_everywhere_needs_a_storage_that_can_find_logins(
    rocketpunch_config: dict[str, str],
) -> None:
    app = make_app(rocketpunch_config)
    with pytest.raises(NotImplementedError, match="server-side storage"):
        app.extensions["rocketpunch"].logout_everywhere("OA-someone", app)


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("mysql://u:pw@127.0.0.1/db", "STORAGE_URL must start with one of"),
        ("memcached://127.0.0.1", "STORAGE_URL must start with one of"),
    ],
)
def test_an_unknown_storage_url_is_refused_without_showing_the_password(
    rocketpunch_config: dict[str, str], url: str, match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match) as info:
        make_app(rocketpunch_config, ROCKETPUNCH_STORAGE_URL=url)
    assert "pw" not in str(info.value)


def test_one_cookie_storage_serves_two_apps_with_their_own_keys(
    rocketpunch_config: dict[str, str], rocketpunch_provider: SandboxProvider
) -> None:
    shared = SessionStorage()
    first = make_app(rocketpunch_config, shared)
    second = make_app(rocketpunch_config, shared, SECRET_KEY="another-app-key")
    one, two = first.test_client(), second.test_client()

    login_as(one, "minji", provider=rocketpunch_provider)
    login_as(two, "alex", provider=rocketpunch_provider)

    assert one.get("/private").status_code == 200
    assert two.get("/private").status_code == 200
