"""``Accept-Language`` towards Rocketpunch: ``ROCKETPUNCH_LANGUAGE``, else the
request's best match among the languages Rocketpunch answers in, else none
(Rocketpunch's default, Korean); on the code exchange, the refresh, userinfo
and API calls; per-call headers win."""

from __future__ import annotations

import collections.abc as cabc
import typing as t

import pytest
from flask import Flask, request
from recording import RecordingProvider, endpoints, log_in
from support import app_clock, config_keys, create_app, extension
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from flask_rocketpunch import ConfigurationError, rocketpunch
from flask_rocketpunch.headers import best_language
from flask_rocketpunch.settings import load_settings


@pytest.fixture
def api_host() -> cabc.Iterator[RecordingProvider]:
    provider = RecordingProvider().start()
    yield provider
    provider.stop()


def language_app(provider: RecordingProvider, **config: t.Any) -> Flask:
    app = create_app(
        config_keys(
            {
                "CLIENT_ID": "rp_app_lang",
                "CLIENT_SECRET": "rp_sec_not-shown",
                **endpoints(provider),
                **config,
            }
        )
    )

    @app.get("/me")
    def me() -> t.Any:
        wanted = request.args.get("lang")
        headers = None if wanted is None else {"Accept-Language": wanted or None}
        return rocketpunch.userinfo(headers=headers)

    @app.get("/posts")
    def posts() -> t.Any:
        return rocketpunch.get("posts").json()

    return app


PATHS = ("/oauth/token", "/oauth/userinfo", "/api/v1/posts")


def sent(provider: RecordingProvider) -> dict[str, list[str | None]]:
    """The ``Accept-Language`` of each call, by path."""
    return {
        path: [r.header("Accept-Language") for r in provider.to(path)]
        for path in (*PATHS, "/oauth/revoke")
    }


def test_follows_the_requests_best_match_everywhere(
    api_host: RecordingProvider,
) -> None:
    app = language_app(api_host)
    clock = app_clock(app)
    client = app.test_client()
    browser = {"Accept-Language": "en-US,en;q=0.9,ko;q=0.5"}

    log_in(client, browser)
    assert client.get("/me", headers=browser).status_code == 200
    clock.advance(3600)  # the next call refreshes first
    assert client.get("/posts", headers=browser).get_json()["language"] == "en"

    assert [r.form["grant_type"] for r in api_host.to("/oauth/token")] == [
        "authorization_code",
        "refresh_token",
    ]
    assert sent(api_host) == {
        "/oauth/token": ["en", "en"],
        "/oauth/userinfo": ["en"],
        "/api/v1/posts": ["en"],
        "/oauth/revoke": [],
    }


def test_sends_none_when_the_request_names_no_supported_language(
    api_host: RecordingProvider,
) -> None:
    client = language_app(api_host).test_client()
    log_in(client, {"Accept-Language": "nl-BE,nl"})

    assert client.get("/me").status_code == 200
    assert client.get("/posts", headers={"Accept-Language": "sv"}).status_code == 200

    assert all(value is None for values in sent(api_host).values() for value in values)


def test_each_request_gets_the_language_of_its_own_header(
    api_host: RecordingProvider,
) -> None:
    # Negotiations are remembered per header value: a browser that changes
    # its languages, and a header too long to be remembered, still count.
    client = language_app(api_host).test_client()
    log_in(client)
    long_header = ",".join(f"x-unknown{i:02d};q=0.1" for i in range(20)) + ",ja"
    assert len(long_header) > 200

    for header in ("en", "ko", "en", long_header, "en"):
        answer = client.get("/posts", headers={"Accept-Language": header})
        assert answer.status_code == 200

    assert sent(api_host)["/api/v1/posts"] == ["en", "ko", "en", "ja", "en"]


def test_the_setting_wins_over_the_request(api_host: RecordingProvider) -> None:
    client = language_app(api_host, LANGUAGE="ja").test_client()
    log_in(client, {"Accept-Language": "en"})

    assert client.get("/posts", headers={"Accept-Language": "en"}).status_code == 200

    assert api_host.last("/oauth/token").header("Accept-Language") == "ja"
    assert api_host.last("/api/v1/posts").header("Accept-Language") == "ja"


def test_per_call_headers_win_and_none_drops_the_header(
    api_host: RecordingProvider,
) -> None:
    client = language_app(api_host, LANGUAGE="en").test_client()
    log_in(client)

    assert client.get("/me?lang=vi").status_code == 200
    assert api_host.last("/oauth/userinfo").header("Accept-Language") == "vi"
    assert client.get("/me?lang=").status_code == 200
    assert api_host.last("/oauth/userinfo").header("Accept-Language") is None


def test_outside_a_request_only_the_setting_counts(
    api_host: RecordingProvider,
) -> None:
    app = language_app(api_host)
    extension(app).public_client(app).get("posts")
    assert api_host.last("/api/v1/posts").header("Accept-Language") is None

    app = language_app(api_host, LANGUAGE="zh-tw")
    extension(app).public_client(app).get("posts")
    assert api_host.last("/api/v1/posts").header("Accept-Language") == "zh-TW"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", "en"),
        ("ko-KR,ko;q=0.9,en-US;q=0.8", "ko"),
        ("fr-CA", "fr"),
        ("zh-cn", "zh-CN"),
        ("zh-HK", "zh-TW"),
        ("zh-Hant-TW", "zh-TW"),
        ("zh-Hans", "zh-CN"),
        ("de;q=0, pt-BR;q=0.4", "pt"),
        ("nl, sv", None),
        ("", None),
    ],
)
def test_best_language(header: str, expected: str | None) -> None:
    assert best_language(parse_accept_header(header, LanguageAccept)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("ko", "ko"), ("EN", "en"), ("zh_cn", "zh-CN"), ("zh-tw", "zh-TW"), ("", None)],
)
def test_setting_is_read_as_rocketpunch_spells_it(
    value: str, expected: str | None
) -> None:
    config = config_keys({"CLIENT_ID": "c", "CLIENT_SECRET": "s", "LANGUAGE": value})
    assert load_settings(config).language == expected


@pytest.mark.parametrize("value", ["english", "en-US,en", "nl", 3])
def test_an_unknown_language_is_a_configuration_error(value: object) -> None:
    config = config_keys({"CLIENT_ID": "c", "CLIENT_SECRET": "s", "LANGUAGE": value})
    with pytest.raises(ConfigurationError) as info:
        load_settings(config)
    assert "ROCKETPUNCH_LANGUAGE" in str(info.value)
    assert "zh-CN" in str(info.value)
