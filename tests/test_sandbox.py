"""The sandbox provider on its own: over real HTTP and in-process."""

from __future__ import annotations

import base64
import dataclasses
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from flask import Flask, jsonify, redirect, request, session
from flask.typing import ResponseReturnValue

from flask_rocketpunch.sandbox import (
    SAMPLE_USERS,
    Flavor,
    SandboxProvider,
    SandboxServer,
    SandboxTransport,
    create_sandbox_app,
    create_sandbox_blueprint,
    s256,
)

CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"
REDIRECT_URI = "http://client.test/auth/rocketpunch/callback"
IN_PROCESS_ORIGIN = "http://rocketpunch.test"


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.inputs: list[dict[str, str | None]] = []
        self.buttons: list[dict[str, str | None]] = []
        self.images: list[str] = []
        self.stylesheets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.action = attributes.get("action")
        elif tag == "input":
            self.inputs.append(attributes)
        elif tag == "button":
            self.buttons.append(attributes)
        elif tag == "img" and attributes.get("src"):
            self.images.append(attributes["src"] or "")
        elif tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes.get("href") or "")


@dataclasses.dataclass
class ConsentForm:
    """The consent page, parsed."""

    url: str
    text: str
    action: str
    hidden: dict[str, str]
    users: list[str]
    checked_user: str | None
    decisions: list[str]
    images: list[str]
    stylesheets: list[str]

    @classmethod
    def parse(cls, response: requests.Response) -> ConsentForm:
        parser = _FormParser()
        parser.feed(response.text)
        assert parser.action is not None, "the consent page has no form"
        hidden = {
            i["name"] or "": i.get("value") or ""
            for i in parser.inputs
            if i.get("type") == "hidden"
        }
        radios = [i for i in parser.inputs if i.get("type") == "radio"]
        checked = [i["value"] for i in radios if "checked" in i]
        return cls(
            url=response.url,
            text=response.text,
            action=parser.action,
            hidden=hidden,
            users=[i.get("value") or "" for i in radios],
            checked_user=checked[0] if checked else None,
            decisions=[b.get("value") or "" for b in parser.buttons],
            images=parser.images,
            stylesheets=parser.stylesheets,
        )


class Sandbox:
    """A requests session talking to a provider, over HTTP or in-process."""

    def __init__(
        self, provider: SandboxProvider, session: requests.Session, base: str
    ) -> None:
        self.provider = provider
        self.session = session
        self.base = base
        self.verifier = secrets.token_urlsafe(48)

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def scopes(self) -> str:
        return (
            "profile email"
            if self.provider.flavor == "current"
            else ("profile:read profile:email")
        )

    def params(self, **overrides: str | None) -> dict[str, str]:
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": self.scopes,
            "state": "state-" + secrets.token_hex(4),
            "code_challenge": s256(self.verifier),
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def authorize(self, params: dict[str, str]) -> requests.Response:
        return self.session.get(
            self.url("/oauth/authorize"), params=params, allow_redirects=False
        )

    def consent(self, params: dict[str, str]) -> ConsentForm:
        response = self.authorize(params)
        assert response.status_code == 200, response.text
        return ConsentForm.parse(response)

    def decide(
        self,
        form: ConsentForm,
        decision: str = "approve",
        user: str | None = None,
        **changes: str,
    ) -> requests.Response:
        data = {**form.hidden, **changes, "decision": decision}
        data["user"] = user if user is not None else (form.checked_user or "")
        return self.session.post(
            urljoin(form.url, form.action), data=data, allow_redirects=False
        )

    def code(self, user: str | None = None, **overrides: str | None) -> str:
        params = self.params(**overrides)
        response = self.decide(self.consent(params), user=user)
        assert response.status_code == 302, response.text
        query = redirect_query(response, REDIRECT_URI)
        assert query["state"] == params["state"]
        return query["code"]

    def exchange(
        self, code: str, /, *, basic: bool = False, **overrides: str | None
    ) -> requests.Response:
        data: dict[str, str | None] = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": self.verifier,
        }
        return self.token_call(data, basic=basic, **overrides)

    def refresh(
        self, refresh_token: str, *, basic: bool = False, **overrides: str | None
    ) -> requests.Response:
        data: dict[str, str | None] = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        return self.token_call(data, basic=basic, **overrides)

    def token_call(
        self,
        data: dict[str, str | None],
        *,
        basic: bool = False,
        **overrides: str | None,
    ) -> requests.Response:
        auth: tuple[str, str] | None = None
        if basic:
            auth = (CLIENT_ID, CLIENT_SECRET)
        else:
            data = {**data, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        data.update(overrides)
        body = {k: v for k, v in data.items() if v is not None}
        return self.session.post(
            self.url("/oauth/token"), data=body, auth=auth, timeout=5
        )

    def login(self, user: str | None = None, **overrides: str | None) -> dict[str, str]:
        response = self.exchange(self.code(user=user, **overrides))
        assert response.status_code == 200, response.text
        data: dict[str, str] = response.json()
        return data

    def revoke(self, token: str, **extra: str) -> requests.Response:
        data = {
            "token": token,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            **extra,
        }
        return self.session.post(self.url("/oauth/revoke"), data=data)

    def get(self, path: str, access_token: str | None = None) -> requests.Response:
        headers = {}
        if access_token is not None:
            headers["Authorization"] = f"Bearer {access_token}"
        return self.session.get(self.url(path), headers=headers, timeout=5)


def redirect_query(response: requests.Response, expected_base: str) -> dict[str, str]:
    location = response.headers["Location"]
    assert location.split("?")[0] == expected_base
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def jwt_payload(token: str) -> dict[str, object]:
    parts = token.split(".")
    assert len(parts) == 3
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    data: dict[str, object] = json.loads(base64.urlsafe_b64decode(padded))
    return data


SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_sandbox(clock: FakeClock) -> Iterator[SandboxFactory]:
    with ExitStack() as stack:

        def make(flavor: Flavor = "current", over: str = "in-process") -> Sandbox:
            provider = SandboxProvider(flavor, clock=clock)
            provider.register_client(
                CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, name="Test Client App"
            )
            session = stack.enter_context(requests.Session())
            if over == "http":
                server = stack.enter_context(SandboxServer(provider))
                return Sandbox(provider, session, server.url)
            session.mount(IN_PROCESS_ORIGIN + "/", SandboxTransport(provider))
            return Sandbox(provider, session, IN_PROCESS_ORIGIN)

        yield make


@pytest.fixture
def sandbox(make_sandbox: SandboxFactory) -> Sandbox:
    result: Sandbox = make_sandbox()
    return result


@pytest.fixture
def guide(make_sandbox: SandboxFactory) -> Sandbox:
    result: Sandbox = make_sandbox("guide")
    return result


# -- full flows ------------------------------------------------------------------


@pytest.mark.parametrize("over", ["http", "in-process"])
def test_current_flavor_full_flow_code_token_userinfo_refresh_revoke(
    make_sandbox: SandboxFactory, over: str
) -> None:
    sb: Sandbox = make_sandbox("current", over)
    params = sb.params()
    form = sb.consent(params)
    assert "Test Client App" in form.text
    assert "Read your email address" in form.text
    assert sorted(form.decisions) == ["approve", "deny"]
    assert form.users == [u.sub for u in SAMPLE_USERS]
    assert form.checked_user == SAMPLE_USERS[0].sub
    assert all(image.endswith(".svg") for image in form.images)
    avatar = sb.session.get(urljoin(form.url, form.images[1]))
    assert avatar.status_code == 200
    assert avatar.headers["Content-Type"].startswith("image/svg+xml")

    approved = sb.decide(form, user=SAMPLE_USERS[1].sub)
    assert approved.status_code == 302
    query = redirect_query(approved, REDIRECT_URI)
    assert query["state"] == params["state"]

    token_response = sb.exchange(query["code"])
    assert token_response.status_code == 200
    assert token_response.headers["Cache-Control"] == "no-store"
    assert token_response.headers["Pragma"] == "no-cache"
    token = token_response.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 900
    assert token["scope"] == "profile email"
    assert token["refresh_token"].startswith("rt_")
    claims = jwt_payload(token["access_token"])
    assert claims["sub"] == SAMPLE_USERS[1].sub
    assert claims["client_id"] == CLIENT_ID
    assert claims["scope"] == "profile email"
    assert claims["exp"] == int(sb.provider.clock()) + 900

    info = sb.get("/oauth/userinfo", token["access_token"])
    assert info.status_code == 200
    assert info.json() == {
        "sub": SAMPLE_USERS[1].sub,
        "name": "박서준",
        "preferred_username": "seojun",
        "picture": urljoin(form.url, form.images[1]),
        "email": "seojun@example.org",
    }
    assert info.headers["X-RP-RateLimit-Remaining"] == "59"

    refreshed = sb.refresh(token["refresh_token"])
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["refresh_token"] != token["refresh_token"]
    assert sb.get("/oauth/userinfo", new["access_token"]).status_code == 200

    assert sb.revoke(new["refresh_token"]).status_code == 200
    assert sb.refresh(new["refresh_token"]).json()["error"] == "invalid_grant"
    assert sb.get("/oauth/userinfo", new["access_token"]).status_code == 401
    assert sb.provider.grant_counts() == {"authorization_code": 1, "refresh_token": 2}


@pytest.mark.parametrize("over", ["http", "in-process"])
def test_guide_flavor_full_flow_without_pkce_or_rotation(
    make_sandbox: SandboxFactory, over: str
) -> None:
    sb: Sandbox = make_sandbox("guide", over)
    code = sb.code(code_challenge=None, code_challenge_method=None)
    token = sb.exchange(code, code_verifier=None).json()
    assert token["expires_in"] == 3600
    assert token["scope"] == "profile:read profile:email"
    profile = sb.get("/api/v1/profiles/me", token["access_token"])
    assert profile.status_code == 200
    assert profile.json()["email"] == SAMPLE_USERS[0].email
    assert profile.json()["preferred_username"] == "minji"

    refreshed = sb.refresh(token["refresh_token"])
    assert refreshed.status_code == 200
    assert "refresh_token" not in refreshed.json()
    again = sb.refresh(token["refresh_token"])
    assert again.status_code == 200, "guide flavor does not rotate refresh tokens"

    error = sb.get("/api/v1/profiles/me", "not-a-token")
    assert error.status_code == 401
    assert error.json() == {"error": {"message": "The access token is invalid."}}
    assert error.headers["WWW-Authenticate"].startswith("Bearer")


def test_guide_flavor_ignores_pkce_when_sent(guide: Sandbox) -> None:
    code = guide.code()
    assert guide.exchange(code, code_verifier="x" * 43).status_code == 200


def test_guide_flavor_has_no_metadata_and_current_has_no_profiles_me(
    make_sandbox: SandboxFactory,
) -> None:
    current: Sandbox = make_sandbox("current")
    guide: Sandbox = make_sandbox("guide")
    assert guide.get("/.well-known/oauth-authorization-server").status_code == 404
    token = current.login()
    missing = current.get("/api/v1/profiles/me", token["access_token"])
    assert missing.status_code == 404
    assert missing.json()["code"] == "C0008"


# -- authorization endpoint -----------------------------------------------------


def test_deny_redirects_with_access_denied_description_and_state(
    sandbox: Sandbox,
) -> None:
    params = sandbox.params()
    response = sandbox.decide(sandbox.consent(params), decision="deny")
    query = redirect_query(response, REDIRECT_URI)
    assert query["error"] == "access_denied"
    assert query["error_description"]
    assert query["state"] == params["state"]
    assert "code" not in query
    assert sandbox.provider.codes == {}


@pytest.mark.parametrize(
    ("overrides", "title"),
    [
        ({"client_id": "nobody"}, "Unknown application"),
        ({"redirect_uri": REDIRECT_URI + "/"}, "redirect_uri mismatch"),
        ({"redirect_uri": REDIRECT_URI.upper()}, "redirect_uri mismatch"),
        ({"redirect_uri": REDIRECT_URI + "?x=1"}, "redirect_uri mismatch"),
        ({"redirect_uri": None}, "Missing redirect_uri"),
        ({"client_id": None}, "Missing client_id"),
    ],
)
def test_unknown_client_or_redirect_mismatch_shows_400_page_without_redirect(
    sandbox: Sandbox, overrides: dict[str, str | None], title: str
) -> None:
    response = sandbox.authorize(sandbox.params(**overrides))
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert title in response.text
    assert sandbox.provider.codes == {}


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "profile admin"}, "invalid_scope"),
        ({"scope": None}, "invalid_scope"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
    ],
)
def test_invalid_authorization_request_redirects_with_error_and_state(
    sandbox: Sandbox, overrides: dict[str, str | None], error: str
) -> None:
    params = sandbox.params(**overrides)
    response = sandbox.authorize(params)
    assert response.status_code == 302
    query = redirect_query(response, REDIRECT_URI)
    assert query["error"] == error
    assert query["error_description"]
    assert query["state"] == params["state"]


def test_plain_pkce_is_also_rejected_when_the_consent_form_is_forged(
    sandbox: Sandbox,
) -> None:
    form = sandbox.consent(sandbox.params())
    response = sandbox.decide(form, code_challenge_method="plain")
    assert redirect_query(response, REDIRECT_URI)["error"] == "invalid_request"


def test_repeated_authorization_parameter_is_invalid_request(sandbox: Sandbox) -> None:
    url = sandbox.url("/oauth/authorize")
    params = [*sandbox.params().items(), ("scope", "email")]
    response = sandbox.session.get(url, params=params, allow_redirects=False)
    assert redirect_query(response, REDIRECT_URI)["error"] == "invalid_request"


def test_redirect_keeps_the_query_of_the_registered_redirect_uri(
    sandbox: Sandbox,
) -> None:
    redirect_uri = "http://client.test/cb?tenant=a%20b"
    sandbox.provider.register_client(CLIENT_ID, CLIENT_SECRET, redirect_uri)
    response = sandbox.decide(
        sandbox.consent(sandbox.params(redirect_uri=redirect_uri))
    )
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["tenant"] == ["a b"]
    assert "code" in query


def test_consent_page_is_not_framable_cacheable_or_cookie_setting(
    sandbox: Sandbox,
) -> None:
    response = sandbox.authorize(sandbox.params())
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in response.headers


def test_decision_with_forged_or_tampered_consent_token_is_rejected(
    sandbox: Sandbox,
) -> None:
    form = sandbox.consent(sandbox.params())
    forged = sandbox.decide(form, consent_token="1800000000." + "0" * 64)
    assert forged.status_code == 400
    assert "Location" not in forged.headers
    tampered = sandbox.decide(form, scope="profile")
    assert tampered.status_code == 400
    missing = dict(form.hidden)
    del missing["consent_token"]
    no_token = sandbox.session.post(
        urljoin(form.url, form.action),
        data={**missing, "decision": "approve", "user": SAMPLE_USERS[0].sub},
        allow_redirects=False,
    )
    assert no_token.status_code == 400
    assert sandbox.provider.codes == {}


def test_consent_form_expires(sandbox: Sandbox, clock: FakeClock) -> None:
    form = sandbox.consent(sandbox.params())
    clock.advance(901)
    assert sandbox.decide(form).status_code == 400


def test_decision_needs_a_known_user_and_a_decision(sandbox: Sandbox) -> None:
    form = sandbox.consent(sandbox.params())
    assert sandbox.decide(form, user="nobody").status_code == 400
    assert sandbox.decide(form, decision="maybe").status_code == 400


def test_user_can_be_chosen_by_preferred_username(sandbox: Sandbox) -> None:
    token = sandbox.login(user="alex")
    assert jwt_payload(token["access_token"])["sub"] == SAMPLE_USERS[2].sub


# -- token endpoint -------------------------------------------------------------


def test_pkce_verifier_must_match_the_challenge(sandbox: Sandbox) -> None:
    code = sandbox.code()
    wrong = sandbox.exchange(code, code_verifier=secrets.token_urlsafe(48))
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("verifier", [None, "short", "x" * 129, "a" * 42 + "!"])
def test_missing_or_malformed_pkce_verifier_is_invalid_request(
    sandbox: Sandbox, verifier: str | None
) -> None:
    response = sandbox.exchange(sandbox.code(), code_verifier=verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_code_is_single_use_and_reuse_revokes_its_tokens(sandbox: Sandbox) -> None:
    code = sandbox.code()
    first = sandbox.exchange(code).json()
    second = sandbox.exchange(code)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert sandbox.get("/oauth/userinfo", first["access_token"]).status_code == 401
    assert sandbox.refresh(first["refresh_token"]).json()["error"] == "invalid_grant"


def test_code_expires_after_five_minutes(sandbox: Sandbox, clock: FakeClock) -> None:
    fresh = sandbox.code()
    stale = sandbox.code()
    clock.advance(299)
    assert sandbox.exchange(fresh).status_code == 200
    clock.advance(2)
    expired = sandbox.exchange(stale)
    assert expired.status_code == 400
    assert expired.json()["error"] == "invalid_grant"


def test_code_is_bound_to_redirect_uri_and_client(sandbox: Sandbox) -> None:
    mismatch = sandbox.exchange(sandbox.code(), redirect_uri=REDIRECT_URI + "/")
    assert mismatch.json()["error"] == "invalid_grant"
    sandbox.provider.register_client("other", "other-secret", REDIRECT_URI)
    stolen = sandbox.exchange(
        sandbox.code(), client_id="other", client_secret="other-secret"
    )
    assert stolen.json()["error"] == "invalid_grant"
    unknown = sandbox.exchange("no-such-code")
    assert unknown.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": None}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"code": None}, "invalid_request"),
        ({"redirect_uri": None}, "invalid_request"),
    ],
)
def test_token_request_errors_follow_rfc_6749(
    sandbox: Sandbox, data: dict[str, str | None], error: str
) -> None:
    body: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": sandbox.code(),
        "redirect_uri": REDIRECT_URI,
        "code_verifier": sandbox.verifier,
        **data,
    }
    response = sandbox.token_call(body)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert response.headers["Cache-Control"] == "no-store"


def test_client_authenticates_with_http_basic(sandbox: Sandbox) -> None:
    response = sandbox.exchange(sandbox.code(), basic=True)
    assert response.status_code == 200
    assert "client_secret" not in sandbox.provider.requests_to("token")[0].params


def test_client_authenticates_with_form_body(sandbox: Sandbox) -> None:
    response = sandbox.exchange(sandbox.code())
    assert response.status_code == 200
    assert sandbox.provider.requests_to("token")[0].params["client_secret"] == (
        CLIENT_SECRET
    )


def test_basic_credentials_are_form_urlencoded(sandbox: Sandbox) -> None:
    sandbox.provider.register_client("id:with%colon", "s&cret é", REDIRECT_URI)
    token = sandbox.provider.issue_token("minji", "id:with%colon", "profile")
    response = sandbox.session.post(
        sandbox.url("/oauth/token"),
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=("id%3Awith%25colon", "s%26cret+%C3%A9"),
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("auth", "data"),
    [
        (None, {"client_id": None, "client_secret": None}),
        (None, {"client_secret": "wrong"}),
        (None, {"client_id": "nobody"}),
        ((CLIENT_ID, "wrong"), {"client_id": None, "client_secret": None}),
        (("nobody", CLIENT_SECRET), {"client_id": None, "client_secret": None}),
    ],
)
def test_failed_client_authentication_is_invalid_client_401(
    sandbox: Sandbox,
    auth: tuple[str, str] | None,
    data: dict[str, str | None],
) -> None:
    body: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": sandbox.code(),
        "redirect_uri": REDIRECT_URI,
        "code_verifier": sandbox.verifier,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **data,
    }
    response = sandbox.session.post(
        sandbox.url("/oauth/token"),
        data={k: v for k, v in body.items() if v is not None},
        auth=auth,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_two_client_authentication_methods_at_once_are_rejected(
    sandbox: Sandbox,
) -> None:
    response = sandbox.exchange(sandbox.code(), basic=True, client_secret=CLIENT_SECRET)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_refresh_rotates_and_the_old_refresh_token_then_fails(
    sandbox: Sandbox,
) -> None:
    token = sandbox.login()
    first = sandbox.refresh(token["refresh_token"], basic=True)
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"].startswith("rt_")
    assert rotated["refresh_token"] != token["refresh_token"]
    reused = sandbox.refresh(token["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert sandbox.refresh(rotated["refresh_token"]).status_code == 200
    assert sandbox.provider.refresh_tokens[token["refresh_token"]].used


def test_refresh_may_only_downscope(sandbox: Sandbox) -> None:
    token = sandbox.login()
    narrowed = sandbox.refresh(token["refresh_token"], scope="profile").json()
    assert narrowed["scope"] == "profile"
    assert (
        "email" not in sandbox.get("/oauth/userinfo", narrowed["access_token"]).json()
    )
    # the refresh token keeps the original grant
    widened_back = sandbox.refresh(narrowed["refresh_token"]).json()
    assert widened_back["scope"] == "profile email"
    wider = sandbox.refresh(widened_back["refresh_token"], scope="profile post:write")
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"
    assert sandbox.refresh(widened_back["refresh_token"]).status_code == 200


def test_refresh_token_expires_after_30_days(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    token = sandbox.login()
    clock.advance(30 * 24 * 3600)
    assert sandbox.refresh(token["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_token_is_bound_to_its_client(sandbox: Sandbox) -> None:
    token = sandbox.login()
    sandbox.provider.register_client("other", "other-secret", REDIRECT_URI)
    response = sandbox.refresh(
        token["refresh_token"], client_id="other", client_secret="other-secret"
    )
    assert response.json()["error"] == "invalid_grant"


def test_repeated_token_parameter_is_invalid_request(sandbox: Sandbox) -> None:
    token = sandbox.login()
    response = sandbox.session.post(
        sandbox.url("/oauth/token"),
        data=[
            ("grant_type", "refresh_token"),
            ("refresh_token", token["refresh_token"]),
            ("refresh_token", token["refresh_token"]),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ],
    )
    assert response.json()["error"] == "invalid_request"


# -- revocation -------------------------------------------------------------------


def test_revoke_then_refresh_fails_and_access_token_dies_too(
    sandbox: Sandbox,
) -> None:
    token = sandbox.login()
    revoked = sandbox.revoke(token["refresh_token"], token_type_hint="refresh_token")
    assert revoked.status_code == 200
    assert revoked.headers["Cache-Control"] == "no-store"
    assert sandbox.refresh(token["refresh_token"]).json()["error"] == "invalid_grant"
    assert sandbox.get("/oauth/userinfo", token["access_token"]).status_code == 401


def test_revoke_is_idempotent_and_unknown_tokens_succeed(sandbox: Sandbox) -> None:
    token = sandbox.login()
    assert sandbox.revoke(token["refresh_token"]).status_code == 200
    assert sandbox.revoke(token["refresh_token"]).status_code == 200
    assert sandbox.revoke("rt_unknown").status_code == 200


def test_revoking_an_access_token_keeps_the_refresh_token(sandbox: Sandbox) -> None:
    token = sandbox.login()
    assert sandbox.revoke(token["access_token"]).status_code == 200
    assert sandbox.get("/oauth/userinfo", token["access_token"]).status_code == 401
    assert sandbox.refresh(token["refresh_token"]).status_code == 200


def test_revoke_requires_client_authentication_and_a_token(sandbox: Sandbox) -> None:
    token = sandbox.login()
    anonymous = sandbox.session.post(
        sandbox.url("/oauth/revoke"), data={"token": token["refresh_token"]}
    )
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    missing = sandbox.session.post(
        sandbox.url("/oauth/revoke"),
        data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert missing.status_code == 400
    assert missing.json()["code"] == "C0002"
    assert sandbox.refresh(token["refresh_token"]).status_code == 200


def test_another_client_cannot_revoke_a_token(sandbox: Sandbox) -> None:
    token = sandbox.login()
    sandbox.provider.register_client("other", "other-secret", REDIRECT_URI)
    response = sandbox.revoke(
        token["refresh_token"], client_id="other", client_secret="other-secret"
    )
    assert response.status_code == 200
    assert sandbox.refresh(token["refresh_token"]).status_code == 200


# -- userinfo and API -------------------------------------------------------------


def test_userinfo_has_email_only_with_email_scope(sandbox: Sandbox) -> None:
    with_email = sandbox.login(scope="profile email")
    without = sandbox.login(scope="profile")
    claims = sandbox.get("/oauth/userinfo", with_email["access_token"]).json()
    assert claims["email"] == SAMPLE_USERS[0].email
    claims = sandbox.get("/oauth/userinfo", without["access_token"]).json()
    assert "email" not in claims
    assert set(claims) == {"sub", "name", "preferred_username", "picture"}
    assert claims["picture"].startswith("http")


def test_userinfo_without_profile_scope_is_403_c0011(sandbox: Sandbox) -> None:
    token = sandbox.login(scope="email")
    response = sandbox.get("/oauth/userinfo", token["access_token"])
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "C0011"
    assert {"message", "timestamp", "details"} <= set(body)
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer a.b.c"],
)
def test_missing_or_invalid_bearer_is_401_c0001_with_challenge(
    sandbox: Sandbox, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = sandbox.session.get(sandbox.url("/oauth/userinfo"), headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "C0001"
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="rocketpunch"')


def test_forged_access_token_signature_is_rejected(sandbox: Sandbox) -> None:
    token = sandbox.login()["access_token"]
    header, payload, _ = token.split(".")
    forged = f"{header}.{payload}.{'A' * 43}"
    assert sandbox.get("/oauth/userinfo", forged).status_code == 401


def test_access_token_expires_per_expires_in(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    token = sandbox.login()
    clock.advance(899)
    assert sandbox.get("/oauth/userinfo", token["access_token"]).status_code == 200
    clock.advance(1)
    expired = sandbox.get("/oauth/userinfo", token["access_token"])
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]


def test_access_token_lifetime_is_configurable_per_provider_and_per_token(
    clock: FakeClock,
) -> None:
    provider = SandboxProvider(clock=clock, access_token_ttl=60)
    provider.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    assert provider.issue_token("minji", CLIENT_ID, "profile")["expires_in"] == 60
    short = provider.issue_token("minji", CLIENT_ID, ["profile"], expires_in=5)
    assert short["expires_in"] == 5
    assert provider.access_tokens[short["access_token"]].expires_at == clock() + 5


def test_issue_token_tokens_work_everywhere(sandbox: Sandbox) -> None:
    token = sandbox.provider.issue_token("seojun", CLIENT_ID, "profile email")
    claims = sandbox.get("/oauth/userinfo", token["access_token"]).json()
    assert claims["preferred_username"] == "seojun"
    assert sandbox.refresh(token["refresh_token"]).status_code == 200
    expired = sandbox.provider.issue_token("alex", CLIENT_ID, "profile", expires_in=0)
    assert sandbox.get("/oauth/userinfo", expired["access_token"]).status_code == 401


def test_issue_token_rejects_unknown_user_client_or_scope(sandbox: Sandbox) -> None:
    with pytest.raises(LookupError):
        sandbox.provider.issue_token("nobody", CLIENT_ID, "profile")
    with pytest.raises(LookupError):
        sandbox.provider.issue_token("minji", "nobody", "profile")
    with pytest.raises(ValueError, match="profile:read"):
        sandbox.provider.issue_token("minji", CLIENT_ID, "profile:read")


def test_rate_limit_remaining_counts_down_per_client(sandbox: Sandbox) -> None:
    token = sandbox.login()
    remaining = [
        sandbox.get("/oauth/userinfo", token["access_token"]).headers[
            "X-RP-RateLimit-Remaining"
        ]
        for _ in range(3)
    ]
    assert remaining == ["59", "58", "57"]


def test_enforced_rate_limit_answers_429_until_the_minute_ends(
    clock: FakeClock,
) -> None:
    clock.now = 1_800_000_020.0
    provider = SandboxProvider(
        clock=clock, rate_limit_per_minute=2, enforce_rate_limit=True
    )
    provider.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    token = provider.issue_token("minji", CLIENT_ID, "profile")["access_token"]
    client = create_sandbox_app(provider).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/oauth/userinfo", headers=headers).status_code == 200
    assert client.get("/oauth/userinfo", headers=headers).status_code == 200
    limited = client.get("/oauth/userinfo", headers=headers)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "40"
    clock.advance(40)
    assert client.get("/oauth/userinfo", headers=headers).status_code == 200


def test_sample_api_lists_and_creates_posts_with_scope(sandbox: Sandbox) -> None:
    reader = sandbox.provider.issue_token("minji", CLIENT_ID, "profile")
    listed = sandbox.session.get(
        sandbox.url("/api/v1/posts"),
        params={"page": 1, "pageSize": 2},
        headers={"Authorization": f"Bearer {reader['access_token']}"},
    )
    assert listed.status_code == 200
    assert listed.json()["pageSize"] == 2
    assert len(listed.json()["items"]) == 2
    denied = sandbox.session.post(
        sandbox.url("/api/v1/posts"),
        json={"text": "hi"},
        headers={"Authorization": f"Bearer {reader['access_token']}"},
    )
    assert denied.status_code == 403
    assert denied.json()["code"] == "C0011"
    writer = sandbox.provider.issue_token("minji", CLIENT_ID, "profile post:write")
    created = sandbox.session.post(
        sandbox.url("/api/v1/posts"),
        files={"request": (None, json.dumps({"text": "hello"}), "application/json")},
        headers={"Authorization": f"Bearer {writer['access_token']}"},
    )
    assert created.status_code == 201
    assert created.json()["content"] == "hello"
    first = sandbox.get("/api/v1/posts", writer["access_token"]).json()["items"][0]
    assert first["content"] == "hello"


def test_company_permissions_need_their_scope(sandbox: Sandbox) -> None:
    plain = sandbox.provider.issue_token("minji", CLIENT_ID, "profile")
    manager = sandbox.provider.issue_token("minji", CLIENT_ID, "company:manage:read")
    path = "/api/v1/me/company-permissions"
    assert sandbox.get(path, plain["access_token"]).status_code == 403
    companies = sandbox.get(path, manager["access_token"]).json()["companies"]
    assert companies[0]["company"]["permalink"] == "rocketpunch-sandbox"


def test_unknown_api_path_is_404_in_the_flavor_error_shape(
    make_sandbox: SandboxFactory,
) -> None:
    current: Sandbox = make_sandbox("current")
    guide: Sandbox = make_sandbox("guide")
    assert current.get("/api/v1/nothing").json()["code"] == "C0008"
    assert guide.get("/api/v1/nothing").json() == {
        "error": {"message": "Resource not found."}
    }


def test_metadata_describes_the_endpoints(sandbox: Sandbox) -> None:
    metadata = sandbox.get("/.well-known/oauth-authorization-server").json()
    assert metadata["token_endpoint"] == IN_PROCESS_ORIGIN + "/oauth/token"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["scopes_supported"][:2] == ["profile", "email"]


# -- faults -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, "server_error"), (503, "temporarily_unavailable"), (400, "invalid_request")],
)
def test_fault_token_status_answers_that_status_and_consumes_nothing(
    sandbox: Sandbox, status: int, error: str
) -> None:
    code = sandbox.code()
    sandbox.provider.faults.token_status = status
    response = sandbox.exchange(code)
    assert response.status_code == status
    assert response.json()["error"] == error
    sandbox.provider.faults.token_status = None
    assert sandbox.exchange(code).status_code == 200


def test_fault_token_delay_times_out_in_process(sandbox: Sandbox) -> None:
    sandbox.provider.faults.token_delay = 0.3
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        sandbox.session.post(sandbox.url("/oauth/token"), data={}, timeout=0.05)
    assert time.monotonic() - started < 0.25


def test_fault_token_delay_times_out_over_http(make_sandbox: SandboxFactory) -> None:
    sb: Sandbox = make_sandbox("current", "http")
    sb.provider.faults.token_delay = 0.3
    with pytest.raises(requests.ReadTimeout):
        sb.session.post(sb.url("/oauth/token"), data={}, timeout=0.05)


def test_fault_token_delay_only_slows_when_there_is_time(sandbox: Sandbox) -> None:
    sandbox.provider.faults.token_delay = 0.05
    started = time.monotonic()
    assert sandbox.exchange(sandbox.code()).status_code == 200
    assert time.monotonic() - started >= 0.05


def test_fault_token_malformed_answers_200_non_json(sandbox: Sandbox) -> None:
    sandbox.provider.faults.token_malformed = True
    response = sandbox.exchange(sandbox.code())
    assert response.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_fault_token_wrong_content_type(sandbox: Sandbox) -> None:
    sandbox.provider.faults.token_wrong_content_type = True
    response = sandbox.exchange(sandbox.code())
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.json()["token_type"] == "Bearer"


def test_fault_token_missing_fields_and_type_override(sandbox: Sandbox) -> None:
    sandbox.provider.faults.token_missing_fields = ("expires_in", "refresh_token")
    sandbox.provider.faults.token_type_override = "mac"
    body = sandbox.exchange(sandbox.code()).json()
    assert "expires_in" not in body
    assert "refresh_token" not in body
    assert body["token_type"] == "mac"


@pytest.mark.parametrize("stream", [False, True])
def test_fault_token_huge_answers_megabytes(sandbox: Sandbox, stream: bool) -> None:
    sandbox.provider.faults.token_huge = True
    data = {
        "grant_type": "authorization_code",
        "code": sandbox.code(),
        "redirect_uri": REDIRECT_URI,
        "code_verifier": sandbox.verifier,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    with sandbox.session.post(
        sandbox.url("/oauth/token"), data=data, stream=stream
    ) as response:
        first = next(response.iter_content(1024))
        assert first.startswith(b"{")
        assert len(first) + sum(len(c) for c in response.iter_content(65536)) > (
            4 * 1024 * 1024
        )


def test_fault_refresh_invalid_grant(sandbox: Sandbox) -> None:
    token = sandbox.login()
    sandbox.provider.faults.refresh_invalid_grant = True
    assert sandbox.refresh(token["refresh_token"]).json()["error"] == "invalid_grant"
    sandbox.provider.faults.refresh_invalid_grant = False
    assert sandbox.refresh(token["refresh_token"]).status_code == 200


@pytest.mark.parametrize(
    ("status", "code"), [(403, "C0011"), (401, "C0001"), (500, "C9999")]
)
def test_fault_userinfo_status(sandbox: Sandbox, status: int, code: str) -> None:
    token = sandbox.login()
    sandbox.provider.faults.userinfo_status = status
    response = sandbox.get("/oauth/userinfo", token["access_token"])
    assert response.status_code == status
    assert response.json()["code"] == code


def test_fault_api_status(sandbox: Sandbox) -> None:
    token = sandbox.login()
    sandbox.provider.faults.api_status = 502
    response = sandbox.get("/api/v1/posts", token["access_token"])
    assert response.status_code == 502
    assert response.json()["code"] == "C9999"
    assert sandbox.get("/oauth/userinfo", token["access_token"]).status_code == 200


@pytest.mark.parametrize("path", ["/oauth/userinfo", "/api/v1/posts"])
def test_fault_rate_limit_answers_429_c0010_with_retry_after(
    sandbox: Sandbox, path: str
) -> None:
    token = sandbox.login()
    sandbox.provider.faults.rate_limit_retry_after = 17
    response = sandbox.get(path, token["access_token"])
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "17"
    assert response.json()["code"] == "C0010"


def test_fault_rate_limit_in_guide_flavor_shape(guide: Sandbox) -> None:
    guide.provider.faults.rate_limit_retry_after = 3
    response = guide.get("/api/v1/profiles/me")
    assert response.status_code == 429
    assert response.json() == {"error": {"message": "Rate limit exceeded."}}


def test_fault_connect_refused_raises_connection_error_in_process(
    sandbox: Sandbox,
) -> None:
    sandbox.provider.faults.connect_refused = True
    with pytest.raises(requests.ConnectionError):
        sandbox.get("/oauth/userinfo")
    assert sandbox.provider.requests == []


def test_fault_timeout_raises_read_timeout_in_process(sandbox: Sandbox) -> None:
    sandbox.provider.faults.timeout = True
    with pytest.raises(requests.ReadTimeout):
        sandbox.exchange("any")


def test_fault_timeout_delays_every_endpoint_over_http(
    make_sandbox: SandboxFactory,
) -> None:
    sb: Sandbox = make_sandbox("current", "http")
    sb.provider.faults.timeout = True
    sb.provider.faults.timeout_delay = 0.3
    with pytest.raises(requests.ReadTimeout):
        sb.session.get(sb.url("/oauth/userinfo"), timeout=0.05)


def test_reset_turns_faults_off_and_forgets_state(sandbox: Sandbox) -> None:
    sandbox.login()
    sandbox.provider.faults.token_status = 500
    sandbox.provider.faults.token_missing_fields = ("scope",)
    sandbox.provider.reset()
    assert sandbox.provider.faults == type(sandbox.provider.faults)()
    assert sandbox.provider.requests == []
    assert sandbox.provider.codes == {}
    assert sandbox.provider.access_tokens == {}
    assert sandbox.provider.refresh_tokens == {}
    assert sandbox.login()["access_token"]


# -- recording --------------------------------------------------------------------


def test_requests_are_recorded_with_params_headers_and_status(
    sandbox: Sandbox,
) -> None:
    token = sandbox.login()
    sandbox.refresh(token["refresh_token"])
    sandbox.refresh(token["refresh_token"])
    recorded = sandbox.provider.requests
    assert [(r.endpoint, r.method, r.status) for r in recorded] == [
        ("authorize", "GET", 200),
        ("authorize", "POST", 302),
        ("token", "POST", 200),
        ("token", "POST", 200),
        ("token", "POST", 400),
    ]
    assert recorded[2].params["code_verifier"] == sandbox.verifier
    assert recorded[2].headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sandbox.provider.grant_counts()["refresh_token"] == 2
    assert sandbox.provider.grant_counts()["authorization_code"] == 1


def test_recorded_request_repr_masks_secrets(sandbox: Sandbox) -> None:
    token = sandbox.login()
    sandbox.refresh(token["refresh_token"], basic=True)
    provider = sandbox.provider
    text = repr(provider.requests) + repr(list(provider.refresh_tokens.values()))
    text += repr(list(provider.access_tokens.values()))
    text += repr(list(provider.clients.values())) + repr(list(provider.codes.values()))
    for secret in (
        CLIENT_SECRET,
        sandbox.verifier,
        token["refresh_token"],
        *sandbox.provider.codes,
    ):
        assert secret not in text
    assert "Basic" not in text


def test_concurrent_refreshes_of_one_token_let_exactly_one_win(
    sandbox: Sandbox,
) -> None:
    token = sandbox.login()
    results: list[int] = []

    def refresh() -> None:
        results.append(sandbox.refresh(token["refresh_token"]).status_code)

    threads = [threading.Thread(target=refresh) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] + [400] * 7
    assert sandbox.provider.grant_counts()["refresh_token"] == 8


# -- mounting, transport and server -------------------------------------------------


def make_host_app(provider: SandboxProvider) -> Flask:
    app = Flask("host_app")
    app.config["SECRET_KEY"] = "host-secret"

    @app.get("/")
    def index() -> str:
        session["seen"] = True
        return "host"

    app.register_blueprint(
        create_sandbox_blueprint(provider, name="rp_sandbox"),
        url_prefix="/_rocketpunch_sandbox",
    )
    return app


def test_blueprint_works_under_a_prefix_in_another_app(clock: FakeClock) -> None:
    provider = SandboxProvider(clock=clock)
    provider.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    app = make_host_app(provider)
    transport = SandboxTransport(app)
    assert transport.faults is provider.faults
    with requests.Session() as http:
        http.mount("http://host.test/", transport)
        sb = Sandbox(provider, http, "http://host.test/_rocketpunch_sandbox")
        form = sb.consent(sb.params())
        assert form.action == "/_rocketpunch_sandbox/oauth/authorize"
        assert form.stylesheets == ["/_rocketpunch_sandbox/static/sandbox.css"]
        assert form.images[0].startswith("http://host.test/_rocketpunch_sandbox/")
        css = http.get(urljoin(form.url, form.stylesheets[0]))
        assert css.status_code == 200
        token = sb.exchange(redirect_query(sb.decide(form), REDIRECT_URI)["code"])
        assert token.status_code == 200
        assert "Set-Cookie" not in token.headers
        metadata = sb.get("/.well-known/oauth-authorization-server").json()
        assert metadata["issuer"] == "http://host.test/_rocketpunch_sandbox"
        assert metadata["revocation_endpoint"] == (
            "http://host.test/_rocketpunch_sandbox/oauth/revoke"
        )
        assert [r.endpoint for r in provider.requests][:2] == ["authorize"] * 2
        assert http.get("http://host.test/").text == "host"
        provider.faults.connect_refused = True
        with pytest.raises(requests.ConnectionError):
            http.get("http://host.test/")


def test_public_url_sets_picture_and_authorization_endpoint(sandbox: Sandbox) -> None:
    sandbox.provider.public_url = "http://localhost:5000/_rocketpunch_sandbox/"
    token = sandbox.login()
    claims = sandbox.get("/oauth/userinfo", token["access_token"]).json()
    assert claims["picture"] == (
        "http://localhost:5000/_rocketpunch_sandbox/static/avatar-minji.svg"
    )
    metadata = sandbox.get("/.well-known/oauth-authorization-server").json()
    assert metadata["authorization_endpoint"] == (
        "http://localhost:5000/_rocketpunch_sandbox/oauth/authorize"
    )
    assert metadata["token_endpoint"] == IN_PROCESS_ORIGIN + "/oauth/token"


def test_transport_keeps_cookies_and_follows_redirects(provider_app: Flask) -> None:
    with requests.Session() as http:
        http.mount("http://client.test/", SandboxTransport(provider_app))
        assert http.get("http://client.test/set").status_code == 200
        assert http.cookies.get("flavour") == "ginger"
        followed = http.get("http://client.test/redirect")
        assert followed.json() == {"cookie": "ginger", "query": "a=1&b=%C3%A9"}
        assert [r.status_code for r in followed.history] == [302]


@pytest.fixture
def provider_app() -> Flask:
    app = Flask("client_app")

    @app.get("/set")
    def set_cookie() -> ResponseReturnValue:
        response = jsonify(ok=True)
        response.set_cookie("flavour", "ginger")
        return response

    @app.get("/redirect")
    def go() -> ResponseReturnValue:
        return redirect("/echo?a=1&b=%C3%A9")

    @app.get("/echo")
    def echo() -> ResponseReturnValue:
        return jsonify(
            cookie=request.cookies.get("flavour"),
            query=request.query_string.decode(),
        )

    return app


def test_transport_reraises_app_exceptions_in_the_caller() -> None:
    app = Flask("broken")
    app.testing = True

    @app.get("/")
    def boom() -> str:
        raise RuntimeError("boom")

    with requests.Session() as http:
        http.mount("http://broken.test/", SandboxTransport(app))
        with pytest.raises(RuntimeError, match="boom"):
            http.get("http://broken.test/")


def test_transport_serves_the_same_app_from_inside_a_single_threaded_server(
    clock: FakeClock,
) -> None:
    provider = SandboxProvider(clock=clock)
    provider.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    app = make_host_app(provider)
    back_channel = requests.Session()
    back_channel.mount("http://self.test/", SandboxTransport(app))
    token = provider.issue_token("minji", CLIENT_ID, "profile")["access_token"]

    @app.get("/me")
    def me() -> ResponseReturnValue:
        response = back_channel.get(
            "http://self.test/_rocketpunch_sandbox/oauth/userinfo",
            headers={"Authorization": f"Bearer {token}"},
            timeout=2,
        )
        return jsonify(response.json())

    with back_channel, SandboxServer(app, threaded=False) as server:
        response = requests.get(f"{server.url}/me", timeout=5)
    assert response.json()["preferred_username"] == "minji"


def test_server_serves_any_wsgi_app_and_releases_its_port(
    provider_app: Flask,
) -> None:
    server = SandboxServer(provider_app)
    with pytest.raises(RuntimeError):
        _ = server.url
    server.start()
    assert server.running
    assert server.provider is None
    url = server.url
    assert url.startswith("http://127.0.0.1:")
    assert requests.get(f"{url}/set", timeout=5).json() == {"ok": True}
    server.stop()
    server.stop()
    assert not server.running
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/set", timeout=1)


def test_provider_rejects_an_unknown_flavor() -> None:
    with pytest.raises(ValueError, match="flavor"):
        SandboxProvider("future")  # type: ignore[arg-type]
