"""Rocketpunch's OpenAPI description, as the sandbox reads it.

The description ships beside this module (``spec/rocketpunch-openapi.en.json``,
see ``spec/README.md``). The sandbox takes from it, for every ``/api/v1``
operation: the route, the parameters and request body with their schemas,
the security (the app key alone, or a bearer token beside it) and the OAuth
scope its description names.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import typing as t
from collections.abc import Mapping
from importlib import resources

#: The shipped description's file name, under ``spec/``.
SPEC_FILE = "rocketpunch-openapi.en.json"
#: Paths the sandbox serves from the description (the OAuth endpoints have
#: their own views).
API_PREFIX = "/api/v1/"

_SCOPE_RE = re.compile(r"Required OAuth scope: `([^`]+)`")
_PATH_PARAM_RE = re.compile(r"\{(\w+)\}")

Schema = Mapping[str, t.Any]


@functools.cache
def load_spec() -> Mapping[str, t.Any]:
    """The shipped OpenAPI description, parsed once."""
    text = (
        resources.files(__package__)
        .joinpath("spec")
        .joinpath(SPEC_FILE)
        .read_text("utf-8")
    )
    return t.cast(Mapping[str, t.Any], json.loads(text))


def resolve(node: t.Any) -> t.Any:
    """Follow a ``$ref`` to ``#/components/...`` (once; schemas nest theirs).

    :param node: A schema, parameter or response object.
    """
    while isinstance(node, Mapping) and "$ref" in node:
        target: t.Any = load_spec()
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A query, path or header parameter of an operation."""

    name: str
    location: str
    required: bool
    schema: Schema


@dataclasses.dataclass(frozen=True)
class Operation:
    """One operation of the description.

    :param operation_id: The description's ``operationId``, e.g.
        ``"searchPosts"``.
    :param method: The HTTP method, upper case.
    :param path: The path template, e.g. ``"/api/v1/posts/{postId}"``.
    :param parameters: Query, path and header parameters.
    :param body_types: The request body's media types, if it has one.
    :param body_schema: The schema of the body (of its ``request`` part for
        ``multipart/form-data``).
    :param body_parts: For ``multipart/form-data``: the form's schema.
    :param user: A bearer token is required (``bearerAuth``); otherwise the
        operation is a public read that the app key alone authorizes.
    :param scope: The OAuth scope the description requires, if any.
    :param statuses: The response statuses the description lists.
    """

    operation_id: str
    method: str
    path: str
    parameters: tuple[Parameter, ...]
    body_types: tuple[str, ...]
    body_schema: Schema | None
    body_parts: Schema | None
    user: bool
    scope: str | None
    statuses: frozenset[int]

    @property
    def rule(self) -> str:
        """The Flask URL rule of the path, e.g. ``/api/v1/posts/<postId>``."""
        return _PATH_PARAM_RE.sub(r"<\1>", self.path)


def _operation(path: str, method: str, raw: Mapping[str, t.Any]) -> Operation:
    parameters = tuple(
        Parameter(p["name"], p["in"], bool(p.get("required")), p.get("schema", {}))
        for p in (resolve(p) for p in raw.get("parameters", ()))
    )
    content: Mapping[str, t.Any] = (raw.get("requestBody") or {}).get("content", {})
    body_schema: Schema | None = None
    body_parts: Schema | None = None
    for media, value in content.items():
        schema = resolve(value.get("schema", {}))
        if media == "multipart/form-data":
            body_parts = schema
            body_schema = resolve(schema["properties"]["request"])
        else:
            body_schema = schema
    security = raw.get("security", load_spec().get("security", []))
    scope = _SCOPE_RE.search(raw.get("description", ""))
    return Operation(
        operation_id=raw["operationId"],
        method=method.upper(),
        path=path,
        parameters=parameters,
        body_types=tuple(content),
        body_schema=body_schema,
        body_parts=body_parts,
        user=any("bearerAuth" in requirement for requirement in security),
        scope=scope.group(1) if scope else None,
        statuses=frozenset(int(code) for code in raw["responses"]),
    )


@functools.cache
def api_operations() -> tuple[Operation, ...]:
    """Every ``/api/v1`` operation of the description, in its order."""
    return tuple(
        _operation(path, method, raw)
        for path, methods in load_spec()["paths"].items()
        if path.startswith(API_PREFIX)
        for method, raw in methods.items()
    )


@functools.cache
def operations_by_id() -> Mapping[str, Operation]:
    """:func:`api_operations` by ``operationId``."""
    return {op.operation_id: op for op in api_operations()}


@functools.cache
def _path_patterns() -> Mapping[re.Pattern[str], tuple[str, ...]]:
    patterns: dict[str, list[str]] = {}
    for op in api_operations():
        patterns.setdefault(op.path, []).append(op.method)
    return {
        re.compile(
            "^"
            + _PATH_PARAM_RE.sub(
                "[^/]+", re.escape(path).replace(r"\{", "{").replace(r"\}", "}")
            )
            + "$"
        ): tuple(methods)
        for path, methods in patterns.items()
    }


def methods_of(path: str) -> list[str]:
    """The methods the description lists for a concrete path, e.g.
    ``["GET", "PUT", "DELETE"]`` for ``/api/v1/posts/1``.

    :param path: A request path, relative to the provider's root.
    """
    for pattern, methods in _path_patterns().items():
        if pattern.match(path):
            return list(methods)
    return []
