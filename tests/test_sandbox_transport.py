"""The sandbox mounted in another app and called in-process through SandboxTransport."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
import requests
from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from test_sandbox_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    IN_PROCESS_ORIGIN,
    REDIRECT_URI,
    FakeClock,
    Sandbox,
    make_host_app,
    redirect_query,
)
from test_sandbox_support import clock as clock
from test_sandbox_support import make_sandbox as make_sandbox
from test_sandbox_support import provider_app as provider_app
from test_sandbox_support import sandbox as sandbox

from flask_rocketpunch.sandbox import (
    Flavor,
    SandboxProvider,
    SandboxServer,
    SandboxTransport,
    create_sandbox_blueprint,
)


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


def test_two_sandboxes_in_one_app_each_serve_their_own_provider(
    clock: FakeClock,
) -> None:
    app = Flask("two_sandboxes")
    providers = {}
    flavors: tuple[tuple[str, Flavor], ...] = (
        ("first", "current"),
        ("second", "guide"),
    )
    for name, flavor in flavors:
        provider = SandboxProvider(flavor, clock=clock)
        provider.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, name=name)
        app.register_blueprint(
            create_sandbox_blueprint(provider, name=name), url_prefix=f"/{name}"
        )
        providers[name] = provider
    with requests.Session() as http:
        http.mount("http://two.test/", SandboxTransport(app))
        for name, provider in providers.items():
            sb = Sandbox(provider, http, f"http://two.test/{name}")
            page = sb.authorize(sb.params())
            assert f"<strong>{name}</strong>" in page.text
            scope = sb.scopes.split()[0]
            token = provider.issue_token("minji", CLIENT_ID, scope)["access_token"]
            path = provider.flavor_spec.userinfo_path
            assert sb.get(path, token).status_code == 200
            other = "second" if name == "first" else "first"
            elsewhere = Sandbox(providers[other], http, f"http://two.test/{other}")
            other_path = providers[other].flavor_spec.userinfo_path
            assert elsewhere.get(other_path, token).status_code == 401
    for provider in providers.values():
        profile = "userinfo" if provider.flavor_spec.serves_userinfo else "profile"
        assert sorted((r.endpoint, r.status) for r in provider.requests) == [
            ("authorize", 200),
            (profile, 200),
            (profile, 401),
        ]
