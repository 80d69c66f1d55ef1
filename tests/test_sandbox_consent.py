"""Consent in the sandbox: skipped when a consent already covers the
request, owner-only scopes granted by the app's owners alone, and a sample
user with no name or picture."""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from test_sandbox_support import (
    CLIENT_ID,
    REDIRECT_URI,
    ConsentForm,
    Sandbox,
    SandboxFactory,
    jwt_payload,
    redirect_query,
)
from test_sandbox_support import clock as clock
from test_sandbox_support import make_sandbox as make_sandbox

from example_app import create_app
from flask_rocketpunch import RocketpunchOAuth, login_required_rocketpunch, rocketpunch
from flask_rocketpunch.sandbox import SAMPLE_USERS, SandboxProvider
from flask_rocketpunch.testing import complete_login, login_as, sandbox_of

MINJI, SEOJUN, ALEX, JIWOO = SAMPLE_USERS


@pytest.fixture
def remembering(make_sandbox: SandboxFactory) -> Sandbox:
    """A sandbox that skips consent, as Rocketpunch does (its default)."""
    result: Sandbox = make_sandbox(skip_consent=True)
    return result


def code_of(response: t.Any) -> str:
    assert response.status_code == 302, response.text
    return redirect_query(response, REDIRECT_URI)["code"]


# -- consent skipping ------------------------------------------------------------


def test_skipping_is_the_default() -> None:
    assert SandboxProvider().skip_consent is True


def test_a_second_request_covered_by_the_consent_skips_the_page(
    remembering: Sandbox,
) -> None:
    first = remembering.code(user=SEOJUN.sub)
    assert remembering.exchange(first).status_code == 200
    assert remembering.provider.consents == {
        (SEOJUN.sub, CLIENT_ID): frozenset({"profile", "email"})
    }
    params = remembering.params(scope="profile")
    again = remembering.authorize(params)
    assert again.status_code == 302
    query = redirect_query(again, REDIRECT_URI)
    assert query["state"] == params["state"]
    token = remembering.exchange(query["code"]).json()
    assert jwt_payload(token["access_token"])["sub"] == SEOJUN.sub
    assert token["scope"] == "profile"


def test_more_scopes_than_the_consent_covers_shows_the_page_again(
    remembering: Sandbox,
) -> None:
    remembering.code(scope="profile")
    form = remembering.consent(remembering.params(scope="profile email"))
    # The signed-in user is preselected.
    assert form.checked_user == MINJI.sub
    remembering.decide(form)
    assert remembering.authorize(remembering.params()).status_code == 302


def test_withdrawn_consent_or_forced_page_shows_the_page(remembering: Sandbox) -> None:
    provider = remembering.provider
    remembering.code()
    assert provider.forget_consent("minji", CLIENT_ID) == 1
    assert remembering.authorize(remembering.params()).status_code == 200
    remembering.code()
    provider.skip_consent = False
    assert remembering.authorize(remembering.params()).status_code == 200


def test_revoking_a_token_keeps_the_consent(remembering: Sandbox) -> None:
    token = remembering.login()
    assert remembering.revoke(token["refresh_token"]).status_code == 200
    assert remembering.authorize(remembering.params()).status_code == 302


def test_another_browser_sees_the_page(remembering: Sandbox) -> None:
    remembering.code()
    # Same provider, a session without the sandbox's signed-in cookie.
    fresh = Sandbox(remembering.provider, type(remembering.session)(), remembering.base)
    fresh.session.adapters = remembering.session.adapters
    assert fresh.authorize(fresh.params()).status_code == 200


def test_a_forged_signed_in_cookie_is_ignored(remembering: Sandbox) -> None:
    remembering.code()
    for cookie in remembering.session.cookies:
        if cookie.name == "rocketpunch_sandbox_user":
            cookie.value = f"{SEOJUN.sub}.forged"
    assert remembering.authorize(remembering.params()).status_code == 200


def test_reset_forgets_consents(remembering: Sandbox) -> None:
    remembering.code()
    remembering.provider.reset()
    assert remembering.provider.consents == {}
    assert remembering.authorize(remembering.params()).status_code == 200


# -- owner-only scopes -------------------------------------------------------------


def test_the_default_owner_is_minji(remembering: Sandbox) -> None:
    client = remembering.provider.get_client(CLIENT_ID)
    assert client is not None
    assert client.owners == (MINJI.sub,)


def test_a_member_approving_an_owner_only_scope_gets_invalid_scope(
    remembering: Sandbox,
) -> None:
    params = remembering.params(scope="profile post:write")
    form = remembering.consent(params)
    assert "Only the owners of Test Client App can grant" in form.text
    assert "app owner" in form.text
    answer = remembering.decide(form, user=SEOJUN.sub)
    query = redirect_query(answer, REDIRECT_URI)
    assert query["error"] == "invalid_scope"
    assert "post:write" in query["error_description"]
    assert query["state"] == params["state"]
    assert "code" not in query
    assert remembering.provider.codes == {}
    assert remembering.provider.consents == {}


@pytest.mark.parametrize("scope", ["post:write", "company:manage:read"])
def test_an_owner_grants_owner_only_scopes(remembering: Sandbox, scope: str) -> None:
    code = remembering.code(user="minji", scope=f"profile {scope}")
    token = remembering.exchange(code).json()
    assert token["scope"] == f"profile {scope}"


def test_owners_are_set_at_registration(make_sandbox: SandboxFactory) -> None:
    sandbox: Sandbox = make_sandbox()
    provider = sandbox.provider
    provider.register_client(
        CLIENT_ID, "test-secret", REDIRECT_URI, name="Seojun's", owners=["seojun"]
    )
    assert sandbox.code(user=SEOJUN.sub, scope="profile post:write")
    form = sandbox.consent(sandbox.params(scope="post:write"))
    refused = redirect_query(sandbox.decide(form, user=MINJI.sub), REDIRECT_URI)
    assert refused["error"] == "invalid_scope"
    with pytest.raises(ValueError, match="nobody"):
        provider.register_client("x", "y", REDIRECT_URI, owners=["nobody"])


def test_issue_token_refuses_owner_only_scopes_to_members(
    remembering: Sandbox,
) -> None:
    provider = remembering.provider
    with pytest.raises(ValueError, match="owners"):
        provider.issue_token("seojun", CLIENT_ID, "profile company:manage:read")
    assert provider.issue_token("minji", CLIENT_ID, "profile company:manage:read")


def test_guide_flavor_has_no_owner_only_scopes(make_sandbox: SandboxFactory) -> None:
    guide: Sandbox = make_sandbox("guide")
    assert guide.provider.flavor_spec.owner_only_scopes == frozenset()
    assert guide.code(user=SEOJUN.sub, code_challenge=None)


# -- a user with no name or picture -----------------------------------------------


def test_jiwoo_has_null_name_and_picture(remembering: Sandbox) -> None:
    form: ConsentForm = remembering.consent(remembering.params())
    assert JIWOO.sub in form.users
    assert "(no name)" in form.text
    token = remembering.login(user=JIWOO.sub)
    claims = remembering.get("/oauth/userinfo", token["access_token"]).json()
    assert claims == {
        "sub": JIWOO.sub,
        "name": None,
        "preferred_username": "jiwoo",
        "picture": None,
        "email": "jiwoo@example.kr",
    }


# -- through the extension and the testing kit -------------------------------------


def kit_app(**config: t.Any) -> Flask:
    app = Flask("consent_app")
    app.config.update(
        TESTING=True, SECRET_KEY="consent-tests", ROCKETPUNCH_SANDBOX=True
    )
    app.config.update({f"ROCKETPUNCH_{k}": v for k, v in config.items()})
    RocketpunchOAuth(app)

    @app.get("/me")
    @login_required_rocketpunch
    def me() -> t.Any:
        return rocketpunch.userinfo()

    return app


def authorize_answers(app: Flask) -> list[tuple[str, int | None]]:
    return [(r.method, r.status) for r in sandbox_of(app).requests_to("authorize")]


def test_a_second_login_with_the_kit_skips_the_consent_page() -> None:
    app = kit_app()
    client = app.test_client()
    assert complete_login(client, "seojun").status_code == 302
    client.post("/auth/rocketpunch/logout")
    again = complete_login(client, "seojun")
    assert again.status_code == 302
    assert client.get("/me").get_json()["preferred_username"] == "seojun"
    # The page once, its form once, then the consent covered the login.
    assert authorize_answers(app) == [("GET", 200), ("POST", 302), ("GET", 302)]


def test_the_kit_logs_in_as_another_user_through_the_page() -> None:
    app = kit_app()
    client = app.test_client()
    complete_login(client, "minji")
    complete_login(client, "alex")
    assert client.get("/me").get_json()["preferred_username"] == "alex"
    assert authorize_answers(app) == [("GET", 200), ("POST", 302)] * 2


def test_a_member_logging_in_for_post_write_gets_the_apps_error_page() -> None:
    app = kit_app(SCOPES="profile post:write")
    client: FlaskClient = app.test_client()
    refused = complete_login(client, "seojun")
    assert refused.status_code == 400
    assert "invalid_scope" in refused.get_data(as_text=True)
    assert client.get("/me").status_code == 302  # not logged in
    assert complete_login(client, "minji").status_code == 302
    token = sandbox_of(app).access_tokens
    assert {t.user_sub: t.scopes for t in token.values()} == {
        MINJI.sub: frozenset({"profile", "post:write"})
    }


def test_a_login_as_jiwoo_gives_null_name_and_picture_to_the_app() -> None:
    app = kit_app()
    client = app.test_client()
    complete_login(client, "jiwoo")
    me = client.get("/me").get_json()
    assert (me["name"], me["picture"], me["preferred_username"]) == (
        None,
        None,
        "jiwoo",
    )


def test_the_example_dashboard_shows_jiwoo_without_none() -> None:
    app = create_app({"TESTING": True, "SECRET_KEY": "example-jiwoo"})
    client = app.test_client()
    login_as(client, "jiwoo")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "(no display name)" in page
    assert "@jiwoo" in page
    assert ">None<" not in page
    assert 'id="user-picture"' not in page


def test_the_consent_page_link_keeps_its_query_when_skipped() -> None:
    app = kit_app()
    client = app.test_client()
    complete_login(client, "minji")
    start = client.get("/auth/rocketpunch/login")
    skipped = client.get(start.headers["Location"])
    assert skipped.status_code == 302
    query = parse_qs(urlsplit(skipped.headers["Location"]).query)
    assert set(query) == {"code", "state"}
