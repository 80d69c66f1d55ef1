"""The testing kit (``flask_rocketpunch.testing``): its helpers against apps
on the in-app sandbox and apps pointed at a sandbox server, each fault switch,
and the pytest plugin as a user's suite sees it."""

from __future__ import annotations

import collections.abc as cabc
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import pytest
import requests
from flask import Flask, jsonify, session
from flask.testing import FlaskClient
from support import LOGIN, WANTS_JSON, create_app, extension, new_app, query_of

import flask_rocketpunch.testing as kit
from flask_rocketpunch import (
    APIError,
    MemoryStorage,
    RateLimitError,
    RocketpunchError,
    Token,
    TokenStorage,
    logged_in,
    login_required_rocketpunch,
    rocketpunch,
)
from flask_rocketpunch.sandbox import SandboxProvider, SandboxServer
from flask_rocketpunch.storage import TOKEN_KEY
from flask_rocketpunch.testing import (
    answer_consent,
    complete_login,
    consent_form,
    last_request,
    login_as,
    logout,
    misbehave,
    register_app,
    sandbox_of,
)

pytest_plugins = ["pytester"]

JSON = WANTS_JSON


def build_app(
    config: cabc.Mapping[str, t.Any], *, storage: TokenStorage | None = None
) -> Flask:
    """A small client app: ``/me`` (protected, the userinfo claims or the API
    error the app saw) and a login error hook that reports the error."""
    app = create_app(config, storage=storage)
    rp = extension(app)
    app.extensions["kit_errors"] = errors = []

    @rp.on_error
    def on_error(error: RocketpunchError) -> tuple[str, int]:
        errors.append(error)
        return f"login failed: {type(error).__name__}", error.http_status

    @app.get("/email")
    @login_required_rocketpunch(scopes="email")
    def email() -> t.Any:
        return {"email": rocketpunch.userinfo().get("email")}

    @app.get("/me")
    @login_required_rocketpunch
    def me() -> t.Any:
        try:
            return jsonify(rocketpunch.userinfo())
        except APIError as exc:
            return jsonify(
                error=type(exc).__name__,
                status=exc.status_code,
                code=exc.code,
                retry_after=getattr(exc, "retry_after", None),
            )

    return app


def login_errors(app: Flask) -> list[RocketpunchError]:
    return t.cast(list[RocketpunchError], app.extensions["kit_errors"])


class Setup(t.NamedTuple):
    app: Flask
    client: FlaskClient
    provider: SandboxProvider
    #: The ``provider=`` argument the helpers need (None for the in-app one).
    given: SandboxProvider | None


SetupFactory = cabc.Callable[..., Setup]


@pytest.fixture(params=["in-app sandbox", "sandbox server"])
def make_setup(request: pytest.FixtureRequest) -> SetupFactory:
    """Build the same app in both configurations the kit supports; keyword
    arguments are extra config keys."""

    def factory(**config: t.Any) -> Setup:
        if request.param == "in-app sandbox":
            app = build_app({"ROCKETPUNCH_SANDBOX": True, **config})
            return Setup(app, app.test_client(), sandbox_of(app), None)
        settings = request.getfixturevalue("rocketpunch_config")
        provider = request.getfixturevalue("rocketpunch_provider")
        app = build_app({**settings, **config})
        return Setup(app, app.test_client(), provider, provider)

    return factory


@pytest.fixture
def setup(make_setup: SetupFactory) -> Setup:
    return make_setup()


def refused_connections(setup: Setup, request: pytest.FixtureRequest) -> None:
    """Make connections to the provider fail the way each setup can."""
    if setup.given is None:
        setup.provider.faults.connect_refused = True
    else:
        request.getfixturevalue("rocketpunch_server").stop()


# -- sandbox_of and register_app ----------------------------------------------


def test_sandbox_of_returns_the_provider_built_into_the_app() -> None:
    app = build_app({"ROCKETPUNCH_SANDBOX": True})
    provider = sandbox_of(app)
    assert provider is extension(app).sandbox(app)
    assert sandbox_of(app.test_client()) is provider


def test_sandbox_of_explains_an_app_outside_sandbox_mode(
    rocketpunch_config: dict[str, str],
) -> None:
    app = build_app(rocketpunch_config)
    with pytest.raises(RuntimeError, match="not in sandbox mode"):
        sandbox_of(app)
    with pytest.raises(RuntimeError, match="provider=rocketpunch_provider"):
        login_as(app.test_client())


def test_helpers_explain_an_app_without_the_extension() -> None:
    with pytest.raises(RuntimeError, match="does not use flask-rocketpunch"):
        sandbox_of(new_app({}))


def test_register_app_registers_the_callback_the_test_client_uses() -> None:
    app = build_app({"ROCKETPUNCH_SANDBOX": True})
    client = register_app(app)
    assert client.client_id == "sandbox-client"
    assert client.redirect_uri == "http://localhost/auth/rocketpunch/callback"


def test_register_app_honours_a_configured_redirect_uri() -> None:
    provider = SandboxProvider()
    app = build_app(
        {
            "ROCKETPUNCH_SANDBOX": True,
            "ROCKETPUNCH_REDIRECT_URI": "https://app.example/cb",
        }
    )
    assert register_app(app, provider).redirect_uri == "https://app.example/cb"
    assert provider.clients["sandbox-client"].redirect_uri == "https://app.example/cb"


# -- login_as -------------------------------------------------------------------


def test_login_as_logs_the_user_in_without_the_redirect_dance(setup: Setup) -> None:
    token = login_as(setup.client, "seojun", provider=setup.given)
    me = setup.client.get("/me", headers=JSON)
    assert me.status_code == 200
    assert me.json is not None
    assert me.json["name"] == "박서준"
    assert setup.provider.requests_to("authorize") == []
    assert setup.provider.grant_counts() == {}
    issued = setup.provider.access_tokens[token.access_token]
    assert issued.user_sub == me.json["sub"]


def test_login_as_stores_the_token_encrypted_in_the_session(setup: Setup) -> None:
    token = login_as(setup.client, provider=setup.given)
    cookie = setup.client.get_cookie("session")
    assert cookie is not None
    assert token.access_token not in cookie.value
    assert token.refresh_token is not None
    assert token.refresh_token not in cookie.value
    with setup.client.session_transaction() as session:
        assert isinstance(session[TOKEN_KEY], str)


def test_login_as_keeps_the_rest_of_the_session(setup: Setup) -> None:
    with setup.client.session_transaction() as session:
        session["cart"] = ["book"]
    login_as(setup.client, provider=setup.given)
    with setup.client.session_transaction() as session:
        assert session["cart"] == ["book"]


def test_login_as_grants_the_configured_scopes_or_the_given_ones(
    setup: Setup,
) -> None:
    assert login_as(setup.client, provider=setup.given).scopes == {"profile"}
    token = login_as(setup.client, scopes="profile email", provider=setup.given)
    assert token.scopes == {"profile", "email"}
    me = setup.client.get("/me", headers=JSON)
    assert me.json is not None
    assert me.json["email"] == "minji@example.com"


def test_login_as_with_expiry_within_the_leeway_refreshes_exactly_once(
    setup: Setup,
) -> None:
    login_as(setup.client, expires_in=60, provider=setup.given)
    assert setup.client.get("/me", headers=JSON).status_code == 200
    assert setup.client.get("/me", headers=JSON).status_code == 200
    assert setup.provider.grant_counts() == {"refresh_token": 1}
    assert last_request(setup.provider, "token").status == 200


def test_login_as_works_with_another_token_storage() -> None:
    storage = MemoryStorage()
    app = build_app({"ROCKETPUNCH_SANDBOX": True}, storage=storage)
    client = app.test_client()
    token = login_as(client, "alex")
    assert list(storage.tokens.values()) == [token]
    assert client.get("/me", headers=JSON).status_code == 200
    assert app.test_client().get("/me", headers=JSON).status_code == 401


def test_login_as_refuses_an_unknown_user() -> None:
    app = build_app({"ROCKETPUNCH_SANDBOX": True})
    with pytest.raises(LookupError, match="nobody"):
        login_as(app.test_client(), "nobody")


def test_login_as_registers_the_app_with_a_bare_provider(
    rocketpunch_provider: SandboxProvider, rocketpunch_config: dict[str, str]
) -> None:
    # The kit's URLs, with a client the provider has never seen.
    app = build_app(
        {
            **rocketpunch_config,
            "ROCKETPUNCH_CLIENT_ID": "own-client",
            "ROCKETPUNCH_CLIENT_SECRET": "own-secret",
        }
    )
    assert "own-client" not in rocketpunch_provider.clients
    client = app.test_client()
    login_as(client, expires_in=0, provider=rocketpunch_provider)
    assert "own-client" in rocketpunch_provider.clients
    assert client.get("/me", headers=JSON).status_code == 200
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1


def test_login_as_and_complete_login_work_with_the_guide_flavor() -> None:
    app = build_app(
        {"ROCKETPUNCH_SANDBOX": True, "ROCKETPUNCH_SANDBOX_FLAVOR": "guide"}
    )
    client = app.test_client()
    assert login_as(client, "alex").scopes == {"profile:read"}
    me = client.get("/me", headers=JSON)
    assert me.json is not None
    assert me.json["preferred_username"] == "alex"
    other = app.test_client()
    assert complete_login(other, "seojun", next="/me").location == "/me"
    assert "code_verifier" not in last_request(sandbox_of(app), "token").params


# -- complete_login and logout ---------------------------------------------------


def test_complete_login_goes_through_consent_and_callback(setup: Setup) -> None:
    response = complete_login(setup.client, "alex", next="/me", provider=setup.given)
    assert response.status_code == 302
    assert response.location == "/me"
    me = setup.client.get("/me", headers=JSON)
    assert me.json is not None
    assert me.json["preferred_username"] == "alex"
    assert len(setup.provider.requests_to("authorize")) == 2  # page, then form
    assert setup.provider.grant_counts() == {"authorization_code": 1}
    assert "code_verifier" in last_request(setup.provider, "token").params


def test_complete_login_deny_reaches_the_error_hook(setup: Setup) -> None:
    response = complete_login(setup.client, decision="deny", provider=setup.given)
    assert response.status_code == 403
    [error] = login_errors(setup.app)
    assert getattr(error, "error", None) == "access_denied"
    assert setup.provider.grant_counts() == {}


def test_complete_login_reports_a_rejected_consent_form(setup: Setup) -> None:
    with pytest.raises(AssertionError, match="consent form was rejected"):
        complete_login(setup.client, "nobody", provider=setup.given)


def test_complete_login_with_scopes_completes_a_step_up(setup: Setup) -> None:
    login_as(setup.client, provider=setup.given)  # profile only
    assert setup.client.get("/email").status_code == 302  # a step-up is due

    response = complete_login(
        setup.client, scopes=["email"], next="/email", provider=setup.given
    )

    assert response.location == "/email"
    asked = last_request(setup.provider, "authorize").params["scope"]
    assert set(asked.split()) == {"profile", "email"}
    assert setup.client.get("/email").get_json() == {"email": "minji@example.com"}


def test_login_as_runs_the_on_login_hook_in_the_clients_session_when_asked(
    setup: Setup,
) -> None:
    rp = extension(setup.app)
    calls: list[str] = []
    sent: list[str] = []

    @rp.on_login
    def remember_user(token: Token) -> str:
        name = rocketpunch.userinfo()["name"]
        calls.append(name)
        session["local_user"] = name
        return "a response that has nothing to replace"

    @setup.app.get("/local")
    def local_user() -> str:
        return str(session.get("local_user"))

    def received(sender: Flask, token: Token, **extra: t.Any) -> None:
        sent.append(token.access_token)

    with logged_in.connected_to(received, setup.app):
        login_as(setup.client, "alex", provider=setup.given)
        assert (calls, sent) == ([], [])
        assert setup.client.get("/local").get_data(as_text=True) == "None"

        token = login_as(setup.client, "minji", provider=setup.given, run_hooks=True)

    assert calls == ["Minji Kim"]
    assert sent == [token.access_token]
    # The hook's session changes and the new login both stuck.
    assert setup.client.get("/local").get_data(as_text=True) == "Minji Kim"
    me = setup.client.get("/me", headers=JSON).get_json()
    assert me["preferred_username"] == "minji"


def test_misbehave_docstring_example_shows_the_real_status(setup: Setup) -> None:
    doc = kit.misbehave.__doc__ or ""
    example = doc.split(".. code-block:: python", 1)[1].split("\n\n")[1]
    code = textwrap.dedent(example)
    assert "token_status=503" in code
    assert "== 502" in code
    exec(  # noqa: S102 - the docstring's own example, run as written
        code,
        {
            "misbehave": misbehave,
            "complete_login": lambda client: complete_login(
                client, provider=setup.given
            ),
            "provider": setup.provider,
            "client": setup.client,
        },
    )


def test_answer_consent_returns_the_callback_without_visiting_it(
    setup: Setup,
) -> None:
    start = setup.client.get(LOGIN)
    back = answer_consent(
        setup.client, start.headers["Location"], decision="approve", user="alex"
    )
    assert back.startswith("http://localhost/auth/rocketpunch/callback?")
    assert query_of(back)["state"] == query_of(start.headers["Location"])["state"]
    assert setup.provider.codes[query_of(back)["code"]].used is False
    assert setup.provider.grant_counts() == {}
    assert setup.client.get(back).status_code == 302
    assert setup.client.get(back).status_code == 400


def test_answer_consent_returns_the_denial(setup: Setup) -> None:
    start = setup.client.get(LOGIN)
    back = answer_consent(
        setup.client, start.headers["Location"], decision="deny", user="alex"
    )
    assert query_of(back)["error"] == "access_denied"


def test_consent_form_reads_the_form_a_browser_would_send(
    rocketpunch_config: dict[str, str], rocketpunch_server: SandboxServer
) -> None:
    app = build_app(rocketpunch_config)
    authorize_url = app.test_client().get(LOGIN).headers["Location"]
    page = requests.get(authorize_url, timeout=10)
    action, fields = consent_form(page.text, authorize_url)
    assert action.startswith(f"{rocketpunch_server.url}/")
    assert "decision" not in fields
    fields.update(decision="approve", user="seojun")
    decided = requests.post(action, data=fields, allow_redirects=False, timeout=10)
    assert decided.status_code == 302
    assert "code" in query_of(decided.headers["Location"])


def test_consent_form_reports_a_page_without_a_form() -> None:
    url = "http://127.0.0.1:9/oauth/authorize?state=s3cret"
    with pytest.raises(AssertionError, match="has no consent form") as info:
        consent_form("<h1>Unknown client</h1>", url)
    assert "s3cret" not in str(info.value)


def test_logout_revokes_the_refresh_token(setup: Setup) -> None:
    token = login_as(setup.client, provider=setup.given)
    response = logout(setup.client, next="/bye")
    assert response.status_code == 303
    assert response.location == "/bye"
    assert token.refresh_token is not None
    assert last_request(setup.provider, "revoke").params["token"] == (
        token.refresh_token
    )
    assert setup.provider.refresh_tokens[token.refresh_token].revoked
    assert setup.client.get("/me", headers=JSON).status_code == 401


# -- fault switches: what the app sees -----------------------------------------


@pytest.mark.parametrize(
    ("switches", "reason"),
    [
        ({"token_status": 503}, "server_error"),
        ({"token_malformed": True}, "invalid_response"),
    ],
)
def test_token_endpoint_faults_fail_the_login_with_a_provider_error(
    setup: Setup, switches: dict[str, t.Any], reason: str
) -> None:
    with misbehave(setup.provider, **switches):
        response = complete_login(setup.client, provider=setup.given)
    assert response.status_code == 502
    [error] = login_errors(setup.app)
    assert getattr(error, "reason", None) == reason
    assert setup.client.get("/me", headers=JSON).status_code == 401


@pytest.mark.parametrize(
    "switches", [{"token_delay": 0.5}, {"timeout": True, "timeout_delay": 0.5}]
)
def test_slow_token_endpoint_fails_the_refresh_of_an_expired_token(
    make_setup: SetupFactory, switches: dict[str, t.Any]
) -> None:
    setup = make_setup(ROCKETPUNCH_TIMEOUT=0.1)
    login_as(setup.client, expires_in=0, provider=setup.given)
    with misbehave(setup.provider, **switches):
        response = setup.client.get("/me", headers=JSON)
    assert response.status_code == 504
    assert response.json is not None
    assert response.json["error"] == "ProviderError"


def test_refused_connections_fail_the_refresh_of_an_expired_token(
    setup: Setup, request: pytest.FixtureRequest
) -> None:
    login_as(setup.client, expires_in=0, provider=setup.given)
    refused_connections(setup, request)
    response = setup.client.get("/me", headers=JSON)
    assert response.status_code == 502
    assert response.json is not None
    assert "ProviderError" in response.json["error"]


@pytest.mark.parametrize("how", ["refresh_invalid_grant", "revoked refresh token"])
def test_rejected_refresh_sends_the_user_to_log_in_again(
    setup: Setup, how: str
) -> None:
    token = login_as(setup.client, expires_in=0, provider=setup.given)
    if how == "refresh_invalid_grant":
        setup.provider.faults.refresh_invalid_grant = True
    else:
        assert token.refresh_token is not None
        assert setup.provider.revoke(token.refresh_token)
    response = setup.client.get("/me")
    assert response.status_code == 302
    assert "/auth/rocketpunch/login" in response.location
    assert setup.provider.grant_counts() == {"refresh_token": 1}
    assert last_request(setup.provider, "token").status == 400
    with setup.client.session_transaction() as session:
        assert TOKEN_KEY not in session


def test_userinfo_403_reaches_the_app_as_an_api_error_c0011(setup: Setup) -> None:
    login_as(setup.client, provider=setup.given)
    with misbehave(setup.provider, userinfo_status=403):
        me = setup.client.get("/me", headers=JSON)
    assert me.json == {
        "error": "APIError",
        "status": 403,
        "code": "C0011",
        "retry_after": None,
    }


def test_rate_limit_reaches_the_app_with_retry_after(setup: Setup) -> None:
    login_as(setup.client, provider=setup.given)
    with misbehave(setup.provider, rate_limit_retry_after=17):
        me = setup.client.get("/me", headers=JSON)
    assert me.json is not None
    assert me.json["error"] == RateLimitError.__name__
    assert (me.json["status"], me.json["code"]) == (429, "C0010")
    assert me.json["retry_after"] == 17


def test_misbehave_restores_the_switches_and_yields_them() -> None:
    provider = SandboxProvider()
    provider.faults.token_delay = 0.25
    with misbehave(provider, token_status=500, token_delay=1.0) as faults:
        assert faults is provider.faults
        assert (faults.token_status, faults.token_delay) == (500, 1.0)
    assert (provider.faults.token_status, provider.faults.token_delay) == (None, 0.25)


def test_misbehave_restores_the_switches_after_an_exception() -> None:
    provider = SandboxProvider()
    with pytest.raises(ZeroDivisionError), misbehave(provider, userinfo_status=403):
        _ = 1 / 0
    assert provider.faults.userinfo_status is None


def test_misbehave_names_the_switches_on_a_typo() -> None:
    with (
        pytest.raises(TypeError, match=r"token_stauts.*token_status"),
        misbehave(SandboxProvider(), token_stauts=503),
    ):
        pass  # pragma: no cover


def test_last_request_says_when_nothing_was_received() -> None:
    with pytest.raises(AssertionError, match="no request at 'revoke'"):
        last_request(SandboxProvider(), "revoke")


# -- fixtures and the plugin ---------------------------------------------------


def test_server_fixture_serves_the_provider_over_http(
    rocketpunch_provider: SandboxProvider, rocketpunch_server: SandboxServer
) -> None:
    assert rocketpunch_server.url.startswith("http://127.0.0.1:")
    assert rocketpunch_server.provider is rocketpunch_provider
    answer = requests.get(
        f"{rocketpunch_server.url}/.well-known/oauth-authorization-server", timeout=5
    )
    assert answer.status_code == 200
    assert last_request(rocketpunch_provider, "metadata").method == "GET"


def test_plugin_module_defines_no_hooks_and_no_autouse_fixture() -> None:
    assert [name for name in dir(kit) if name.startswith("pytest_")] == []
    for name in ("rocketpunch_provider", "rocketpunch_server", "rocketpunch_config"):
        marker = getattr(getattr(kit, name), "_fixture_function_marker", None)
        assert marker is None or not marker.autouse


def test_helpers_import_without_pytest() -> None:
    code = (
        "import sys; sys.modules['pytest'] = None\n"
        "import flask_rocketpunch.testing as kit\n"
        "assert callable(kit.login_as) and not hasattr(kit, 'rocketpunch_server')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


USER_SUITE = """
    from flask import Flask

    from flask_rocketpunch import RocketpunchOAuth, current_token
    from flask_rocketpunch.testing import login_as, sandbox_of


    def test_server_fixtures(rocketpunch_provider, rocketpunch_server,
                             rocketpunch_config):
        assert rocketpunch_server.provider is rocketpunch_provider
        assert rocketpunch_config["ROCKETPUNCH_TOKEN_URL"].startswith(
            rocketpunch_server.url)
        app = Flask("user_app")
        app.config.update(SECRET_KEY="s", **rocketpunch_config)
        RocketpunchOAuth(app)
        client = app.test_client()
        token = login_as(client, provider=rocketpunch_provider)
        with app.test_request_context():
            assert token.access_token in rocketpunch_provider.access_tokens


    def test_in_app_sandbox():
        app = Flask("user_app")
        app.config.update(SECRET_KEY="s", ROCKETPUNCH_SANDBOX=True, TESTING=True)
        RocketpunchOAuth(app)
        login_as(app.test_client(), "alex")
        assert sandbox_of(app).grant_counts() == {}
"""

PLAIN_SUITE = """
    def test_plain(request):
        print("FIXTURES", sorted(request.fixturenames))
"""


def test_plugin_fixtures_reach_a_user_suite_without_any_import(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_user_suite=textwrap.dedent(USER_SUITE))
    result = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    listed = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    listed.stdout.fnmatch_lines(["*rocketpunch_provider*", "*rocketpunch_server*"])


def test_plugin_leaves_a_suite_that_does_not_use_it_unaffected(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_plain=textwrap.dedent(PLAIN_SUITE))
    args = ("-s", "-W", "error", "-p", "no:cacheprovider")
    with_kit = pytester.runpytest_subprocess(*args)
    without_kit = pytester.runpytest_subprocess(*args, "-p", "no:rocketpunch")
    with_kit.assert_outcomes(passed=1)
    without_kit.assert_outcomes(passed=1)
    [line] = [x for x in with_kit.outlines if "FIXTURES" in x]
    assert line.endswith("FIXTURES ['request']")
    assert [x for x in without_kit.outlines if "FIXTURES" in x] == [line]


# -- docs/testing.rst: every example runs ---------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs"


def python_blocks(rst: str) -> list[str]:
    """The ``.. code-block:: python`` blocks of an rST page, dedented."""
    blocks = []
    lines = rst.splitlines()
    for n, line in enumerate(lines):
        if line.strip() != ".. code-block:: python":
            continue
        indent = len(line) - len(line.lstrip())
        body: list[str] = []
        for following in lines[n + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        blocks.append(textwrap.dedent("\n".join(body)).strip() + "\n")
    return blocks


def test_every_example_of_the_testing_page_runs(pytester: pytest.Pytester) -> None:
    blocks = python_blocks((DOCS / "testing.rst").read_text("utf-8"))
    tests = [b for b in blocks if "def test_" in b]
    imports = [
        b for b in blocks if b.startswith("from flask_rocketpunch") and b not in tests
    ]
    conftests = [b for b in blocks if b.startswith("# conftest.py")]
    server_apps = [b for b in blocks if "def app(rocketpunch_config)" in b]
    # A new kind of example must be wired in here to be run.
    assert len(imports) == len(conftests) == len(server_apps) == 1
    assert sorted(imports + conftests + server_apps + tests) == sorted(blocks)

    header = f"import pytest\nfrom myapp import create_app\n{imports[0]}\n"
    pytester.makepyfile(
        myapp=(Path(__file__).parent / "docs_app.py").read_text("utf-8"),
        conftest=conftests[0],
        test_doc_examples=header + "\n\n".join(tests),
    )
    server = pytester.mkpydir("server_mode")
    (server / "conftest.py").write_text(header + server_apps[0])
    (server / "test_server_mode.py").write_text(
        header
        + textwrap.dedent(
            """
            def test_the_server_app_fixture(client, rocketpunch_provider):
                login_as(client, provider=rocketpunch_provider)
                assert client.get("/dashboard").status_code == 200
            """
        )
    )
    functions = sum(b.count("\ndef test_") + b.startswith("def test_") for b in tests)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=functions + 1)
