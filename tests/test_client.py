"""The API client behind ``rocketpunch``: URLs, bearer header, timeouts,
refresh before expiry and after a 401, error mapping, userinfo, isolation of
users on the app's shared HTTP session; end to end against the sandbox, and
the client's pure parts (error mapping, URL joining) with plain arguments."""

from __future__ import annotations

import json
import threading
import time
import typing as t
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask, jsonify, request
from flask.testing import FlaskClient
from support import (
    AppFactory,
    StubProvider,
    extension,
    newest_access_token,
    refresh_grants,
)

from flask_rocketpunch import (
    APIError,
    RateLimitError,
    login_ended,
    login_required_rocketpunch,
    rocketpunch,
)
from flask_rocketpunch.client import RocketpunchClient, api_error
from flask_rocketpunch.manager import TokenManager
from flask_rocketpunch.refresh import RefreshCoordinator
from flask_rocketpunch.sandbox import (
    SAMPLE_USERS,
    RecordedRequest,
    SandboxProvider,
    SandboxServer,
)
from flask_rocketpunch.settings import load_settings
from flask_rocketpunch.storage import MemoryStorage
from flask_rocketpunch.testing import complete_login, login_as

JSON = dict[str, t.Any]
#: Seconds a slow provider takes: far longer than any test may wait.
SLOW_ANSWER = 30.0


def client_app(make_app: AppFactory, **config: t.Any) -> Flask:
    """The test app with views that call the API through ``rocketpunch``.

    ``/api/<method>/<path>`` reports the answer or the APIError as JSON;
    ``/raw/<path>`` lets every error reach the extension's error pages.
    """
    app = make_app(**config)

    @app.route("/api/<method>/<path:path>", methods=["GET", "POST"])
    def call_api(method: str, path: str) -> t.Any:
        kwargs: JSON = {}
        if method in ("post", "put", "patch"):
            kwargs["json"] = {"text": "hello from the tests"}
        try:
            answer = getattr(rocketpunch, method)(path, **kwargs)
        except APIError as exc:
            response = exc.response
            return jsonify(
                error=type(exc).__name__,
                status_code=exc.status_code,
                code=exc.code,
                message=exc.message,
                response_status=None if response is None else response.status_code,
                response_code=None if response is None else response.json().get("code"),
                retry_after=getattr(exc, "retry_after", None),
            ), 502
        return jsonify(status=answer.status_code, body=answer.json())

    @app.get("/raw/<path:path>")
    def raw(path: str) -> t.Any:
        return rocketpunch.get(path).json()

    @app.get("/slash")
    def slash() -> t.Any:
        return {"status": rocketpunch.get("/posts").status_code}

    @app.get("/absolute")
    def absolute() -> t.Any:
        url = request.args["url"]
        try:
            answer = rocketpunch.get(url)
        except ValueError as exc:
            return {"refused": str(exc)}, 400
        return {"status": answer.status_code}

    @app.get("/me")
    @login_required_rocketpunch
    def me() -> t.Any:
        try:
            return rocketpunch.userinfo()
        except APIError as exc:
            return {"status_code": exc.status_code, "code": exc.code}, 502

    return app


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return client_app(make_app, SCOPES="profile post:write company:manage:read")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    browser = app.test_client()
    assert complete_login(browser).status_code == 302
    return browser


def since(provider: SandboxProvider, mark: int) -> list[RecordedRequest]:
    """The requests the provider received after the first ``mark`` ones."""
    return provider.requests[mark:]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("get", "posts", 200),
        ("post", "posts", 201),
        ("put", "posts/42", 404),
        ("patch", "posts/42", 405),  # no such operation in the description
        ("delete", "posts/42", 404),
        ("get", "me/company-permissions", 200),
    ],
)
def test_each_method_calls_the_path_under_api_base_url_with_bearer_token(
    client: FlaskClient,
    rocketpunch_provider: SandboxProvider,
    method: str,
    path: str,
    expected: int,
) -> None:
    access = newest_access_token(rocketpunch_provider)
    mark = len(rocketpunch_provider.requests)

    answer = client.get(f"/api/{method}/{path}")
    data = answer.get_json()

    if expected < 400:
        assert answer.status_code == 200
        assert data["status"] == expected
    else:
        assert data["status_code"] == expected
    (seen,) = since(rocketpunch_provider, mark)
    assert seen.method == method.upper()
    assert seen.path == f"/api/v1/{path}"
    assert seen.headers["Authorization"] == f"Bearer {access}"


def test_post_sends_json_body_and_gets_created_post(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    data = client.get("/api/post/posts").get_json()

    assert data["status"] == 201
    assert data["body"]["content"] == "hello from the tests"
    listing = client.get("/api/get/posts").get_json()
    assert listing["body"]["items"][0]["content"] == "hello from the tests"


def test_leading_slash_is_still_relative_to_api_base_url(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    mark = len(rocketpunch_provider.requests)
    assert client.get("/slash").get_json() == {"status": 200}
    assert [r.path for r in since(rocketpunch_provider, mark)] == ["/api/v1/posts"]


def test_absolute_url_to_another_host_is_refused_and_never_sees_the_token(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    elsewhere = SandboxProvider()
    with SandboxServer(elsewhere) as other:
        for url in (f"{other.url}/api/v1/posts", f"//{other.url[7:]}/api/v1/posts"):
            answer = client.get("/absolute", query_string={"url": url})
            assert answer.status_code == 400
            assert "not on the Rocketpunch API host" in answer.get_json()["refused"]
    assert elsewhere.requests == []


def test_absolute_url_on_the_api_host_is_allowed(
    client: FlaskClient, rocketpunch_server: SandboxServer
) -> None:
    answer = client.get(
        "/absolute", query_string={"url": f"{rocketpunch_server.url}/api/v1/posts"}
    )
    assert answer.get_json() == {"status": 200}


def test_slow_api_times_out_with_504_page(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = client_app(make_app, TIMEOUT=0.2)
    browser = app.test_client()
    complete_login(browser)
    rocketpunch_provider.faults.timeout = True
    # Far longer than any test: the app must not wait for this answer.
    rocketpunch_provider.faults.timeout_delay = SLOW_ANSWER

    as_json = browser.get("/raw/posts", headers={"Accept": "application/json"})

    assert as_json.status_code == 504
    assert "did not answer within 0.2 seconds" in as_json.get_json()["detail"]
    # The app gave up before the API answered (no wall-clock bound needed).
    assert rocketpunch_provider.requests_to("posts")[-1].status is None

    page = browser.get("/raw/posts")
    assert page.status_code == 504
    assert "did not answer within 0.2 seconds" in page.get_data(as_text=True)


def test_slow_refresh_of_a_still_valid_token_uses_the_current_token(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = client_app(make_app, TIMEOUT=0.2, REFRESH_LEEWAY=1000)
    browser = app.test_client()
    complete_login(browser)
    access = newest_access_token(rocketpunch_provider)
    rocketpunch_provider.faults.token_delay = 0.6

    answer = browser.get("/api/get/posts")

    assert answer.get_json()["status"] == 200
    assert rocketpunch_provider.requests_to("posts")[-1].headers["Authorization"] == (
        f"Bearer {access}"
    )


def test_expired_token_and_slow_token_endpoint_give_504(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = client_app(make_app, TIMEOUT=0.2)
    browser = app.test_client()
    complete_login(browser)
    login_as(browser, expires_in=0, provider=rocketpunch_provider)
    rocketpunch_provider.faults.token_delay = 0.8

    answer = browser.get("/raw/posts", headers={"Accept": "application/json"})

    assert answer.status_code == 504
    assert "token endpoint did not answer" in answer.get_json()["detail"]
    assert rocketpunch_provider.requests_to("posts") == []


def test_token_due_for_refresh_is_refreshed_once_before_the_call_and_stored(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = client_app(make_app, REFRESH_LEEWAY=890)
    browser = app.test_client()
    complete_login(browser)
    short = login_as(browser, expires_in=60, provider=rocketpunch_provider)
    mark = len(rocketpunch_provider.requests)

    first = browser.get("/api/get/posts")
    second = browser.get("/api/get/posts")

    assert first.get_json()["status"] == 200
    assert second.get_json()["status"] == 200
    calls = since(rocketpunch_provider, mark)
    assert [c.endpoint for c in calls] == ["token", "posts", "posts"]
    assert len(refresh_grants(calls)) == 1
    fresh = newest_access_token(rocketpunch_provider)
    assert fresh != short.access_token
    assert calls[1].headers["Authorization"] == f"Bearer {fresh}"
    assert calls[2].headers["Authorization"] == f"Bearer {fresh}"


def test_token_is_refreshed_on_every_call_when_leeway_exceeds_its_life(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = client_app(make_app, REFRESH_LEEWAY=1000)
    browser = app.test_client()
    complete_login(browser)
    mark = len(rocketpunch_provider.requests)

    browser.get("/api/get/posts")
    browser.get("/api/get/posts")

    calls = since(rocketpunch_provider, mark)
    assert [c.endpoint for c in calls] == ["token", "posts", "token", "posts"]
    assert all(c.status == 200 for c in calls)


def test_rejected_access_token_is_refreshed_once_and_the_call_retried(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    old = newest_access_token(rocketpunch_provider)
    rocketpunch_provider.revoke(old)
    mark = len(rocketpunch_provider.requests)

    answer = client.get("/api/get/posts")

    assert answer.get_json()["status"] == 200
    calls = since(rocketpunch_provider, mark)
    assert [(c.endpoint, c.status) for c in calls] == [
        ("posts", 401),
        ("token", 200),
        ("posts", 200),
    ]
    assert calls[0].headers["Authorization"] == f"Bearer {old}"
    new = newest_access_token(rocketpunch_provider)
    assert new != old
    assert calls[2].headers["Authorization"] == f"Bearer {new}"

    mark = len(rocketpunch_provider.requests)
    client.get("/api/get/posts")
    (again,) = since(rocketpunch_provider, mark)
    assert again.headers["Authorization"] == f"Bearer {new}"


def test_revoked_grant_after_401_sends_the_user_to_log_in_again(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    rocketpunch_provider.revoke(list(rocketpunch_provider.refresh_tokens)[-1])

    answer = client.get("/raw/posts")

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/auth/rocketpunch/login")
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1
    again = client.get("/raw/posts", headers={"Accept": "application/json"})
    assert again.status_code == 401
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1


def test_concurrent_requests_of_one_user_refresh_the_token_once(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = client_app(make_app, REFRESH_LEEWAY=890)
    first = app.test_client()
    complete_login(first)
    login_as(first, expires_in=60, provider=rocketpunch_provider)
    second = app.test_client()
    cookie = first.get_cookie("session")
    assert cookie is not None
    second.set_cookie("session", cookie.value)
    rocketpunch_provider.faults.token_delay = 0.3
    mark = len(rocketpunch_provider.requests)
    results: list[int] = []
    barrier = threading.Barrier(2)

    def call(browser: FlaskClient) -> None:
        barrier.wait()
        results.append(browser.get("/api/get/posts").get_json()["status"])

    threads = [threading.Thread(target=call, args=(b,)) for b in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert results == [200, 200]
    calls = since(rocketpunch_provider, mark)
    assert len(refresh_grants(calls)) == 1
    fresh = newest_access_token(rocketpunch_provider)
    posts = [c for c in calls if c.endpoint == "posts"]
    assert [c.headers["Authorization"] for c in posts] == [f"Bearer {fresh}"] * 2


def test_token_refused_again_after_refresh_ends_the_login_as_revoked(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    mark = len(rocketpunch_provider.requests)
    ended: list[tuple[str, bool]] = []

    def record(sender: Flask, reason: str, current: bool, **extra: t.Any) -> None:
        ended.append((reason, current))

    rocketpunch_provider.faults.api_status = 401  # with error="invalid_token"
    with login_ended.connected_to(record, client.application):
        answer = client.get("/api/get/posts")

    # Not a loop and not an error page: the login is over, log in again.
    assert answer.status_code == 302
    assert urlsplit(answer.headers["Location"]).path == "/auth/rocketpunch/login"
    assert ended == [("revoked", True)]
    calls = since(rocketpunch_provider, mark)
    assert [(c.endpoint, c.status) for c in calls] == [
        ("posts", 401),
        ("token", 200),
        ("posts", 401),
        ("revoke", 200),
    ]
    rocketpunch_provider.faults.api_status = None
    assert client.get("/me").status_code == 302


def test_401_that_is_not_about_the_token_stays_an_api_error(
    make_app: AppFactory,
    rocketpunch_provider: SandboxProvider,
    stub_provider: StubProvider,
) -> None:
    # The provider's C0001 also means "missing or invalid API Key": without
    # error="invalid_token" the login is not ended for it.
    app = client_app(make_app, API_BASE_URL=f"{stub_provider.url}/api/v1/")
    browser = app.test_client()
    login_as(browser, provider=rocketpunch_provider)
    stub_provider.answer(
        "/api/v1/posts", 401, {"code": "C0001", "message": "Invalid API Key."}
    )

    data = browser.get("/api/get/posts").get_json()

    assert (data["error"], data["status_code"], data["code"]) == (
        "APIError",
        401,
        "C0001",
    )
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1
    assert browser.get("/me").status_code == 200


def test_api_error_in_current_shape_carries_status_code_message_response(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    data = client.get("/api/post/posts").get_json()
    assert data["status"] == 201  # the app asked for post:write

    # A token without post:write gets the provider's missing-scope error.
    login_as(client, scopes="profile", expires_in=900, provider=rocketpunch_provider)
    data = client.get("/api/post/posts").get_json()

    assert data["error"] == "APIError"
    assert data["status_code"] == 403
    assert data["code"] == "C0011"
    assert "post:write" in data["message"]
    assert data["response_status"] == 403
    assert data["response_code"] == "C0011"


def test_unhandled_api_error_answers_502_with_the_providers_message(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    rocketpunch_provider.faults.api_status = 500
    answer = client.get("/raw/posts", headers={"Accept": "application/json"})
    assert answer.status_code == 502
    assert answer.get_json()["detail"] == "The sandbox answered 500 (fault)."


def test_rate_limit_gives_rate_limit_error_with_retry_after(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    rocketpunch_provider.faults.rate_limit_retry_after = 7

    data = client.get("/api/get/posts").get_json()

    assert data["error"] == "RateLimitError"
    assert data["status_code"] == 429
    assert data["code"] == "C0010"
    assert data["retry_after"] == 7
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 0
    assert len(rocketpunch_provider.requests_to("posts")) == 1


def test_rate_limit_default_error_page_sends_retry_after(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    rocketpunch_provider.faults.rate_limit_retry_after = 7

    json_answer = client.get("/raw/posts", headers={"Accept": "application/json"})
    assert json_answer.status_code == 429
    assert json_answer.headers["Retry-After"] == "7"
    assert "retry after 7 seconds" in json_answer.get_json()["detail"]
    assert "Try again in 7 seconds" in json_answer.get_json()["message"]
    assert json_answer.get_json()["retry_after"] == 7

    page = client.get("/raw/posts")
    assert page.status_code == 429
    assert page.headers["Retry-After"] == "7"


@pytest.mark.parametrize(
    ("scopes", "has_email"), [("profile email", True), ("profile", False)]
)
def test_userinfo_returns_claims_and_email_only_with_email_scope(
    make_app: AppFactory, scopes: str, has_email: bool
) -> None:
    app = client_app(make_app, SCOPES=scopes)
    browser = app.test_client()
    complete_login(browser, "seojun")

    claims = browser.get("/me").get_json()

    assert claims["sub"] == "OA-8f2e4b6d1c3a5e7f9b0d2c4e6a8f1b3d"
    assert claims["name"] == "박서준"
    assert claims["preferred_username"] == "seojun"
    assert claims["picture"].endswith("/static/avatar-seojun.svg")
    assert ("email" in claims) is has_email
    if has_email:
        assert claims["email"] == "seojun@example.org"


def test_userinfo_403_is_api_error_c0011(
    client: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    rocketpunch_provider.faults.userinfo_status = 403
    assert client.get("/me").get_json() == {"status_code": 403, "code": "C0011"}


class TestGuideFlavor:
    @pytest.fixture
    def rocketpunch_provider(self) -> SandboxProvider:
        return SandboxProvider(flavor="guide")

    def test_guide_error_shape_becomes_api_error_with_its_message(
        self, make_app: AppFactory
    ) -> None:
        app = client_app(make_app, SCOPES="profile:read")
        browser = app.test_client()
        complete_login(browser)

        data = browser.get("/api/get/nothing-here").get_json()

        assert data["error"] == "APIError"
        assert data["status_code"] == 404
        assert data["code"] == "C0008"
        assert data["message"] == "Resource not found."


def echo_api() -> Flask:
    """A stand-in API that echoes the bearer token, reports the cookies it
    received, and tries to set a cookie on every answer."""
    api = Flask("echo_api")

    @api.get("/api/v1/whoami")
    def whoami() -> t.Any:
        auth = request.headers.get("Authorization", "")
        answer = jsonify(token=auth.removeprefix("Bearer "), cookie=request.cookies)
        answer.set_cookie("tracker", auth[-12:])
        return answer

    return api


def test_concurrent_users_never_see_each_other_and_the_shared_session_stays_clean(
    make_app: AppFactory,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_server: SandboxServer,
) -> None:
    with SandboxServer(echo_api()) as echo:
        app = client_app(make_app, API_BASE_URL=f"{echo.url}/api/v1/")

        @app.get("/both")
        @login_required_rocketpunch
        def both() -> t.Any:
            echoed = rocketpunch.get("whoami").json()
            return {"sub": rocketpunch.userinfo()["sub"], **echoed}

        users = {"minji": app.test_client(), "seojun": app.test_client()}
        subs = {user.preferred_username: user.sub for user in SAMPLE_USERS}
        for name, browser in users.items():
            complete_login(browser, name)
        tokens = {
            v.user_sub: k
            for k, v in rocketpunch_provider.access_tokens.items()
            if not v.revoked
        }
        mistakes: list[str] = []
        barrier = threading.Barrier(2)

        def run(name: str) -> None:
            browser = users[name]
            barrier.wait()
            for _ in range(15):
                data = browser.get("/both").get_json()
                if data["sub"] != subs[name]:
                    mistakes.append(f"{name} saw sub {data['sub']}")
                if data["token"] != tokens[subs[name]]:
                    mistakes.append(f"{name}'s call carried another token")
                if data["cookie"]:
                    mistakes.append(f"{name}'s call carried cookies {data['cookie']}")

        threads = [threading.Thread(target=run, args=(n,)) for n in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)

    assert mistakes == []
    userinfo_calls = rocketpunch_provider.requests_to("userinfo")
    assert len(userinfo_calls) == 30
    for call in userinfo_calls:
        assert call.headers["Authorization"].removeprefix("Bearer ") in tokens.values()
    http = extension(app).app_state(app).http
    assert isinstance(http, requests.Session)
    assert "Authorization" not in http.headers
    assert len(http.cookies) == 0


# -- the client's pure parts, with plain arguments -------------------------------


def api_response(
    status: int,
    body: object,
    *,
    headers: dict[str, str] | None = None,
    reason: str | None = None,
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.headers.update(headers or {"Content-Type": "application/json"})
    response.reason = reason or ""
    response.encoding = "utf-8"
    return response


def test_api_error_understands_the_current_error_shape() -> None:
    body = {"code": "C0011", "message": "Missing scope: email", "timestamp": "t"}
    exc = api_error(api_response(403, body))
    assert type(exc) is APIError
    assert (exc.status_code, exc.code, exc.message) == (
        403,
        "C0011",
        "Missing scope: email",
    )
    assert str(exc) == "Rocketpunch API error 403 C0011: Missing scope: email"
    assert exc.response is not None
    assert exc.response.status_code == 403


def test_api_error_understands_the_guide_error_shape() -> None:
    exc = api_error(api_response(404, {"error": {"message": "No such profile"}}))
    assert (exc.status_code, exc.code, exc.message) == (404, None, "No such profile")
    assert str(exc) == "Rocketpunch API error 404: No such profile"


def test_api_error_understands_an_oauth_error_body() -> None:
    body = {"error": "invalid_token", "error_description": "The token expired."}
    exc = api_error(api_response(401, body))
    assert (exc.code, exc.message) == ("invalid_token", "The token expired.")


def test_api_error_with_non_json_body_describes_the_status() -> None:
    exc = api_error(
        api_response(
            502,
            b"<html>Bad Gateway</html>",
            headers={"Content-Type": "text/html"},
            reason="Bad Gateway",
        )
    )
    assert exc.code is None
    assert exc.message == "HTTP 502 Bad Gateway"
    assert "<html>" not in str(exc)


def test_api_error_cuts_a_long_message() -> None:
    exc = api_error(api_response(400, {"code": "C0001", "message": "m" * 5000}))
    assert len(exc.message) == 1000


def test_rate_limit_carries_retry_after() -> None:
    body = {"code": "C0010", "message": "Too many requests"}
    exc = api_error(
        api_response(
            429, body, headers={"Content-Type": "application/json", "Retry-After": "30"}
        )
    )
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after == 30
    assert exc.code == "C0010"
    assert "30" in str(exc)
    assert exc.http_status == 429


@pytest.mark.parametrize(
    "retry_after", [None, "-5", "soon", "\u0661\u0662", "1e9", "12 s"], ids=repr
)
def test_rate_limit_without_usable_retry_after(retry_after: str | None) -> None:
    headers = {"Content-Type": "application/json"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    exc = api_error(
        api_response(429, {"code": "C0010", "message": "Slow"}, headers=headers)
    )
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after is None


@pytest.fixture
def api_client(http: requests.Session) -> RocketpunchClient:
    settings = load_settings(
        {
            "ROCKETPUNCH_CLIENT_ID": "client-id",
            "ROCKETPUNCH_CLIENT_SECRET": "client-secret",
            "ROCKETPUNCH_API_BASE_URL": "https://openapi.rocketpunch.com/api/v1",
        }
    )
    tokens = TokenManager(
        storage=MemoryStorage(),
        key="login-1",
        settings=settings,
        http=http,
        coordinator=RefreshCoordinator(),
        clock=time.time,
    )
    return RocketpunchClient(http=http, settings=settings, tokens=tokens)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("posts", "https://openapi.rocketpunch.com/api/v1/posts"),
        ("/posts", "https://openapi.rocketpunch.com/api/v1/posts"),
        (
            "me/company-permissions",
            "https://openapi.rocketpunch.com/api/v1/me/company-permissions",
        ),
        ("posts?page=2", "https://openapi.rocketpunch.com/api/v1/posts?page=2"),
        (
            "https://openapi.rocketpunch.com/api/v1/posts/1",
            "https://openapi.rocketpunch.com/api/v1/posts/1",
        ),
    ],
)
def test_url_for_joins_paths_under_the_api_base(
    api_client: RocketpunchClient, path: str, expected: str
) -> None:
    assert api_client.url_for(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "https://evil.example/steal",
        "//evil.example/steal",
        "http://openapi.rocketpunch.com/api/v1/posts",
        "https://openapi.rocketpunch.com.evil.example/",
        "https://openapi.rocketpunch.com@evil.example/",
        "https://openapi.rocketpunch.com:8443/api/v1/",
        "https:evil.example",
    ],
)
def test_url_for_refuses_other_hosts(api_client: RocketpunchClient, path: str) -> None:
    with pytest.raises(ValueError, match="not on the Rocketpunch API host"):
        api_client.url_for(path)


@pytest.mark.parametrize(
    "path", ["/\\evil.example/x", "\\\\evil.example/x", "..//evil.example"]
)
def test_url_for_keeps_tricky_relative_paths_on_the_api_host(
    api_client: RocketpunchClient, path: str
) -> None:
    assert urlsplit(api_client.url_for(path)).netloc == "openapi.rocketpunch.com"
