"""Property-based tests (Hypothesis) of the login and callback routes.

Each property builds one app with the in-process sandbox (no sockets, so
hundreds of examples run in seconds) and states what must hold for *any*
input a browser, an attacker or a broken provider can put in the URL:

- the callback never answers 500 nor shows a traceback, and stores a token
  only for the real ``state`` with a valid ``code`` and no ``error``;
- every ``next`` that is honoured is a local path on the same app;
- the map of logins in flight stays bounded, and so does the session cookie.
"""

from __future__ import annotations

import operator
import random
import typing as t
import warnings
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support import CALLBACK_PATH, LOGIN, query_of, sandbox_app, sealed_token
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from flask_rocketpunch.flow import AUTHORIZATION_ERRORS
from flask_rocketpunch.pending import PENDING_KEY, safe_next
from flask_rocketpunch.sandbox import SandboxProvider
from flask_rocketpunch.testing import sandbox_of

EXAMPLES = 200
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: The largest cookie Werkzeug (and browsers) accept: 4096 bytes minus the
#: attributes' share that Werkzeug reserves.
COOKIE_LIMIT = 4093

#: Prefixes known to turn a "path" into another origin in some parser.
EVIL_PREFIXES = [
    "//",
    "///",
    "/\\",
    "\\\\",
    "\\/",
    "/\t/",
    "/\n/",
    "/\r/",
    " //",
    "\x00//",
    "/\x0b/",
    "http:",
    "http:/",
    "https://",
    "HTTPS://",
    "javascript:",
    "data:text/html,",
    "//evil.example",
    "/%2F",
    "/%5C",
    "/.//",
    "/./",
    "http:\\\\",
    "/\u3000/",
    "\uff0f\uff0f",
    "/\u2028/",
    "@evil.example",
    "/@evil.example",
]

#: Text without surrogates, including control characters and all of Unicode.
any_text = st.text(max_size=80)
long_text = st.text(min_size=1000, max_size=6000)
texts = st.one_of(any_text, long_text)
nexts = st.one_of(
    st.none(),
    any_text,
    st.builds(operator.add, st.sampled_from(EVIL_PREFIXES), st.text(max_size=30)),
    st.from_regex(r"\A/[ -~]{0,60}\Z"),
)
junk = st.lists(
    st.tuples(st.sampled_from(["state", "code", "error", "x", ""]) | any_text, texts),
    max_size=3,
)


@pytest.fixture(scope="module")
def sandbox() -> tuple[Flask, SandboxProvider]:
    """One app with the in-process sandbox for every example of a module."""
    app = sandbox_app()
    provider = sandbox_of(app)
    # Hundreds of logins a minute: a load test, beyond the real limits.
    provider.enforce_rate_limit = False
    return app, provider


def start_login(
    client: FlaskClient, provider: SandboxProvider, next_url: str | None = None
) -> tuple[str, str]:
    """Start a login and approve it as ``minji``; return (state, code)
    without visiting the callback."""
    query = {"next": next_url} if next_url is not None else {}
    start = client.get(LOGIN, query_string=query)
    assert start.status_code == 302
    params = query_of(start.headers["Location"])
    back = query_of(provider.approve(params, "minji"))
    return params["state"], back["code"]


def has_token(client: FlaskClient) -> bool:
    return sealed_token(client) is not None


def is_local_path(location: str) -> bool:
    """Whether a browser following ``location`` from ``http://localhost/``
    stays on ``localhost``, judged strictly."""
    if not location.startswith("/") or location.startswith("//"):
        return False
    if "\\" in location or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in location):
        return False
    parts = urlsplit(location)
    if parts.scheme or parts.netloc:
        return False
    joined = urlsplit(urljoin("http://localhost/", location))
    return joined.scheme == "http" and joined.netloc == "localhost"


def session_cookie_size(response: TestResponse) -> int | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("session="):
            return len(header.split(";", 1)[0]) - len("session=")
    return None


def assert_no_crash(response: TestResponse) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code != 500, body
    assert response.status_code < 600
    assert "Traceback" not in body
    assert "Internal Server Error" not in body


def callback_query(
    data: st.DataObject, real_state: str | None, real_code: str | None
) -> list[tuple[str, str]]:
    """Draw a callback query: each known parameter absent, real (when there
    is one), an RFC 6749 error code, or arbitrary text; then junk."""

    def pick(name: str, real: str | None, extra: list[str]) -> st.SearchStrategy[t.Any]:
        options: list[st.SearchStrategy[t.Any]] = [st.none(), texts]
        if real is not None:
            options.append(st.just(real))
        if extra:
            options.append(st.sampled_from(extra))
        return st.one_of(*options).map(lambda v: (name, v))

    query: list[tuple[str, str]] = []
    for name, real, extra in (
        ("state", real_state, []),
        ("code", real_code, []),
        ("error", None, [*AUTHORIZATION_ERRORS, "invalid_client"]),
        ("error_description", None, ["<script>alert(1)</script>"]),
        ("error_uri", None, ["javascript:alert(1)", "https://evil.example/"]),
    ):
        key, value = data.draw(pick(name, real, extra), label=name)
        if value is not None:
            query.append((key, value))
    query.extend(data.draw(junk, label="junk"))
    return query


@PROPERTY_SETTINGS
@given(data=st.data())
def test_callback_with_login_in_flight_never_fails_and_stores_only_valid_logins(
    sandbox: tuple[Flask, SandboxProvider], data: st.DataObject
) -> None:
    app, provider = sandbox
    client = app.test_client()
    real_state, real_code = start_login(client, provider)
    query = callback_query(data, real_state, real_code)
    response = client.get(CALLBACK_PATH, query_string=query)
    assert_no_crash(response)
    args = MultiDict(query)
    valid = (
        args.get("state") == real_state
        and args.get("code") == real_code
        and not args.get("error")
    )
    assert has_token(client) is valid
    if valid:
        assert response.status_code == 302
        assert response.headers["Location"] == "/"
    else:
        assert response.status_code in (400, 403, 503)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.fixture(scope="module")
def foreign_login(sandbox: tuple[Flask, SandboxProvider]) -> tuple[str, str]:
    """A state and code from another browser's consent (login CSRF
    material)."""
    app, provider = sandbox
    return start_login(app.test_client(), provider)


@PROPERTY_SETTINGS
@given(data=st.data(), with_cookie=st.booleans())
def test_callback_without_login_in_flight_never_fails_and_stores_nothing(
    sandbox: tuple[Flask, SandboxProvider],
    foreign_login: tuple[str, str],
    data: st.DataObject,
    with_cookie: bool,
) -> None:
    app, provider = sandbox
    client = app.test_client()
    if with_cookie:
        # A session cookie that carries something, but no login.
        with client.session_transaction() as sess:
            sess["unrelated"] = "value"
    exchanges = len(provider.requests_to("token"))
    query = callback_query(data, *foreign_login)
    response = client.get(CALLBACK_PATH, query_string=query)
    assert_no_crash(response)
    assert response.status_code in (400, 403, 503)
    assert not has_token(client)
    # The callback did not even reach the token endpoint.
    assert len(provider.requests_to("token")) == exchanges


@PROPERTY_SETTINGS
@given(next_url=nexts)
def test_every_next_honoured_after_login_is_a_local_path(
    sandbox: tuple[Flask, SandboxProvider], next_url: str | None
) -> None:
    app, provider = sandbox
    client = app.test_client()
    state, code = start_login(client, provider, next_url)
    response = client.get(CALLBACK_PATH, query_string={"state": state, "code": code})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/" or is_local_path(location), location
    assert urlsplit(urljoin("http://localhost/", location)).netloc == "localhost"
    if next_url is not None and safe_next(next_url) is not None and "%" not in next_url:
        # A safe ``next`` is honoured (percent-encoded, an empty fragment
        # dropped), not merely thrown away.
        assert urlsplit(unquote(location))[2:4] == urlsplit(next_url)[2:4]


@PROPERTY_SETTINGS
@given(nexts)
def test_safe_next_accepts_only_local_paths(value: str | None) -> None:
    out = safe_next(value)
    if out is not None:
        assert out == value
        assert is_local_path(out), out


#: Alphabets for long, high-entropy ``next`` paths (Hypothesis's own text
#: generation favours repeated characters, which compress away).
PATH_ALPHABETS = {
    "ascii": "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "\\"),
    "cjk": "".join(chr(c) for c in range(0x4E00, 0x4FFF)),
    "latin": "abcdefghijklmnopqrstuvwxyz0123456789-_/?=&.\u00e9\u00fc\u00df",
}


def entropic_path(seed: int, length: int, alphabet: str) -> str:
    """A local path of ``length`` characters drawn from ``alphabet``."""
    rng = random.Random(seed)
    return "/" + "".join(rng.choice(alphabet) for _ in range(length))


pending_nexts = st.one_of(
    st.none(),
    st.text(max_size=40).map(lambda s: "/" + s),
    st.builds(
        entropic_path,
        st.integers(0, 2**32),
        st.integers(1, 2047),
        st.sampled_from(sorted(PATH_ALPHABETS.values())),
    ),
)


@PROPERTY_SETTINGS
@given(next_urls=st.lists(pending_nexts, min_size=1, max_size=12))
# Deep links of a realistic length, in three tabs: fails at once, unshrunk.
@example(next_urls=[entropic_path(n, 1000, PATH_ALPHABETS["latin"]) for n in range(3)])
@example(next_urls=[entropic_path(0, 2047, PATH_ALPHABETS["cjk"])])
def test_pending_logins_stay_bounded_in_number_and_cookie_size(
    sandbox: tuple[Flask, SandboxProvider], next_urls: list[str | None]
) -> None:
    app, _provider = sandbox
    limit = app.config["ROCKETPUNCH_MAX_PENDING_LOGINS"]
    client = app.test_client()
    for count, next_url in enumerate(next_urls, 1):
        query = {"next": next_url} if next_url is not None else {}
        with warnings.catch_warnings():
            # Werkzeug warns about an oversized cookie; the size is asserted
            # below instead.
            warnings.simplefilter("ignore", UserWarning)
            response = client.get(LOGIN, query_string=query)
        assert response.status_code == 302
        size = session_cookie_size(response)
        assert size is not None
        assert size <= COOKIE_LIMIT, (
            f"the session cookie is {size} bytes after {count} logins: browsers"
            " drop it, and the login fails with NoLoginInFlightError"
        )
        with client.session_transaction() as sess:
            assert 1 <= len(sess[PENDING_KEY]) <= limit
