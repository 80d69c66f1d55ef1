"""Scoped views: the first login asks for what the view needs, and a step-up
that Rocketpunch refuses ends in a clear 403 after one round trip, never in
a loop; the refusal is remembered briefly, and "ask again" works."""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, session
from flask.testing import FlaskClient
from support import (
    LOGIN,
    WANTS_JSON,
    AppFactory,
    app_clock,
    extension,
    local,
    page_text,
    session_data,
)

from flask_rocketpunch import (
    RocketpunchError,
    ScopeRefusedError,
    current_token,
    login_required_rocketpunch,
    rocketpunch,
)
from flask_rocketpunch.sandbox import SandboxProvider, SandboxServer
from flask_rocketpunch.stepup import (
    MAX_REFUSED,
    REFUSED_KEY,
    REFUSED_TTL,
    refused_scopes,
    remember_refusal,
)
from flask_rocketpunch.testing import answer_consent, login_as, logout, misbehave


def scoped_app(make_app: AppFactory, **config: t.Any) -> Flask:
    """The test app with a page that needs ``email`` and one that does not."""
    app = make_app(**config)

    @app.get("/email")
    @login_required_rocketpunch(scopes=["email"])
    def email() -> t.Any:
        return {"email": rocketpunch.userinfo().get("email")}

    @app.get("/plain")
    @login_required_rocketpunch
    def plain() -> str:
        return "plain page"

    return app


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return scoped_app(make_app)


@pytest.fixture
def browser(app: Flask) -> FlaskClient:
    return app.test_client()


def authorize_count(provider: SandboxProvider) -> int:
    """How many times the browser was sent to the consent page."""
    return sum(r.method == "GET" for r in provider.requests_to("authorize"))


def asked_scopes(location: str) -> set[str]:
    return set(parse_qs(urlsplit(location).query)["scope"][0].split())


def go_round(browser: FlaskClient, location: str) -> t.Any:
    """Answer the consent page at ``location`` with Approve and visit the
    callback; return the callback's answer."""
    back = answer_consent(browser, location, decision="approve", user="minji")
    return browser.get(local(back))


# -- the first login asks once ---------------------------------------------------


def test_first_login_for_a_scoped_view_asks_for_every_scope_at_once(
    browser: FlaskClient,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_server: SandboxServer,
) -> None:
    start = browser.get("/email")

    assert start.status_code == 302
    location = start.headers["Location"]
    assert location.startswith(f"{rocketpunch_server.url}/oauth/authorize?")
    assert asked_scopes(location) == {"profile", "email"}
    landed = go_round(browser, location)
    assert landed.headers["Location"] == "/email"
    assert browser.get("/email").get_json() == {"email": "minji@example.com"}
    # One consent page, one code: the view did not ask a second time.
    assert authorize_count(rocketpunch_provider) == 1
    assert rocketpunch_provider.grant_counts() == {"authorization_code": 1}


def test_login_route_asks_for_the_scopes_of_the_next_page(
    browser: FlaskClient,
) -> None:
    start = browser.get(f"{LOGIN}?next=/email")
    assert asked_scopes(start.headers["Location"]) == {"profile", "email"}

    plain = browser.get(f"{LOGIN}?next=/plain")
    assert asked_scopes(plain.headers["Location"]) == {"profile"}
    for odd in ("/nowhere", "//evil.example/email", "/email/../plain"):
        answer = browser.get(LOGIN, query_string={"next": odd})
        assert asked_scopes(answer.headers["Location"]) <= {"profile", "email"}
    nowhere = browser.get(f"{LOGIN}?next=/nowhere")
    assert asked_scopes(nowhere.headers["Location"]) == {"profile"}


def test_json_client_login_url_leads_to_one_consent_for_every_scope(
    browser: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    answer = browser.get("/email", headers=WANTS_JSON)

    assert answer.status_code == 401
    start = browser.get(answer.get_json()["login_url"])
    assert asked_scopes(start.headers["Location"]) == {"profile", "email"}
    go_round(browser, start.headers["Location"])
    assert browser.get("/email").status_code == 200
    assert authorize_count(rocketpunch_provider) == 1


def test_scopes_of_a_view_behind_another_decorator_are_found(
    make_app: AppFactory,
) -> None:
    import functools

    app = make_app()

    def audited(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        @functools.wraps(f)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            return f(*args, **kwargs)

        return wrapper

    @app.get("/audited/<int:item>")
    @audited
    @login_required_rocketpunch(scopes="email")
    def audited_view(item: int) -> str:
        return str(item)

    start = app.test_client().get(f"{LOGIN}?next=/audited/7%3Fx=1")
    assert asked_scopes(start.headers["Location"]) == {"profile", "email"}


# -- a refused step-up -------------------------------------------------------------


def test_refused_step_up_answers_403_after_one_round_trip(
    browser: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    login_as(browser, provider=rocketpunch_provider)  # profile only

    with misbehave(rocketpunch_provider, withhold_scopes=("email",)):
        start = browser.get("/email")
        assert asked_scopes(start.headers["Location"]) == {"profile", "email"}
        landed = go_round(browser, start.headers["Location"])
        assert landed.headers["Location"] == "/email"
        page = browser.get("/email")
        again = browser.get("/email")

    assert page.status_code == 403
    text = page_text(page)
    assert "More Rocketpunch permissions needed" in text
    assert "email" in text
    assert "Ask again" in text
    assert page.headers["Cache-Control"] == "no-store"
    assert 'error="insufficient_scope"' in page.headers["WWW-Authenticate"]
    assert again.status_code == 403
    # The user was sent to the consent page once, not round and round.
    assert authorize_count(rocketpunch_provider) == 1
    # The login itself is intact: pages that need no more still work.
    assert browser.get("/plain").status_code == 200


def test_refused_scope_at_the_first_login_answers_403_after_one_consent(
    browser: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    rocketpunch_provider.faults.withhold_scopes = ("email",)

    start = browser.get("/email")
    go_round(browser, start.headers["Location"])
    page = browser.get("/email")

    assert page.status_code == 403
    assert authorize_count(rocketpunch_provider) == 1
    token = page_token_scopes(browser)
    assert token == {"profile"}


def page_token_scopes(browser: FlaskClient) -> set[str]:
    with browser.application.test_request_context():
        with browser.session_transaction() as saved:
            session.update(saved)
        token = current_token()
        assert token is not None
        return set(token.scopes)


def test_refused_step_up_gives_json_clients_a_403_naming_the_scopes(
    browser: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    login_as(browser, provider=rocketpunch_provider)
    rocketpunch_provider.faults.withhold_scopes = ("email",)
    go_round(browser, browser.get("/email").headers["Location"])

    answer = browser.get("/email", headers=WANTS_JSON)

    assert answer.status_code == 403
    body = answer.get_json()
    assert body["error"] == "insufficient_scope"
    assert body["missing_scopes"] == ["email"]
    assert "email" in body["message"]
    retry = urlsplit(body["retry_url"])
    assert retry.path == LOGIN
    assert parse_qs(retry.query) == {"next": ["/email"], "retry": ["1"]}
    assert authorize_count(rocketpunch_provider) == 1


def test_ask_again_works_once_the_provider_grants_the_scope(
    browser: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    login_as(browser, scopes="profile", provider=rocketpunch_provider)
    rocketpunch_provider.faults.withhold_scopes = ("email",)
    go_round(browser, browser.get("/email").headers["Location"])
    body = browser.get("/email", headers=WANTS_JSON).get_json()
    rocketpunch_provider.faults.withhold_scopes = ()

    start = browser.get(body["retry_url"])

    assert start.status_code == 302
    assert asked_scopes(start.headers["Location"]) == {"profile", "email"}
    assert REFUSED_KEY not in session_data(browser.application, browser)
    landed = go_round(browser, start.headers["Location"])
    assert landed.headers["Location"] == "/email"
    assert browser.get("/email").get_json() == {"email": "minji@example.com"}
    assert authorize_count(rocketpunch_provider) == 2


def test_a_refused_step_up_reaches_the_on_error_hook(
    app: Flask, browser: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    seen: list[RocketpunchError] = []

    @extension(app).on_error
    def handle(error: RocketpunchError) -> t.Any:
        seen.append(error)
        if isinstance(error, ScopeRefusedError):
            return f"no {' '.join(sorted(error.scopes))} for you", 403
        return None

    login_as(browser, provider=rocketpunch_provider)
    rocketpunch_provider.faults.withhold_scopes = ("email",)
    go_round(browser, browser.get("/email").headers["Location"])

    page = browser.get("/email")

    assert (page.status_code, page_text(page)) == (403, "no email for you")
    [error] = seen
    assert isinstance(error, ScopeRefusedError)
    assert error.retry_url is not None
    assert "retry=1" in error.retry_url


def test_the_refusal_is_forgotten_after_a_while(
    app: Flask, browser: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    clock = app_clock(app)
    login_as(browser, expires_in=3600, provider=rocketpunch_provider)
    rocketpunch_provider.faults.withhold_scopes = ("email",)
    go_round(browser, browser.get("/email").headers["Location"])
    assert browser.get("/email").status_code == 403

    clock.advance(REFUSED_TTL + 1)

    # Asked once more: a step-up again, not the 403.
    again = browser.get("/email")
    assert again.status_code == 302
    assert asked_scopes(again.headers["Location"]) == {"profile", "email"}


def test_logout_forgets_the_refusal(
    browser: FlaskClient, rocketpunch_provider: SandboxProvider
) -> None:
    login_as(browser, provider=rocketpunch_provider)
    rocketpunch_provider.faults.withhold_scopes = ("email",)
    go_round(browser, browser.get("/email").headers["Location"])
    assert REFUSED_KEY in session_data(browser.application, browser)

    logout(browser)
    login_as(browser, provider=rocketpunch_provider)

    assert browser.get("/email").status_code == 302


def test_another_view_missing_a_scope_that_was_not_refused_still_steps_up(
    make_app: AppFactory, rocketpunch_provider: SandboxProvider
) -> None:
    app = scoped_app(make_app)

    @app.get("/write")
    @login_required_rocketpunch(scopes="post:write")
    def write() -> str:
        return "write"

    browser = app.test_client()
    login_as(browser, provider=rocketpunch_provider)
    rocketpunch_provider.faults.withhold_scopes = ("email",)
    go_round(browser, browser.get("/email").headers["Location"])

    step_up = browser.get("/write")

    assert step_up.status_code == 302
    assert asked_scopes(step_up.headers["Location"]) == {"profile", "post:write"}


# -- the memory itself ---------------------------------------------------------------


def test_memory_remembers_refused_forgets_granted_and_expires() -> None:
    memory = remember_refusal(
        None, requested={"profile", "email"}, granted={"profile"}, now=100.0
    )
    assert refused_scopes(memory, now=100.0) == {"email"}
    assert refused_scopes(memory, now=100.0 + REFUSED_TTL + 1) == set()

    granted = remember_refusal(
        memory, requested={"profile", "email"}, granted={"profile", "email"}, now=200.0
    )
    assert granted == {}


def test_memory_is_bounded_and_ignores_what_it_did_not_write() -> None:
    memory: dict[str, t.Any] = {}
    for n in range(MAX_REFUSED * 3):
        memory = remember_refusal(
            memory, requested={f"scope{n}"}, granted=(), now=float(n)
        )
    assert len(memory) == MAX_REFUSED
    assert f"scope{MAX_REFUSED * 3 - 1}" in memory
    assert (
        remember_refusal(memory, requested={"x" * 500}, granted=(), now=0.0).keys()
        == memory.keys()
    )

    junk: t.Any = {"email": "soon", "a": True, 3: 1e12, "b": float("nan"), "c": 1e12}
    assert refused_scopes(junk, now=0.0) == {"c"}
    assert refused_scopes(["email"], now=0.0) == set()
