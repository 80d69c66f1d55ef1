"""Benchmarks of flask-rocketpunch. They print figures; they assert nothing.

Run with ``make bench`` or ``python benchmarks/run.py``.

Every speed figure is a ratio: our app against a bare-Flask twin doing the
same work without the extension, measured in the same run, interleaved
round by round (see ``interleave.py``). Absolute times on a shared machine
move too much to mean anything; they are printed only to show the scale.

Scenarios (the apps are in ``twins.py``):

- protected view: ``@login_required_rocketpunch`` returning ``"ok"`` with a
  logged-in session cookie, against a view that reads the same session key
  from the same cookie; through the Flask test client, then over real HTTP;
- login + callback: our login route and callback (state, PKCE, code
  exchange over HTTP), against a hand-written login and callback; the
  consent step in between is the same for both and not timed;
- API call: a protected view making one ``rocketpunch.get("posts")``,
  against a view making the same call with a ``requests.Session``; with the
  TCP connections each side opened;
- Flask-Dance's protected view against the same bare view, when flask-dance
  is installed (it is not a dependency).

Both apps talk to one sandbox provider (``create_sandbox_app``) served over
HTTP/1.1 with keep-alive on 127.0.0.1 (``keepalive.py``: the Werkzeug server
in ``SandboxServer`` closes every connection, so pooling would not show).

Other figures: the session cookie's size after a login for each sandbox
flavor, the refresh grants 50 concurrent refreshes of one token make, and
the peak memory of 200 logins.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import platform
import secrets
import time

import requests
from connections import ConnectionCounter, Seen
from figures import concurrent_refreshes, cookie_sizes, login_memory
from flask import Flask
from flask.testing import FlaskClient
from interleave import Comparison, compare
from keepalive import KeepAliveServer
from remote import http_consent, remote_provider
from steps import counted, get_step, http_step, logged_in, login_step, session_cookie
from storages import storage_costs
from twins import (
    BARE_CLIENT_ID,
    BARE_LOGIN_PATH,
    BARE_REDIRECT_URI,
    BARE_TOKEN_KEY,
    OURS_CLIENT_ID,
    OURS_LOGIN_PATH,
    OURS_REDIRECT_URI,
    SECRET_KEY,
    make_bare,
    make_ours,
)

from flask_rocketpunch.sandbox import SandboxProvider, create_sandbox_app

#: The issue's targets for the hot path: ours at most this times bare Flask.
TARGETS = {
    "protected view": 1.05,
    "login + callback": 1.10,
    "login + callback, remote": 1.10,
    "API call": 1.05,
}

#: Rounds, and iterations per side in each round, by scenario: about a
#: minute in all on a two-core machine. More rounds narrow the spread.
PROTECTED = {"rounds": 40, "batch": 250}
PROTECTED_HTTP = {"rounds": 40, "batch": 150}
LOGIN = {"rounds": 60, "batch": 30}
API_CALL = {"rounds": 40, "batch": 150}


# -- report ------------------------------------------------------------------


def _us(value: float) -> str:
    return f"{value:,.0f} µs" if value >= 100 else f"{value:.1f} µs"


def _load() -> str:
    try:
        return f"load average {os.getloadavg()[0]:.1f}"
    except OSError:  # not on every platform
        return "load average unknown"


def header() -> None:
    print(
        f"Python {platform.python_version()}, {platform.machine()},"
        f" {os.cpu_count()} CPUs, {_load()}"
    )
    print(
        "ratio: ours / bare Flask, median of the per-round ratios (rounds x"
        " requests per side);\nours, bare: median per-request times, for scale"
        " only; min-max, IQR: of the per-round ratios."
    )
    print()
    print(
        f"{'scenario':<22}{'ours':>11}{'bare':>11}{'ratio':>8}"
        f"{'min-max':>16}{'IQR':>16}{'rounds':>11}  target"
    )


def report(result: Comparison) -> None:
    lo, hi = result.spread
    q1, q3 = result.iqr
    target = TARGETS.get(result.name)
    print(
        f"{result.name:<22}{_us(result.ours_us):>11}{_us(result.bare_us):>11}"
        f"{'x' + format(result.ratio, '.2f'):>8}"
        f"{f'x{lo:.2f}-x{hi:.2f}':>16}{f'x{q1:.2f}-x{q3:.2f}':>16}"
        f"{f'{result.rounds}x{result.batch}':>11}"
        f"  {'x' + format(target, '.2f') if target else '-'}",
        flush=True,
    )


# -- speed scenarios -----------------------------------------------------------


def protected_view(ours: Flask, bare: Flask, cookie: str) -> Comparison:
    ours_client, bare_client = ours.test_client(), bare.test_client()
    ours_client.set_cookie("session", cookie)
    bare_client.set_cookie("session", cookie)
    return compare(
        "protected view",
        ours=get_step(ours_client, "/protected"),
        bare=get_step(bare_client, "/protected"),
        **PROTECTED,
    )


def protected_view_http(ours: Flask, bare: Flask, cookie: str) -> Comparison:
    with KeepAliveServer(ours) as ours_server, KeepAliveServer(bare) as bare_server:
        ours_http, bare_http = requests.Session(), requests.Session()
        for http in (ours_http, bare_http):
            http.headers["Cookie"] = f"session={cookie}"
        return compare(
            "protected view, HTTP",
            ours=http_step(ours_http, f"{ours_server.url}/protected"),
            bare=http_step(bare_http, f"{bare_server.url}/protected"),
            **PROTECTED_HTTP,
        )


def login_and_callback(
    ours: Flask, bare: Flask, provider: SandboxProvider, counter: ConnectionCounter
) -> tuple[Comparison, Seen, Seen]:
    ours_seen, bare_seen = Seen(), Seen()
    result = compare(
        "login + callback",
        ours=counted(login_step(ours, provider, OURS_LOGIN_PATH), counter, ours_seen),
        bare=counted(login_step(bare, provider, BARE_LOGIN_PATH), counter, bare_seen),
        **LOGIN,
    )
    return result, ours_seen, bare_seen


def login_and_callback_remote(ours_secret: str, bare_secret: str) -> Comparison:
    """Login + callback with the provider in a process of its own."""
    clients = [
        (OURS_CLIENT_ID, ours_secret, OURS_REDIRECT_URI),
        (BARE_CLIENT_ID, bare_secret, BARE_REDIRECT_URI),
    ]
    with remote_provider(clients) as base_url:
        ours = make_ours(base_url, ours_secret)
        bare = make_bare(base_url, bare_secret)
        return compare(
            "login + callback, remote",
            ours=login_step(ours, http_consent, OURS_LOGIN_PATH),
            bare=login_step(bare, http_consent, BARE_LOGIN_PATH),
            **LOGIN,
        )


def api_call(
    ours: FlaskClient, bare: FlaskClient, counter: ConnectionCounter
) -> tuple[Comparison, Seen, Seen]:
    ours_seen, bare_seen = Seen(), Seen()
    result = compare(
        "API call",
        ours=counted(get_step(ours, "/api-call"), counter, ours_seen),
        bare=counted(get_step(bare, "/api-call"), counter, bare_seen),
        **API_CALL,
    )
    return result, ours_seen, bare_seen


def flask_dance(bare_token: object, base_url: str) -> Comparison | None:
    """Flask-Dance's protected view against the same bare view, when
    flask-dance is installed."""
    if importlib.util.find_spec("flask_dance") is None:
        return None
    consumer = importlib.import_module("flask_dance.consumer")
    app = Flask("bench_dance")
    app.config["SECRET_KEY"] = SECRET_KEY
    blueprint = consumer.OAuth2ConsumerBlueprint(
        "rocketpunch",
        __name__,
        client_id=BARE_CLIENT_ID,
        client_secret="unused",
        base_url=f"{base_url}/api/v1/",
        token_url=f"{base_url}/oauth/token",
        authorization_url=f"{base_url}/oauth/authorize",
        redirect_url=BARE_REDIRECT_URI,
    )
    app.register_blueprint(blueprint, url_prefix="/login")

    @app.get("/protected")
    def protected() -> str:
        if not blueprint.session.authorized:
            return "not authorized"
        return "ok"

    # Flask-Dance keeps the provider's token JSON in the session, under
    # "<blueprint name>_oauth_token"; the bare twin checks that key.
    key = f"{blueprint.name}_oauth_token"
    dance_client = app.test_client()
    with dance_client.session_transaction() as saved:
        saved[key] = bare_token
    cookie = session_cookie(dance_client)
    bare_client = make_bare(base_url, "unused", protected_key=key).test_client()
    bare_client.set_cookie("session", cookie)
    return compare(
        "Flask-Dance view",
        ours=get_step(dance_client, "/protected"),
        bare=get_step(bare_client, "/protected"),
        **PROTECTED,
    )


def speed() -> None:
    # A benchmark goes far beyond Rocketpunch's 60 calls a minute.
    provider = SandboxProvider(flavor="current", enforce_rate_limit=False)
    counter = ConnectionCounter(create_sandbox_app(provider))
    ours_secret, bare_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    provider.register_client(OURS_CLIENT_ID, ours_secret, OURS_REDIRECT_URI)
    provider.register_client(BARE_CLIENT_ID, bare_secret, BARE_REDIRECT_URI)
    connections: list[tuple[str, Seen, Seen]] = []
    with KeepAliveServer(counter) as server:
        ours = make_ours(server.url, ours_secret)
        bare = make_bare(server.url, bare_secret)
        ours_client = logged_in(ours, provider, OURS_LOGIN_PATH)
        bare_client = logged_in(bare, provider, BARE_LOGIN_PATH)
        cookie = session_cookie(ours_client)
        report(protected_view(ours, bare, cookie))
        report(protected_view_http(ours, bare, cookie))
        result, ours_seen, bare_seen = login_and_callback(ours, bare, provider, counter)
        report(result)
        report(login_and_callback_remote(ours_secret, bare_secret))
        connections.append(("token exchanges", ours_seen, bare_seen))
        result, ours_seen, bare_seen = api_call(ours_client, bare_client, counter)
        report(result)
        connections.append(("API calls", ours_seen, bare_seen))
        with bare_client.session_transaction() as saved:
            bare_token = saved[BARE_TOKEN_KEY]
        print()
        print("The protected view with each token storage (one request each in")
        print("turn; added: ours minus bare, per request):")
        storage_costs(provider, server.url, ours_secret)
        print()
        dance = flask_dance(bare_token, server.url)
        if dance is None:
            print("Flask-Dance view: skipped, flask-dance is not installed")
        else:
            report(dance)
            print("(in the Flask-Dance row, 'ours' is Flask-Dance's protected view)")
    print()
    print("TCP connections to the provider (which keeps them open):")
    for what, ours_seen, bare_seen in connections:
        print(
            f"  {what:<16} ours {ours_seen.requests} on"
            f" {len(ours_seen.connections)}, bare {bare_seen.requests} on"
            f" {len(bare_seen.connections)}"
        )


def main() -> None:
    # The sandbox warns at every app start that it is not Rocketpunch.
    logging.getLogger("flask_rocketpunch").setLevel(logging.ERROR)
    started = time.perf_counter()
    header()
    speed()
    print()
    cookie_sizes()
    concurrent_refreshes()
    login_memory()
    print(f"\nThe run took {time.perf_counter() - started:.0f} s; {_load()}.")


if __name__ == "__main__":
    main()
