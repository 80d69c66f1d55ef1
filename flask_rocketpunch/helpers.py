"""Helpers for the current request: the API client proxy, the current token,
logging out. The Flask edge of the token logic."""

from __future__ import annotations

import logging
import typing as t

from flask import current_app, g, session
from werkzeug.local import LocalProxy

from .client import RocketpunchClient
from .headers import language_headers, request_language
from .manager import TokenManager
from .pending import PENDING_KEY
from .signals import logged_out, token_refreshed
from .state import AppState, current_state
from .stepup import REFUSED_KEY
from .tokens import Token

logger = logging.getLogger("flask_rocketpunch")


def _send_refreshed(token: Token) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    token_refreshed.send(app, token=token)


def token_manager(state: AppState | None = None) -> TokenManager:
    """The current user's :class:`~flask_rocketpunch.manager.TokenManager`,
    made once per request.

    :param state: the current app's state, when the caller has it already.
    """
    request_globals = g._get_current_object()
    # ``g.get``: a missing attribute read with getattr() raises and catches
    # an AttributeError, which costs more than the rest of this function.
    manager: TokenManager | None = request_globals.get("_rocketpunch_manager")
    if manager is None:
        state = state or current_state()
        key = state.ext.login_id()
        app_state = state
        settings = state.settings

        def ended(reason: str, token: Token | None) -> None:
            end_current_login(
                reason, token, key=key, revoke=reason == "revoked", state=app_state
            )

        manager = TokenManager(
            storage=state.storage,
            key=key,
            settings=state.settings,
            http=state.http,
            coordinator=state.coordinator,
            clock=state.clock,
            on_refresh=_send_refreshed,
            on_end=ended,
            # The language is looked up only if a refresh is sent.
            headers=lambda: language_headers(request_language(settings)),
        )
        request_globals._rocketpunch_manager = manager
    return manager


def end_current_login(
    reason: str,
    token: Token | None,
    *,
    key: str | None = None,
    revoke: bool = True,
    state: AppState | None = None,
) -> None:
    """End the current browser's login for ``reason``: forget its login id
    and the scopes it was refused, then end it everywhere with
    :meth:`~flask_rocketpunch.state.AppState.end_login`, which sends
    :data:`~flask_rocketpunch.signals.login_ended` and runs the
    ``on_login_end`` hook.

    :param reason: one of :data:`~flask_rocketpunch.signals.LOGIN_END_REASONS`.
    :param token: the login's token, if it could be read.
    :param key: the login id (default: the session's).
    :param revoke: whether to revoke the token at ``REVOKE_URL``.
    :param state: the current app's state, when the caller has it already.
    """
    state = state or current_state()
    if key is None:
        key = state.ext.login_id()
    if not key and token is None:
        return  # No login to end.
    # The session forgets the login first, so that receivers of the signal
    # and the hook see the user logged out of Rocketpunch.
    if state.ext.login_id() == key:
        state.ext.drop_login_id()
    session.pop(REFUSED_KEY, None)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state.end_login(key, token, reason=reason, app=app, current=True, revoke=revoke)


def _get_client() -> RocketpunchClient:
    client: RocketpunchClient | None = g.get("_rocketpunch_client")
    if client is None:
        state = current_state()
        client = RocketpunchClient(
            http=state.http,
            settings=state.settings,
            tokens=token_manager(state),
            language=request_language(state.settings),
        )
        g._rocketpunch_client = client
    return client


#: The Rocketpunch API client for the current request's user: ``get``,
#: ``post``, ``put``, ``patch``, ``delete`` relative to
#: ``ROCKETPUNCH_API_BASE_URL``, and ``userinfo()``.
rocketpunch: RocketpunchClient = t.cast(RocketpunchClient, LocalProxy(_get_client))


def current_token() -> Token | None:
    """The current user's token as stored, or ``None``. It may be expired;
    :data:`rocketpunch` refreshes it before use."""
    return token_manager().current()


def is_authorized() -> bool:
    """Whether the current user has logged in with Rocketpunch (a token is
    stored, even if it is due for a refresh)."""
    return current_token() is not None


def logout() -> Token | None:
    """Log the current user out of Rocketpunch in this app, as
    ``POST <prefix>/logout`` does without the redirect: revoke the refresh
    token at ``ROCKETPUNCH_REVOKE_URL`` (a failure is logged and does not stop
    the logout), drop the token and the logins in flight, and send
    :data:`~flask_rocketpunch.signals.login_ended` (``reason="logout"``) and
    :data:`~flask_rocketpunch.signals.logged_out`.

    :return: the token that was dropped, or ``None``.
    """
    state = current_state()
    key = state.ext.login_id()
    token = state.storage.get(key)
    session.pop(PENDING_KEY, None)
    g.pop("_rocketpunch_manager", None)
    g.pop("_rocketpunch_client", None)
    end_current_login("logout", token, key=key, state=state)
    logged_out.send(current_app._get_current_object(), token=token)  # type: ignore[attr-defined]
    return token
