"""The sandbox is refused where it would be a production foot-gun: an app
with debug and testing off, or a client id that looks like a real app's,
unless ``ROCKETPUNCH_SANDBOX_FORCE`` says it is on purpose."""

from __future__ import annotations

import logging
import re
import typing as t
from pathlib import Path

import pytest
from flask import Flask

from example_app import create_app as create_example_app
from flask_rocketpunch import ConfigurationError, RocketpunchOAuth
from flask_rocketpunch.testing import complete_login

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_debug_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither ``FLASK_DEBUG`` from the developer's shell."""
    monkeypatch.delenv("FLASK_DEBUG", raising=False)


def bare_app(tmp_path: Path, **config: t.Any) -> Flask:
    app = Flask("guarded", instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="k", ROCKETPUNCH_SANDBOX=True)
    app.config.update(config)
    return app


def test_sandbox_without_debug_or_testing_is_refused(tmp_path: Path) -> None:
    app = bare_app(tmp_path)
    with pytest.raises(ConfigurationError) as raised:
        RocketpunchOAuth(app)
    message = raised.value.message
    for advice in (
        "flask run --debug",
        "FLASK_DEBUG=1",
        "TESTING = True",
        "ROCKETPUNCH_SANDBOX_FORCE = True",
        "ROCKETPUNCH_CLIENT_ID",
    ):
        assert advice in message
    # Nothing was set up: no consent page to reach.
    assert "rocketpunch" not in app.extensions
    assert not [r for r in app.url_map.iter_rules() if "sandbox" in r.rule]


@pytest.mark.parametrize(
    "how", ["debug config", "app.debug", "testing", "FLASK_DEBUG", "force"]
)
def test_sandbox_is_served_in_debug_testing_or_when_forced(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    app = bare_app(tmp_path)
    if how == "debug config":
        app.config["DEBUG"] = True
    elif how == "app.debug":
        app.debug = True
    elif how == "testing":
        app.testing = True
    elif how == "FLASK_DEBUG":
        # What ``flask run --debug`` sets before it loads the app.
        monkeypatch.setenv("FLASK_DEBUG", "1")
    else:
        app.config["ROCKETPUNCH_SANDBOX_FORCE"] = True
    with caplog.at_level(logging.WARNING, logger="flask_rocketpunch"):
        RocketpunchOAuth(app)
    assert "Never turn it on in production" in caplog.text
    assert complete_login(app.test_client()).status_code == 302


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_force_from_the_environment(tmp_path: Path, value: str) -> None:
    app = bare_app(tmp_path)
    app.config["ROCKETPUNCH_SANDBOX_FORCE"] = value
    RocketpunchOAuth(app)
    assert complete_login(app.test_client()).status_code == 302


@pytest.mark.parametrize("client_id", ["rp_app_1a2b3c4d", "RP_APP_XYZ"])
def test_a_real_looking_client_id_is_refused_even_in_debug(
    tmp_path: Path, client_id: str
) -> None:
    app = bare_app(
        tmp_path,
        TESTING=True,
        ROCKETPUNCH_CLIENT_ID=client_id,
        ROCKETPUNCH_CLIENT_SECRET="real-looking-secret-value",
    )
    with pytest.raises(ConfigurationError) as raised:
        RocketpunchOAuth(app)
    message = raised.value.message
    assert "looks like a real Rocketpunch app's" in message
    assert "ROCKETPUNCH_SANDBOX_FORCE" in message
    # Neither the id's rest nor the secret is repeated.
    assert client_id not in message
    assert "real-looking-secret-value" not in message


def test_a_real_looking_client_id_with_force_is_served(tmp_path: Path) -> None:
    app = bare_app(
        tmp_path,
        TESTING=True,
        ROCKETPUNCH_SANDBOX_FORCE=True,
        ROCKETPUNCH_CLIENT_ID="rp_app_1a2b3c4d",
        ROCKETPUNCH_CLIENT_SECRET="x",
    )
    RocketpunchOAuth(app)
    assert complete_login(app.test_client()).status_code == 302


def test_other_client_ids_are_allowed_with_the_sandbox(tmp_path: Path) -> None:
    app = bare_app(
        tmp_path,
        TESTING=True,
        ROCKETPUNCH_CLIENT_ID="my-dev-app",
        ROCKETPUNCH_CLIENT_SECRET="x",
    )
    RocketpunchOAuth(app)
    assert complete_login(app.test_client()).status_code == 302


def test_the_guard_is_not_applied_without_the_sandbox(tmp_path: Path) -> None:
    app = Flask("real", instance_path=str(tmp_path))
    app.config.update(
        SECRET_KEY="k",
        ROCKETPUNCH_CLIENT_ID="rp_app_1a2b3c4d",
        ROCKETPUNCH_CLIENT_SECRET="x",
    )
    RocketpunchOAuth(app)


def test_the_example_app_runs_on_the_sandbox_in_debug_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"SECRET_KEY": "k"}
    with pytest.raises(ConfigurationError, match="ROCKETPUNCH_SANDBOX_FORCE"):
        create_example_app(config, instance_path=str(tmp_path))
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_example_app(config, instance_path=str(tmp_path))
    assert complete_login(app.test_client()).status_code == 302


def test_make_demo_runs_the_example_app_in_debug() -> None:
    makefile = (ROOT / "Makefile").read_text()
    found = re.search(r"^demo:.*\n\t(.+)$", makefile, re.MULTILINE)
    assert found is not None
    command = found.group(1).split()
    assert command[1:4] == ["--app", "example_app", "run"]
    assert "--debug" in command
