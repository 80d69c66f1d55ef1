"""The sandbox against Rocketpunch's OpenAPI description, operation by
operation: a property-based Schemathesis run over every ``/api/v1``
operation (authenticated with the app key and a sandbox-issued bearer
token), and the description's coverage by the sandbox's routes.

Every response of this module is also checked by ``openapi_check`` (status
with its allowances, headers and body, with ``openapi-core``).
"""

from __future__ import annotations

import json
import re
import typing as t
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from openapi_check import allowed_statuses, corrected_spec
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)
from werkzeug.exceptions import MethodNotAllowed

from flask_rocketpunch.sandbox import SandboxProvider, create_sandbox_app
from flask_rocketpunch.sandbox.openapi import api_operations

CLIENT_ID = "rp_app_schemathesis"
#: Every scope the description's operations require.
ALL_SCOPES = (
    "profile email post:write company:manage:read job:write job:manage:read event:write"
)
#: Examples per operation: modest, the whole run stays well under a minute.
MAX_EXAMPLES = 15


def _api_only() -> dict[str, object]:
    spec = json.loads(json.dumps(corrected_spec()))
    spec["paths"] = {p: v for p, v in spec["paths"].items() if p.startswith("/api/v1/")}
    return dict(spec)


schema = schemathesis.openapi.from_dict(_api_only())


@pytest.fixture(scope="module")
def sandbox() -> tuple[Flask, dict[str, str]]:
    """The standalone sandbox app and the headers of a manager with every
    scope: the app key and a bearer token of the first sample user."""
    provider = SandboxProvider(access_token_ttl=3600)
    provider.register_client(CLIENT_ID, "secret", "http://127.0.0.1/callback")
    token = provider.issue_token("minji", CLIENT_ID, ALL_SCOPES)["access_token"]
    headers = {"X-RP-API-Key": CLIENT_ID, "Authorization": f"Bearer {token}"}
    return create_sandbox_app(provider), headers


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_conforms(
    case: schemathesis.Case[t.Any], sandbox: tuple[Flask, dict[str, str]]
) -> None:
    app, headers = sandbox
    response = case.call(app=app, headers=headers)
    described = f"{case.method} {response.request.url} -> {response.status_code}"
    if case.method.upper() != case.operation.method.upper():
        # Schemathesis tries a method the description does not list here:
        # 405 with Allow, unless another operation's path takes it.
        try:
            endpoint, _ = app.url_map.bind("localhost").match(
                response.request.path_url.partition("?")[0], case.method.upper()
            )
        except MethodNotAllowed:
            endpoint = "api_not_found"
        if endpoint.endswith("api_not_found"):
            assert response.status_code == 405, described
            headers = {k.lower(): str(v) for k, v in response.headers.items()}
            assert case.operation.method.upper() in headers["allow"]
        return
    documented = {int(code) for code in case.operation.definition.raw["responses"]}
    allowed = allowed_statuses(case.operation.definition.raw["operationId"])
    assert response.status_code in documented | allowed, (
        f"{described}: {response.text[:300]}"
    )
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
        headers=headers,
    )


def test_the_sandbox_serves_every_operation_of_the_description() -> None:
    app = create_sandbox_app(SandboxProvider())
    served = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
    }
    operations = api_operations()
    assert len(operations) == 42
    for operation in operations:
        assert (operation.rule, operation.method) in served, operation.operation_id


def test_the_docs_list_every_operation_with_its_security_and_scope() -> None:
    text = (Path(__file__).parent.parent / "docs" / "sandbox.rst").read_text("utf-8")
    rows = re.findall(
        r"^``(\w+) (/\S+)``\s+``(\w+)``\s+(key \+ bearer|key)\s+(\S+)$", text, re.M
    )
    documented = {(m, p, op, auth, scope.strip("`")) for m, p, op, auth, scope in rows}
    expected = {
        (
            op.method,
            op.path.removeprefix("/api/v1"),
            op.operation_id,
            "key + bearer" if op.user else "key",
            op.scope or "-",
        )
        for op in api_operations()
    }
    assert documented == expected
