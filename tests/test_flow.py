"""The authorization code flow without Flask: state, ``next``, the pending map,
the authorization URL, and the token endpoint calls (code exchange, refresh,
revocation) against a scripted provider on 127.0.0.1."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import string
import typing as t
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest
import requests
from support import StubProvider, closed_port_url

from flask_rocketpunch import flow
from flask_rocketpunch import http as provider_http
from flask_rocketpunch.exceptions import (
    NoLoginInFlightError,
    OAuthError,
    ProviderError,
    RocketpunchError,
    StateError,
    StateExpiredError,
    StateMismatchError,
)
from flask_rocketpunch.pending import (
    PendingLogin,
    PendingMap,
    remember_login,
    safe_next,
    state_key,
    take_login,
)
from flask_rocketpunch.settings import Settings, load_settings
from flask_rocketpunch.tokens import Token

NOW = 1_700_000_000.0
CLIENT_ID = "flow-client"
CLIENT_SECRET = "Sx:9+/= secret%&"
CODE = "code-9d8e7f6a5b4c"
VERIFIER = "verifier-0f1e2d3c4b5a69788796a5b4c3d2e1f0abcdef1"
ACCESS = "at-new-5e6f7a8b"
REFRESH = "rt-old-1a2b3c4d"
REDIRECT_URI = "https://app.example/auth/rocketpunch/callback"
GOOD_TOKEN: dict[str, object] = {
    "access_token": ACCESS,
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "rt-new-9f8e7d6c",
    "scope": "profile email",
}
SECRETS = (CLIENT_SECRET, CODE, VERIFIER, ACCESS, REFRESH, "rt-new-9f8e7d6c")


# -- a token endpoint on 127.0.0.1 that answers as scripted -------------------


@pytest.fixture
def stub(stub_provider: StubProvider) -> StubProvider:
    """The scripted provider, answering a token request with ``GOOD_TOKEN``
    and a revocation with an empty 200 until a test says otherwise."""
    stub_provider.token(200, GOOD_TOKEN)
    stub_provider.answer("/oauth/revoke", 200, b"", content_type="text/plain")
    return stub_provider


def make_settings(url: str, **keys: t.Any) -> Settings:
    config: dict[str, t.Any] = {
        "ROCKETPUNCH_CLIENT_ID": CLIENT_ID,
        "ROCKETPUNCH_CLIENT_SECRET": CLIENT_SECRET,
        "ROCKETPUNCH_TOKEN_URL": f"{url}/oauth/token",
        "ROCKETPUNCH_REVOKE_URL": f"{url}/oauth/revoke",
        "ROCKETPUNCH_TIMEOUT": 3,
    }
    config.update({f"ROCKETPUNCH_{k}": v for k, v in keys.items()})
    return load_settings(config)


def exchange(http: requests.Session, settings: Settings) -> Token:
    return flow.exchange_code(
        http,
        settings,
        code=CODE,
        redirect_uri=REDIRECT_URI,
        code_verifier=VERIFIER,
        requested_scopes=["profile"],
        now=NOW,
    )


# -- state and next ----------------------------------------------------------


def test_new_state_is_long_url_safe_and_unique() -> None:
    states = {flow.new_state() for _ in range(200)}
    assert len(states) == 200
    alphabet = set(string.ascii_letters + string.digits + "-_")
    for state in states:
        assert len(state) >= 43  # 256 bits
        assert set(state) <= alphabet


def test_state_key_is_stable_short_and_hides_the_state() -> None:
    state = flow.new_state()
    assert state_key(state) == state_key(state)
    assert state_key(state) != state_key(flow.new_state())
    assert state not in state_key(state)
    assert len(state_key(state)) < len(state)


@pytest.mark.parametrize(
    "value",
    [
        "/",
        "/dashboard",
        "/a/b/c?x=1&y=two",
        "/search?q=%2F%2Fevil.com",
        "/%0a/evil.com",
        "/%2F%2Fevil.com",
        "/caf\u00e9",
        "/page#section",
        "/x:y",
        "/" + "a" * 2047,
    ],
    ids=lambda v: repr(v)[:40],
)
def test_safe_next_accepts_local_paths(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "//evil.com",
        "///evil.com",
        "////evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "\\/evil.com",
        "/\\/evil.com",
        "https://evil.com",
        "http:evil.com",
        "HTTPS://evil.com/",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "/\t/evil.com",
        "/\n/evil.com",
        "/\r\n/evil.com",
        "\t//evil.com",
        " /home",
        "/home ",
        "/ /evil.com",
        "/home\x00",
        "/home\x7f",
        "/\x1b",
        "evil.com",
        "dashboard",
        "?next=/x",
        "#top",
        "",
        "/" + "a" * 2048,
    ],
    ids=lambda v: repr(v)[:40],
)
def test_safe_next_refuses_open_redirect_tricks(value: str) -> None:
    assert safe_next(value) is None


@pytest.mark.parametrize("value", [None, 42, b"/home", ["/home"], {"/": 1}], ids=repr)
def test_safe_next_refuses_non_strings(value: object) -> None:
    assert safe_next(value) is None


# -- logins in flight ---------------------------------------------------------


def login(
    next_url: str | None = "/after", ttl: float = 600, at: float = NOW
) -> PendingLogin:
    return PendingLogin(
        expires_at=at + ttl, next_url=next_url, scopes=frozenset({"profile", "email"})
    )


def test_take_login_returns_next_and_scopes_and_removes_it() -> None:
    state = flow.new_state()
    pending = remember_login(None, state, login("/after?x=1"), now=NOW, limit=5)
    found, remaining = take_login(pending, state, now=NOW + 10)
    assert found.next_url == "/after?x=1"
    assert found.scopes == frozenset({"profile", "email"})
    assert found.expires_at == round(NOW + 600)
    assert remaining == {}


def test_state_is_single_use() -> None:
    first, other = flow.new_state(), flow.new_state()
    pending = remember_login(None, other, login(), now=NOW, limit=5)
    pending = remember_login(pending, first, login(), now=NOW, limit=5)
    _, remaining = take_login(pending, first, now=NOW)
    with pytest.raises(StateMismatchError):
        take_login(remaining, first, now=NOW)


def test_state_is_single_use_when_it_was_the_only_login() -> None:
    state = flow.new_state()
    pending = remember_login(None, state, login(), now=NOW, limit=5)
    _, remaining = take_login(pending, state, now=NOW)
    with pytest.raises(StateError):
        take_login(remaining, state, now=NOW)


def test_unknown_state_is_a_mismatch() -> None:
    pending = remember_login(None, flow.new_state(), login(), now=NOW, limit=5)
    with pytest.raises(StateMismatchError, match="does not match") as info:
        take_login(pending, flow.new_state(), now=NOW)
    assert info.value.http_status == 400


@pytest.mark.parametrize("state", [None, ""])
def test_missing_state_is_a_mismatch(state: str | None) -> None:
    pending = remember_login(None, flow.new_state(), login(), now=NOW, limit=5)
    with pytest.raises(StateMismatchError, match="no 'state'"):
        take_login(pending, state, now=NOW)


@pytest.mark.parametrize(
    "pending",
    [None, {}, {"k": "junk"}, {"k": [1, 2]}, {"k": ["x", None, ""]}, ["k"]],
    ids=repr,
)
def test_no_login_in_flight_says_what_to_check(pending: t.Any) -> None:
    with pytest.raises(NoLoginInFlightError) as info:
        take_login(pending, flow.new_state(), now=NOW)
    message = str(info.value)
    assert "localhost" in message
    assert "127.0.0.1" in message
    assert "SESSION_COOKIE_SAMESITE" in message
    assert "SECRET_KEY" in message
    assert info.value.http_status == 400


def test_no_login_in_flight_message_depends_on_cookie_sent() -> None:
    with pytest.raises(NoLoginInFlightError) as with_cookie:
        take_login(None, "s", now=NOW, cookie_sent=True)
    with pytest.raises(NoLoginInFlightError) as without_cookie:
        take_login(None, "s", now=NOW, cookie_sent=False)
    assert str(with_cookie.value) != str(without_cookie.value)
    assert "did not send its session cookie" in str(without_cookie.value)
    assert "did not send" not in str(with_cookie.value)


@pytest.mark.parametrize("late", [0, 1, 10_000])
def test_expired_login_is_refused(late: float) -> None:
    state = flow.new_state()
    pending = remember_login(None, state, login(ttl=600), now=NOW, limit=5)
    with pytest.raises(StateExpiredError, match="too long"):
        take_login(pending, state, now=NOW + 600 + late)


def test_two_tabs_logins_both_complete() -> None:
    tab1, tab2 = flow.new_state(), flow.new_state()
    pending = remember_login(None, tab1, login("/one"), now=NOW, limit=5)
    pending = remember_login(pending, tab2, login("/two"), now=NOW + 1, limit=5)
    found1, pending = take_login(pending, tab1, now=NOW + 2)
    found2, pending = take_login(pending, tab2, now=NOW + 3)
    assert (found1.next_url, found2.next_url) == ("/one", "/two")
    assert pending == {}


def test_pending_map_is_bounded_to_the_newest_logins() -> None:
    states = [flow.new_state() for _ in range(12)]
    pending: PendingMap | None = None
    for i, state in enumerate(states):
        pending = remember_login(
            pending, state, login(f"/{i}", at=NOW + i), now=NOW + i, limit=5
        )
    assert pending is not None
    assert len(pending) == 5
    for state in states[:7]:
        with pytest.raises(StateMismatchError):
            take_login(pending, state, now=NOW + 12)
    for i, state in enumerate(states[7:], start=7):
        found, _ = take_login(pending, state, now=NOW + 12)
        assert found.next_url == f"/{i}"


def test_pending_map_limit_one_keeps_only_the_new_login() -> None:
    first, second = flow.new_state(), flow.new_state()
    pending = remember_login(None, first, login(), now=NOW, limit=1)
    pending = remember_login(pending, second, login(), now=NOW, limit=1)
    assert list(pending) == [state_key(second)]


def test_remember_login_prunes_expired_entries() -> None:
    old, new = flow.new_state(), flow.new_state()
    pending = remember_login(None, old, login(ttl=60), now=NOW, limit=5)
    pending = remember_login(pending, new, login(), now=NOW + 61, limit=5)
    assert list(pending) == [state_key(new)]


def test_remember_login_drops_junk_and_does_not_mutate_input() -> None:
    junk: dict[str, t.Any] = {"bad": "entry", "short": [1]}
    pending = remember_login(junk, "state", login(), now=NOW, limit=5)
    assert junk == {"bad": "entry", "short": [1]}
    assert list(pending) == [state_key("state")]


def test_pending_map_keeps_a_hash_of_the_state_not_the_state() -> None:
    state = flow.new_state()
    pending = remember_login(None, state, login(), now=NOW, limit=5)
    text = json.dumps(pending)
    assert state not in text
    assert list(pending) == [state_key(state)]


def test_take_login_prunes_expired_other_logins() -> None:
    stale, live, taken = flow.new_state(), flow.new_state(), flow.new_state()
    pending = remember_login(None, stale, login(ttl=10), now=NOW, limit=5)
    pending = remember_login(pending, live, login(ttl=600), now=NOW, limit=5)
    pending = remember_login(pending, taken, login(ttl=600), now=NOW, limit=5)
    _, remaining = take_login(pending, taken, now=NOW + 20)
    assert list(remaining) == [state_key(live)]


def test_key_id_of_the_login_comes_back() -> None:
    state = flow.new_state()
    remembered = dataclasses.replace(login(), key_id="k1d0")
    pending = remember_login(None, state, remembered, now=NOW, limit=5)
    found, _ = take_login(pending, state, now=NOW)
    assert found.key_id == "k1d0"


def test_login_remembered_without_key_id_is_still_taken() -> None:
    state = flow.new_state()
    pending = {state_key(state): [round(NOW + 600), "/x", "profile"]}
    found, _ = take_login(pending, state, now=NOW)
    assert (found.next_url, found.scopes, found.key_id) == (
        "/x",
        frozenset({"profile"}),
        "",
    )


def test_unsafe_next_in_the_map_is_not_returned() -> None:
    state = flow.new_state()
    pending = remember_login(None, state, login("//evil.com"), now=NOW, limit=5)
    found, _ = take_login(pending, state, now=NOW)
    assert found.next_url is None


# -- the authorization URL ---------------------------------------------------


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def test_authorization_url_has_every_required_parameter() -> None:
    url = flow.authorization_url(
        "https://developers.rocketpunch.com/oauth/authorize",
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT_URI,
        scopes=["profile", "email"],
        state="the-state",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "developers.rocketpunch.com",
        "/oauth/authorize",
    )
    assert query_of(url) == {
        "client_id": [CLIENT_ID],
        "redirect_uri": [REDIRECT_URI],
        "response_type": ["code"],
        "scope": ["email profile"],
        "state": ["the-state"],
        "code_challenge": ["E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"],
        "code_challenge_method": ["S256"],
    }
    assert "scope=email%20profile" in url


def test_authorization_url_keeps_the_configured_query() -> None:
    url = flow.authorization_url(
        "https://sso.example/authorize?tenant=acme&lang=ko&state=stale",
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT_URI,
        scopes=["profile"],
        state="fresh",
        code_challenge="c",
    )
    query = query_of(url)
    assert query["tenant"] == ["acme"]
    assert query["lang"] == ["ko"]
    assert query["state"] == ["fresh"]
    assert query["client_id"] == [CLIENT_ID]


def test_authorization_url_without_pkce_omits_the_challenge() -> None:
    url = flow.authorization_url(
        "https://sso.example/authorize",
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT_URI,
        scopes=["profile:read"],
        state="s",
        code_challenge=None,
    )
    query = query_of(url)
    assert "code_challenge" not in query
    assert "code_challenge_method" not in query
    assert query["scope"] == ["profile:read"]
    assert query["response_type"] == ["code"]


# -- the token endpoint ---------------------------------------------------


def test_exchange_code_returns_the_token(
    stub: StubProvider, http: requests.Session
) -> None:
    token = exchange(http, make_settings(stub.url))
    assert token.access_token == ACCESS
    assert token.refresh_token == "rt-new-9f8e7d6c"
    assert token.expires_at == NOW + 900
    assert token.scopes == frozenset({"profile", "email"})


def test_exchange_code_posts_the_grant_with_secret_in_body(
    stub: StubProvider, http: requests.Session
) -> None:
    exchange(http, make_settings(stub.url, CLIENT_AUTH="client_secret_post"))
    [seen] = stub.seen
    assert seen.path == "/oauth/token"
    assert seen.form == {
        "grant_type": "authorization_code",
        "code": CODE,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": VERIFIER,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert seen.authorization is None


def test_exchange_code_with_basic_auth_form_encodes_the_credentials(
    stub: StubProvider, http: requests.Session
) -> None:
    exchange(http, make_settings(stub.url, CLIENT_AUTH="client_secret_basic"))
    [seen] = stub.seen
    assert "client_secret" not in seen.form
    assert "client_id" not in seen.form
    assert CLIENT_SECRET.encode() not in seen.raw
    assert seen.form["code_verifier"] == VERIFIER
    assert seen.authorization is not None
    scheme, _, encoded = seen.authorization.partition(" ")
    assert scheme == "Basic"
    user, sep, password = base64.b64decode(encoded).decode("ascii").partition(":")
    assert sep == ":"
    assert ":" not in password  # the secret's ':' is encoded, not a separator
    assert "+" not in password  # a literal '+' would decode to a space
    assert unquote_plus(user) == CLIENT_ID
    assert unquote_plus(password) == CLIENT_SECRET


def test_exchange_code_without_verifier_sends_none(
    stub: StubProvider, http: requests.Session
) -> None:
    flow.exchange_code(
        http,
        make_settings(stub.url),
        code=CODE,
        redirect_uri=REDIRECT_URI,
        code_verifier=None,
        requested_scopes=["profile:read"],
        now=NOW,
    )
    assert "code_verifier" not in stub.seen[0].form


def test_exchange_code_uses_requested_scopes_when_none_granted(
    stub: StubProvider, http: requests.Session
) -> None:
    stub.token(200, {**GOOD_TOKEN, "scope": None})
    token = exchange(http, make_settings(stub.url))
    assert token.scopes == frozenset({"profile"})


def test_json_with_charset_is_accepted(
    stub: StubProvider, http: requests.Session
) -> None:
    stub.token(200, GOOD_TOKEN, content_type="application/json; charset=utf-8")
    assert exchange(http, make_settings(stub.url)).access_token == ACCESS


def test_invalid_grant_is_an_oauth_error(
    stub: StubProvider, http: requests.Session
) -> None:
    stub.token(
        400,
        {
            "error": "invalid_grant",
            "error_description": "The code was already used.",
            "error_uri": "https://docs.example/errors#invalid_grant",
        },
    )
    with pytest.raises(OAuthError) as info:
        exchange(http, make_settings(stub.url))
    assert info.value.error == "invalid_grant"
    assert info.value.error_description == "The code was already used."
    assert info.value.error_uri == "https://docs.example/errors#invalid_grant"
    assert "invalid_grant" in str(info.value)
    assert "already used" in str(info.value)
    assert info.value.http_status == 400


def test_invalid_client_says_to_check_the_credentials(
    stub: StubProvider, http: requests.Session
) -> None:
    stub.token(401, {"error": "invalid_client"})
    with pytest.raises(OAuthError) as info:
        exchange(http, make_settings(stub.url))
    assert info.value.error == "invalid_client"
    assert "ROCKETPUNCH_CLIENT_ID" in str(info.value)
    assert "ROCKETPUNCH_CLIENT_SECRET" in str(info.value)
    assert info.value.http_status == 500


def test_long_error_fields_are_cut(stub: StubProvider, http: requests.Session) -> None:
    stub.token(400, {"error": "e" * 5000, "error_description": "d" * 5000})
    with pytest.raises(OAuthError) as info:
        exchange(http, make_settings(stub.url))
    assert len(info.value.error) <= 100
    assert info.value.error_description is not None
    assert len(info.value.error_description) <= 500


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_or_busy_is_a_provider_error(
    stub: StubProvider, http: requests.Session, status: int
) -> None:
    stub.token(status, {"error": "server_error"})
    with pytest.raises(ProviderError) as info:
        exchange(http, make_settings(stub.url))
    assert info.value.reason == "server_error"
    assert info.value.status_code == status
    assert str(status) in str(info.value)
    assert info.value.http_status == 502


def provider_error(
    stub: StubProvider, http: requests.Session, **keys: t.Any
) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        exchange(http, make_settings(stub.url, **keys))
    return info.value


def test_non_json_body_is_an_invalid_response(
    stub: StubProvider, http: requests.Session
) -> None:
    stub.token(200, b"access_token=abc&token_type=bearer")
    exc = provider_error(stub, http)
    assert exc.reason == "invalid_response"
    assert "not valid JSON" in str(exc)


def test_html_content_type_is_an_invalid_response(
    stub: StubProvider, http: requests.Session
) -> None:
    stub.token(200, GOOD_TOKEN, content_type="text/html")
    exc = provider_error(stub, http)
    assert exc.reason == "invalid_response"
    assert "text/html" in str(exc)


def test_error_status_with_html_is_an_invalid_response(
    stub: StubProvider, http: requests.Session
) -> None:
    stub.token(404, b"<h1>Not Found</h1>", content_type="text/html")
    exc = provider_error(stub, http)
    assert exc.reason == "invalid_response"
    assert exc.status_code == 404


def test_error_status_without_oauth_error_is_an_invalid_response(
    stub: StubProvider, http: requests.Session
) -> None:
    stub.token(400, {"message": "bad"})
    exc = provider_error(stub, http)
    assert exc.reason == "invalid_response"
    assert exc.status_code == 400


def test_json_that_is_not_an_object_is_an_invalid_response(
    stub: StubProvider, http: requests.Session
) -> None:
    stub.token(200, [GOOD_TOKEN])
    assert provider_error(stub, http).reason == "invalid_response"


def test_invalid_token_in_a_200_is_an_invalid_response(
    stub: StubProvider, http: requests.Session
) -> None:
    stub.token(200, {**GOOD_TOKEN, "token_type": "mac"})
    assert provider_error(stub, http).reason == "invalid_response"


def test_redirect_is_not_followed(stub: StubProvider, http: requests.Session) -> None:
    stub.token(
        302,
        b"",
        content_type="text/plain",
        headers={"Location": f"{stub.url}/elsewhere"},
    )
    exc = provider_error(stub, http)
    assert exc.status_code == 302
    assert [seen.path for seen in stub.seen] == ["/oauth/token"]


def test_body_larger_than_the_limit_is_not_read(
    stub: StubProvider, http: requests.Session
) -> None:
    huge = {**GOOD_TOKEN, "padding": "x" * (provider_http.MAX_RESPONSE_BYTES + 1024)}
    stub.token(200, huge)
    exc = provider_error(stub, http)
    assert exc.reason == "invalid_response"
    assert str(provider_http.MAX_RESPONSE_BYTES) in str(exc)


def test_slow_answer_is_a_timeout(stub: StubProvider, http: requests.Session) -> None:
    stub.token(200, GOOD_TOKEN, delay=1.0)
    exc = provider_error(stub, http, TIMEOUT=0.3)
    assert exc.reason == "timeout"
    assert exc.http_status == 504
    assert "ROCKETPUNCH_TIMEOUT" in str(exc)


def test_connection_refused_is_a_connection_error(http: requests.Session) -> None:
    url = closed_port_url()
    with pytest.raises(ProviderError) as info:
        exchange(http, make_settings(url))
    assert info.value.reason == "connection"
    assert info.value.status_code is None


FAULTS: list[tuple[str, int, object, str]] = [
    ("invalid_grant", 400, {"error": "invalid_grant"}, "application/json"),
    ("invalid_client", 401, {"error": "invalid_client"}, "application/json"),
    ("server_error", 500, {"error": "server_error"}, "application/json"),
    ("unavailable", 503, b"down", "text/plain"),
    ("rate_limited", 429, b"", "text/plain"),
    ("not_json", 200, b"{oops", "application/json"),
    ("html", 200, GOOD_TOKEN, "text/html"),
    ("no_error_field", 400, {}, "application/json"),
    ("mac", 200, {**GOOD_TOKEN, "token_type": "mac"}, "application/json"),
    ("missing_expiry", 200, {**GOOD_TOKEN, "expires_in": None}, "application/json"),
    ("list", 200, [GOOD_TOKEN], "application/json"),
    ("huge", 200, {"x": "y" * (300 * 1024)}, "application/json"),
]


def check_no_secret(exc: BaseException, logs: str) -> None:
    shown = f"{exc}\n{exc!r}\n{exc.args!r}\n{logs}"
    for secret in SECRETS:
        assert secret not in shown, secret


@pytest.mark.parametrize("auth", ["client_secret_post", "client_secret_basic"])
@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [fault[1:] for fault in FAULTS],
    ids=[fault[0] for fault in FAULTS],
)
def test_errors_never_show_secret_code_verifier_or_token(
    stub: StubProvider,
    http: requests.Session,
    caplog: pytest.LogCaptureFixture,
    status: int,
    body: object,
    content_type: str,
    auth: str,
) -> None:
    stub.token(status, body, content_type=content_type)
    settings = make_settings(stub.url, CLIENT_AUTH=auth)
    old = Token("at-old", NOW, REFRESH)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(RocketpunchError) as exchanged:
            exchange(http, settings)
        with pytest.raises(RocketpunchError) as refreshed:
            flow.refresh_token(http, settings, old, now=NOW)
    check_no_secret(exchanged.value, caplog.text)
    check_no_secret(refreshed.value, caplog.text)


@pytest.mark.parametrize("fault", ["timeout", "connection"])
def test_transport_errors_never_show_secrets(
    stub: StubProvider,
    http: requests.Session,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    if fault == "timeout":
        stub.token(200, GOOD_TOKEN, delay=1.0)
        settings = make_settings(stub.url, TIMEOUT=0.2)
    else:
        settings = make_settings(closed_port_url())
    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as info:
        exchange(http, settings)
    assert info.value.reason == fault
    check_no_secret(info.value, caplog.text)


# -- refresh and revoke -------------------------------------------------------


def test_refresh_posts_the_refresh_grant(
    stub: StubProvider, http: requests.Session
) -> None:
    old = Token("at-old", NOW - 10, REFRESH, frozenset({"profile"}))
    new = flow.refresh_token(http, make_settings(stub.url), old, now=NOW)
    assert stub.seen[0].form == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert new.access_token == ACCESS
    assert new.refresh_token == "rt-new-9f8e7d6c"
    assert new.expires_at == NOW + 900


def test_refresh_without_new_refresh_token_keeps_the_old_one(
    stub: StubProvider, http: requests.Session
) -> None:
    stub.token(
        200, {"access_token": "at-2", "token_type": "Bearer", "expires_in": 3600}
    )
    old = Token("at-old", NOW - 10, REFRESH, frozenset({"profile:read"}))
    new = flow.refresh_token(http, make_settings(stub.url), old, now=NOW)
    assert new.access_token == "at-2"
    assert new.refresh_token == REFRESH
    assert new.scopes == frozenset({"profile:read"})


def test_refresh_without_refresh_token_is_invalid_grant_without_a_call(
    stub: StubProvider, http: requests.Session
) -> None:
    with pytest.raises(OAuthError) as info:
        flow.refresh_token(http, make_settings(stub.url), Token("at", NOW), now=NOW)
    assert info.value.error == "invalid_grant"
    assert stub.seen == []


def test_refresh_rejected_is_an_oauth_error(
    stub: StubProvider, http: requests.Session
) -> None:
    stub.token(400, {"error": "invalid_grant", "error_description": "revoked"})
    with pytest.raises(OAuthError) as info:
        flow.refresh_token(
            http, make_settings(stub.url), Token("a", NOW, REFRESH), now=NOW
        )
    assert info.value.error == "invalid_grant"


def test_revoke_posts_the_refresh_token(
    stub: StubProvider, http: requests.Session
) -> None:
    flow.revoke_token(http, make_settings(stub.url), Token("at-old", NOW, REFRESH))
    [seen] = stub.seen
    assert seen.path == "/oauth/revoke"
    assert seen.form == {
        "token": REFRESH,
        "token_type_hint": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }


def test_revoke_without_refresh_token_posts_the_access_token(
    stub: StubProvider, http: requests.Session
) -> None:
    flow.revoke_token(http, make_settings(stub.url), Token("at-only", NOW))
    assert stub.seen[0].form["token"] == "at-only"
    assert stub.seen[0].form["token_type_hint"] == "access_token"


def test_revoke_with_basic_auth_keeps_the_secret_out_of_the_body(
    stub: StubProvider, http: requests.Session
) -> None:
    settings = make_settings(stub.url, CLIENT_AUTH="client_secret_basic")
    flow.revoke_token(http, settings, Token("at-old", NOW, REFRESH))
    [seen] = stub.seen
    assert seen.form == {"token": REFRESH, "token_type_hint": "refresh_token"}
    assert seen.authorization is not None
    assert seen.authorization.startswith("Basic ")


def test_revoke_does_nothing_without_revoke_url(
    stub: StubProvider, http: requests.Session
) -> None:
    settings = load_settings(
        {
            "ROCKETPUNCH_CLIENT_ID": CLIENT_ID,
            "ROCKETPUNCH_CLIENT_SECRET": CLIENT_SECRET,
            "ROCKETPUNCH_TOKEN_URL": f"{stub.url}/oauth/token",
            "ROCKETPUNCH_REVOKE_URL": None,
        }
    )
    flow.revoke_token(http, settings, Token("at", NOW, REFRESH))
    assert stub.seen == []


@pytest.mark.parametrize(
    ("status", "reason"),
    [(503, "server_error"), (500, "server_error"), (400, "rejected")],
)
def test_revoke_failure_is_a_provider_error(
    stub: StubProvider, http: requests.Session, status: int, reason: str
) -> None:
    stub.answer("/oauth/revoke", status, {"error": "unsupported_token_type"})
    with pytest.raises(ProviderError) as info:
        flow.revoke_token(http, make_settings(stub.url), Token("at", NOW, REFRESH))
    assert info.value.reason == reason
    assert info.value.status_code == status
    check_no_secret(info.value, "")


# -- the token endpoint must answer 200, without redirects -------------------------


@pytest.mark.parametrize(
    ("status", "body"), [(201, GOOD_TOKEN), (204, b""), (302, GOOD_TOKEN)]
)
def test_token_endpoint_other_than_200_is_a_provider_error(
    http: requests.Session, stub: StubProvider, status: int, body: object
) -> None:
    stub.token(status, body, headers={"Location": f"{closed_port_url()}/token"})
    with pytest.raises(ProviderError) as caught:
        exchange(http, make_settings(stub.url))
    assert caught.value.reason == "invalid_response"
    assert caught.value.status_code == status
    assert [seen.path for seen in stub.seen] == ["/oauth/token"]


def test_redirect_is_returned_even_on_a_session_that_refuses_redirects(
    stub: StubProvider,
) -> None:
    from flask_rocketpunch.state import http_session

    stub.token(307, GOOD_TOKEN, headers={"Location": f"{stub.url}/elsewhere"})
    with pytest.raises(ProviderError, match="redirect") as caught:
        exchange(http_session(), make_settings(stub.url))
    assert caught.value.status_code == 307
    assert [seen.path for seen in stub.seen] == ["/oauth/token"]


def test_slow_token_endpoint_is_a_timeout_within_the_deadline(
    stub: StubProvider,
) -> None:
    from flask_rocketpunch.state import http_session

    stub.token(200, GOOD_TOKEN, delay=20)
    with pytest.raises(ProviderError) as caught:
        exchange(http_session(), make_settings(stub.url, TIMEOUT=0.3))
    assert caught.value.reason == "timeout"
    assert caught.value.http_status == 504
