"""Attacks on the login: forged and tampered session cookies, login CSRF,
authorization code injection, replayed codes, expired and reused states, a
state from another client's consent, and forged error callbacks.

Every attack is played against a real app whose extension talks to the
sandbox over HTTP; each must end in its 4xx page, with no token stored and,
where the attack is caught before it, no call to the token endpoint.
"""

from __future__ import annotations

import typing as t

import pytest
from flask.testing import FlaskClient
from support import (
    CALLBACK,
    CALLBACK_PATH,
    LOGIN,
    LOGOUT,
    SECRET_KEY,
    AppFactory,
    app_clock,
    begin_login,
    consented_callback,
    new_app,
    protected_app,
    query_of,
    sealed_token,
    session_serializer,
)
from werkzeug.test import TestResponse

from flask_rocketpunch.crypto import TokenCipher, pkce_challenge
from flask_rocketpunch.pending import PENDING_KEY, state_key
from flask_rocketpunch.sandbox import SandboxProvider
from flask_rocketpunch.storage import TOKEN_KEY
from flask_rocketpunch.testing import complete_login


def approve(
    provider: SandboxProvider, params: dict[str, str], user: str = "minji"
) -> dict[str, str]:
    """The sandbox's answer to an approved consent: ``code`` and ``state``."""
    return query_of(provider.approve(params, user))


def callback(client: FlaskClient, **query: str) -> TestResponse:
    return client.get(CALLBACK_PATH, query_string=query)


def assert_rejected(response: TestResponse, status: int, kind: str) -> str:
    body = response.get_data(as_text=True)
    assert response.status_code == status, body
    assert kind in body, body
    assert "Traceback" not in body
    return body


def test_session_cookie_signed_with_another_key_counts_as_no_session(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = make_app()
    victim = app.test_client()
    answer = approve(rocketpunch_provider, begin_login(victim))
    with victim.session_transaction() as sess:
        data = dict(sess)
    forger = new_app({"SECRET_KEY": "not-the-app-secret-key"})
    victim.set_cookie("session", session_serializer(forger).dumps(data))

    response = callback(victim, **answer)

    body = assert_rejected(response, 400, "NoLoginInFlightError")
    assert "no Rocketpunch login in flight" in body
    assert "SECRET_KEY" in body
    assert sealed_token(victim) is None
    assert rocketpunch_provider.requests_to("token") == []


def test_session_cookie_with_a_broken_signature_counts_as_no_session(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = make_app()
    victim = app.test_client()
    answer = approve(rocketpunch_provider, begin_login(victim))
    cookie = victim.get_cookie("session")
    assert cookie is not None
    flipped = cookie.value[:-3] + ("A" if cookie.value[-3] != "A" else "B")
    victim.set_cookie("session", flipped + cookie.value[-2:])

    response = callback(victim, **answer)

    assert_rejected(response, 400, "NoLoginInFlightError")
    assert sealed_token(victim) is None
    assert rocketpunch_provider.requests_to("token") == []


def _flip(sealed: str) -> str:
    middle = len(sealed) // 2
    return (
        sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1 :]
    )


TAMPERINGS: dict[str, t.Callable[[str], t.Any]] = {
    "one character flipped": _flip,
    "truncated": lambda sealed: sealed[: len(sealed) // 2],
    "empty": lambda sealed: "",
    "not base64": lambda sealed: "%%%not-base64%%%",
    "not a string": lambda sealed: {"a": "forged-access-token", "e": 9e9},
    "sealed with another key": lambda sealed: TokenCipher(["attacker-key"]).encrypt(
        b'{"a":"forged-access-token","e":9999999999}'
    ),
    "sealed garbage": lambda sealed: TokenCipher([SECRET_KEY]).encrypt(b"[1, 2]"),
    "sealed wrong shape": lambda sealed: TokenCipher([SECRET_KEY]).encrypt(
        b'{"a": 1, "e": "soon"}'
    ),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_tampered_encrypted_token_counts_as_logged_out(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider, tampering: str
) -> None:
    app = protected_app(make_app)
    client = app.test_client()
    assert complete_login(client).status_code == 302
    assert client.get("/me").status_code == 200
    with client.session_transaction() as sess:
        sess[TOKEN_KEY] = TAMPERINGS[tampering](sess[TOKEN_KEY])
    calls = len(rocketpunch_provider.requests)

    response = client.get("/me")

    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].startswith(f"{LOGIN}?next=")
    # The forged token never reached the provider.
    assert len(rocketpunch_provider.requests) == calls
    json_response = client.get("/me", headers={"Accept": "application/json"})
    assert json_response.status_code == 401
    assert json_response.get_json()["error"] == "login_required"


PENDING_GARBAGE: dict[str, t.Any] = {
    "a string": "not-a-map",
    "a list": [1, 2, 3],
    "entries not lists": {"k": "v", "j": 3},
    "empty entries": {"k": []},
    "entries of wrong length": {"k": [9999999999]},
    "non-numeric expiry": {"k": ["later", "/", "profile"]},
    "null fields": {"k": [None, None, None]},
    "nested junk": {"k": [9999999999, {"x": [1]}, ["profile"]]},
}


@pytest.mark.parametrize("garbage", sorted(PENDING_GARBAGE))
def test_garbage_pending_map_in_the_session_never_gives_a_500(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider, garbage: str
) -> None:
    app = make_app()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess[PENDING_KEY] = PENDING_GARBAGE[garbage]

    response = callback(client, state="some-state", code="some-code")
    assert response.status_code == 400, response.get_data(as_text=True)

    # A real login still works from that session.
    with client.session_transaction() as sess:
        sess[PENDING_KEY] = PENDING_GARBAGE[garbage]
    answer = approve(rocketpunch_provider, begin_login(client))
    assert callback(client, **answer).status_code == 302
    assert sealed_token(client) is not None


def test_junk_entry_under_the_real_state_key_is_a_4xx(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = make_app()
    client = app.test_client()
    params = begin_login(client)
    answer = approve(rocketpunch_provider, params)
    with client.session_transaction() as sess:
        sess[PENDING_KEY] = {state_key(params["state"]): [9999999999, 42, 7]}

    response = callback(client, **answer)

    # The entry is damaged but the state is genuine: the login may finish,
    # landing on LOGIN_REDIRECT, or be refused; never a 500.
    assert response.status_code in (302, 400), response.get_data(as_text=True)
    if response.status_code == 302:
        assert response.headers["Location"] == "/"


@pytest.mark.parametrize("victim_has_own_login", [False, True])
def test_login_csrf_with_the_attackers_code_and_state_is_rejected(
    make_app: AppFactory,
    rocketpunch_provider: SandboxProvider,
    victim_has_own_login: bool,
) -> None:
    app = make_app()
    attacker = app.test_client()
    victim = app.test_client()
    # The attacker consents for their own account, stops before the callback.
    planted = approve(rocketpunch_provider, begin_login(attacker), user="alex")
    if victim_has_own_login:
        begin_login(victim)

    response = callback(victim, **planted)

    kind = "StateMismatchError" if victim_has_own_login else "NoLoginInFlightError"
    assert_rejected(response, 400, kind)
    assert sealed_token(victim) is None
    # Refused before any exchange: the attacker's code is not even spent.
    assert rocketpunch_provider.requests_to("token") == []
    assert not rocketpunch_provider.codes[planted["code"]].used


def test_code_injection_with_the_victims_state_fails_pkce(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = make_app()
    attacker = app.test_client()
    victim = app.test_client()
    stolen = approve(rocketpunch_provider, begin_login(attacker), user="alex")["code"]
    victim_state = begin_login(victim)["state"]

    response = callback(victim, state=victim_state, code=stolen)

    body = assert_rejected(response, 400, "invalid_grant")
    assert "PKCE" in body
    assert sealed_token(victim) is None
    exchanges = rocketpunch_provider.requests_to("token")
    assert len(exchanges) == 1
    assert exchanges[0].status == 400
    assert rocketpunch_provider.access_tokens == {}


def test_replayed_callback_is_rejected(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = make_app()
    client = app.test_client()
    callback_url = consented_callback(client)
    assert client.get(callback_url).status_code == 302
    token = sealed_token(client)
    assert token is not None

    # The same callback URL again, as from the browser's history.
    response = client.get(callback_url)

    body = assert_rejected(response, 400, "NoLoginInFlightError")
    assert "already completed" in body
    assert sealed_token(client) == token
    # Refused by the client: the provider saw one exchange only.
    assert rocketpunch_provider.grant_counts()["authorization_code"] == 1


def test_replayed_code_with_a_fresh_state_is_refused_by_the_provider(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = protected_app(make_app)
    client = app.test_client()
    params = begin_login(client)
    answer = approve(rocketpunch_provider, params)
    assert callback(client, **answer).status_code == 302
    assert client.get("/me").status_code == 200

    # An attacker who read the code from the history injects it into a new
    # login of the same browser.
    fresh_state = begin_login(client)["state"]
    response = callback(client, state=fresh_state, code=answer["code"])

    assert_rejected(response, 400, "invalid_grant")
    # The provider revoked what the code issued (RFC 6749 section 4.1.2): the
    # next protected request is sent to log in again, not answered with a 500.
    again = client.get("/me")
    assert again.status_code == 302
    assert again.headers["Location"].startswith(LOGIN)


def test_expired_state_is_rejected(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = make_app(LOGIN_TTL=60)
    client = app.test_client()
    clock = app_clock(app)
    answer = approve(rocketpunch_provider, begin_login(client))
    clock.advance(61)

    response = callback(client, **answer)

    body = assert_rejected(response, 400, "StateExpiredError")
    assert "expired" in body
    assert sealed_token(client) is None
    assert rocketpunch_provider.requests_to("token") == []


def test_state_used_twice_is_rejected_and_the_other_tab_survives(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = make_app()
    client = app.test_client()
    tab_a = begin_login(client)
    tab_b = begin_login(client)
    assert callback(client, **approve(rocketpunch_provider, tab_a)).status_code == 302
    first_token = sealed_token(client)

    # A second, genuine code for tab A's state.
    second = approve(rocketpunch_provider, tab_a)
    response = callback(client, **second)

    assert_rejected(response, 400, "StateMismatchError")
    assert sealed_token(client) == first_token
    assert rocketpunch_provider.grant_counts()["authorization_code"] == 1
    # Tab B's login is untouched.
    assert callback(client, **approve(rocketpunch_provider, tab_b)).status_code == 302


def test_state_from_another_clients_consent_is_rejected(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = make_app()
    rocketpunch_provider.register_client(
        "other-client", "other-secret", "https://other.example/cb", name="Other"
    )
    other_params = {
        "client_id": "other-client",
        "redirect_uri": "https://other.example/cb",
        "response_type": "code",
        "scope": "profile",
        "state": "state-of-the-other-client",
        "code_challenge": pkce_challenge("v" * 43),
        "code_challenge_method": "S256",
    }
    other = approve(rocketpunch_provider, other_params, user="alex")
    client = app.test_client()
    own_state = begin_login(client)["state"]

    # The other client's state and code.
    response = callback(client, **other)
    assert_rejected(response, 400, "StateMismatchError")
    assert rocketpunch_provider.requests_to("token") == []

    # Our state, the other client's code: the provider refuses the exchange.
    response = callback(client, state=own_state, code=other["code"])
    assert_rejected(response, 400, "invalid_grant")
    assert sealed_token(client) is None


@pytest.mark.parametrize("login_in_flight", [False, True])
def test_access_denied_with_a_forged_state_is_refused_and_shows_no_forged_text(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider, login_in_flight: bool
) -> None:
    app = make_app()
    client = app.test_client()
    params = begin_login(client) if login_in_flight else None

    response = callback(
        client,
        error="access_denied",
        error_description="Call +1-555-0100 to restore your account",
        state="forged-state",
    )

    kind = "StateMismatchError" if login_in_flight else "NoLoginInFlightError"
    body = assert_rejected(response, 400, kind)
    assert "555-0100" not in body
    assert sealed_token(client) is None
    assert rocketpunch_provider.requests_to("token") == []
    if params is not None:
        # The forged error did not cancel the real login in flight.
        assert (
            callback(client, **approve(rocketpunch_provider, params)).status_code == 302
        )
        assert sealed_token(client) is not None


def test_access_denied_with_the_real_state_gives_the_friendly_page(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = make_app()
    client = app.test_client()
    params = begin_login(client)
    denied = query_of(rocketpunch_provider.deny(params))

    response = callback(client, **denied)

    body = response.get_data(as_text=True)
    assert response.status_code == 403, body
    assert "Login cancelled" in body
    assert sealed_token(client) is None
    assert rocketpunch_provider.requests_to("token") == []
    # The state was spent: the same answer again is a state error.
    assert_rejected(callback(client, **denied), 400, "NoLoginInFlightError")


def test_callback_answers_forbid_referrer_and_caching(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = make_app()
    client = app.test_client()
    failed = callback(client, state="x", code="y")
    succeeded = callback(client, **approve(rocketpunch_provider, begin_login(client)))
    assert (failed.status_code, succeeded.status_code) == (400, 302)
    for response in (failed, succeeded):
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "no-store" in response.headers["Cache-Control"]


def test_redirects_use_302_and_303_never_307(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = make_app()
    client = app.test_client()
    start = client.get(LOGIN)
    params = query_of(start.headers["Location"])
    finished = callback(client, **approve(rocketpunch_provider, params))
    logged_out = client.post(LOGOUT)
    assert [start.status_code, finished.status_code, logged_out.status_code] == [
        302,
        302,
        303,
    ]


def test_authorization_request_carries_s256_and_a_fresh_256_bit_state(
    make_app: AppFactory,
) -> None:
    app = make_app()
    client = app.test_client()
    requests = [begin_login(client) for _ in range(3)]
    states = {r["state"] for r in requests}
    assert len(states) == 3
    for params in requests:
        assert params["code_challenge_method"] == "S256"
        assert len(params["code_challenge"]) == 43
        assert len(params["state"]) >= 43  # 32 random bytes, base64url
        assert params["redirect_uri"] == CALLBACK


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "https://evil.example/", "/\\evil.example", "/\t/evil.example"],
)
def test_logout_next_is_not_an_open_redirect(make_app: AppFactory, target: str) -> None:
    app = make_app()
    client = app.test_client()
    response = client.post(LOGOUT, data={"next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_tokens_are_not_readable_in_the_session_cookie(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = make_app()
    client = app.test_client()
    assert complete_login(client).status_code == 302
    cookie = client.get_cookie("session")
    assert cookie is not None
    readable = repr(session_serializer(app).loads(cookie.value)) + cookie.value
    assert rocketpunch_provider.access_tokens
    for secret in [
        *rocketpunch_provider.access_tokens,
        *rocketpunch_provider.refresh_tokens,
    ]:
        assert secret not in readable
