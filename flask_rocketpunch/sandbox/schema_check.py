"""Check request values against the JSON Schema subset the description
uses: ``type`` (one or a list), ``enum``, ``oneOf``, ``$ref``, string
lengths, ``pattern`` and formats (``date``, ``date-time``, ``email``),
integer bounds and formats (``int32``, ``int64``), ``required``,
``properties`` and ``items`` with their counts.

The sandbox validates requests with it, without a runtime dependency; the
test suite checks responses with a full validator (``openapi-core``).
"""

from __future__ import annotations

import re
import typing as t
from datetime import date, datetime

from .openapi import Schema, resolve

_INT_RANGES = {"int32": 2**31, "int64": 2**63}
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Invalid(ValueError):
    """A value does not match its schema.

    :param field: Where, e.g. ``"pageSize"`` or ``"request.og.link"``.
    :param message: What is wrong, for the error body.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _type_of(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _type_matches(value: object, expected: str) -> bool:
    actual = _type_of(value)
    return actual == expected or (expected == "number" and actual == "integer")


def check(value: object, schema: Schema, field: str) -> None:
    """Raise :class:`Invalid` unless ``value`` matches ``schema``.

    :param value: A decoded JSON value or converted parameter.
    :param schema: Its schema (``$ref`` followed).
    :param field: Its name, for the error.
    """
    schema = resolve(schema)
    if "oneOf" in schema:
        _check_one_of(value, schema["oneOf"], field)
        return
    expected = schema.get("type")
    if expected is not None:
        types = [expected] if isinstance(expected, str) else list(expected)
        if not any(_type_matches(value, name) for name in types):
            raise Invalid(field, f"must be of type {' or '.join(types)}.")
    if "enum" in schema and value is not None and value not in schema["enum"]:
        choices = ", ".join(str(choice) for choice in schema["enum"])
        raise Invalid(field, f"must be one of {choices}.")
    if isinstance(value, str):
        _check_string(value, schema, field)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(value, schema, field)
    elif isinstance(value, list):
        _check_array(t.cast(list[object], value), schema, field)
    elif isinstance(value, dict):
        _check_object(t.cast(dict[str, object], value), schema, field)


def _check_one_of(value: object, choices: list[Schema], field: str) -> None:
    problems: list[Invalid] = []
    for choice in choices:
        try:
            check(value, choice, field)
        except Invalid as problem:
            problems.append(problem)
        else:
            return
    # The most useful message is the one of the non-null alternative.
    raise problems[0]


def _check_string(value: str, schema: Schema, field: str) -> None:
    if len(value) < schema.get("minLength", 0):
        raise Invalid(field, f"must be at least {schema['minLength']} characters.")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        raise Invalid(
            field,
            f"must be {schema['maxLength']} characters or less. Input: {len(value)}",
        )
    if "pattern" in schema and not re.search(schema["pattern"], value):
        raise Invalid(field, f"must match {schema['pattern']}.")
    kind = schema.get("format")
    try:
        if kind == "date":
            date.fromisoformat(value)
        elif kind == "date-time":
            parse_datetime(value)
    except ValueError:
        raise Invalid(field, f"must be an ISO-8601 {kind}.") from None
    if kind == "email" and not _EMAIL_RE.match(value):
        raise Invalid(field, "must be an email address.")


def parse_datetime(value: str) -> datetime:
    """Parse an ISO-8601 date and time (``Z`` or an offset allowed).

    :param value: The text.
    :raise ValueError: Not a date and time.
    """
    if "T" not in value and " " not in value:
        raise ValueError(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))


def _check_number(value: float, schema: Schema, field: str) -> None:
    bound = _INT_RANGES.get(schema.get("format", ""))
    if bound is not None and not -bound <= value < bound:
        raise Invalid(field, f"is out of range for {schema['format']}. Input: {value}")
    if "minimum" in schema and value < schema["minimum"]:
        raise Invalid(field, f"must be {schema['minimum']} or more. Input: {value}")
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        raise Invalid(
            field, f"must be more than {schema['exclusiveMinimum']}. Input: {value}"
        )
    if "maximum" in schema and value > schema["maximum"]:
        raise Invalid(field, f"must be {schema['maximum']} or less. Input: {value}")


def _check_array(value: list[object], schema: Schema, field: str) -> None:
    if len(value) < schema.get("minItems", 0):
        raise Invalid(field, f"must have at least {schema['minItems']} items.")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        raise Invalid(field, f"must have {schema['maxItems']} items or less.")
    items = schema.get("items")
    if items is not None:
        for index, item in enumerate(value):
            check(item, items, f"{field}[{index}]")


def _check_object(value: dict[str, object], schema: Schema, field: str) -> None:
    prefix = f"{field}." if field else ""
    for name in schema.get("required", ()):
        if name not in value:
            raise Invalid(f"{prefix}{name}", "is required.")
    for name, sub in schema.get("properties", {}).items():
        if name in value:
            check(value[name], sub, f"{prefix}{name}")
