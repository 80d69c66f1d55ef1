"""The sandbox provider in a process of its own, as Rocketpunch is: on the
other side of a socket, with its own interpreter.

In the same process, the provider's server thread and the app under test
take turns on one GIL: whatever the app does while the provider still
finishes an answer runs slower, and the app that does more after the call
(ours: validating, sealing, storing) pays more of that wait than it would
against a real provider. Served from a child process, the provider costs
both apps the same socket round trip and nothing else.

Run as a script by :func:`remote_provider`, not by hand.
"""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import json
import subprocess
import sys

import requests
from keepalive import KeepAliveServer
from twins import TIMEOUT, USER

from flask_rocketpunch.sandbox import SandboxProvider, create_sandbox_app
from flask_rocketpunch.testing import consent_form

#: A client to register: id, secret, redirect URI.
Client = tuple[str, str, str]


@contextlib.contextmanager
def remote_provider(clients: cabc.Sequence[Client]) -> cabc.Iterator[str]:
    """Serve a sandbox provider knowing ``clients`` in a child process, over
    HTTP/1.1 with keep-alive; yield its base URL. The child stops when the
    block ends (or when this process dies: it reads its standard input
    until the end)."""
    child = subprocess.Popen(  # noqa: S603 - this interpreter, this file
        [sys.executable, __file__, json.dumps(list(clients))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = json.loads(child.stdout.readline())["port"]
        yield f"http://127.0.0.1:{port}"
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()


def http_consent(location: str) -> str:
    """Approve the authorization request at ``location`` as the sample user,
    through the consent page as a browser would; return the callback URL."""
    page = requests.get(location, timeout=TIMEOUT)
    action, fields = consent_form(page.text, location)
    fields.update(decision="approve", user=USER)
    answer = requests.post(action, data=fields, allow_redirects=False, timeout=TIMEOUT)
    return str(answer.headers["Location"])


def _serve(clients: list[Client]) -> None:
    # A benchmark goes far beyond Rocketpunch's 60 calls a minute.
    provider = SandboxProvider(flavor="current", enforce_rate_limit=False)
    for client_id, secret, redirect_uri in clients:
        provider.register_client(client_id, secret, redirect_uri)
    with KeepAliveServer(create_sandbox_app(provider)) as server:
        port = server.url.rsplit(":", 1)[1]
        sys.stdout.write(json.dumps({"port": int(port)}) + "\n")
        sys.stdout.flush()
        sys.stdin.read()


if __name__ == "__main__":
    _serve([tuple(c) for c in json.loads(sys.argv[1])])
