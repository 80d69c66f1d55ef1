"""What the sandbox tests share: a fake clock, the consent form parsed as a
browser sees it, a client of the sandbox over HTTP or in-process, and their
fixtures. It holds no tests; the ``test_sandbox_*`` modules import from it."""

from __future__ import annotations

import base64
import dataclasses
import json
import secrets
import typing as t
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from flask import Flask, jsonify, redirect, request, session
from flask.typing import ResponseReturnValue

from flask_rocketpunch import RocketpunchOAuth, login_required_rocketpunch, rocketpunch
from flask_rocketpunch.sandbox import (
    Flavor,
    SandboxProvider,
    SandboxServer,
    SandboxTransport,
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
        # The sandbox's pages are Korean unless the browser asks otherwise;
        # these tests read the English ones (tests/test_i18n_pages.py reads
        # both).
        session.headers["Accept-Language"] = "en"
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

    def get(
        self,
        path: str,
        access_token: str | None = None,
        app_key: str | None = CLIENT_ID,
    ) -> requests.Response:
        headers = {}
        if app_key is not None:
            headers["X-RP-API-Key"] = app_key
        if access_token is not None:
            headers["Authorization"] = f"Bearer {access_token}"
        return self.session.get(self.url(path), headers=headers, timeout=5)


def redirect_query(response: requests.Response, expected_base: str) -> dict[str, str]:
    location = response.headers["Location"]
    assert location.split("?")[0] == expected_base
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def decode_data_uri(uri: str) -> tuple[str, bytes]:
    """The media type and bytes of a ``data:...;base64,...`` URI."""
    head, sep, data = uri.partition(",")
    assert head.startswith("data:"), uri[:40]
    assert head.endswith(";base64"), uri[:40]
    assert sep
    return head.removeprefix("data:").removesuffix(";base64"), base64.b64decode(data)


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

        def make(
            flavor: Flavor = "current",
            over: str = "in-process",
            *,
            skip_consent: bool = False,
        ) -> Sandbox:
            # The session keeps the sandbox's signed-in cookie: these tests
            # want the consent page every time, unless they ask otherwise.
            provider = SandboxProvider(flavor, clock=clock, skip_consent=skip_consent)
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


def sandbox_app(**config: t.Any) -> Flask:
    """An app with sandbox mode on and no client id or secret."""
    app = Flask("sandbox_app")
    app.config.update(
        SECRET_KEY="sandbox-mode-secret", ROCKETPUNCH_SANDBOX=True, TESTING=True
    )
    app.config.update({f"ROCKETPUNCH_{k}": v for k, v in config.items()})
    RocketpunchOAuth(app)

    @app.get("/")
    def home() -> str:
        return "home"

    @app.get("/me")
    @login_required_rocketpunch
    def me() -> t.Any:
        return rocketpunch.userinfo()

    @app.get("/posts")
    @login_required_rocketpunch
    def posts() -> t.Any:
        return {"total": rocketpunch.get("posts").json()["totalItems"]}

    return app
