"""Turn an ``/api/v1`` request into checked values, by its operation's
parameters and body schema: 400 ``C0005`` for a value the schema refuses,
``C0002`` for a body that cannot be read, ``P0010``-``P0012`` for images.

Pagination follows the description's prose, not its schema's bounds:
``page`` below 1 becomes 1 and ``pageSize`` is brought into 1-50 (see
``docs/sandbox.rst``, "Where the description contradicts itself").
"""

from __future__ import annotations

import json
import re
import typing as t

from flask import Request
from werkzeug.datastructures import FileStorage

from .errors import APIError
from .openapi import Operation, Parameter, resolve
from .schema_check import Invalid, check

#: The page sizes the description's prose allows; others are normalized.
MAX_PAGE_SIZE = 50
#: At most this many images per post or job.
MAX_IMAGES = 10
#: The largest image accepted, in bytes.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_IMAGE_SUFFIX_RE = re.compile(r"\.(jpe?g|png|gif|webp)$", re.IGNORECASE)
_INTEGER_RE = re.compile(r"^[+-]?\d+$")
_FILE_PARTS = ("images", "banner", "attachments")


def invalid(field: str, message: str, code: str = "C0005") -> APIError:
    """A 400 error naming the field.

    :param field: The parameter or body field.
    :param message: What is wrong with it.
    :param code: ``C0005`` (validation) or ``C0002`` (format).
    """
    return APIError(400, code, f"{field} {message}".strip(), details=field or None)


def _convert(text: str, schema: t.Mapping[str, t.Any], name: str) -> object:
    kind = resolve(schema).get("type")
    if kind == "integer":
        if not _INTEGER_RE.match(text):
            raise Invalid(name, f"must be an integer. Input: {text}")
        return int(text)
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise Invalid(name, f"must be a number. Input: {text}") from None
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise Invalid(name, f"must be true or false. Input: {text}")
        return text.lower() == "true"
    return text


def _normalized_page(name: str, value: int) -> int:
    if name == "page":
        return max(value, 1)
    return min(max(value, 1), MAX_PAGE_SIZE)


def _parameter(param: Parameter, values: list[str]) -> object:
    schema = resolve(param.schema)
    if schema.get("type") == "array":
        items = [part for value in values for part in value.split(",") if part]
        converted: object = [
            _convert(v, schema.get("items", {}), param.name) for v in items
        ]
        check(converted, schema, param.name)
        return converted
    value = _convert(values[0], schema, param.name)
    if param.name in ("page", "pageSize") and isinstance(value, int):
        check(value, {"type": "integer", "format": "int32"}, param.name)
        return _normalized_page(param.name, value)
    check(value, schema, param.name)
    return value


def read_parameters(
    operation: Operation, request: Request, path_values: t.Mapping[str, str]
) -> dict[str, object]:
    """The operation's query and path parameters, converted and checked.

    :param operation: The operation served.
    :param request: The request.
    :param path_values: The path parameters from the URL rule.
    :raise APIError: 400 ``C0005`` naming the first bad parameter.
    """
    params: dict[str, object] = {}
    for param in operation.parameters:
        if param.location == "path":
            values = [path_values[param.name]]
        elif param.location == "query":
            values = request.args.getlist(param.name)
        else:
            continue
        if not values:
            if param.required:
                raise invalid(param.name, "is required.")
            continue
        try:
            params[param.name] = _parameter(param, values)
        except Invalid as problem:
            raise invalid(problem.field, problem.message) from None
    return params


def _json_part(request: Request) -> object:
    if "request" in request.form:
        text: str | bytes = request.form["request"]
    elif "request" in request.files:
        text = request.files["request"].read()
    else:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise invalid("request", "is not valid JSON.", "C0002") from None


def read_body(
    operation: Operation, request: Request
) -> tuple[dict[str, object] | None, dict[str, list[FileStorage]]]:
    """The operation's JSON body (the ``request`` part of a multipart form)
    and its files, checked against the description.

    A multipart operation also takes its ``request`` object as a plain JSON
    body, without files.

    :param operation: The operation served.
    :param request: The request.
    :raise APIError: 400 ``C0002`` (unreadable), ``C0005`` (invalid) or
        ``P0010``-``P0012`` (images).
    """
    if operation.body_schema is None:
        return None, {}
    files = {
        name: [f for f in request.files.getlist(name) if f.filename or f.content_length]
        for name in _FILE_PARTS
    }
    multipart = operation.body_parts is not None
    data: object = None
    if request.mimetype == "application/json":
        data = request.get_json(silent=True)
        if data is None:
            raise invalid("", "The request body is not valid JSON.", "C0002")
    elif multipart and request.mimetype in (
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    ):
        data = _json_part(request)
    if data is None:
        field = "request" if multipart else ""
        raise invalid(field, "A JSON request body is required.", "C0002")
    if not isinstance(data, dict):
        raise invalid("request" if multipart else "", "must be a JSON object.", "C0002")
    try:
        check(data, operation.body_schema, "")
    except Invalid as problem:
        raise invalid(problem.field, problem.message) from None
    if operation.body_parts is not None:
        for name in operation.body_parts.get("required", ()):
            if name != "request" and not files.get(name):
                raise invalid(name, "is required.")
    _check_images(files.get("images", []))
    return t.cast(dict[str, object], data), files


def _check_images(images: list[FileStorage]) -> None:
    if len(images) > MAX_IMAGES:
        raise APIError(
            400, "P0010", f"At most {MAX_IMAGES} images are allowed.", details="images"
        )
    for image in images:
        if image.mimetype not in _IMAGE_TYPES and not _IMAGE_SUFFIX_RE.search(
            image.filename or ""
        ):
            raise APIError(
                400,
                "P0012",
                "Images must be JPEG, PNG, GIF or WebP.",
                details="images",
            )
        size = len(image.read())
        image.seek(0)
        if size > MAX_IMAGE_BYTES:
            raise APIError(
                400, "P0011", "Each image must be 10 MB or less.", details="images"
            )
