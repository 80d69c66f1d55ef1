"""What must survive an upgrade of the package or a rotation of
``SECRET_KEY``: stored tokens, logins in flight, and their formats.

The pinned strings below were produced by flask-rocketpunch 0.2 with the key
``PINNED_KEY``. If one of these tests fails, a change has made every stored
token (cookies, Redis, SQL rows) or every login in flight unreadable: the
upgrade would silently log everyone out. Read the old format as well, do not
edit the pins."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from support import (
    LOGIN,
    SECRET_KEY,
    AppFactory,
    local,
    protected_app,
    sealed_token,
)

from flask_rocketpunch.crypto import key_id, keyring, pkce_challenge, pkce_verifier
from flask_rocketpunch.pending import PendingLogin, state_key
from flask_rocketpunch.storage import TOKEN_KEY
from flask_rocketpunch.testing import answer_consent
from flask_rocketpunch.tokens import Token, open_token

PINNED_KEY = "pinned-secret-key"
PINNED_TOKEN = Token(
    "pinned-access-token",
    4102444800.0,
    "pinned-refresh-token",
    frozenset({"profile", "email"}),
)
#: ``seal_token(PINNED_TOKEN, keyring((PINNED_KEY,)))``: the cookie storage.
SEALED = (
    "AVq_WFlUKfxbLNbQMIo1tZO6AlriASCqC571uJgQZLpLLmM7fxaO0IpmkeUojMlhs8e747BRaYzv"
    "MbaIJYS5q7ubpueeawffe8Ndu4BlMwsIutN5Y9hTdrj10CmXgEwi8mcu4_Li6RRFTBtTaQ"
)
#: The same sealed for the login id ``LOGIN_ID``: the server-side storages.
LOGIN_ID = "login-id-0123"
SEALED_FOR_LOGIN = (
    "AVFaI12PplVcYUwlSLMtleqadL-vqh24jbaN7dnvh_XsW7irAa4Hx9F-FQVccjX3xg8tFsFsMEeo"
    "NpDjXMdy1I1lc_THpBSu3GxMgUsWVZmn2QnNmlNhMf3ROx3CXbdB056MwEJeokozr0hZpQ"
)


def test_a_token_sealed_by_0_2_still_opens() -> None:
    ring = keyring((PINNED_KEY,))
    assert open_token(SEALED, ring) == PINNED_TOKEN
    assert open_token(SEALED_FOR_LOGIN, ring, LOGIN_ID) == PINNED_TOKEN
    # Bound to its login: not readable as another login's or as a cookie's.
    assert open_token(SEALED_FOR_LOGIN, ring, "another-login") is None
    assert open_token(SEALED_FOR_LOGIN, ring) is None


def test_a_token_sealed_by_0_2_opens_under_a_fallback_key() -> None:
    ring = keyring(("the-new-key", PINNED_KEY))
    assert open_token(SEALED, ring) == PINNED_TOKEN
    assert open_token(SEALED, keyring(("the-new-key",))) is None


def test_a_cookie_sealed_by_0_2_keeps_its_login(make_app: AppFactory) -> None:
    app = protected_app(make_app, SECRET_KEY=PINNED_KEY)
    browser = app.test_client()
    with browser.session_transaction() as session:
        session[TOKEN_KEY] = SEALED

    assert browser.get("/private").status_code == 200


def test_a_login_in_flight_keeps_its_pkce_verifier_and_entry_format() -> None:
    # A login started before an upgrade finishes after it: the verifier is
    # derived from the key and the state, and the session entry is read back.
    assert pkce_verifier(PINNED_KEY, "pinned-state") == (
        "Liw1vQT9oT_AOv5JvZBOSc0ZKCwLNlHR8WwL2AUuoHA"
    )
    assert pkce_challenge(pkce_verifier(PINNED_KEY, "pinned-state")) == (
        keyring((PINNED_KEY,)).pkce_challenge("pinned-state")
    )
    assert key_id(PINNED_KEY) == "PZhf"
    assert state_key("pinned-state") == "4f_OvhhP09novcuwkRWxCA"
    entry = "1700000000.000 PZhf /next?a=1 email profile"
    expected = PendingLogin(
        1700000000.0, "/next?a=1", frozenset({"profile", "email"}), "PZhf"
    )
    assert PendingLogin.from_entry(entry) == expected
    assert expected.to_entry() == entry
    # 0.1 kept a list, without a key id.
    old = [1700000000.0, "/next", "profile"]
    assert PendingLogin.from_entry(old) == PendingLogin(
        1700000000.0, "/next", frozenset({"profile"}), ""
    )


def rotate(app: Flask, new_key: str) -> None:
    old = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[old])


def test_a_login_started_before_a_key_rotation_completes(
    make_app: AppFactory,
) -> None:
    app = protected_app(make_app)
    browser: FlaskClient = app.test_client()
    authorize_url = browser.get(LOGIN).headers["Location"]
    callback_url = answer_consent(
        browser, authorize_url, decision="approve", user="minji"
    )

    # Between consent and callback: the key is rotated, the old one kept as
    # a fallback (Flask signs sessions with SECRET_KEY_FALLBACKS too).
    rotate(app, "a-brand-new-secret-key")
    landed = browser.get(local(callback_url))

    assert landed.status_code == 302, landed.get_data(as_text=True)
    assert browser.get("/posts").status_code == 200
    # The token was sealed under the new key: the fallback can go.
    assert open_token(sealed_token(browser), keyring(("a-brand-new-secret-key",)))
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert browser.get("/posts").status_code == 200


def test_a_login_started_before_a_rotation_without_fallback_fails_clearly(
    make_app: AppFactory,
) -> None:
    # Without the fallback the session of the login in flight no longer
    # verifies: the callback says so with a 400, never a 500.
    app = protected_app(make_app)
    browser = app.test_client()
    authorize_url = browser.get(LOGIN).headers["Location"]
    callback_url = answer_consent(
        browser, authorize_url, decision="approve", user="minji"
    )
    app.config["SECRET_KEY"] = "a-brand-new-secret-key"

    answer = browser.get(local(callback_url))

    assert answer.status_code == 400
    assert SECRET_KEY not in answer.get_data(as_text=True)
