"""The :func:`login_required_rocketpunch` view decorator."""

from __future__ import annotations

import collections.abc as cabc
import functools
import inspect
import typing as t

from flask import current_app, request

from .exceptions import ReauthorizationRequired
from .helpers import token_manager
from .scopes import ScopeValue, parse_scopes
from .state import current_state

F = t.TypeVar("F", bound=cabc.Callable[..., t.Any])


@t.overload
def login_required_rocketpunch(view: F) -> F: ...


@t.overload
def login_required_rocketpunch(
    view: None = None, *, scopes: ScopeValue = None
) -> cabc.Callable[[F], F]: ...


def login_required_rocketpunch(
    view: F | None = None, *, scopes: ScopeValue = None
) -> F | cabc.Callable[[F], F]:
    """Protect a view: only users logged in with Rocketpunch may see it.

    Use it bare, ``@login_required_rocketpunch``, or with the scopes the view
    needs, ``@login_required_rocketpunch(scopes=["email"])``.

    Without a token, browsers are redirected to the login route with ``next``
    set to this page, and requests that prefer JSON get a ``401`` JSON body
    (see :meth:`~flask_rocketpunch.RocketpunchOAuth.unauthorized`). A token that
    expires within ``ROCKETPUNCH_REFRESH_LEEWAY`` is refreshed first; if the
    refresh token was rejected, the token is dropped and the user logs in
    again. A token without one of ``scopes`` starts a new authorization for the
    scopes it has plus the ones needed. ``OPTIONS`` requests pass through.

    :param view: the view function.
    :param scopes: scopes the view needs.

    .. versionadded:: 0.1
    """
    needed = parse_scopes(scopes)

    def decorator(f: F) -> F:
        is_async = inspect.iscoroutinefunction(f)

        @functools.wraps(f)
        def decorated(*args: t.Any, **kwargs: t.Any) -> t.Any:
            if request.method != "OPTIONS":
                refused = _check(needed)
                if refused is not None:
                    return refused
            if is_async:
                return current_app.ensure_sync(f)(*args, **kwargs)
            return f(*args, **kwargs)

        return t.cast(F, decorated)

    if view is not None:
        return decorator(view)
    return decorator


def _check(needed: frozenset[str]) -> t.Any:
    """``None`` when the current user may see a view that needs ``needed``,
    else the answer to send instead."""
    state = current_state()
    ext = state.ext
    try:
        token = token_manager(state).valid_token()
    except ReauthorizationRequired as exc:
        return ext.unauthorized(exc)
    if needed and not token.has_scopes(needed):
        return ext.unauthorized(
            ReauthorizationRequired(
                "This page needs more Rocketpunch permissions: "
                + ", ".join(sorted(needed - token.scopes))
                + ".",
                scopes=token.scopes | needed,
            )
        )
    return None
