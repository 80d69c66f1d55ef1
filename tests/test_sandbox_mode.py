"""``ROCKETPUNCH_SANDBOX = True``: the stand-in provider inside the app itself,
in both flavors, its pictures, never on unless asked, and no self-calls over
HTTP (it works under a single-threaded server)."""

from __future__ import annotations

from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from flask import Flask
from support import AppFactory
from test_sandbox_support import decode_data_uri, sandbox_app

from flask_rocketpunch import ConfigurationError, RocketpunchOAuth
from flask_rocketpunch.sandbox import SAMPLE_USERS, SandboxServer
from flask_rocketpunch.testing import complete_login, consent_form, sandbox_of

MINJI = SAMPLE_USERS[0]
PREFIX = "/_rocketpunch_sandbox"


@pytest.mark.parametrize(
    ("flavor", "pkce", "userinfo_endpoint"),
    [("current", True, "userinfo"), ("guide", False, "profile")],
)
def test_full_dance_on_the_app_itself_without_client_credentials(
    flavor: str, pkce: bool, userinfo_endpoint: str
) -> None:
    app = sandbox_app(SANDBOX_FLAVOR=flavor)
    browser = app.test_client()

    start = browser.get("/auth/rocketpunch/login")
    consent_url = start.headers["Location"]
    assert consent_url.startswith(f"http://localhost{PREFIX}/oauth/authorize?")
    assert ("code_challenge" in parse_qs(urlsplit(consent_url).query)) is pkce

    back = complete_login(browser, next="/me", user="seojun")
    assert back.status_code == 302
    assert back.headers["Location"] == "/me"

    claims = browser.get("/me").get_json()
    assert claims["preferred_username"] == "seojun"
    assert claims["sub"] == SAMPLE_USERS[1].sub
    assert "email" not in claims
    provider = sandbox_of(app)
    assert provider.flavor == flavor
    assert provider.grant_counts() == {"authorization_code": 1}
    assert len(provider.requests_to(userinfo_endpoint)) == 1


def test_sandbox_api_calls_refresh_and_logout_work_in_process() -> None:
    app = sandbox_app(REFRESH_LEEWAY=1000)
    browser = app.test_client()
    complete_login(browser)

    assert browser.get("/posts").get_json()["total"] >= 1
    provider = sandbox_of(app)
    assert provider.grant_counts()["refresh_token"] >= 1

    assert browser.post("/auth/rocketpunch/logout").status_code == 303
    assert len(provider.requests_to("revoke")) == 1
    assert all(r.revoked for r in provider.refresh_tokens.values())
    assert browser.get("/me").status_code == 302


def test_userinfo_picture_is_the_avatar_the_app_serves_as_a_data_uri() -> None:
    app = sandbox_app()
    browser = app.test_client()
    complete_login(browser)

    picture = browser.get("/me").get_json()["picture"]

    mimetype, data = decode_data_uri(picture)
    assert mimetype == "image/svg+xml"
    assert b"<svg" in data
    with browser.get(f"{PREFIX}/static/{MINJI.avatar}") as image:
        assert image.status_code == 200
        assert image.mimetype == "image/svg+xml"
        assert image.data == data


def test_sandbox_is_off_unless_asked(make_app: AppFactory) -> None:
    app = make_app()
    browser = app.test_client()

    assert browser.get(f"{PREFIX}/oauth/authorize").status_code == 404
    with browser.get(f"{PREFIX}/static/{MINJI.avatar}") as image:
        assert image.status_code == 404
    assert not [r for r in app.url_map.iter_rules() if r.rule.startswith(PREFIX)]
    ext = app.extensions["rocketpunch"]
    assert isinstance(ext, RocketpunchOAuth)
    assert ext.sandbox(app) is None
    start = browser.get("/auth/rocketpunch/login").headers["Location"]
    assert PREFIX not in start


@pytest.mark.parametrize("flag", [False, "false", "0", ""])
def test_missing_client_id_is_an_error_not_a_silent_sandbox(flag: object) -> None:
    app = Flask("no_credentials")
    app.config.update(SECRET_KEY="k", ROCKETPUNCH_SANDBOX=flag)

    with pytest.raises(ConfigurationError, match="ROCKETPUNCH_CLIENT_ID"):
        RocketpunchOAuth(app)
    assert not [r for r in app.url_map.iter_rules() if r.rule.startswith(PREFIX)]


def test_whole_login_works_under_a_single_threaded_wsgi_server() -> None:
    app = sandbox_app(REFRESH_LEEWAY=1000, SCOPES="profile email")
    with SandboxServer(app, threaded=False) as served:
        http = requests.Session()

        def get(url: str) -> requests.Response:
            return http.get(urljoin(served.url, url), allow_redirects=False, timeout=5)

        to_login = get("/me")
        assert to_login.status_code == 302
        to_consent = get(to_login.headers["Location"])
        assert to_consent.status_code == 302
        consent_url = to_consent.headers["Location"]
        assert consent_url.startswith(f"{served.url}{PREFIX}/oauth/authorize?")

        page = get(consent_url)
        assert page.status_code == 200
        action, fields = consent_form(page.text, "")
        fields.update(decision="approve", user="alex")
        decided = http.post(
            urljoin(consent_url, action), data=fields, allow_redirects=False, timeout=5
        )
        assert decided.status_code == 302
        callback = decided.headers["Location"]
        assert callback.startswith(f"{served.url}/auth/rocketpunch/callback?code=")

        landed = get(callback)
        assert landed.status_code == 302
        assert landed.headers["Location"] == "/me"

        me = get("/me")
        assert me.status_code == 200
        claims = me.json()
        assert claims["preferred_username"] == "alex"
        assert claims["email"] == "alex.rivera@example.net"
        _, avatar = decode_data_uri(claims["picture"])
        assert get(f"{PREFIX}/static/avatar-alex.svg").content == avatar

        assert get("/posts").json()["total"] >= 1
        out = http.post(
            f"{served.url}/auth/rocketpunch/logout", allow_redirects=False, timeout=5
        )
        assert out.status_code == 303
        assert get("/me").status_code == 302

    provider = sandbox_of(app)
    assert provider.grant_counts()["authorization_code"] == 1
    assert provider.grant_counts()["refresh_token"] >= 2
    assert len(provider.requests_to("revoke")) == 1
