"""The timed iterations of the benchmarks, and how to get a logged-in client.

A step does one iteration of a scenario (a request, a login) and returns the
nanoseconds of the part that counts; it checks the answer after stopping the
clock, and raises :class:`BenchmarkError` when the app did not do what the
scenario needs, since its figures would then mean nothing.
"""

from __future__ import annotations

import collections.abc as cabc
import time
from urllib.parse import parse_qsl, urlsplit

import requests
from connections import ConnectionCounter, Seen
from flask import Flask
from flask.testing import FlaskClient
from interleave import Step
from twins import TIMEOUT, USER

from flask_rocketpunch.sandbox import SandboxProvider


class BenchmarkError(RuntimeError):
    """An app did not answer as the scenario needs: its figures would be
    meaningless."""


def _check(ok: object, what: str) -> None:
    if not ok:
        raise BenchmarkError(what)


def get_step(client: FlaskClient, path: str) -> Step:
    """One ``GET path`` through the test client, expecting ``200 ok``."""

    def step() -> int:
        start = time.perf_counter_ns()
        response = client.get(path)
        elapsed = time.perf_counter_ns() - start
        _check(
            response.status_code == 200 and response.data == b"ok",
            f"GET {path} on {client.application.name} answered"
            f" {response.status_code}, not 200 ok.",
        )
        return elapsed

    return step


def http_step(http: requests.Session, url: str) -> Step:
    """One ``GET url`` over HTTP, expecting ``200 ok``."""

    def step() -> int:
        start = time.perf_counter_ns()
        response = http.get(url, timeout=TIMEOUT)
        elapsed = time.perf_counter_ns() - start
        _check(
            response.status_code == 200 and response.content == b"ok",
            f"GET {url} answered {response.status_code}, not 200 ok.",
        )
        return elapsed

    return step


def counted(step: Step, counter: ConnectionCounter, seen: Seen) -> Step:
    """``step``, with what it sends to the provider counted in ``seen``."""

    def wrapped() -> int:
        counter.sink = seen
        try:
            return step()
        finally:
            counter.sink = None

    return wrapped


def consent(provider: SandboxProvider, location: str) -> str:
    """Approve the authorization request at ``location`` as :data:`USER`, as
    the consent page's button does; return the callback URL."""
    params = dict(parse_qsl(urlsplit(location).query))
    return provider.approve(params, USER)


def login_step(
    app: Flask,
    provider: SandboxProvider | cabc.Callable[[str], str],
    login_path: str,
) -> Step:
    """One login with a new browser: the login route and the callback are
    timed, the consent in between is not.

    :param provider: the provider in this process, or a function that
        answers the consent page at a URL and returns the callback URL."""

    def step() -> int:
        client = app.test_client()
        start = time.perf_counter_ns()
        first = client.get(login_path)
        paused = time.perf_counter_ns()
        location = first.headers.get("Location")
        _check(
            first.status_code == 302 and location,
            f"The login route of {app.name} answered {first.status_code}.",
        )
        if isinstance(provider, SandboxProvider):
            back = consent(provider, str(location))
        else:
            back = provider(str(location))
        resumed = time.perf_counter_ns()
        done = client.get(back)
        end = time.perf_counter_ns()
        _check(
            done.status_code == 302 and done.headers.get("Location") == "/",
            f"The callback of {app.name} answered {done.status_code}.",
        )
        return (paused - start) + (end - resumed)

    return step


def logged_in(app: Flask, provider: SandboxProvider, login_path: str) -> FlaskClient:
    """A test client of ``app`` that has logged in (untimed)."""
    client = app.test_client()
    start = client.get(login_path)
    client.get(consent(provider, str(start.headers["Location"])))
    return client


def session_cookie(client: FlaskClient) -> str:
    """The value of the session cookie ``client`` holds."""
    cookie = client.get_cookie("session")
    if cookie is None:
        raise BenchmarkError(f"{client.application.name} set no session cookie.")
    return cookie.value
