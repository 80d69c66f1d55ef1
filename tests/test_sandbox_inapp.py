"""The sandbox inside the app (``mount_in_app``): wired once at set-up, with
a redirect URI registered as a path and avatars as ``data:`` URIs, so that
no request's ``Host`` header changes what another request gets."""

from __future__ import annotations

import secrets
import typing as t
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from test_sandbox_support import decode_data_uri, sandbox_app

from flask_rocketpunch.sandbox import SandboxProvider, mount_in_app, s256
from flask_rocketpunch.sandbox.errors import InvalidAuthorizationRequest
from flask_rocketpunch.testing import complete_login, consent_form, sandbox_of

ORIGIN = "http://rocketpunch-sandbox.invalid"
PREFIX = "/_rocketpunch_sandbox"
CLIENT_ID = "in-app-client"
CLIENT_SECRET = "in-app-secret"
LOGIN = "/auth/rocketpunch/login"
CALLBACK_PATH = "/auth/rocketpunch/callback"


class InApp(t.NamedTuple):
    app: Flask
    http: requests.Session
    provider: SandboxProvider


@pytest.fixture
def in_app() -> t.Iterator[InApp]:
    """A bare Flask app with the sandbox mounted, its client registered with
    the redirect URI ``/callback``."""
    app = Flask("mounted")
    with requests.Session() as http:
        provider = mount_in_app(
            app,
            http,
            origin=ORIGIN,
            flavor="current",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri="/callback",
            name="Mounted App",
        )
        yield InApp(app, http, provider)


def authorize_params(redirect_uri: str, verifier: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": "profile email",
        "state": secrets.token_urlsafe(8),
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }


def approve_on(
    browser: FlaskClient, location: str, host: str | None = None, user: str = "minji"
) -> str:
    """Open the consent page at ``location``, sending ``Host: host`` when
    given, and approve as ``user``; return where the sandbox redirects."""
    headers = {"Host": host} if host else {}
    parts = urlsplit(location)
    page = browser.get(f"{parts.path}?{parts.query}", headers=headers)
    assert page.status_code == 200, page.get_data(as_text=True)
    action, fields = consent_form(page.get_data(as_text=True), "")
    fields.update(decision="approve", user=user)
    decided = browser.post(action, data=fields, headers=headers)
    assert decided.status_code == 302, decided.get_data(as_text=True)
    return decided.headers["Location"]


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


# -- mount_in_app --------------------------------------------------------------


def test_mount_in_app_serves_the_consent_page_and_the_back_channel(
    in_app: InApp,
) -> None:
    app, http, provider = in_app
    assert [c.redirect_uri for c in provider.clients.values()] == ["/callback"]
    verifier = secrets.token_urlsafe(48)
    params = authorize_params("http://localhost/callback", verifier)
    consent_url = f"{PREFIX}/oauth/authorize?{urlencode(params)}"
    page = app.test_client().get(consent_url)
    assert page.status_code == 200
    assert "Mounted App" in page.get_data(as_text=True)

    location = approve_on(app.test_client(), consent_url)
    assert location.startswith("http://localhost/callback?code=")
    exchange = {
        "grant_type": "authorization_code",
        "code": query_of(location)["code"],
        "code_verifier": verifier,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    # The code is bound to the absolute URI the request used, not the path.
    refused = http.post(
        f"{ORIGIN}/oauth/token", data={**exchange, "redirect_uri": "/callback"}
    )
    assert refused.json()["error"] == "invalid_grant"

    exchange["code"] = query_of(approve_on(app.test_client(), consent_url))["code"]
    token = http.post(
        f"{ORIGIN}/oauth/token",
        data={**exchange, "redirect_uri": "http://localhost/callback"},
    )
    assert token.status_code == 200
    claims = http.get(
        f"{ORIGIN}/oauth/userinfo",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    ).json()
    assert claims["preferred_username"] == "minji"
    assert decode_data_uri(claims["picture"])[0] == "image/svg+xml"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://app.example/sub/callback",
        "http://app.example/callback",
        "https://app.example/sub/callback",
        "http://other.example/sub/callback",
        "http://app.example/sub/callback/",
        "http://app.example/sub/callback?x=1",
        "/callback",
    ],
)
def test_path_redirect_uri_is_only_accepted_on_the_requests_own_root(
    in_app: InApp, redirect_uri: str
) -> None:
    browser = in_app.app.test_client()
    params = authorize_params(redirect_uri, secrets.token_urlsafe(48))
    page = browser.get(
        f"{PREFIX}/oauth/authorize",
        query_string=params,
        base_url="http://app.example/sub",
    )
    if redirect_uri == "http://app.example/sub/callback":
        assert page.status_code == 200
    else:
        assert page.status_code == 400
        assert "Location" not in page.headers
        # The sandbox speaks Korean by default, as Rocketpunch.
        assert "redirect_uri 불일치" in page.get_data(as_text=True)


def test_a_redirect_uri_starting_with_two_slashes_is_refused() -> None:
    with pytest.raises(ValueError, match="ambiguous"):
        SandboxProvider().register_client("id", "secret", "//evil.example/cb")


def test_outside_a_request_a_path_matches_on_the_origin_the_uri_names() -> None:
    provider = SandboxProvider("guide")
    provider.register_client(CLIENT_ID, CLIENT_SECRET, "/cb")
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "scope": "profile:read",
        "redirect_uri": "http://anywhere.example/cb",
    }
    assert provider.approve(params, "minji").startswith("http://anywhere.example/cb?")
    with pytest.raises(InvalidAuthorizationRequest):
        provider.approve({**params, "redirect_uri": "http://a.example/other"}, "alex")
    with pytest.raises(InvalidAuthorizationRequest):
        provider.approve({**params, "redirect_uri": "/cb"}, "alex")


# -- the Host header (sandbox mode of the extension) -----------------------------


def test_forged_host_only_redirects_its_own_browser_back_to_that_host() -> None:
    app = sandbox_app()
    provider = sandbox_of(app)
    registered = provider.get_client("sandbox-client")
    assert registered is not None
    assert registered.redirect_uri == CALLBACK_PATH
    victim = app.test_client()
    victim_consent = victim.get(LOGIN).headers["Location"]

    # Between the victim's login and consent, a request with a forged Host.
    attacker = app.test_client()
    start = attacker.get(LOGIN, headers={"Host": "evil.example"})
    assert start.headers["Location"].startswith(
        f"http://evil.example{PREFIX}/oauth/authorize?"
    )
    back = approve_on(attacker, start.headers["Location"], host="evil.example")
    assert back.startswith(f"http://evil.example{CALLBACK_PATH}?code=")

    back = approve_on(victim, victim_consent, user="seojun")
    assert back.startswith(f"http://localhost{CALLBACK_PATH}?code=")
    landed = victim.get(urlsplit(back).path, query_string=query_of(back))
    assert landed.status_code == 302
    assert provider.get_client("sandbox-client") is registered


def test_a_consent_link_for_another_host_shows_an_error_page() -> None:
    app = sandbox_app()
    victim = app.test_client()
    start = victim.get(LOGIN)
    params = query_of(start.headers["Location"])
    params["redirect_uri"] = f"http://evil.example{CALLBACK_PATH}"
    page = victim.get(f"{PREFIX}/oauth/authorize", query_string=params)
    assert page.status_code == 400
    assert "Location" not in page.headers
    assert sandbox_of(app).codes == {}


def test_forged_host_does_not_change_the_picture_another_user_sees() -> None:
    app = sandbox_app()
    victim = app.test_client()
    assert complete_login(victim).status_code == 302

    attacker = app.test_client()
    assert attacker.get(LOGIN, headers={"Host": "evil.example"}).status_code == 302

    picture = victim.get("/me").get_json()["picture"]
    assert "evil.example" not in picture
    assert decode_data_uri(picture)[0] == "image/svg+xml"
    assert sandbox_of(app).public_url is None


def test_logins_never_register_the_client_again() -> None:
    app = sandbox_app()
    provider = sandbox_of(app)
    registered = provider.clients
    for host in ("localhost", "evil.example", "127.0.0.1:5000"):
        browser = app.test_client()
        start = browser.get(LOGIN, headers={"Host": host})
        location = urljoin(f"http://{host}/", start.headers["Location"])
        approve_on(browser, location, host=host)
    assert provider.clients == registered
    assert provider.public_url is None


FORGED = {"Host": "evil.example"}
FORWARDED = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}


@pytest.mark.parametrize("proxy_fix", [False, True])
@pytest.mark.parametrize("forged", [FORGED, FORWARDED], ids=["host", "forwarded"])
def test_forged_hosts_change_nothing_another_browser_gets(
    forged: dict[str, str], proxy_fix: bool
) -> None:
    """Forged ``Host`` and ``X-Forwarded-Host`` headers at every sandbox
    route, between the steps of a victim's login: the registered redirect
    URI stays the path it was, and nothing the sandbox emits to the victim
    (the consent page, the redirect back, the metadata, the back channel's
    answers) names the forged host."""
    app = sandbox_app()
    if proxy_fix:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Trusting one proxy: X-Forwarded-Host counts as the request's host.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_host=1, x_proto=1)  # type: ignore[method-assign]
    provider = sandbox_of(app)
    registered = provider.clients

    def attack() -> None:
        # A fresh browser each time: one that consented before would skip
        # the consent page, as Rocketpunch does.
        attacker = app.test_client()
        start = attacker.get(LOGIN, headers=forged)
        parts = urlsplit(start.headers["Location"])
        page = attacker.get(f"{parts.path}?{parts.query}", headers=forged)
        assert page.status_code == 200, page.get_data(as_text=True)
        action, fields = consent_form(page.get_data(as_text=True), "")
        fields.update(decision="approve", user="alex")
        decided = attacker.post(action, data=fields, headers=forged)
        # Sent back to the host its own request named, if any was trusted:
        # the attacker's own browser only.
        trusted = "Host" in forged or proxy_fix
        expected = "evil.example" if trusted else "localhost"
        assert urlsplit(decided.headers["Location"]).hostname == expected
        for path in (
            f"{PREFIX}/.well-known/oauth-authorization-server",
            f"{PREFIX}/static/sandbox.css",
            f"{PREFIX}/oauth/userinfo",
        ):
            attacker.get(path, headers=forged).close()
        attacker.post(f"{PREFIX}/oauth/token", data={}, headers=forged)

    victim = app.test_client()
    attack()
    start = victim.get(LOGIN)
    assert start.headers["Location"].startswith(
        f"http://localhost{PREFIX}/oauth/authorize?"
    )
    attack()
    page = victim.get(start.headers["Location"])
    assert "evil.example" not in page.get_data(as_text=True)
    attack()
    back = approve_on(victim, start.headers["Location"])
    assert back.startswith(f"http://localhost{CALLBACK_PATH}?code=")
    assert (
        victim.get(urlsplit(back).path, query_string=query_of(back)).status_code == 302
    )
    attack()

    me = victim.get("/me")
    assert me.status_code == 200
    assert "evil.example" not in me.get_data(as_text=True)
    metadata = victim.get(f"{PREFIX}/.well-known/oauth-authorization-server")
    assert "evil.example" not in metadata.get_data(as_text=True)
    back_channel = extension_http(app).get(
        f"{ORIGIN}/.well-known/oauth-authorization-server"
    )
    assert "evil.example" not in back_channel.text
    assert back_channel.json()["token_endpoint"] == f"{ORIGIN}/oauth/token"

    assert provider.clients == registered
    assert provider.get_client("sandbox-client") == registered["sandbox-client"]
    assert registered["sandbox-client"].redirect_uri == CALLBACK_PATH
    assert provider.public_url is None


def test_x_forwarded_host_is_ignored_without_a_proxy_fix() -> None:
    app = sandbox_app()
    browser = app.test_client()
    start = browser.get(LOGIN, headers=FORWARDED)
    redirect_uri = query_of(start.headers["Location"])["redirect_uri"]
    assert redirect_uri == f"http://localhost{CALLBACK_PATH}"
    back = approve_on(browser, start.headers["Location"], host=None)
    assert back.startswith(f"http://localhost{CALLBACK_PATH}?code=")


def extension_http(app: Flask) -> requests.Session:
    """The session the extension makes its back-channel calls with."""
    from flask_rocketpunch.state import current_state

    with app.app_context():
        return current_state().http
