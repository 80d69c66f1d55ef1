"""The sandbox inside the app that uses it (``ROCKETPUNCH_SANDBOX = True``).

Everything is wired once, when the app is set up: the blueprint serves the
consent page to browsers, a transport adapter answers the app's own
back-channel calls in-process, and the client is registered with its
redirect URI. Nothing is changed per request, and nothing is taken from a
request's ``Host`` header: a redirect URI registered as a path is resolved
against the URL each consent request arrived on, for that request only, and
avatars are given as ``data:`` URIs.

Under several worker processes each builds its own provider; they share a
secret and a state file (see :mod:`.shared`), so a code or a token issued by
one is honoured, or refused when spent or revoked, by all.
"""

from __future__ import annotations

import requests
from flask import Flask

from .flavors import Flavor
from .provider import SandboxProvider
from .shared import SharedState
from .transport import SandboxTransport
from .views import create_sandbox_blueprint

#: The blueprint name of the in-app sandbox; its consent page is
#: ``url_for("rocketpunch_sandbox.authorize")``.
BLUEPRINT_NAME = "rocketpunch_sandbox"


def mount_in_app(
    app: Flask,
    http: requests.Session,
    *,
    origin: str,
    flavor: Flavor,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    name: str,
    url_prefix: str = "/_rocketpunch_sandbox",
    secret: str | bytes | None = None,
    state_path: str | None = None,
) -> SandboxProvider:
    """Serve a new sandbox provider from ``app`` and register its one client.

    :param app: The app the browser talks to; the consent page and the
        avatars are mounted in it under ``url_prefix``.
    :param http: The app's HTTP session; requests to ``origin`` are answered
        by the provider in-process, never over the network.
    :param origin: The made-up origin of the token, revocation, userinfo and
        API endpoints, e.g. ``"http://rocketpunch-sandbox.invalid"``.
    :param flavor: ``"current"`` or ``"guide"``.
    :param client_id: The app's client id.
    :param client_secret: The app's client secret.
    :param redirect_uri: The app's callback: an absolute URL, matched
        character for character, or a path such as
        ``"/auth/rocketpunch/callback"``, which accepts that path on the
        origin and script root each consent request arrives on.
    :param name: The application name shown on the consent page.
    :param url_prefix: Where the blueprint is mounted in ``app``.
    :param secret: A secret every process serving ``app`` knows (the
        extension passes ``SECRET_KEY``): the sandbox's keys are derived from
        it, so a consent form, code or token made by one worker is read by
        the others. ``None``: random keys, for this process only.
    :param state_path: The SQLite file where the processes mark spent codes
        and refresh tokens and revoked tokens (the extension uses
        ``rocketpunch-sandbox.sqlite3`` in the instance folder). ``None``:
        the marks stay in this process.
    :return: The provider, for tests to inspect.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        The ``secret`` and ``state_path`` parameters.
    """
    provider = SandboxProvider(
        flavor, inline_pictures=True, shared=SharedState(secret, state_path)
    )
    provider.register_client(client_id, client_secret, redirect_uri, name=name)
    app.register_blueprint(
        create_sandbox_blueprint(provider, name=BLUEPRINT_NAME), url_prefix=url_prefix
    )
    http.mount(origin.rstrip("/") + "/", SandboxTransport(provider))
    return provider
