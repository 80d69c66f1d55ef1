"""The app-level client: public data (posts, jobs, events, codes) read with
the App Key alone, with no logged-in user, in a request, a CLI command or a
background job."""

from __future__ import annotations

import typing as t

from flask import g
from werkzeug.local import LocalProxy

from .client import RocketpunchClient
from .headers import request_language
from .state import AppState, current_state

if t.TYPE_CHECKING:
    import requests

    from .settings import Settings


class PublicClient(RocketpunchClient):
    """Calls Rocketpunch's public read operations as the app: every call
    carries the App Key (``X-RP-API-Key``) and no bearer token. It shares
    the app's pooled HTTP session, ``ROCKETPUNCH_TIMEOUT``, the host check
    and the typed errors (:class:`~flask_rocketpunch.APIError`,
    :class:`~flask_rocketpunch.RateLimitError`,
    :class:`~flask_rocketpunch.ProviderError`) of the user's client.

    The public operations are the ``GET`` calls of posts, jobs, events and
    codes (``posts``, ``posts/{id}``, ``jobs``, ``jobs/{id}``, ``events``,
    ``events/{id}`` and its ``sessions``, ``faqs`` and ``tickets``,
    ``codes/...``); any other call is answered ``401`` by Rocketpunch, as
    there is no user. Get one with
    :meth:`~flask_rocketpunch.RocketpunchOAuth.public_client` or the
    :data:`rocketpunch_public` proxy. It keeps nothing of a user, so it may
    be kept and shared between threads.

    :param http: the app's pooled HTTP session.
    :param settings: the app's settings.
    :param language: the ``Accept-Language`` sent, or ``None`` for none
        (Rocketpunch then answers in Korean).

    .. versionadded:: 0.2
    """

    def __init__(
        self, *, http: requests.Session, settings: Settings, language: str | None
    ) -> None:
        super().__init__(http=http, settings=settings, tokens=None, language=language)

    def userinfo(
        self, *, headers: t.Mapping[str, str | None] | None = None
    ) -> dict[str, t.Any]:
        """Not available: userinfo describes a logged-in user, and this
        client has none.

        :raises TypeError: always.
        """
        raise TypeError(
            "The public client has no user: call userinfo() on the rocketpunch"
            " proxy, in a request of a logged-in user."
        )


def public_client_for(state: AppState) -> PublicClient:
    """A :class:`PublicClient` for the app of ``state``: its language is
    ``ROCKETPUNCH_LANGUAGE``, else the current request's best match (when
    there is a request), else none.

    :param state: the app's state.
    """
    return PublicClient(
        http=state.http,
        settings=state.settings,
        language=request_language(state.settings),
    )


def _current_public_client() -> PublicClient:
    client: PublicClient | None = g.get("_rocketpunch_public")
    if client is None:
        client = public_client_for(current_state())
        g._rocketpunch_public = client
    return client


#: The app-level client of the current app (in a request or an app context,
#: such as a ``flask`` CLI command): ``rocketpunch_public.get("posts")``
#: reads public data with the App Key, with no user. Outside an app context
#: use :meth:`~flask_rocketpunch.RocketpunchOAuth.public_client` with the
#: app.
rocketpunch_public: PublicClient = t.cast(
    PublicClient, LocalProxy(_current_public_client)
)
