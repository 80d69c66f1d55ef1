"""What the sandbox records of the requests it receives."""

from __future__ import annotations

from test_sandbox_support import CLIENT_SECRET, Sandbox
from test_sandbox_support import clock as clock
from test_sandbox_support import make_sandbox as make_sandbox
from test_sandbox_support import sandbox as sandbox


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
