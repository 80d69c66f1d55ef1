"""Helpers for the test suites of apps that use flask-rocketpunch."""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import dataclasses
import typing as t

from flask import Flask, session, url_for
from flask.testing import FlaskClient
from werkzeug.test import TestResponse
from werkzeug.wrappers import Response as BaseResponse

from ..extension import RocketpunchOAuth
from ..sandbox import Faults, RecordedRequest, SandboxClient, SandboxProvider
from ..scopes import ScopeValue, parse_scopes
from ..signals import logged_in
from ..tokens import Token
from ..views import begin_login, redirect_uri
from .consent import answer_consent

#: The user :func:`login_as` and :func:`complete_login` log in by default.
DEFAULT_USER = "minji"


def _app(app: Flask | FlaskClient) -> Flask:
    return app.application if isinstance(app, FlaskClient) else app


def _extension(app: Flask) -> RocketpunchOAuth:
    ext = app.extensions.get("rocketpunch")
    if not isinstance(ext, RocketpunchOAuth):
        raise RuntimeError(
            f"The app {app.name!r} does not use flask-rocketpunch: call"
            " RocketpunchOAuth(app) or rp.init_app(app) before using the testing"
            " helpers."
        )
    return ext


def sandbox_of(app: Flask | FlaskClient) -> SandboxProvider:
    """The sandbox provider built into an app running with
    ``ROCKETPUNCH_SANDBOX = True``: inspect its users, codes, tokens and
    recorded requests, and flip its fault switches.

    :param app: the app, or a test client of it.
    :raises RuntimeError: the app does not use flask-rocketpunch, or is not in
        sandbox mode.

    .. versionadded:: 0.1
    """
    flask_app = _app(app)
    provider = _extension(flask_app).sandbox(flask_app)
    if provider is None:
        raise RuntimeError(
            f"The app {flask_app.name!r} is not in sandbox mode"
            " (ROCKETPUNCH_SANDBOX is off), so it has no built-in provider. Pass"
            " the provider its ROCKETPUNCH_* URLs point at (for example"
            " provider=rocketpunch_provider with the rocketpunch_config fixture),"
            " or set ROCKETPUNCH_SANDBOX = True."
        )
    return provider


def _provider(app: Flask, provider: SandboxProvider | None) -> SandboxProvider:
    return sandbox_of(app) if provider is None else provider


def register_app(
    app: Flask | FlaskClient, provider: SandboxProvider | None = None
) -> SandboxClient:
    """Register the app's client id, secret and redirect URI with the sandbox
    (replacing an earlier registration of that client id).

    The redirect URI is ``ROCKETPUNCH_REDIRECT_URI``, or the callback URL as
    the test client sees it (``http://localhost<prefix>/callback``).

    :param app: the app, or a test client of it.
    :param provider: the sandbox; by default the app's built-in one.

    .. versionadded:: 0.1
    """
    flask_app = _app(app)
    provider = _provider(flask_app, provider)
    settings = _extension(flask_app).settings(flask_app)
    with flask_app.test_request_context():
        callback = redirect_uri()
    return provider.register_client(
        settings.client_id, settings.client_secret, callback, name=flask_app.name
    )


def _ensure_registered(app: Flask, provider: SandboxProvider) -> None:
    client_id = _extension(app).settings(app).client_id
    if provider.get_client(client_id) is None:
        register_app(app, provider)


def store_token(client: FlaskClient, token: Token) -> None:
    """Store ``token`` for the user of ``client`` with the app's token
    storage, as the callback does after a login.

    The storage runs in a request context whose session holds the test
    client's session, which is then saved back to the client's cookie: the default
    :class:`~flask_rocketpunch.SessionStorage` encrypts the token into it
    exactly as in a real request, and storages keyed by something in the
    session work too.

    :param client: a Flask test client of the app (with cookies enabled).
    :param token: the token to store.

    .. versionadded:: 0.1
    """
    app = client.application
    ext = _extension(app)
    storage = ext.storage_of(app)
    with client.session_transaction() as saved, app.test_request_context():
        session.update(saved)
        storage.set(ext.renew_login_id(), token)
        saved.clear()
        saved.update(session)


def login_as(
    client: FlaskClient,
    user: str = DEFAULT_USER,
    scopes: str | cabc.Iterable[str] | None = None,
    expires_in: int | None = None,
    provider: SandboxProvider | None = None,
    *,
    run_hooks: bool = False,
) -> Token:
    """Log ``user`` in for ``client`` without the redirect dance.

    The sandbox issues a real token to the app's client id, so later API
    calls, refreshes and the revocation at logout all work against it. The
    token is stored with the app's storage (see :func:`store_token`). By
    default no signal is sent and no
    :meth:`~flask_rocketpunch.RocketpunchOAuth.on_login` hook runs; with
    ``run_hooks=True``, :data:`~flask_rocketpunch.logged_in` is sent and the
    hook runs as after a real login, in a request context of ``client``
    whose session is saved back to its cookie, so what the hook does to the
    session sticks (Flask-Login's ``login_user``, say). What the hook
    returns is ignored (there is no redirect to replace), and neither is a
    response sent, so a cookie the hook's code would set on the response
    (Flask-Login's "remember me") is not set.

    .. code-block:: python

        token = login_as(client, "seojun", expires_in=60)
        assert client.get("/dashboard").status_code == 200

        login_as(client, "minji", run_hooks=True)   # the app's on_login runs
        assert "Signed in as Minji Kim" in client.get("/").get_data(as_text=True)

    :param client: a Flask test client of the app.
    :param user: the sandbox user's ``preferred_username`` or ``sub``.
    :param scopes: the scopes granted; by default ``ROCKETPUNCH_SCOPES``.
    :param expires_in: seconds the access token lives; by default the
        provider's lifetime (900 s). A value within
        ``ROCKETPUNCH_REFRESH_LEEWAY`` makes the next protected request
        refresh it; ``0`` gives an expired token.
    :param provider: the sandbox the app's ``ROCKETPUNCH_*`` URLs point at;
        by default the app's built-in one (``ROCKETPUNCH_SANDBOX = True``).
        The app's client is registered with it if it is not yet.
    :param run_hooks: send ``logged_in`` and run the app's ``on_login`` hook.
    :return: the stored token.
    :raises LookupError: no such sandbox user.
    :raises ValueError: a scope the sandbox's flavor does not know.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        The ``run_hooks`` parameter.
    """
    app = client.application
    ext = _extension(app)
    provider = _provider(app, provider)
    _ensure_registered(app, provider)
    settings = ext.settings(app)
    granted = settings.scopes if scopes is None else parse_scopes(scopes)
    data = provider.issue_token(user, settings.client_id, granted, expires_in)
    token = Token.from_response(
        data, now=ext.app_state(app).clock(), requested_scopes=granted
    )
    if not run_hooks:
        store_token(client, token)
        return token
    with _client_request(client):
        ext.storage_of(app).set(ext.renew_login_id(), token)
        logged_in.send(app, token=token)
        ext.run_login_hook(token)
    return token


@contextlib.contextmanager
def _client_request(
    client: FlaskClient, path: str = "/", **kwargs: t.Any
) -> cabc.Iterator[None]:
    """A request context of ``client``'s app whose session starts as the
    client's and is saved back to its cookie afterwards."""
    app = client.application
    with (
        client.session_transaction() as saved,
        app.test_request_context(path, **kwargs),
    ):
        session.update(saved)
        yield
        saved.clear()
        saved.update(session)


def _url(app: Flask, endpoint: str, **values: t.Any) -> str:
    with app.test_request_context():
        return url_for(endpoint, **values)


def complete_login(
    client: FlaskClient,
    user: str = DEFAULT_USER,
    *,
    decision: t.Literal["approve", "deny"] = "approve",
    next: str | None = None,
    provider: SandboxProvider | None = None,
    scopes: ScopeValue = None,
) -> TestResponse:
    """Go through the whole login as a browser would: the app's login route,
    the sandbox's consent page (choose ``user``, click Approve or Deny) and
    the app's callback, with the real state, PKCE and code exchange.

    With ``scopes``, the login asks for them on top of
    ``ROCKETPUNCH_SCOPES``, as the step-up of a view decorated with
    ``login_required_rocketpunch(scopes=...)`` does (the login starts as the
    decorator starts it, not at the login route).

    Works with the in-app sandbox and with a sandbox served over HTTP
    (:func:`~flask_rocketpunch.testing.rocketpunch_server`). Fault switches
    that are on take effect, so the callback may answer with an error page.

    .. code-block:: python

        response = complete_login(client, next="/dashboard")
        assert response.location == "/dashboard"

        complete_login(client, scopes=["email"], next="/settings/email")

    :param client: a Flask test client of the app.
    :param user: the sandbox user's ``preferred_username`` or ``sub``.
    :param decision: ``"approve"`` or ``"deny"``.
    :param next: the local path to land on after the login.
    :param provider: the sandbox the app points at, to register the app's
        client with it if it is not yet (optional; the in-app sandbox and the
        ``rocketpunch_config`` fixture register it themselves).
    :param scopes: scopes to ask for besides ``ROCKETPUNCH_SCOPES`` (a
        list, or a space-separated string).
    :return: the callback's response: a redirect after a login, else the
        app's error page (a denial, a provider failure).
    :raises AssertionError: the login route or the consent page did not
        answer as expected (the message says what they answered).

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        The ``scopes`` parameter.
    """
    app = client.application
    if provider is not None:
        _ensure_registered(app, provider)
    start: BaseResponse
    if scopes is None:
        values = {"next": next} if next is not None else {}
        start = client.get(_url(app, "rocketpunch.login", **values))
    else:
        with _client_request(client):
            start = begin_login(next, parse_scopes(scopes))
    location = start.headers.get("Location")
    if start.status_code != 302 or not location:
        raise AssertionError(
            f"The login route answered {start.status_code} instead of a redirect"
            " to the consent page."
        )
    back = answer_consent(client, location, decision=decision, user=user)
    return client.get(back)


def logout(client: FlaskClient, next: str | None = None) -> TestResponse:
    """Log out through the app's logout route (``POST <prefix>/logout``):
    the refresh token is revoked at the provider and the token dropped.

    :param client: a Flask test client of the app.
    :param next: the local path to land on afterwards.
    :return: the logout route's redirect.

    .. versionadded:: 0.1
    """
    app = client.application
    data = {"next": next} if next is not None else {}
    return client.post(_url(app, "rocketpunch.logout"), data=data)


_SWITCHES = frozenset(field.name for field in dataclasses.fields(Faults))


@contextlib.contextmanager
def misbehave(provider: SandboxProvider, **switches: object) -> cabc.Iterator[Faults]:
    """Turn fault switches on for the duration of a ``with`` block, then
    restore their previous values.

    .. code-block:: python

        with misbehave(provider, token_status=503):
            response = complete_login(client)
        assert response.status_code == 502   # the provider failed: Bad Gateway

    :param provider: the sandbox.
    :param switches: :class:`~flask_rocketpunch.sandbox.Faults` fields and
        their values, e.g. ``token_status=503``, ``refresh_invalid_grant=True``,
        ``userinfo_status=403``, ``rate_limit_retry_after=30``.
    :raises TypeError: a name that is not a fault switch.

    .. versionadded:: 0.1
    """
    unknown = sorted(set(switches) - _SWITCHES)
    if unknown:
        raise TypeError(
            f"Unknown fault switch {', '.join(unknown)}; the switches are:"
            f" {', '.join(sorted(_SWITCHES))}."
        )
    faults = provider.faults
    saved = {name: getattr(faults, name) for name in switches}
    for name, value in switches.items():
        setattr(faults, name, value)
    try:
        yield faults
    finally:
        for name, value in saved.items():
            setattr(faults, name, value)


def last_request(provider: SandboxProvider, endpoint: str) -> RecordedRequest:
    """The last request the sandbox received at ``endpoint``.

    .. code-block:: python

        assert last_request(provider, "token").params["grant_type"] == "refresh_token"

    :param provider: the sandbox.
    :param endpoint: ``"authorize"``, ``"token"``, ``"revoke"``,
        ``"userinfo"``, ``"profile"``, ``"posts"``...
    :raises AssertionError: it received none.

    .. versionadded:: 0.1
    """
    received = provider.requests_to(endpoint)
    if not received:
        raise AssertionError(f"The sandbox received no request at {endpoint!r}.")
    return received[-1]
