"""load_settings: defaults, required keys, URL and value validation."""

from __future__ import annotations

import typing as t

import pytest

from flask_rocketpunch import settings as settings_module
from flask_rocketpunch.exceptions import ConfigurationError
from flask_rocketpunch.settings import (
    SANDBOX_ORIGIN,
    Settings,
    is_loopback_host,
    load_settings,
)

SECRET = "client-secret-s3cr3t"


def load(**keys: t.Any) -> Settings:
    """load_settings with a client id and secret, and ``keys`` without their
    ``ROCKETPUNCH_`` prefix (a value of ``None`` removes the key)."""
    config: dict[str, t.Any] = {
        "ROCKETPUNCH_CLIENT_ID": "client-id",
        "ROCKETPUNCH_CLIENT_SECRET": SECRET,
    }
    for key, value in keys.items():
        if value is None:
            config.pop(f"ROCKETPUNCH_{key}", None)
        else:
            config[f"ROCKETPUNCH_{key}"] = value
    return load_settings(config)


def refused(**keys: t.Any) -> str:
    with pytest.raises(ConfigurationError) as info:
        load(**keys)
    return str(info.value)


def test_defaults_point_at_rocketpunch_production() -> None:
    s = load()
    assert s.client_id == "client-id"
    assert s.client_secret == SECRET
    assert s.scopes == frozenset({"profile"})
    assert s.redirect_uri is None
    assert s.url_prefix == "/auth/rocketpunch"
    assert s.authorize_url == "https://developers.rocketpunch.com/oauth/authorize"
    assert s.token_url == "https://openapi.rocketpunch.com/oauth/token"
    assert s.revoke_url == "https://openapi.rocketpunch.com/oauth/revoke"
    assert s.userinfo_url == "https://openapi.rocketpunch.com/oauth/userinfo"
    assert s.api_base_url == "https://openapi.rocketpunch.com/api/v1/"
    assert s.client_auth == "client_secret_post"
    assert s.login_redirect == "/"
    assert s.refresh_leeway == 300
    assert s.use_pkce is True
    assert s.timeout == 5.0
    assert s.sandbox is False
    assert s.sandbox_flavor == "current"
    assert s.insecure_transport is False
    assert s.login_ttl == 600
    assert s.max_pending_logins == 5


def test_defaults_table_is_not_mutated_by_loading() -> None:
    before = dict(settings_module.DEFAULTS)
    load(SCOPES="profile email", SANDBOX=True, SANDBOX_FLAVOR="guide")
    assert before == settings_module.DEFAULTS


def test_repr_hides_the_client_secret() -> None:
    assert SECRET not in repr(load())


@pytest.mark.parametrize("key", ["CLIENT_ID", "CLIENT_SECRET"])
@pytest.mark.parametrize("value", [None, ""])
def test_missing_client_credentials_name_the_key_and_env_var(
    key: str, value: str | None
) -> None:
    message = refused(**{key: value})
    assert f"ROCKETPUNCH_{key}" in message
    assert f"FLASK_ROCKETPUNCH_{key}" in message
    assert "ROCKETPUNCH_SANDBOX" in message


def test_empty_config_names_the_client_id_first() -> None:
    with pytest.raises(ConfigurationError, match="ROCKETPUNCH_CLIENT_ID"):
        load_settings({})


def test_sandbox_needs_no_client_credentials() -> None:
    s = load_settings({"ROCKETPUNCH_SANDBOX": True})
    assert s.sandbox is True
    assert s.client_id
    assert s.client_secret
    assert s.authorize_url is None
    assert s.token_url == f"{SANDBOX_ORIGIN}/oauth/token"
    assert s.revoke_url == f"{SANDBOX_ORIGIN}/oauth/revoke"
    assert s.userinfo_url == f"{SANDBOX_ORIGIN}/oauth/userinfo"
    assert s.api_base_url == f"{SANDBOX_ORIGIN}/api/v1/"
    assert s.scopes == frozenset({"profile"})
    assert s.use_pkce is True


@pytest.mark.parametrize("flag", ["1", "true", "True", "yes", "on", " ON "])
def test_sandbox_flag_from_environment_strings(flag: str) -> None:
    assert load_settings({"ROCKETPUNCH_SANDBOX": flag}).sandbox is True


@pytest.mark.parametrize("flag", ["0", "false", "no", "off", ""])
def test_false_sandbox_strings_keep_sandbox_off(flag: str) -> None:
    assert load(SANDBOX=flag).sandbox is False


def test_sandbox_ignores_configured_production_urls() -> None:
    s = load(SANDBOX=True, TOKEN_URL="http://evil.example/token")
    assert s.token_url == f"{SANDBOX_ORIGIN}/oauth/token"


def test_guide_sandbox_uses_profile_read_scope_and_no_pkce() -> None:
    s = load_settings(
        {"ROCKETPUNCH_SANDBOX": True, "ROCKETPUNCH_SANDBOX_FLAVOR": "guide"}
    )
    assert s.sandbox_flavor == "guide"
    assert s.scopes == frozenset({"profile:read"})
    assert s.use_pkce is False
    assert s.revoke_url is None
    assert s.userinfo_url == f"{SANDBOX_ORIGIN}/api/v1/profiles/me"


def test_guide_sandbox_keeps_explicit_scopes_and_pkce() -> None:
    s = load(
        SANDBOX=True,
        SANDBOX_FLAVOR="guide",
        SCOPES=["profile:read", "profile:email"],
        USE_PKCE=True,
    )
    assert s.scopes == frozenset({"profile:read", "profile:email"})
    assert s.use_pkce is True


def test_unknown_sandbox_flavor_is_refused() -> None:
    assert "ROCKETPUNCH_SANDBOX_FLAVOR" in refused(SANDBOX_FLAVOR="old")


URL_KEYS = ["AUTHORIZE_URL", "TOKEN_URL", "REVOKE_URL", "USERINFO_URL", "API_BASE_URL"]


@pytest.mark.parametrize("key", URL_KEYS)
def test_plain_http_provider_url_is_refused(key: str) -> None:
    message = refused(**{key: "http://rocketpunch.example/x"})
    assert f"ROCKETPUNCH_{key}" in message
    assert "ROCKETPUNCH_INSECURE_TRANSPORT" in message


@pytest.mark.parametrize("key", URL_KEYS)
def test_plain_http_provider_url_allowed_with_insecure_transport(key: str) -> None:
    s = load(**{key: "http://rocketpunch.example/x/", "INSECURE_TRANSPORT": True})
    assert s.insecure_transport is True
    assert getattr(s, key.lower()) == "http://rocketpunch.example/x/"


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.0.0.2", "localhost", "app.localhost", "[::1]", "LOCALHOST"],
)
def test_plain_http_loopback_provider_url_is_allowed(host: str) -> None:
    url = f"http://{host}:8000/oauth/token"
    assert load(TOKEN_URL=url).token_url == url


@pytest.mark.parametrize(
    "host",
    [
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "10.0.0.1",
        "0.0.0.0",  # noqa: S104
        "evil",
    ],
)
def test_plain_http_lookalike_loopback_hosts_are_refused(host: str) -> None:
    refused(TOKEN_URL=f"http://{host}/oauth/token")


def test_is_loopback_host() -> None:
    assert is_loopback_host("::1")
    assert is_loopback_host("[::1]")
    assert not is_loopback_host(None)
    assert not is_loopback_host("")
    assert not is_loopback_host("example.com")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "rocketpunch.example/token",
        "/oauth/token",
        "ftp://x.example/",
        42,
        "https://",
    ],
    ids=repr,
)
def test_provider_url_that_is_not_absolute_http_is_refused(url: object) -> None:
    assert "ROCKETPUNCH_TOKEN_URL" in refused(TOKEN_URL=url)


def test_revoke_url_can_be_disabled() -> None:
    config = {
        "ROCKETPUNCH_CLIENT_ID": "id",
        "ROCKETPUNCH_CLIENT_SECRET": "secret",
        "ROCKETPUNCH_REVOKE_URL": None,
    }
    assert load_settings(config).revoke_url is None


def test_api_base_url_gets_a_trailing_slash() -> None:
    s = load(API_BASE_URL="https://api.example/v2")
    assert s.api_base_url == "https://api.example/v2/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["profile", "email"], {"profile", "email"}),
        ("profile email", {"profile", "email"}),
        ("  profile   email ", {"profile", "email"}),
        (("profile",), {"profile"}),
        ({"email"}, {"email"}),
    ],
    ids=repr,
)
def test_scopes_as_list_or_space_separated_string(
    value: object, expected: set[str]
) -> None:
    assert load(SCOPES=value).scopes == frozenset(expected)


@pytest.mark.parametrize("value", ["", "   ", []], ids=repr)
def test_empty_scopes_are_refused(value: object) -> None:
    assert "ROCKETPUNCH_SCOPES" in refused(SCOPES=value)


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
def test_client_auth_methods_accepted(method: str) -> None:
    assert load(CLIENT_AUTH=method).client_auth == method


@pytest.mark.parametrize("method", ["basic", "none", "private_key_jwt", ""])
def test_unknown_client_auth_is_refused(method: str) -> None:
    message = refused(CLIENT_AUTH=method)
    assert "ROCKETPUNCH_CLIENT_AUTH" in message
    assert "client_secret_basic" in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3.0), (0.5, 0.5), ((2, 10), (2.0, 10.0)), ([1.5, 4], (1.5, 4.0))],
    ids=repr,
)
def test_timeout_number_or_connect_read_pair(
    value: object, expected: float | tuple[float, float]
) -> None:
    assert load(TIMEOUT=value).timeout == expected


@pytest.mark.parametrize(
    "value",
    [0, -1, True, "5", None, (1, 2, 3), (0, 5), (1, "x"), float("nan")],
    ids=repr,
)
def test_bad_timeout_is_refused(value: object) -> None:
    config = {
        "ROCKETPUNCH_CLIENT_ID": "id",
        "ROCKETPUNCH_CLIENT_SECRET": "secret",
        "ROCKETPUNCH_TIMEOUT": value,
    }
    with pytest.raises(ConfigurationError, match="ROCKETPUNCH_TIMEOUT"):
        load_settings(config)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("/auth/rocketpunch", "/auth/rocketpunch"),
        ("/login/rp/", "/login/rp"),
        ("/rp", "/rp"),
    ],
)
def test_url_prefix_is_kept_without_trailing_slash(prefix: str, expected: str) -> None:
    assert load(URL_PREFIX=prefix).url_prefix == expected


def test_url_prefix_slash_mounts_at_the_root() -> None:
    """``"/"`` starts with ``/``; the blueprint accepts an empty prefix."""
    assert load(URL_PREFIX="/").url_prefix == ""


@pytest.mark.parametrize("prefix", ["auth", "auth/rocketpunch", "https://x.example/a"])
def test_url_prefix_without_leading_slash_is_refused(prefix: str) -> None:
    assert "ROCKETPUNCH_URL_PREFIX" in refused(URL_PREFIX=prefix)


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example/auth/rocketpunch/callback",
        "http://localhost:5000/auth/rocketpunch/callback",
        "https://app.example/cb?tenant=1",
    ],
)
def test_absolute_redirect_uri_is_accepted(uri: str) -> None:
    assert load(REDIRECT_URI=uri).redirect_uri == uri


@pytest.mark.parametrize(
    "uri",
    [
        "/auth/rocketpunch/callback",
        "app.example/callback",
        "https://app.example/callback#frag",
        "myapp://callback",
        "",
    ],
    ids=repr,
)
def test_bad_redirect_uri_is_refused(uri: str) -> None:
    assert "ROCKETPUNCH_REDIRECT_URI" in refused(REDIRECT_URI=uri)


def test_numbers_from_environment_strings() -> None:
    s = load(REFRESH_LEEWAY="60", LOGIN_TTL="120.5", MAX_PENDING_LOGINS="3")
    assert s.refresh_leeway == 60
    assert s.login_ttl == 120.5
    assert s.max_pending_logins == 3


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("REFRESH_LEEWAY", -1),
        ("REFRESH_LEEWAY", "soon"),
        ("LOGIN_TTL", 0),
        ("MAX_PENDING_LOGINS", 0),
        ("MAX_PENDING_LOGINS", "many"),
    ],
    ids=repr,
)
def test_out_of_range_numbers_are_refused(key: str, value: object) -> None:
    assert f"ROCKETPUNCH_{key}" in refused(**{key: value})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("LOGIN_TTL", "nan"),
        ("LOGIN_TTL", float("nan")),
        ("REFRESH_LEEWAY", float("nan")),
        ("MAX_PENDING_LOGINS", "inf"),
        ("MAX_PENDING_LOGINS", float("nan")),
    ],
    ids=repr,
)
def test_non_finite_numbers_are_a_configuration_error(key: str, value: object) -> None:
    """NaN passes ``value < minimum``; it must not reach the login view (where
    ``round(nan)`` crashes) nor escape as OverflowError/ValueError."""
    assert f"ROCKETPUNCH_{key}" in refused(**{key: value})
