"""The :func:`login_required_rocketpunch` view decorator."""

from __future__ import annotations

import collections.abc as cabc
import functools
import inspect
import typing as t

from flask import current_app, request, session, url_for

from .exceptions import ReauthorizationRequired, ScopeRefusedError
from .helpers import token_manager
from .scopes import ScopeValue, parse_scopes
from .state import AppState, current_state
from .stepup import REFUSED_KEY, refused_scopes
from .views import VIEW_SCOPES_ATTRIBUTE, error_response

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
    set to this page (or, when the view needs ``scopes``, straight to an
    authorization for ``ROCKETPUNCH_SCOPES`` plus them, so one consent is
    enough), and requests that prefer JSON get a ``401`` JSON body (see
    :meth:`~flask_rocketpunch.RocketpunchOAuth.unauthorized`). A token that
    expires within ``ROCKETPUNCH_REFRESH_LEEWAY`` is refreshed first; if the
    refresh token was rejected, the token is dropped and the user logs in
    again. A token without one of ``scopes`` starts a new authorization for the
    scopes it has plus the ones needed (a step-up), unless Rocketpunch
    refused one of them in this browser a short while ago: then the answer
    is a :class:`~flask_rocketpunch.ScopeRefusedError` (the
    :meth:`~flask_rocketpunch.RocketpunchOAuth.on_error` hook, else a
    ``403`` page or JSON naming the missing scopes), never a loop.
    ``OPTIONS`` requests pass through.

    :param view: the view function.
    :param scopes: scopes the view needs.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        The first login asks for the view's scopes too; a refused step-up
        answers ``403`` instead of asking again.
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

        # The login route reads it to ask for these scopes at the first
        # login of a browser sent there with ``next`` set to this view.
        setattr(decorated, VIEW_SCOPES_ATTRIBUTE, needed)
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
        if needed and not exc.scopes:
            # The first login asks for what this view needs as well.
            exc = ReauthorizationRequired(exc.message, scopes=needed)
        return ext.unauthorized(exc)
    if needed and not token.has_scopes(needed):
        missing = needed - token.scopes
        if missing & refused_scopes(session.get(REFUSED_KEY), now=state.clock()):
            return _refused(state, missing)
        return ext.unauthorized(
            ReauthorizationRequired(
                "This page needs more Rocketpunch permissions: "
                + ", ".join(sorted(needed - token.scopes))
                + ".",
                scopes=token.scopes | needed,
            )
        )
    return None


def _refused(state: AppState, missing: frozenset[str]) -> t.Any:
    """The answer to a view needing ``missing`` scopes that Rocketpunch
    refused a short while ago: the ``on_error`` hook's, else the default
    ``403`` page or JSON."""
    next_url = None
    if request.method == "GET":
        next_url = request.script_root + request.full_path.rstrip("?")
    names = ", ".join(sorted(missing))
    error = ScopeRefusedError(
        f"This page needs Rocketpunch permissions that were not granted: {names}."
        " Ask again and allow them on Rocketpunch's page, or go back.",
        scopes=missing,
        retry_url=url_for("rocketpunch.login", next=next_url, retry=1),
    )
    answer = state.ext.run_error_hook(error)
    return answer if answer is not None else error_response(error)
