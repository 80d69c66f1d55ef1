"""The sandbox provider in a process of its own, for tests in other processes.

Run it as ``python -m herd_support.sandbox_process`` (with ``tests/`` on
``PYTHONPATH``). It serves a :class:`~flask_rocketpunch.sandbox.SandboxProvider`
with :class:`~flask_rocketpunch.sandbox.SandboxServer` on a free
``127.0.0.1`` port, prints ``{"port": <port>}`` as its first line on stdout,
and serves until SIGTERM, SIGINT, or the end of the process that started it.

Besides the provider's own endpoints, a few test-control routes, never part
of a real provider:

- ``GET /_herd/grants``: ``{"grants": {grant_type: n}, "refused": {...}}``,
  every request the token endpoint got by grant type
  (:meth:`SandboxProvider.grant_counts`), and those it answered with an
  error;
- ``POST /_herd/client``: register a client, JSON ``client_id``,
  ``client_secret``, ``redirect_uri``;
- ``POST /_herd/faults``: set fault switches, JSON ``{name: value}``
  (:class:`~flask_rocketpunch.sandbox.Faults` fields); answers the switches;
- ``POST /_herd/reset``: forget codes, tokens and recorded requests, and put
  the faults back as they were at start.

Nothing it prints holds a token or a secret.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import signal
import sys
import threading
import typing as t

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from flask_rocketpunch.sandbox import (
    Faults,
    SandboxProvider,
    SandboxServer,
    create_sandbox_app,
)

#: The fault switches, by name, and the type each one takes.
_SWITCHES = {field.name: field for field in dataclasses.fields(Faults)}


def _fault_value(name: str, value: object) -> object:
    """``value`` as the switch ``name`` takes it (JSON has no tuples)."""
    if isinstance(value, list):
        return tuple(value)
    if name == "token_delay" and isinstance(value, int):
        return float(value)
    return value


def create_app(provider: SandboxProvider, start_faults: Faults) -> Flask:
    """The sandbox app for ``provider`` with the test-control routes.

    :param start_faults: the switches ``/_herd/reset`` puts back.
    """
    app = create_sandbox_app(provider)

    @app.get("/_herd/grants")
    def grants() -> ResponseReturnValue:
        refused = collections.Counter(
            r.params["grant_type"]
            for r in provider.requests_to("token")
            if "grant_type" in r.params and r.status is not None and r.status != 200
        )
        return jsonify(grants=dict(provider.grant_counts()), refused=dict(refused))

    @app.post("/_herd/client")
    def client() -> ResponseReturnValue:
        data = request.get_json(force=True)
        provider.register_client(
            str(data["client_id"]),
            str(data["client_secret"]),
            str(data["redirect_uri"]),
            name="Herd App",
        )
        return jsonify(registered=True)

    @app.post("/_herd/faults")
    def faults() -> ResponseReturnValue:
        data = request.get_json(force=True)
        if not isinstance(data, dict):
            return jsonify(error="send a JSON object of switches"), 400
        unknown = sorted(set(data) - set(_SWITCHES))
        if unknown:
            return jsonify(error=f"unknown fault switches: {unknown}"), 400
        for name, value in data.items():
            setattr(provider.faults, name, _fault_value(name, value))
        return jsonify(dataclasses.asdict(provider.faults))

    @app.post("/_herd/reset")
    def reset() -> ResponseReturnValue:
        provider.reset()
        for name in _SWITCHES:
            setattr(provider.faults, name, getattr(start_faults, name))
        return jsonify(dataclasses.asdict(provider.faults))

    return app


def serve(token_delay: float, access_token_ttl: int | None = None) -> None:
    """Serve until a signal or the end of the parent process."""
    # A herd of workers is a load test: count the calls, never refuse them.
    provider = SandboxProvider(
        flavor="current",
        access_token_ttl=access_token_ttl,
        enforce_rate_limit=False,
    )
    provider.faults.token_delay = token_delay
    start_faults = dataclasses.replace(provider.faults)
    stop = threading.Event()

    def on_signal(signum: int, frame: t.Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    parent = os.getppid()
    with SandboxServer(create_app(provider, start_faults)) as server:
        sys.stdout.write(json.dumps({"port": server.port}) + "\n")
        sys.stdout.flush()
        # Bounded by the parent's life: an orphan stops within a fraction
        # of a second.
        while not stop.wait(0.2):
            if os.getppid() != parent:
                break


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Serve the sandbox provider with test-control routes."
    )
    parser.add_argument(
        "--token-delay",
        type=float,
        default=0.2,
        help="seconds the token endpoint waits before answering",
    )
    parser.add_argument(
        "--access-token-ttl",
        type=int,
        default=None,
        help="seconds the access tokens live (default: the flavor's)",
    )
    args = parser.parse_args(argv)
    serve(args.token_delay, args.access_token_ttl)


if __name__ == "__main__":
    main()
