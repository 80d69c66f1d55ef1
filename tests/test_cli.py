"""``flask rocketpunch check``: the effective configuration, the redirect URI
to register, and warnings about settings that break logins."""

from __future__ import annotations

import pytest
from click.testing import Result
from flask import Flask
from support import AppFactory, credentials, sandbox_app

from flask_rocketpunch import MemoryStorage

KEYS = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "SCOPES",
    "REDIRECT_URI",
    "URL_PREFIX",
    "AUTHORIZE_URL",
    "TOKEN_URL",
    "REVOKE_URL",
    "USERINFO_URL",
    "API_BASE_URL",
    "CLIENT_AUTH",
    "LOGIN_REDIRECT",
    "REFRESH_LEEWAY",
    "USE_PKCE",
    "TIMEOUT",
    "SANDBOX",
    "SANDBOX_FLAVOR",
    "INSECURE_TRANSPORT",
    "LOGIN_TTL",
    "MAX_PENDING_LOGINS",
]


def check(app: Flask) -> Result:
    result = app.test_cli_runner().invoke(args=["rocketpunch", "check"])
    assert isinstance(result, Result)
    return result


def warnings_part(output: str) -> str:
    """The output after the "Warnings:" heading ("" when there is none)."""
    return output.partition("Warnings:")[2]


def test_check_prints_every_key_and_masks_the_secret(make_app: AppFactory) -> None:
    app = make_app()
    client_id, secret = credentials(app)
    result = check(app)
    assert result.exit_code == 0, result.output
    for key in KEYS:
        assert f"ROCKETPUNCH_{key}" in result.output, key
    assert client_id in result.output
    assert secret not in result.output
    assert secret[:8] not in result.output
    secret_line = next(
        line for line in result.output.splitlines() if "CLIENT_SECRET" in line
    )
    assert "********" in secret_line


def test_check_prints_the_computed_redirect_uri_to_register(
    make_app: AppFactory,
) -> None:
    result = check(make_app())
    assert "Redirect URI to register" in result.output
    assert "http://127.0.0.1:5000/auth/rocketpunch/callback" in result.output
    assert "SERVER_NAME" in result.output


def test_check_uses_server_name_and_scheme_for_the_redirect_uri(
    make_app: AppFactory,
) -> None:
    app = make_app(
        SERVER_NAME="app.example.com",
        PREFERRED_URL_SCHEME="https",
        URL_PREFIX="/login/rp",
    )
    result = check(app)
    assert result.exit_code == 0, result.output
    assert "https://app.example.com/login/rp/callback" in result.output
    assert "ProxyFix" not in result.output


def test_check_prints_the_configured_redirect_uri(make_app: AppFactory) -> None:
    uri = "https://app.example.com/oauth/back"
    result = check(make_app(REDIRECT_URI=uri))
    register = result.output.partition("Redirect URI to register")[2]
    assert uri in register.splitlines()[1]


def test_check_warns_about_samesite_strict(make_app: AppFactory) -> None:
    result = check(make_app(SESSION_COOKIE_SAMESITE="Strict"))
    assert result.exit_code == 0
    warnings = warnings_part(result.output)
    assert '"Strict"' in warnings
    assert "every login fails" in warnings


def test_check_has_no_samesite_warning_with_lax(make_app: AppFactory) -> None:
    result = check(make_app(SESSION_COOKIE_SAMESITE="Lax"))
    assert "SESSION_COOKIE_SAMESITE" not in warnings_part(result.output)


def test_check_warns_about_missing_secret_key(make_app: AppFactory) -> None:
    result = check(make_app(SECRET_KEY=None))
    assert result.exit_code == 0
    assert "SECRET_KEY is not set" in warnings_part(result.output)


def test_check_warns_about_plain_http_public_redirect_uri_naming_proxyfix(
    make_app: AppFactory,
) -> None:
    result = check(make_app(REDIRECT_URI="http://example.com/cb"))
    warnings = warnings_part(result.output)
    assert "http://example.com/cb" in warnings
    assert "ProxyFix" in warnings


def test_check_warns_that_the_sandbox_is_on() -> None:
    result = check(sandbox_app())
    assert result.exit_code == 0, result.output
    assert "ROCKETPUNCH_SANDBOX is on" in warnings_part(result.output)
    assert "(sandbox consent page)" in result.output
    assert "sandbox-secret" not in result.output


def test_check_with_a_clean_configuration_has_no_warnings(
    make_app: AppFactory,
) -> None:
    app = make_app(
        REDIRECT_URI="https://app.example.com/auth/rocketpunch/callback",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=True,
    )
    result = check(app)
    assert result.exit_code == 0
    assert "No warnings." in result.output
    assert "Warnings:" not in result.output


def test_check_reports_a_broken_configuration_naming_the_key(
    make_app: AppFactory,
) -> None:
    app = make_app()
    app.config["ROCKETPUNCH_CLIENT_AUTH"] = "private_key_jwt"
    result = check(app)
    assert result.exit_code != 0
    assert "ROCKETPUNCH_CLIENT_AUTH" in result.output
    assert "Traceback" not in result.output


def test_check_warns_when_a_local_provider_shares_the_host_and_cookie_name(
    make_app: AppFactory,
) -> None:
    # make_app's provider runs on 127.0.0.1: with the app on the same host,
    # both Flask apps would write a cookie named "session".
    app = make_app(REDIRECT_URI="http://127.0.0.1:5000/auth/rocketpunch/callback")
    result = app.test_cli_runner().invoke(args=["rocketpunch", "check"])
    assert "Browsers share cookies between ports" in result.output
    assert "SESSION_COOKIE_NAME" in result.output

    app = make_app(
        REDIRECT_URI="http://127.0.0.1:5000/auth/rocketpunch/callback",
        SESSION_COOKIE_NAME="client_session",
    )
    result = app.test_cli_runner().invoke(args=["rocketpunch", "check"])
    assert "Browsers share cookies between ports" not in result.output


def test_purge_has_nothing_to_do_for_the_session_storage(make_app: AppFactory) -> None:
    result = make_app().test_cli_runner().invoke(args=["rocketpunch", "purge"])
    assert result.exit_code == 0, result.output
    assert "SessionStorage expires tokens on its own: nothing needs purging." in (
        result.output
    )
    assert MemoryStorage().purge() == 0


SECURE_WARNING = "SESSION_COOKIE_SECURE is not True"


def test_check_flags_an_https_redirect_uri_without_secure_cookies(
    make_app: AppFactory,
) -> None:
    uri = "https://app.example.com/auth/rocketpunch/callback"
    warnings = warnings_part(check(make_app(REDIRECT_URI=uri)).output)
    assert SECURE_WARNING in warnings
    assert "SESSION_COOKIE_SECURE = True" in warnings

    app = make_app(REDIRECT_URI=uri, SESSION_COOKIE_SECURE=False)
    assert SECURE_WARNING in warnings_part(check(app).output)

    app = make_app(REDIRECT_URI=uri, SESSION_COOKIE_SECURE=True)
    assert "SESSION_COOKIE_SECURE" not in warnings_part(check(app).output)


def test_check_flags_https_from_the_url_scheme_or_public_url_too(
    make_app: AppFactory,
) -> None:
    computed = make_app(SERVER_NAME="app.example.com", PREFERRED_URL_SCHEME="https")
    assert SECURE_WARNING in warnings_part(check(computed).output)
    public = make_app()
    public.config["PUBLIC_URL"] = "https://app.example.com/"
    assert SECURE_WARNING in warnings_part(check(public).output)
    prefixed = make_app(PUBLIC_URL="https://app.example.com/")
    assert SECURE_WARNING in warnings_part(check(prefixed).output)


def test_check_does_not_ask_for_secure_cookies_on_plain_http(
    make_app: AppFactory,
) -> None:
    result = check(make_app(SESSION_COOKIE_SAMESITE="Lax"))
    assert "SESSION_COOKIE_SECURE" not in result.output


REAL_ID_WARNING = "looks like a registered application's"
NOT_DEBUG_WARNING = "neither debug nor testing"


def test_check_flags_the_sandbox_with_a_real_looking_client_id() -> None:
    # init_app refuses an rp_app_ id with the sandbox unless it is forced;
    # forced, check still says so.
    app = sandbox_app(
        CLIENT_ID="rp_app_8f2c41",
        CLIENT_SECRET="s" * 40,
        TESTING=True,
        SANDBOX_FORCE=True,
    )
    warnings = warnings_part(check(app).output)
    assert REAL_ID_WARNING in warnings
    assert "'rp_app_8f2c41'" in warnings
    assert "s" * 40 not in check(app).output

    for made_up in ("sandbox-client", "test-client", "example-app"):
        app = sandbox_app(CLIENT_ID=made_up, TESTING=True)
        assert REAL_ID_WARNING not in check(app).output, made_up
    assert REAL_ID_WARNING not in check(sandbox_app(TESTING=True)).output


def test_check_flags_the_sandbox_outside_debug_and_testing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = sandbox_app(TESTING=True)
    assert NOT_DEBUG_WARNING not in check(app).output
    # As in production: neither debug nor testing (set after init_app, which
    # may refuse such a sandbox unless it is forced).
    app.testing = False
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    warnings = warnings_part(check(app).output)
    assert NOT_DEBUG_WARNING in warnings
    assert "FLASK_DEBUG=1" in warnings
    monkeypatch.setenv("FLASK_DEBUG", "1")  # what `flask --debug` sets
    assert NOT_DEBUG_WARNING not in check(app).output


def test_check_on_a_production_config_flags_nothing_about_the_sandbox(
    make_app: AppFactory,
) -> None:
    app = make_app(CLIENT_ID="rp_app_8f2c41")
    output = check(app).output
    assert REAL_ID_WARNING not in output
    assert NOT_DEBUG_WARNING not in output
