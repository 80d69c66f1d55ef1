"""Check every sandbox response of the test suite against Rocketpunch's
OpenAPI description, with ``openapi-core``.

A pytest plugin (loaded by ``conftest.py``): it listens to Flask's
``request_finished`` signal, so every response any sandbox blueprint
produces in this process, over real HTTP, through the in-process transport
or a test client, is validated against its operation's documented
response: status, headers and body. A violation fails the test that caused
it.

Not checked: responses while a fault switch is on (misbehaving is their
point), the guide flavor (it follows the July 2026 guide, not this
description), and paths that are no operation of it (the sandbox's 404).

Where the description contradicts itself, the check follows its prose, in
two explicit lists that ``docs/sandbox.rst`` explains:

* :data:`ERRATA`: defects of the machine-readable schemas, corrected on a
  copy before validating (the shipped file is never changed);
* :func:`allowed_statuses`: the statuses the description's Errors table and
  operation descriptions promise beyond each operation's ``responses``; the
  body of such a response must still be an ``ErrorResponse``.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
import typing as t
from collections.abc import Callable, Iterator

import pytest
from flask import Flask, Response, request, request_finished
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS31Validator

from flask_rocketpunch.sandbox import Faults
from flask_rocketpunch.sandbox.openapi import load_spec, operations_by_id
from flask_rocketpunch.sandbox.registry import current_provider

#: The host the description's ``servers`` names.
SERVER = "https://openapi.rocketpunch.com"
#: Sandbox endpoints (besides the ``/api/v1`` operations, named by their
#: ``operationId``) that are operations of the description.
OAUTH_OPERATIONS = {
    "token": "oauthToken",
    "revoke": "oauthRevoke",
    "userinfo": "getOAuthUserInfo",
}

Spec = dict[str, t.Any]


def _drop_ref_siblings_of_parameters(spec: Spec) -> None:
    """Each operation's ``Accept-Language`` parameter is ``{"in": "header",
    "$ref": ...}``: a reference object may not have siblings (OpenAPI 3.1),
    and the referenced parameter already says ``in``."""
    for methods in spec["paths"].values():
        for raw in methods.values():
            for index, param in enumerate(raw.get("parameters", ())):
                if "$ref" in param:
                    raw["parameters"][index] = {"$ref": param["$ref"]}


def _any_media_type_is_json(spec: Spec) -> None:
    """Most responses are declared for ``*/*``; their schemas describe JSON
    objects and arrays, and the ``ErrorResponse`` format is JSON (the
    Errors section), so they are checked as ``application/json``."""
    for methods in spec["paths"].values():
        for raw in methods.values():
            for response in raw.get("responses", {}).values():
                content = response.get("content", {})
                if "*/*" in content:
                    content["application/json"] = content.pop("*/*")


def _move_array_enum_to_items(spec: Spec) -> None:
    """``EventHostResponse.roles`` puts its ``enum`` of role names on the
    array, which no array can match; it belongs to the items."""
    roles = spec["components"]["schemas"]["EventHostResponse"]["properties"]["roles"]
    roles["items"]["enum"] = roles.pop("enum")


def _allow_null_in_nullable_enums(spec: Spec) -> None:
    """Properties typed ``["string", "null"]`` with an ``enum`` lacking
    ``null`` (``JobCompanyResponse.size``, ``workType`` of jobs): the type
    says null is allowed, the enum forgets it."""

    def visit(node: t.Any) -> None:
        if isinstance(node, dict):
            kinds = node.get("type")
            nullable = isinstance(kinds, list) and "null" in kinds
            if nullable and None not in node.get("enum", [None]):
                node["enum"] = [*node["enum"], None]
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(spec["components"]["schemas"])


#: Corrections of the description's schema defects, applied in order.
ERRATA: tuple[Callable[[Spec], None], ...] = (
    _drop_ref_siblings_of_parameters,
    _any_media_type_is_json,
    _move_array_enum_to_items,
    _allow_null_in_nullable_enums,
)


@functools.cache
def corrected_spec() -> Spec:
    """The shipped description with :data:`ERRATA` applied (a copy)."""
    spec = copy.deepcopy(dict(load_spec()))
    for correct in ERRATA:
        correct(spec)
    return spec


def allowed_statuses(operation_id: str) -> frozenset[int]:
    """The statuses an operation may answer beyond its ``responses``, as
    the description's prose promises them:

    * 401 ``C0001`` everywhere: the Errors table ("Missing or invalid API
      Key"), and a missing or invalid bearer token on user operations;
    * 400 ``C0002``/``C0005`` on operations with parameters or a body (the
      Errors table);
    * 404 ``C0008``/``EV001``/``R0001``/``P0002`` on operations that name a
      resource by path or ``companyId`` (the Errors table);
    * 403 ``C0011`` (scope), ``C0012`` (not a manager) and ``P0003`` (not
      the author) on operations whose description requires a scope.

    :param operation_id: The operation's ``operationId``.
    """
    operation = operations_by_id()[operation_id]
    allowed = {401}
    names = {p.name for p in operation.parameters if p.location in ("path", "query")}
    if names or operation.body_schema is not None:
        allowed.add(400)
    if any(p.location == "path" for p in operation.parameters) or "companyId" in names:
        allowed.add(404)
    if operation.scope is not None:
        allowed.add(403)
    return frozenset(allowed)


@functools.cache
def _openapi() -> OpenAPI:
    return OpenAPI.from_dict(corrected_spec())


def _error_schema() -> dict[str, t.Any]:
    return t.cast(
        dict[str, t.Any], corrected_spec()["components"]["schemas"]["ErrorResponse"]
    )


def _documented(operation_id: str) -> frozenset[int]:
    if operation_id in operations_by_id():
        return operations_by_id()[operation_id].statuses
    for methods in corrected_spec()["paths"].values():
        for raw in methods.values():
            if raw.get("operationId") == operation_id:
                return frozenset(int(code) for code in raw["responses"])
    return frozenset()  # pragma: no cover


def violations_of(operation_id: str, path: str, response: Response) -> list[str]:
    """What is wrong with a sandbox response to ``request``, per the
    corrected description and the allowances.

    :param operation_id: The operation answered.
    :param path: The request path relative to the sandbox's root.
    :param response: The response.
    """
    status = response.status_code
    body = response.get_data()
    if status not in _documented(operation_id):
        if status not in allowed_statuses(operation_id):
            return [f"{operation_id}: undocumented status {status}"]
        if response.mimetype != "application/json":
            return [f"{operation_id}: {status} is not JSON ({response.mimetype})"]
        errors = OAS31Validator(_error_schema()).iter_errors(json.loads(body))
        return [f"{operation_id}: {status} body: {e.message}" for e in errors]
    mock_request = MockRequest(
        SERVER,
        request.method.lower(),
        path,
        args=request.args,
        headers=dict(request.headers),
        data=request.get_data(),
        content_type=request.content_type,
    )
    mock_response = MockResponse(
        body,
        status_code=status,
        headers=dict(response.headers),
        content_type=response.content_type or "application/octet-stream",
    )
    result = _openapi().unmarshal_response(mock_request, mock_response)
    return [f"{operation_id} {status}: {_describe(e)}" for e in result.errors]


def _describe(error: BaseException) -> str:
    causes = [error, *(getattr(error, "schema_errors", None) or ())]
    cause = error.__cause__
    while cause is not None:
        causes.append(cause)
        causes.extend(getattr(cause, "schema_errors", None) or ())
        cause = cause.__cause__
    text = "; ".join(str(getattr(c, "message", c))[:300] for c in causes)
    return text[:1200]


class ResponseChecker:
    """Collects the violations of every sandbox response in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.violations: list[str] = []
        #: Responses checked, by ``operationId``.
        self.checked: dict[str, int] = {}

    def __call__(self, sender: Flask, response: Response, **extra: object) -> None:
        endpoint = request.endpoint or ""
        name, _, view = endpoint.rpartition(".")
        holder = sender.extensions.get("rocketpunch_sandbox", {})
        if name not in holder:
            return
        operation_id = OAUTH_OPERATIONS.get(view, view)
        if operation_id not in operations_by_id() and view not in OAUTH_OPERATIONS:
            return
        provider = current_provider()
        if provider.faults != Faults() or not provider.flavor_spec.coded_errors:
            return
        rule = request.url_rule.rule if request.url_rule else ""
        prefix = rule[: len(rule) - len(_template(operation_id))]
        path = request.path[len(request.script_root) + len(prefix) :]
        problems = violations_of(operation_id, path, response)
        with self._lock:
            self.checked[operation_id] = self.checked.get(operation_id, 0) + 1
            self.violations.extend(
                f"{request.method} {request.full_path}: {p}" for p in problems
            )

    def take(self) -> list[str]:
        """The violations since the last call, cleared."""
        with self._lock:
            found, self.violations = self.violations, []
        return found


def _template(operation_id: str) -> str:
    operation = operations_by_id().get(operation_id)
    if operation is not None:
        return operation.rule
    return {"oauthToken": "/oauth/token", "oauthRevoke": "/oauth/revoke"}.get(
        operation_id, "/oauth/userinfo"
    )


#: The one checker of this test session.
CHECKER = ResponseChecker()


def pytest_configure(config: pytest.Config) -> None:
    request_finished.connect(CHECKER, weak=False)


def pytest_unconfigure(config: pytest.Config) -> None:
    request_finished.disconnect(CHECKER)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    CHECKER.take()
    result = yield
    found = CHECKER.take()
    if found:
        listed = "\n".join(dict.fromkeys(found))
        pytest.fail(
            f"Sandbox responses that break the OpenAPI description:\n{listed}",
            pytrace=False,
        )
    return result
