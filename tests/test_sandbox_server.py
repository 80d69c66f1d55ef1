"""SandboxServer: any WSGI app over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest
import requests
from flask import Flask
from test_sandbox_support import provider_app as provider_app

from flask_rocketpunch.sandbox import SandboxServer


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
