"""The quickstart's code, as written in ``docs/quickstart.rst``, run against
the in-app sandbox: the minimal app plus its "Calling the API" views."""

from __future__ import annotations

import pathlib
import re
import typing as t

import pytest
from flask import Flask
from support import query_of

from flask_rocketpunch.testing import last_request, login_as

QUICKSTART = pathlib.Path(__file__).parent.parent / "docs" / "quickstart.rst"


def python_blocks(text: str) -> list[str]:
    """The ``.. code-block:: python`` blocks of an rST page, dedented."""
    blocks = []
    for match in re.finditer(
        r"^\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text, re.MULTILINE
    ):
        lines = match.group(1).splitlines()
        blocks.append("\n".join(line[4:] for line in lines) + "\n")
    return blocks


@pytest.fixture
def quickstart_app(monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("FLASK_SECRET_KEY", "quickstart-secret")
    monkeypatch.setenv("FLASK_ROCKETPUNCH_SANDBOX", "true")
    # The in-app sandbox runs only with debug or testing on.
    monkeypatch.setenv("FLASK_TESTING", "true")
    blocks = python_blocks(QUICKSTART.read_text(encoding="utf-8"))
    minimal = next(b for b in blocks if "app = Flask(__name__)" in b)
    calling = next(b for b in blocks if "def share():" in b)
    namespace: dict[str, t.Any] = {"__name__": "quickstart"}
    exec(compile(minimal + calling, str(QUICKSTART), "exec"), namespace)  # noqa: S102
    app = namespace["app"]
    assert isinstance(app, Flask)
    return app


def test_sharing_a_post_works_as_written(quickstart_app: Flask) -> None:
    client = quickstart_app.test_client()
    login_as(client, scopes="profile post:write")

    answer = client.post("/share", data={"text": "Hello from the quickstart"})

    assert answer.status_code == 201, answer.get_data(as_text=True)
    provider = quickstart_app.extensions["rocketpunch"].sandbox(quickstart_app)
    sent = last_request(provider, "posts")
    headers = {k.lower(): v for k, v in sent.headers.items()}
    assert sent.method == "POST"
    assert headers["content-type"].startswith("multipart/form-data")
    assert headers["x-rp-api-key"] == "sandbox-client"
    assert headers["authorization"].startswith("Bearer ")
    # The public read: its answer is the sandbox's business (a sandbox that
    # still wants a user answers 401, shown as a 502 page); what was sent
    # is the extension's.
    assert client.get("/posts").status_code == 200
    read = last_request(provider, "posts")
    read_headers = {k.lower() for k in read.headers}
    assert read.method == "GET"
    assert "x-rp-api-key" in read_headers
    assert "authorization" not in read_headers


def test_sharing_without_post_write_asks_for_it(quickstart_app: Flask) -> None:
    client = quickstart_app.test_client()
    login_as(client, scopes="profile")

    answer = client.post("/share", data={"text": "Hello"})

    assert answer.status_code == 302
    scopes = query_of(answer.headers["Location"])["scope"].split()
    assert sorted(scopes) == ["post:write", "profile"]
