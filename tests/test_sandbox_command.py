"""The standalone sandbox: ``python -m flask_rocketpunch.sandbox`` and
``flask rocketpunch sandbox`` in a process of their own, an app logged in
against it from this process, and its control API driven over HTTP with
:class:`~flask_rocketpunch.testing.RemoteSandbox`."""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import typing as t
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from click.testing import CliRunner
from flask import Flask, jsonify
from flask.testing import FlaskClient

from flask_rocketpunch import RocketpunchOAuth, rocketpunch
from flask_rocketpunch.sandbox import SandboxProvider, SandboxServer
from flask_rocketpunch.sandbox.command import (
    config_lines,
    control_enabled,
    create_standalone_app,
    sandbox_command,
)
from flask_rocketpunch.sandbox.flavors import FLAVORS
from flask_rocketpunch.testing import RemoteSandbox, consent_form

ROOT = Path(__file__).resolve().parents[1]
REDIRECT_URI = "http://localhost/auth/rocketpunch/callback"
_LINE = re.compile(r"^    ROCKETPUNCH_(\w+) = (.*)$", re.MULTILINE)
_SERVING = re.compile(r"serving at (http://\S+)")


class Running(t.NamedTuple):
    url: str
    config: dict[str, t.Any]
    output: cabc.Callable[[], str]


def _value(text: str) -> t.Any:
    if text.startswith('"'):
        return text[1:-1]
    return {"None": None, "True": True, "False": False}[text]


@contextlib.contextmanager
def standalone(argv: list[str], tmp_path: Path) -> cabc.Iterator[Running]:
    """Start the command in a process of its own; stop it by its id."""
    log = tmp_path / "sandbox.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=tmp_path,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while "Press CTRL+C" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        text = log.read_text()
        found = _SERVING.search(text)
        assert found is not None, text
        config = {key: _value(value) for key, value in _LINE.findall(text)}
        yield Running(found.group(1), config, log.read_text)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def client_app(config: cabc.Mapping[str, t.Any]) -> Flask:
    app = Flask("remote_client")
    app.config.update(SECRET_KEY="k", TESTING=True, ROCKETPUNCH_SCOPES="profile")
    app.config.update({f"ROCKETPUNCH_{k}": v for k, v in config.items()})
    # Longer than the sandbox's tokens live: every call refreshes first.
    app.config["ROCKETPUNCH_REFRESH_LEEWAY"] = 1000
    RocketpunchOAuth(app)

    @app.get("/me")
    def me() -> t.Any:
        return jsonify(rocketpunch.userinfo())

    return app


def log_in(browser: FlaskClient, user: str = "minji") -> None:
    """The app's login route, the standalone sandbox's consent page over
    real HTTP, then the app's callback."""
    start = browser.get("/auth/rocketpunch/login")
    assert start.status_code == 302
    page = requests.get(start.headers["Location"], timeout=30)
    assert page.status_code == 200, page.text
    action, fields = consent_form(page.text, page.url)
    fields.update(decision="approve", user=user)
    decided = requests.post(action, data=fields, allow_redirects=False, timeout=30)
    assert decided.status_code == 302, decided.text
    back = urlsplit(decided.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT_URI
    landed = browser.get(f"{back.path}?{back.query}")
    assert landed.status_code == 302, landed.get_data(as_text=True)


def test_python_m_sandbox_serves_an_app_and_its_control_api(tmp_path: Path) -> None:
    argv = [
        sys.executable,
        "-m",
        "flask_rocketpunch.sandbox",
        "--port",
        "0",
        "--client-id",
        "remote-client",
        "--client-secret",
        "remote-secret",
        "--redirect-uri",
        REDIRECT_URI,
    ]
    with standalone(argv, tmp_path) as running:
        assert running.config["CLIENT_ID"] == "remote-client"
        assert running.config["TOKEN_URL"] == f"{running.url}/oauth/token"
        app = client_app(running.config)
        browser = app.test_client()
        log_in(browser)
        me = browser.get("/me")
        assert me.status_code == 200
        assert me.get_json()["preferred_username"] == "minji"

        remote = RemoteSandbox(running.url)
        # The code exchange, then the refresh before the userinfo call.
        assert remote.grant_counts() == {"authorization_code": 1, "refresh_token": 1}
        assert remote.request_counts()["userinfo"] == 1
        received = remote.requests("token")
        assert [r["params"]["grant_type"] for r in received] == [
            "authorization_code",
            "refresh_token",
        ]
        shown = repr(remote.requests())
        assert "remote-secret" not in shown
        assert received[1]["params"]["refresh_token"] == "***"

        with remote.misbehave(userinfo_status=503) as faults:
            assert faults["userinfo_status"] == 503
            assert browser.get("/me").status_code == 502
        assert remote.faults()["userinfo_status"] is None
        assert browser.get("/me").status_code == 200

        with remote.misbehave(refresh_invalid_grant=True):
            ended = browser.get("/me", headers={"Accept": "application/json"})
        assert ended.status_code == 401
        assert remote.refused_counts() == {"refresh_token": 1}

        with pytest.raises(RuntimeError, match="token_status"):
            remote.set_faults(token_status="soon")
        with pytest.raises(RuntimeError, match="Unknown fault switch"):
            remote.set_faults(no_such_switch=True)

        remote.reset()
        assert remote.grant_counts() == {}
        assert "Traceback" not in running.output()


def test_flask_rocketpunch_sandbox_command(tmp_path: Path) -> None:
    (tmp_path / "hostapp.py").write_text(
        "from flask import Flask\n"
        "from flask_rocketpunch import RocketpunchOAuth\n"
        "app = Flask(__name__)\n"
        "app.config.update(SECRET_KEY='k', ROCKETPUNCH_CLIENT_ID='a',"
        " ROCKETPUNCH_CLIENT_SECRET='b')\n"
        "RocketpunchOAuth(app)\n"
    )
    flask = str(Path(sys.executable).with_name("flask"))
    argv = [flask, "--app", "hostapp", "rocketpunch", "sandbox", "--port", "0"]
    argv += ["--flavor", "guide"]
    with standalone(argv, tmp_path) as running:
        assert running.config["REVOKE_URL"] is None
        assert running.config["USE_PKCE"] is False
        assert running.config["USERINFO_URL"] == f"{running.url}/api/v1/profiles/me"
        assert running.config["CLIENT_SECRET"] == "sandbox-secret"
        remote = RemoteSandbox(running.url)
        assert remote.grant_counts() == {}
        assert remote.faults()["token_status"] is None
        assert f"FLASK_ROCKETPUNCH_TOKEN_URL={running.url}/oauth/token" in (
            running.output()
        )


def test_the_command_is_in_the_rocketpunch_group() -> None:
    app = Flask("listed")
    app.config.update(SECRET_KEY="k", ROCKETPUNCH_CLIENT_ID="a")
    app.config["ROCKETPUNCH_CLIENT_SECRET"] = "b"
    RocketpunchOAuth(app)
    result = app.test_cli_runner().invoke(args=["rocketpunch", "sandbox", "--help"])
    assert result.exit_code == 0
    for option in ("--port", "--host", "--flavor", "--client-id", "--control"):
        assert option in result.output


def test_a_path_redirect_uri_is_refused_with_advice() -> None:
    ran = CliRunner().invoke(
        sandbox_command, ["--redirect-uri", "/auth/rocketpunch/callback"]
    )
    assert ran.exit_code == 2
    assert "absolute callback URL" in ran.output


# -- the control API's safety -----------------------------------------------------


@pytest.mark.parametrize(
    ("host", "flag", "served"),
    [
        ("127.0.0.1", None, True),
        ("localhost", None, True),
        ("::1", None, True),
        ("0.0.0.0", None, False),  # noqa: S104
        ("192.0.2.10", None, False),
        ("0.0.0.0", True, True),  # noqa: S104
        ("127.0.0.1", False, False),
    ],
)
def test_the_control_api_is_on_for_loopback_only_unless_asked(
    host: str, flag: bool | None, served: bool
) -> None:
    assert control_enabled(host, flag) is served


@pytest.fixture
def control() -> tuple[SandboxProvider, FlaskClient]:
    provider = SandboxProvider()
    return provider, create_standalone_app(provider, control=True).test_client()


def test_control_requests_must_name_a_loopback_host(
    control: tuple[SandboxProvider, FlaskClient],
) -> None:
    provider, client = control
    for host in ("127.0.0.1:5001", "localhost:5001", "[::1]:5001", "localhost"):
        assert (
            client.get("/_sandbox/counters", headers={"Host": host}).status_code == 200
        )
    # A page on another site that rebinds its name to 127.0.0.1 reads nothing.
    rebound = client.get("/_sandbox/counters", headers={"Host": "evil.example:5001"})
    assert rebound.status_code == 403
    assert "loopback" in rebound.get_json()["error"]
    changed = client.post(
        "/_sandbox/faults",
        json={"token_status": 500},
        headers={"Host": "evil.example"},
    )
    assert changed.status_code == 403
    assert provider.faults.token_status is None


def test_control_changes_must_be_json(
    control: tuple[SandboxProvider, FlaskClient],
) -> None:
    provider, client = control
    # What a cross-site form could send.
    form = client.post("/_sandbox/faults", data={"token_status": "500"})
    assert form.status_code == 415
    plain = client.post(
        "/_sandbox/reset", data="{}", headers={"Content-Type": "text/plain"}
    )
    assert plain.status_code == 415
    assert provider.faults.token_status is None


def test_control_api_refuses_bad_switches_and_registers_clients(
    control: tuple[SandboxProvider, FlaskClient],
) -> None:
    provider, client = control
    for body, message in (
        ({"token_status": True}, "integer or null"),
        ({"token_delay": "1"}, "number of seconds"),
        ({"token_missing_fields": "scope"}, "list of strings"),
        ({"timeout": 1}, "true or false"),
        ({"nope": 1}, "Unknown fault switch"),
        ([1], "JSON object"),
    ):
        answer = client.post("/_sandbox/faults", json=body)
        assert answer.status_code == 400
        assert message in answer.get_json()["error"]
    ok = client.post(
        "/_sandbox/faults",
        json={"token_missing_fields": ["scope"], "token_delay": 1, "api_status": 500},
    )
    assert ok.status_code == 200
    assert provider.faults.token_missing_fields == ("scope",)
    assert provider.faults.token_delay == 1.0

    registered = client.post(
        "/_sandbox/clients",
        json={
            "client_id": "c",
            "client_secret": "the-client-secret",
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert registered.status_code == 200
    client_record = provider.get_client("c")
    assert client_record is not None
    assert client_record.redirect_uri == REDIRECT_URI
    assert "the-client-secret" not in registered.get_data(as_text=True)
    missing = client.post("/_sandbox/clients", json={"client_id": "c"})
    assert missing.status_code == 400


def test_without_control_there_is_no_control_api() -> None:
    client = create_standalone_app(SandboxProvider(), control=False).test_client()
    assert client.get("/_sandbox/counters").status_code == 404
    assert client.post("/_sandbox/reset", json={}).status_code == 404


def test_config_lines_for_a_public_host_allow_plain_http() -> None:
    lines = config_lines(
        "http://192.0.2.10:5001", FLAVORS["current"], "id", "secret", REDIRECT_URI
    )
    assert lines["INSECURE_TRANSPORT"] is True
    assert "SCOPES" not in lines
    local = config_lines(
        "http://127.0.0.1:5001", FLAVORS["current"], "id", "secret", REDIRECT_URI
    )
    assert "INSECURE_TRANSPORT" not in local


def test_remote_sandbox_names_the_problem_when_there_is_no_control_api() -> None:
    app = create_standalone_app(SandboxProvider(), control=False)
    with SandboxServer(app) as served, pytest.raises(RuntimeError, match="--control"):
        RemoteSandbox(served.url).grant_counts()
