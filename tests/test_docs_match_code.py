"""The docs show what the code does: samples are the real output, and lists
name every value the code can produce."""

from __future__ import annotations

import ast
import re
import sys
import types
from pathlib import Path

import pytest
from flask import Flask
from support import AppFactory, local, sandbox_app

import flask_rocketpunch
from flask_rocketpunch.testing import answer_consent, complete_login

DOCS = Path(__file__).resolve().parent.parent / "docs"
PACKAGE = Path(flask_rocketpunch.__file__).resolve().parent
#: The quickstart's real-credentials setup (the secret is 40 characters).
QUICKSTART_ENV = {
    "FLASK_SECRET_KEY": "dev-only-secret",
    "FLASK_ROCKETPUNCH_CLIENT_ID": "my-client-id",
    "FLASK_ROCKETPUNCH_CLIENT_SECRET": "s" * 40,
}


def code_blocks(page: str, language: str) -> list[str]:
    """The dedented bodies of the ``code-block:: language`` blocks of a page."""
    lines = (DOCS / page).read_text(encoding="utf-8").splitlines()
    blocks = []
    for number, line in enumerate(lines):
        if line.strip() != f".. code-block:: {language}":
            continue
        indent = len(line) - len(line.lstrip()) + 4
        body = []
        for text in lines[number + 2 :]:
            if text.strip() and len(text) - len(text.lstrip()) < indent:
                break
            body.append(text[indent:])
        blocks.append("\n".join(body).rstrip("\n"))
    return blocks


def run_sample(source: str, app: Flask | None = None) -> types.ModuleType:
    """Run a Python sample of the docs as a module, after ``app.py``'s when
    ``app`` is given (the sample adds to it)."""
    module = sys.modules.get("quickstart_app") or types.ModuleType("quickstart_app")
    module.__file__ = str(DOCS / "app.py")
    if app is not None:
        module.__dict__.update(app=app)
    # The docs' own sample, run as a reader would run it.
    exec(compile(source, "quickstart.rst", "exec"), module.__dict__)  # noqa: S102
    return module


def quickstart_app(monkeypatch: pytest.MonkeyPatch, *, sandbox: bool = False) -> Flask:
    """The quickstart's ``app.py``, run as written with its environment
    (real credentials, or the sandbox)."""
    for name, value in QUICKSTART_ENV.items():
        if not (sandbox and "ROCKETPUNCH" in name):
            monkeypatch.setenv(name, value)
    if not sandbox:
        monkeypatch.delenv("FLASK_ROCKETPUNCH_SANDBOX", raising=False)
    source = code_blocks("quickstart.rst", "python")[0]
    assert "RocketpunchOAuth(app)" in source
    monkeypatch.delitem(sys.modules, "quickstart_app", raising=False)
    module = run_sample(source)
    monkeypatch.setitem(sys.modules, "quickstart_app", module)
    app = module.app
    assert isinstance(app, Flask)
    return app


def test_the_check_sample_in_the_cli_docs_is_the_quickstarts_real_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = quickstart_app(monkeypatch)
    result = app.test_cli_runner().invoke(args=["rocketpunch", "check"])
    assert result.exit_code == 0, result.output
    prompt = "$ flask --app app rocketpunch check\n"
    (sample,) = [b for b in code_blocks("cli.rst", "text") if b.startswith(prompt)]
    assert sample.removeprefix(prompt) == result.output.rstrip("\n")


def documented_warnings() -> list[re.Pattern[str]]:
    """The warnings listed in the CLI docs, as patterns (``...`` is any text)."""
    text = (DOCS / "cli.rst").read_text(encoding="utf-8")
    section = text.partition("\nWarnings\n~~~~~~~~\n")[2].partition("\n---")[0]
    heads = re.findall(r"^``(.+)``$", section, flags=re.MULTILINE)
    return [
        re.compile(".*?".join(re.escape(part.strip()) for part in head.split("...")))
        for head in heads
    ]


def printed_warnings(app: Flask) -> list[str]:
    result = app.test_cli_runner().invoke(args=["rocketpunch", "check"])
    assert result.exit_code == 0, result.output
    return [
        line.removeprefix("  - ")
        for line in result.output.partition("Warnings:\n")[2].splitlines()
    ]


def test_every_warning_check_can_print_is_listed_in_the_cli_docs(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    sandbox = sandbox_app(CLIENT_ID="rp_app_8f2c41", TESTING=True, SANDBOX_FORCE=True)
    sandbox.testing = False
    apps = [
        make_app(
            REDIRECT_URI="http://example.com/cb",
            SECRET_KEY=None,
            INSECURE_TRANSPORT=True,
        ),
        make_app(REDIRECT_URI="https://127.0.0.1/cb", SESSION_COOKIE_SAMESITE="Strict"),
        sandbox,
    ]
    printed = [warning for app in apps for warning in printed_warnings(app)]
    patterns = documented_warnings()
    for warning in printed:
        assert any(p.match(warning) for p in patterns), warning
    for pattern in patterns:
        assert any(pattern.match(w) for w in printed), pattern.pattern


def literals(node: ast.expr) -> set[str]:
    """The strings an expression can be: a literal, or either branch of a
    conditional (a forwarded variable is none)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return literals(node.body) | literals(node.orelse)
    return set()


def provider_error_reasons_in_the_code() -> set[str]:
    """Every literal ``reason=`` of a ``ProviderError(...)`` in the package."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "ProviderError"
            ):
                continue
            for keyword in node.keywords:
                if keyword.arg == "reason":
                    found |= literals(keyword.value)
    return found


def test_the_errors_docs_list_every_provider_error_reason_and_no_other() -> None:
    text = (DOCS / "errors.rst").read_text(encoding="utf-8")
    section = text.partition("\nProviderError reasons\n")[2].partition("\nEvery ")[0]
    documented = set(re.findall(r'^``"(\w+)"``$', section, flags=re.MULTILINE))
    in_code = provider_error_reasons_in_the_code()
    assert "rejected" in in_code
    assert documented == in_code


def test_the_quickstarts_api_calls_work_as_written_against_the_sandbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLASK_ROCKETPUNCH_SANDBOX", "true")
    monkeypatch.setenv("FLASK_TESTING", "true")
    app = quickstart_app(monkeypatch, sandbox=True)
    calls = next(
        block
        for block in code_blocks("quickstart.rst", "python")
        if "rocketpunch.post(" in block
    )
    run_sample(calls, app)
    browser = app.test_client()
    complete_login(browser)

    # Writing needs post:write: the view asks for it with one more consent.
    step_up = browser.post("/share")
    assert step_up.status_code == 302
    assert "post%3Awrite" in step_up.headers["Location"]
    callback = answer_consent(
        browser, step_up.headers["Location"], decision="approve", user="minji"
    )
    assert browser.get(local(callback)).status_code == 302
    created = browser.post("/share")
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["content"] == "Hello"
