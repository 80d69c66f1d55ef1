"""The standalone sandbox's control API, under ``/_sandbox/``: what tests in
other processes (or other languages) read and change, over HTTP.

- ``GET /_sandbox/counters``: ``{"grants": {grant_type: n}, "refused":
  {grant_type: n}, "requests": {endpoint: n}}``: every request the token
  endpoint got by grant type, those it answered with an error, and every
  request by endpoint;
- ``GET /_sandbox/requests[?endpoint=token]``: the recorded requests, oldest
  first, with every secret (client secret, code, verifier, tokens,
  ``Authorization``, cookies) replaced by ``"***"``;
- ``GET /_sandbox/faults``, ``POST /_sandbox/faults`` with a JSON object of
  switches (:class:`~flask_rocketpunch.sandbox.Faults` fields): the switches;
- ``POST /_sandbox/reset``: forget codes, tokens, recorded requests and rate
  counters, and turn every fault off (clients stay registered);
- ``POST /_sandbox/clients`` with JSON ``client_id``, ``client_secret``,
  ``redirect_uri`` (and ``name``): register a client.

Nothing it answers holds a secret. It is only as safe as who can reach it:
the command serves it on loopback addresses only unless asked to, and every
control request must name a loopback host (against DNS rebinding) and send
its body as ``application/json`` (which a cross-site form cannot do).
"""

from __future__ import annotations

import collections
import dataclasses
import typing as t
from urllib.parse import urlsplit

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from ..settings import is_loopback_host
from .models import _SECRET_HEADERS, _SECRET_PARAMS, Faults, RecordedRequest
from .provider import SandboxProvider

#: Where the control API is mounted.
CONTROL_PREFIX = "/_sandbox"

_HINTS = t.get_type_hints(Faults)
_SWITCHES = tuple(field.name for field in dataclasses.fields(Faults))


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def fault_value(name: str, value: object) -> object:
    """``value`` checked and converted for the fault switch ``name`` (JSON
    has no tuples, and gives ``1`` for ``1.0``).

    :param name: A :class:`~flask_rocketpunch.sandbox.Faults` field.
    :param value: The value from JSON.
    :raise ValueError: An unknown switch, or a value of the wrong type.
    """
    if name not in _HINTS:
        raise ValueError(
            f"Unknown fault switch {name!r}; the switches are {', '.join(_SWITCHES)}."
        )
    hint = _HINTS[name]
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is bool and isinstance(value, bool):
        return value
    if hint is float and number:
        return float(t.cast(float, value))
    if hint == (int | None) and (value is None or (isinstance(value, int) and number)):
        return value
    if hint == (str | None) and (value is None or isinstance(value, str)):
        return value
    if (
        hint == tuple[str, ...]
        and isinstance(value, list)
        and all(isinstance(item, str) for item in t.cast(list[object], value))
    ):
        return tuple(t.cast(list[str], value))
    expected = {
        bool: "true or false",
        float: "a number of seconds",
        int | None: "an integer or null",
        str | None: "a string or null",
        tuple[str, ...]: "a list of strings",
    }.get(hint, str(hint))
    raise ValueError(f"The fault switch {name!r} takes {expected}, got {value!r}.")


def request_summary(recorded: RecordedRequest) -> dict[str, object]:
    """A recorded request as JSON, every secret replaced by ``"***"``.

    :param recorded: The request.
    """
    return {
        "endpoint": recorded.endpoint,
        "method": recorded.method,
        "path": recorded.path,
        "status": recorded.status,
        "params": {
            key: "***" if key in _SECRET_PARAMS else value
            for key, value in recorded.params.items()
        },
        "headers": {
            key: "***" if key.lower() in _SECRET_HEADERS else value
            for key, value in recorded.headers.items()
        },
    }


def create_control_blueprint(
    provider: SandboxProvider, *, any_host: bool = False
) -> Blueprint:
    """The control API for ``provider``, to mount at :data:`CONTROL_PREFIX`.

    :param provider: The provider it reads and changes.
    :param any_host: Accept control requests whatever host they name (the
        server listens on a non-loopback address on purpose); otherwise only
        ``localhost`` and loopback addresses are accepted.

    .. versionadded:: 0.2
    """
    bp = Blueprint("rocketpunch_sandbox_control", __name__)

    @bp.errorhandler(_Refused)
    def refused(error: _Refused) -> ResponseReturnValue:
        return jsonify(error=error.message), error.status

    @bp.before_request
    def guard() -> None:
        if not any_host and not is_loopback_host(
            urlsplit(f"//{request.host}").hostname
        ):
            raise _Refused(
                403,
                "The sandbox's control API answers requests to localhost or a"
                " loopback address only.",
            )
        if request.method == "POST" and not request.is_json:
            raise _Refused(415, "Send the control request's body as application/json.")

    def json_object() -> dict[str, object]:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise _Refused(400, "Send a JSON object.")
        return t.cast(dict[str, object], data)

    @bp.get("/")
    def index() -> ResponseReturnValue:
        return jsonify(
            flavor=provider.flavor,
            clients=sorted(provider.clients),
            routes=[
                "GET counters",
                "GET requests?endpoint=",
                "GET|POST faults",
                "POST reset",
                "POST clients",
            ],
        )

    @bp.get("/counters")
    def counters() -> ResponseReturnValue:
        received = provider.requests
        refused = collections.Counter(
            r.params["grant_type"]
            for r in received
            if r.endpoint == "token"
            and "grant_type" in r.params
            and r.status is not None
            and r.status != 200
        )
        return jsonify(
            grants=dict(provider.grant_counts()),
            refused=dict(refused),
            requests=dict(collections.Counter(r.endpoint for r in received)),
        )

    @bp.get("/requests")
    def requests_() -> ResponseReturnValue:
        endpoint = request.args.get("endpoint")
        received = (
            provider.requests if endpoint is None else provider.requests_to(endpoint)
        )
        return jsonify(requests=[request_summary(r) for r in received])

    @bp.get("/faults")
    def faults() -> ResponseReturnValue:
        return jsonify(dataclasses.asdict(provider.faults))

    @bp.post("/faults")
    def set_faults() -> ResponseReturnValue:
        data = json_object()
        try:
            values = {name: fault_value(name, value) for name, value in data.items()}
        except ValueError as exc:
            raise _Refused(400, str(exc)) from None
        for name, value in values.items():
            setattr(provider.faults, name, value)
        return jsonify(dataclasses.asdict(provider.faults))

    @bp.post("/reset")
    def reset() -> ResponseReturnValue:
        provider.reset()
        return jsonify(dataclasses.asdict(provider.faults))

    @bp.post("/clients")
    def clients() -> ResponseReturnValue:
        data = json_object()
        fields = ("client_id", "client_secret", "redirect_uri")
        if not all(isinstance(data.get(key), str) and data[key] for key in fields):
            raise _Refused(
                400, "Send client_id, client_secret and redirect_uri as strings."
            )
        try:
            provider.register_client(
                str(data["client_id"]),
                str(data["client_secret"]),
                str(data["redirect_uri"]),
                name=str(data.get("name") or "Example App"),
            )
        except ValueError as exc:
            raise _Refused(400, str(exc)) from None
        return jsonify(registered=str(data["client_id"]))

    return bp
