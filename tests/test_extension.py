"""Setting the extension up: application factories, configuration checks and
defaults, URL prefix, redirect URI, client authentication."""

from __future__ import annotations

import base64
import logging
from urllib.parse import unquote_plus

import pytest
from support import (
    AWKWARD_SECRET,
    CALLBACK,
    LOGIN,
    AppFactory,
    credentials,
    extension,
    new_app,
    query_of,
    sandbox_app,
)

from flask_rocketpunch import ConfigurationError, RocketpunchOAuth
from flask_rocketpunch.sandbox import SandboxProvider
from flask_rocketpunch.testing import answer_consent, complete_login

Config = dict[str, str]

#: Any client id and secret, for the apps that never reach a provider.
CLIENT_ID = "client-id"
CLIENT_SECRET = "client-secret"


# -- app factory ---------------------------------------------------------------


def test_one_instance_serves_two_apps_with_their_own_configuration(
    rocketpunch_provider: SandboxProvider, rocketpunch_config: Config
) -> None:
    rp = RocketpunchOAuth()
    client_id = rocketpunch_config["ROCKETPUNCH_CLIENT_ID"]
    rocketpunch_provider.register_client("second-client", "second-secret", CALLBACK)
    first = new_app(rocketpunch_config)
    second = new_app(
        {
            **rocketpunch_config,
            "ROCKETPUNCH_CLIENT_ID": "second-client",
            "ROCKETPUNCH_CLIENT_SECRET": "second-secret",
            "ROCKETPUNCH_SCOPES": "profile email",
            "ROCKETPUNCH_LOGIN_REDIRECT": "/second-home",
        }
    )
    rp.init_app(first)
    rp.init_app(second)
    assert first.extensions["rocketpunch"] is rp
    assert second.extensions["rocketpunch"] is rp
    assert rp.settings(first).client_id == client_id
    assert rp.settings(second).client_id == "second-client"

    first_browser = first.test_client()
    second_browser = second.test_client()
    first_login = complete_login(first_browser)
    assert first_login.headers["Location"] == "/"
    second_login = complete_login(second_browser)
    assert second_login.headers["Location"] == "/second-home"

    authorize = rocketpunch_provider.requests_to("authorize")
    assert {r.params["client_id"] for r in authorize} == {client_id, "second-client"}
    exchanges = rocketpunch_provider.requests_to("token")
    assert [r.params["client_id"] for r in exchanges] == [client_id, "second-client"]
    assert exchanges[1].params["client_secret"] == "second-secret"
    granted = sorted(
        sorted(tok.scopes) for tok in rocketpunch_provider.access_tokens.values()
    )
    assert granted == [["email", "profile"], ["profile"]]


def test_second_init_app_on_the_same_app_raises_runtime_error(
    make_app: AppFactory,
) -> None:
    app = make_app()
    with pytest.raises(RuntimeError, match="already been registered"):
        RocketpunchOAuth(app)
    with pytest.raises(RuntimeError, match="use that instance"):
        app.extensions["rocketpunch"].init_app(app)


@pytest.mark.parametrize("missing", ["CLIENT_ID", "CLIENT_SECRET"])
def test_missing_client_credential_raises_configuration_error_naming_it(
    missing: str,
) -> None:
    config = {
        "ROCKETPUNCH_CLIENT_ID": CLIENT_ID,
        "ROCKETPUNCH_CLIENT_SECRET": CLIENT_SECRET,
    }
    del config[f"ROCKETPUNCH_{missing}"]
    app = new_app(config)
    with pytest.raises(ConfigurationError, match=f"ROCKETPUNCH_{missing} is not set"):
        RocketpunchOAuth().init_app(app)
    assert "rocketpunch" not in app.extensions


def test_empty_client_secret_is_missing_too() -> None:
    app = new_app({"ROCKETPUNCH_CLIENT_ID": CLIENT_ID, "ROCKETPUNCH_CLIENT_SECRET": ""})
    with pytest.raises(ConfigurationError, match="ROCKETPUNCH_CLIENT_SECRET"):
        RocketpunchOAuth(app)


def test_sandbox_mode_needs_no_client_credentials_and_logs_in(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="flask_rocketpunch"):
        app = sandbox_app()
    assert any("ROCKETPUNCH_SANDBOX is on" in r.getMessage() for r in caplog.records)
    assert extension(app).sandbox(app) is not None

    response = complete_login(app.test_client())
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


DOCUMENTED_DEFAULTS: dict[str, object] = {
    "CLIENT_ID": CLIENT_ID,
    "CLIENT_SECRET": CLIENT_SECRET,
    "SCOPES": ["profile"],
    "REDIRECT_URI": None,
    "URL_PREFIX": "/auth/rocketpunch",
    "AUTHORIZE_URL": "https://developers.rocketpunch.com/oauth/authorize",
    "TOKEN_URL": "https://openapi.rocketpunch.com/oauth/token",
    "REVOKE_URL": "https://openapi.rocketpunch.com/oauth/revoke",
    "USERINFO_URL": "https://openapi.rocketpunch.com/oauth/userinfo",
    "API_BASE_URL": "https://openapi.rocketpunch.com/api/v1/",
    "CLIENT_AUTH": "client_secret_post",
    "LOGIN_REDIRECT": "/",
    "REFRESH_LEEWAY": 300,
    "USE_PKCE": True,
    "SANDBOX": False,
    "INSECURE_TRANSPORT": False,
    "DEFAULT_LOCALE": "en",
}


def test_every_key_gets_its_default_and_set_keys_are_kept() -> None:
    app = new_app(
        {
            "ROCKETPUNCH_CLIENT_ID": CLIENT_ID,
            "ROCKETPUNCH_CLIENT_SECRET": CLIENT_SECRET,
            "ROCKETPUNCH_LOGIN_TTL": 120,
        }
    )
    before = {k for k in app.config if k.startswith("ROCKETPUNCH_")}
    RocketpunchOAuth(app)
    for key, value in DOCUMENTED_DEFAULTS.items():
        assert app.config[f"ROCKETPUNCH_{key}"] == value, key
    timeout = app.config["ROCKETPUNCH_TIMEOUT"]
    assert isinstance(timeout, (int, float))
    assert 0 < timeout <= 30
    assert app.config["ROCKETPUNCH_LOGIN_TTL"] == 120
    added = {k for k in app.config if k.startswith("ROCKETPUNCH_")} - before
    assert {f"ROCKETPUNCH_{k}" for k in DOCUMENTED_DEFAULTS} - before <= added


def test_default_scopes_list_is_not_shared_between_apps() -> None:
    first = new_app({"ROCKETPUNCH_CLIENT_ID": "a", "ROCKETPUNCH_CLIENT_SECRET": "b"})
    RocketpunchOAuth(first)
    first_scopes = first.config["ROCKETPUNCH_SCOPES"]
    first_scopes.append("email")
    try:
        second = new_app(
            {"ROCKETPUNCH_CLIENT_ID": "a", "ROCKETPUNCH_CLIENT_SECRET": "b"}
        )
        rp = RocketpunchOAuth(second)
        assert second.config["ROCKETPUNCH_SCOPES"] == ["profile"]
        assert rp.settings(second).scopes == frozenset({"profile"})
    finally:
        # Undo the change, in case it leaked into the package's defaults.
        first_scopes.remove("email")


# -- transport security ------------------------------------------------------------


URL_KEYS = ["AUTHORIZE_URL", "TOKEN_URL", "REVOKE_URL", "USERINFO_URL", "API_BASE_URL"]


@pytest.mark.parametrize("key", URL_KEYS)
def test_plain_http_provider_url_on_a_public_host_is_refused(
    rocketpunch_config: Config, key: str
) -> None:
    app = new_app({**rocketpunch_config, f"ROCKETPUNCH_{key}": "http://rp.example/x/"})
    with pytest.raises(ConfigurationError) as info:
        RocketpunchOAuth(app)
    assert f"ROCKETPUNCH_{key}" in info.value.message
    assert "ROCKETPUNCH_INSECURE_TRANSPORT" in info.value.message


@pytest.mark.parametrize("key", URL_KEYS)
def test_insecure_transport_allows_plain_http_for_that_app(
    rocketpunch_config: Config, key: str
) -> None:
    app = new_app(
        {
            **rocketpunch_config,
            "ROCKETPUNCH_INSECURE_TRANSPORT": True,
            f"ROCKETPUNCH_{key}": "http://rp.example/x/",
        }
    )
    rp = RocketpunchOAuth(app)
    assert rp.settings(app).insecure_transport


def test_an_environment_flag_does_not_allow_plain_http(
    rocketpunch_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setenv("ROCKETPUNCH_INSECURE_TRANSPORT", "1")
    app = new_app(
        {**rocketpunch_config, "ROCKETPUNCH_TOKEN_URL": "http://rp.example/token"}
    )
    with pytest.raises(ConfigurationError, match="ROCKETPUNCH_TOKEN_URL"):
        RocketpunchOAuth(app)


def test_plain_http_on_loopback_hosts_is_allowed(rocketpunch_config: Config) -> None:
    app = new_app(
        {
            **rocketpunch_config,
            "ROCKETPUNCH_AUTHORIZE_URL": "http://localhost:9/oauth/authorize",
            "ROCKETPUNCH_REVOKE_URL": "http://[::1]:9/oauth/revoke",
        }
    )
    rp = RocketpunchOAuth(app)
    assert rp.settings(app).token_url.startswith("http://127.0.0.1:")


# -- routes and redirect URI -------------------------------------------------------


def test_url_prefix_moves_login_callback_and_logout(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    # make_app registers the app's own callback, moved with the prefix.
    app = make_app(URL_PREFIX="/accounts/rp/")
    moved_callback = "http://localhost/accounts/rp/callback"
    client = app.test_client()

    assert client.get(LOGIN).status_code == 404
    start = client.get("/accounts/rp/login")
    assert start.status_code == 302
    assert query_of(start.headers["Location"])["redirect_uri"] == moved_callback
    back = answer_consent(
        client, start.headers["Location"], decision="approve", user="minji"
    )
    assert back.startswith(moved_callback + "?")
    assert client.get("/auth/rocketpunch/callback").status_code == 404
    finish = client.get(back.removeprefix("http://localhost"))
    assert finish.status_code == 302
    assert finish.headers["Location"] == "/"
    assert (
        rocketpunch_provider.requests_to("token")[0].params["redirect_uri"]
        == moved_callback
    )
    assert client.post("/auth/rocketpunch/logout").status_code == 404
    assert client.post("/accounts/rp/logout").status_code == 303
    assert len(rocketpunch_provider.requests_to("revoke")) == 1


def test_custom_redirect_uri_is_sent_to_provider_and_used_at_token_exchange(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    public = "https://app.example.com/auth/rocketpunch/callback"
    client = make_app(REDIRECT_URI=public).test_client()
    start = client.get(LOGIN)
    assert query_of(start.headers["Location"])["redirect_uri"] == public
    # The browser comes back through the proxy to the same path.
    back = answer_consent(
        client, start.headers["Location"], decision="approve", user="minji"
    )
    assert back.startswith(public + "?")
    finish = client.get(back.removeprefix("https://app.example.com"))
    assert finish.status_code == 302
    (exchange,) = rocketpunch_provider.requests_to("token")
    assert exchange.params["redirect_uri"] == public
    assert exchange.status == 200


def test_computed_http_redirect_uri_on_public_host_logs_a_proxyfix_warning(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app().test_client()
    with caplog.at_level(logging.WARNING, logger="flask_rocketpunch"):
        first = client.get(LOGIN, base_url="http://example.com")
        client.get(LOGIN, base_url="http://example.com")
    redirect_uri = query_of(first.headers["Location"])["redirect_uri"]
    assert redirect_uri == "http://example.com/auth/rocketpunch/callback"
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    proxy = [m for m in messages if "ProxyFix" in m]
    assert len(proxy) == 1
    assert redirect_uri in proxy[0]
    assert "ROCKETPUNCH_REDIRECT_URI" in proxy[0]


@pytest.mark.parametrize(
    "base_url", ["http://localhost", "http://127.0.0.1:5000", "https://example.com"]
)
def test_loopback_or_https_redirect_uri_gives_no_proxy_warning(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture, base_url: str
) -> None:
    client = make_app().test_client()
    with caplog.at_level(logging.WARNING, logger="flask_rocketpunch"):
        response = client.get(LOGIN, base_url=base_url)
    assert response.status_code == 302
    assert not [r for r in caplog.records if "ProxyFix" in r.getMessage()]


# -- client authentication ------------------------------------------------------


def test_client_secret_basic_sends_basic_auth_and_no_secret_in_the_body(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    client = make_app(
        CLIENT_AUTH="client_secret_basic", CLIENT_SECRET=AWKWARD_SECRET
    ).test_client()
    client_id = credentials(client.application)[0]
    assert complete_login(client).status_code == 302
    client.post("/auth/rocketpunch/logout")

    calls = rocketpunch_provider.requests_to(
        "token"
    ) + rocketpunch_provider.requests_to("revoke")
    assert [r.endpoint for r in calls] == ["token", "revoke"]
    for call in calls:
        assert call.status == 200
        assert "client_secret" not in call.params
        assert AWKWARD_SECRET not in str(call.params)
        scheme, _, value = call.headers["Authorization"].partition(" ")
        assert scheme == "Basic"
        user, _, password = base64.b64decode(value).decode().partition(":")
        assert unquote_plus(user) == client_id
        assert unquote_plus(password) == AWKWARD_SECRET


def test_client_secret_post_is_the_default_and_sends_no_authorization_header(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    client = make_app(CLIENT_SECRET=AWKWARD_SECRET).test_client()
    assert complete_login(client).status_code == 302
    (exchange,) = rocketpunch_provider.requests_to("token")
    assert "Authorization" not in exchange.headers
    assert exchange.params["client_id"] == credentials(client.application)[0]
    assert exchange.params["client_secret"] == AWKWARD_SECRET


def test_unknown_client_auth_is_a_configuration_error(make_app: AppFactory) -> None:
    with pytest.raises(ConfigurationError, match="ROCKETPUNCH_CLIENT_AUTH"):
        make_app(CLIENT_AUTH="private_key_jwt")
