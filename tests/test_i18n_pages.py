"""Every page and message a person reads, in Korean and in English: the
default error pages and JSON errors, the sandbox's pages, the language rule
with and without Flask-Babel, and ``flask rocketpunch check``."""

from __future__ import annotations

import html
import re
import sys
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import Babel
from support import create_app, sandbox_app

from flask_rocketpunch import (
    APIError,
    ConfigurationError,
    NoLoginInFlightError,
    OAuthError,
    ProviderError,
    RateLimitError,
    ReauthorizationRequired,
    RocketpunchError,
    StateExpiredError,
    StateMismatchError,
    StorageError,
    login_required_rocketpunch,
)
from flask_rocketpunch.exceptions import (
    NO_SECRET_KEY,
    ScopeRefusedError,
    UnsafeURLError,
)
from flask_rocketpunch.testing import complete_login, misbehave, sandbox_of

KO = "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7"
EN = "en-US,en;q=0.9"
HANGUL = re.compile("[가-힣]")


def visible_text(page: str) -> str:
    """The text of an HTML page as a reader sees it (no tags, no styles)."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def element_text(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, flags=re.S)
    assert match, f"no #{element_id} in the page"
    return html.unescape(match.group(1)).strip()


def html_lang(page: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', page)
    assert match, "no <html lang>"
    return match.group(1)


#: Each error a default page exists for, with its status and what the
#: Korean and the English page say (a part of the message).
ERRORS: list[tuple[str, RocketpunchError, int, str, str]] = [
    (
        "denied",
        OAuthError("access_denied", at="callback"),
        403,
        "로켓펀치 계정을 연결하지 않기로 하셨습니다",
        "You chose not to connect your Rocketpunch account",
    ),
    (
        "no-login-in-flight",
        NoLoginInFlightError("no login in flight (developer text)"),
        400,
        "진행 중인 로켓펀치 로그인이 없습니다",
        "no Rocketpunch login in progress",
    ),
    (
        "state-mismatch",
        StateMismatchError("state mismatch (developer text)"),
        400,
        "이 브라우저에서 시작한 로그인의 것이 아닙니다",
        "does not belong to a login started in this browser",
    ),
    (
        "state-expired",
        StateExpiredError("expired (developer text)"),
        400,
        "시간이 너무 오래 걸려 만료되었습니다",
        "took too long and has expired",
    ),
    (
        "invalid-grant",
        OAuthError("invalid_grant", "code already used"),
        400,
        "일회용 코드가 이미 사용되었거나 만료되었습니다",
        "one-time code was already used",
    ),
    (
        "invalid-client",
        OAuthError("invalid_client"),
        500,
        "ROCKETPUNCH_CLIENT_SECRET",
        "Rocketpunch did not recognise this site",
    ),
    (
        "unknown-oauth-error",
        OAuthError("made_up_error", at="callback"),
        400,
        "로그인을 완료하지 못했습니다(made_up_error)",
        "could not complete the login (made_up_error)",
    ),
    (
        "provider-unavailable",
        OAuthError("temporarily_unavailable", at="callback"),
        503,
        "일시적으로 사용할 수 없습니다",
        "temporarily unavailable",
    ),
    (
        "timeout",
        ProviderError("slow (developer text)", reason="timeout"),
        504,
        "제시간에 응답하지 않았습니다",
        "did not answer in time",
    ),
    (
        "connection",
        ProviderError("down (developer text)", reason="connection"),
        502,
        "로켓펀치에 연결할 수 없습니다",
        "could not be reached",
    ),
    (
        "provider-5xx",
        ProviderError("500 (developer text)", reason="server_error"),
        502,
        "지금 로켓펀치에 문제가 있습니다",
        "having trouble right now",
    ),
    (
        "invalid-response",
        ProviderError("html (developer text)", reason="invalid_response"),
        502,
        "응답을 이 사이트에서 읽지 못했습니다",
        "could not read",
    ),
    (
        "refresh-pending",
        ProviderError("pending (developer text)", reason="refresh_pending"),
        503,
        "다른 창이나 탭에서 로그인을 갱신하고 있습니다",
        "being renewed in another window",
    ),
    (
        "storage",
        StorageError("Redis failed (developer text)"),
        503,
        "저장소에 연결하지 못했습니다",
        "could not reach the place where it keeps logins",
    ),
    (
        "scope-refused",
        ScopeRefusedError("refused (developer text)", scopes=["email"]),
        403,
        "지난번 요청 때 로켓펀치가 email 권한을 허용하지 않았습니다",
        "did not grant email the last time",
    ),
    (
        "unsafe-url",
        UnsafeURLError("another host (developer text)"),
        400,
        "로켓펀치가 아닌 곳으로 보내려 해서 막았습니다",
        "somewhere other than Rocketpunch",
    ),
    (
        "rate-limit",
        RateLimitError(429, "C0010", "Rate limit exceeded.", retry_after=7),
        429,
        "7초 후에 다시 시도하세요",
        "Try again in 7 seconds",
    ),
    (
        "rate-limit-no-retry-after",
        RateLimitError(429, "C0010", "Rate limit exceeded."),
        429,
        "너무 많은 요청을 보냈습니다",
        "too many requests",
    ),
    (
        "missing-scope",
        APIError(403, "C0011", "The access token lacks the required scope."),
        502,
        "권한이 부족합니다",
        "lacks a permission",
    ),
    (
        "api-401",
        APIError(401, "C0001", "The access token is invalid."),
        502,
        "더 이상 유효하지 않습니다",
        "no longer accepts your login",
    ),
    (
        "api-404",
        APIError(404, "C0008", "Resource not found."),
        502,
        "찾을 수 없습니다",
        "could not find",
    ),
    (
        "api-5xx",
        APIError(500, "C9999", "Internal error."),
        502,
        "지금 로켓펀치에 문제가 있습니다",
        "having trouble right now",
    ),
    (
        "api-400",
        APIError(400, "C0005", "Invalid parameter."),
        502,
        "요청을 거절했습니다(HTTP 400)",
        "turned down a request from this site (HTTP 400)",
    ),
    (
        "no-secret-key",
        ConfigurationError(NO_SECRET_KEY),
        500,
        "SECRET_KEY가 설정되어 있지 않아",
        "its SECRET_KEY is not set",
    ),
    (
        "configuration",
        ConfigurationError("ROCKETPUNCH_FOO is wrong (developer text)"),
        500,
        "flask rocketpunch check",
        "flask rocketpunch check",
    ),
    (
        "other",
        RocketpunchError("something (developer text)"),
        500,
        "문제가 생겼습니다",
        "Something went wrong",
    ),
]


@pytest.fixture
def error_app() -> Flask:
    """An app whose ``/boom/<name>`` raises the error of :data:`ERRORS` with
    that name."""
    app = create_app({"ROCKETPUNCH_CLIENT_ID": "id", "ROCKETPUNCH_CLIENT_SECRET": "s"})
    errors = {name: error for name, error, *_ in ERRORS}

    @app.get("/boom/<name>")
    def boom(name: str) -> str:
        raise errors[name]

    return app


@pytest.mark.parametrize(
    ("name", "status", "korean", "english"),
    [(name, status, ko, en) for name, _, status, ko, en in ERRORS],
)
def test_every_default_error_page_in_korean_and_english(
    error_app: Flask, name: str, status: int, korean: str, english: str
) -> None:
    client = error_app.test_client()
    ko = client.get(f"/boom/{name}", headers={"Accept-Language": KO})
    en = client.get(f"/boom/{name}", headers={"Accept-Language": EN})
    assert ko.status_code == en.status_code == status
    ko_page, en_page = ko.get_data(as_text=True), en.get_data(as_text=True)
    assert html_lang(ko_page) == "ko"
    assert html_lang(en_page) == "en"
    assert ko.headers["Content-Language"] == "ko"
    assert en.headers["Content-Language"] == "en"
    ko_title = element_text(ko_page, "rocketpunch-error-title")
    assert HANGUL.search(ko_title), ko_title
    assert not HANGUL.search(element_text(en_page, "rocketpunch-error-title"))
    assert korean in element_text(ko_page, "rocketpunch-error-message")
    assert english in element_text(en_page, "rocketpunch-error-message")
    assert not HANGUL.search(visible_text(en_page))
    # The buttons are in the page's language too.
    assert "홈으로 돌아가기" in ko_page
    assert "Back to the home page" in en_page
    # The developer's English text reaches the English reader only (not in
    # debug mode).
    assert "developer text" not in ko_page
    if "developer text" in str(ERRORS[[e[0] for e in ERRORS].index(name)][1]):
        assert "developer text" in en_page


def test_a_korean_page_has_no_english_sentence_left(error_app: Flask) -> None:
    client = error_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = KO
    for name, *_ in ERRORS:
        text = visible_text(client.get(f"/boom/{name}").get_data(as_text=True))
        # Names of things stay as they are (error classes and codes, keys,
        # the command); no run of three English words is left.
        text = re.sub(r"\b[A-Z][A-Za-z_]+(Error|Required)\b|\([a-z_]+\)", "", text)
        # The provider's own words are quoted as they are (Rocketpunch
        # writes them in Korean).
        text = re.sub(r"로켓펀치의 설명: [^\n]*|`[^`]*`", "", text)
        assert not re.search(r"\b[A-Za-z]{2,}\s+[A-Za-z]{2,}\s+[A-Za-z]{2,}\b", text), (
            name,
            text,
        )


def test_debug_mode_shows_the_developer_text_on_a_korean_page(error_app: Flask) -> None:
    error_app.debug = True
    page = error_app.test_client().get(
        "/boom/configuration", headers={"Accept-Language": KO}
    )
    text = page.get_data(as_text=True)
    assert "이 사이트의 로켓펀치 로그인 설정에 문제가 있습니다" in text
    assert "개발자를 위한 자세한 내용" in text
    assert "ROCKETPUNCH_FOO is wrong (developer text)" in text


@pytest.mark.parametrize("name", [name for name, *_ in ERRORS])
def test_json_errors_carry_a_translated_message_and_the_english_detail(
    error_app: Flask, name: str
) -> None:
    client = error_app.test_client()
    headers = {"Accept": "application/json"}
    ko = client.get(f"/boom/{name}", headers={**headers, "Accept-Language": KO})
    en = client.get(f"/boom/{name}", headers={**headers, "Accept-Language": EN})
    assert ko.status_code == en.status_code
    assert ko.json is not None
    assert en.json is not None
    assert HANGUL.search(ko.json["message"]), ko.json
    assert not HANGUL.search(en.json["message"]), en.json
    assert ko.json["detail"] == en.json["detail"]
    assert not HANGUL.search(ko.json["detail"])
    assert ko.json["error"] == en.json["error"]
    assert ko.headers["Content-Language"] == "ko"


def test_the_401_json_for_a_protected_view_is_translated() -> None:
    app = create_app({"ROCKETPUNCH_CLIENT_ID": "id", "ROCKETPUNCH_CLIENT_SECRET": "s"})

    @app.get("/api/private")
    @login_required_rocketpunch
    def private() -> str:
        return "private"

    client = app.test_client()
    headers = {"Accept": "application/json"}
    ko = client.get("/api/private", headers={**headers, "Accept-Language": KO})
    en = client.get("/api/private", headers={**headers, "Accept-Language": EN})
    assert ko.status_code == en.status_code == 401
    assert ko.json == {
        "error": "login_required",
        "message": "계속하려면 로켓펀치로 로그인하세요.",
        "detail": "You are not logged in with Rocketpunch.",
        "login_url": "/auth/rocketpunch/login?next=/api/private",
    }
    assert en.json is not None
    assert en.json["message"] == "Log in with Rocketpunch to continue."


def test_a_scope_upgrade_401_says_more_permissions_are_needed() -> None:
    app = create_app({"ROCKETPUNCH_CLIENT_ID": "id", "ROCKETPUNCH_CLIENT_SECRET": "s"})

    @app.get("/api/more")
    def more() -> str:
        raise ReauthorizationRequired("needs email", scopes={"email"})

    answer = app.test_client().get(
        "/api/more", headers={"Accept": "application/json", "Accept-Language": KO}
    )
    assert answer.status_code == 401
    assert answer.json is not None
    assert "권한이 더 필요합니다" in answer.json["message"]


# -- the language rule in an app -------------------------------------------------


def _deny_page(client: FlaskClient, **headers: str) -> str:
    client.environ_base.update(
        {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    )
    response = complete_login(client, decision="deny")
    assert response.status_code == 403
    return response.get_data(as_text=True)


def test_without_flask_babel_the_header_then_the_default_decides() -> None:
    app = sandbox_app()
    assert "babel" not in app.extensions
    assert html_lang(_deny_page(app.test_client(), accept_language=KO)) == "ko"
    assert html_lang(_deny_page(app.test_client(), accept_language=EN)) == "en"
    # No header, or none of ours: ROCKETPUNCH_DEFAULT_LOCALE (en).
    assert html_lang(_deny_page(app.test_client())) == "en"
    assert html_lang(_deny_page(app.test_client(), accept_language="ja")) == "en"
    korean_default = sandbox_app(DEFAULT_LOCALE="ko")
    page = _deny_page(korean_default.test_client(), accept_language="ja, fr")
    assert html_lang(page) == "ko"
    assert "로그인이 취소되었습니다" in page


@pytest.mark.parametrize(
    ("selected", "header", "expected"),
    [
        ("ko", EN, "ko"),
        ("ko_KR", EN, "ko"),
        ("en", KO, "en"),
        # A locale we have no catalog for: the app's choice still wins over
        # the header, and ROCKETPUNCH_DEFAULT_LOCALE stands in for it.
        ("ja", KO, "en"),
        # No selection: Flask-Babel's own default locale (en).
        (None, KO, "en"),
    ],
)
def test_with_flask_babel_its_locale_selector_decides(
    selected: str | None, header: str, expected: str
) -> None:
    app = sandbox_app()
    Babel(app, locale_selector=lambda: selected)
    page = _deny_page(app.test_client(), accept_language=header)
    assert html_lang(page) == expected


def test_flask_babels_default_locale_is_followed_when_its_selector_has_none() -> None:
    app = sandbox_app()
    app.config["BABEL_DEFAULT_LOCALE"] = "ko"
    Babel(app)
    assert html_lang(_deny_page(app.test_client(), accept_language=EN)) == "ko"


def test_another_extension_named_babel_is_not_taken_for_flask_babel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = sandbox_app()
    app.extensions["babel"] = object()
    monkeypatch.setitem(sys.modules, "flask_babel", None)
    assert html_lang(_deny_page(app.test_client(), accept_language=KO)) == "ko"


# -- the sandbox -------------------------------------------------------------------


def _consent_page(client: FlaskClient, **headers: str) -> tuple[t.Any, str]:
    start = client.get("/auth/rocketpunch/login")
    assert start.status_code == 302
    page = client.get(start.location, headers=headers)
    return page, page.get_data(as_text=True)


def test_the_sandbox_consent_page_defaults_to_korean_as_rocketpunch() -> None:
    page, text = _consent_page(sandbox_app().test_client())
    assert page.status_code == 200
    assert html_lang(text) == "ko"
    assert page.headers["Content-Language"] == "ko"
    assert "로켓펀치 계정에 접근하려고 합니다" in text
    assert ">허용</button>" in text
    assert ">거부</button>" in text
    assert "프로필 읽기: 이름, 사용자 이름, 사진" in text
    assert "샌드박스: 실제 로켓펀치가 아닙니다" in text
    assert "Approve" not in visible_text(text)


def test_the_sandbox_consent_page_in_english_when_asked() -> None:
    _page, text = _consent_page(sandbox_app().test_client(), **{"Accept-Language": EN})
    assert html_lang(text) == "en"
    assert "wants to access your Rocketpunch account" in text
    assert ">Approve</button>" in text
    assert "Read your profile: name, username and picture" in text
    assert not HANGUL.search(
        # The sample users' own names and profiles stay in their language.
        re.sub(r'<span lang="ko">.*?</label>', "", text, flags=re.S)
    )


def test_the_sandbox_shows_sample_users_in_both_languages() -> None:
    _, text = _consent_page(sandbox_app().test_client())
    assert '<span lang="ko"><span class="user-name">박서준</span>' in text
    assert "판교의 스타트업에서 일하는 프론트엔드 개발자" in text
    assert '<span lang="en"><span class="user-name">Minji Kim</span>' in text
    assert "Backend engineer at a fintech startup in Seoul" in text


def test_the_app_name_on_the_consent_page_is_escaped_in_both_languages() -> None:
    app = sandbox_app()
    sandbox_of(app).register_client(
        "sandbox-client", "sandbox-secret", "/auth/rocketpunch/callback", "<b>x</b>"
    )
    for header in (KO, EN):
        _, text = _consent_page(app.test_client(), **{"Accept-Language": header})
        assert "<strong>&lt;b&gt;x&lt;/b&gt;</strong>" in text
        assert "<b>x</b>" not in text


@pytest.mark.parametrize(
    ("query", "korean", "english"),
    [
        ("", "client_id 누락", "Missing client_id"),
        (
            "?client_id=nobody&redirect_uri=/cb",
            "client_id 'nobody'(으)로 등록된 애플리케이션이 없습니다.",
            "No application is registered with client_id 'nobody'.",
        ),
    ],
)
def test_sandbox_error_pages_in_both_languages(
    query: str, korean: str, english: str
) -> None:
    client = sandbox_app().test_client()
    url = "/_rocketpunch_sandbox/oauth/authorize" + query
    ko = client.get(url)
    en = client.get(url, headers={"Accept-Language": EN})
    assert ko.status_code == en.status_code == 400
    ko_text, en_text = ko.get_data(as_text=True), en.get_data(as_text=True)
    assert html_lang(ko_text) == "ko"
    assert html_lang(en_text) == "en"
    assert korean in html.unescape(ko_text)
    assert english in html.unescape(en_text)
    assert "신뢰할 수 없어" in ko_text
    assert "could not be trusted" in en_text


def test_a_consent_form_without_a_decision_is_answered_in_korean() -> None:
    client = sandbox_app().test_client()
    start = client.get("/auth/rocketpunch/login")
    page = client.get(start.location).get_data(as_text=True)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page))
    answer = client.post(
        "/_rocketpunch_sandbox/oauth/authorize",
        data={k: html.unescape(v) for k, v in fields.items() if k != "decision"},
    )
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert "선택하지 않았습니다" in text
    assert "허용 또는 거부를 선택하세요." in text


def test_a_provider_failure_during_login_is_shown_in_korean() -> None:
    app = sandbox_app()
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = KO
    with misbehave(sandbox_of(app), token_status=503):
        response = complete_login(client)
    assert response.status_code == 502
    text = response.get_data(as_text=True)
    assert (
        element_text(text, "rocketpunch-error-title")
        == "로켓펀치 로그인에 실패했습니다"
    )
    assert "지금 로켓펀치에 문제가 있습니다" in text


# -- flask rocketpunch check --------------------------------------------------------


def _check(app: Flask, **environ: str | None) -> str:
    env: dict[str, str | None] = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": None}
    env.update(environ)
    result = app.test_cli_runner().invoke(args=["rocketpunch", "check"], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_check_speaks_the_language_of_the_environment() -> None:
    app = sandbox_app(SECRET_KEY="")
    app.config["SECRET_KEY"] = ""
    korean = _check(app, LANG="ko_KR.UTF-8")
    assert "적용된 설정:" in korean
    assert "로켓펀치 콘솔에 등록할 리디렉션 URI:" in korean
    assert "경고:" in korean
    assert "ROCKETPUNCH_SANDBOX가 켜져 있습니다" in korean
    assert "SECRET_KEY가 설정되어 있지 않습니다" in korean
    assert "(샌드박스 동의 페이지)" in korean
    english = _check(app, LANG="en_US.UTF-8")
    assert "Effective configuration:" in english
    assert "ROCKETPUNCH_SANDBOX is on" in english
    assert not HANGUL.search(english)


def test_check_falls_back_to_the_default_locale() -> None:
    app = sandbox_app(DEFAULT_LOCALE="ko")
    output = _check(app, LANG="C.UTF-8")
    assert "적용된 설정:" in output
    assert re.search(r"ROCKETPUNCH_DEFAULT_LOCALE +ko\n", output)
    assert "Effective configuration:" in _check(sandbox_app(), LANG=None)
