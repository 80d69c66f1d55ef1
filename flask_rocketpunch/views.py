"""The blueprint: login, callback and logout. The Flask edge of the flow."""

from __future__ import annotations

import collections.abc as cabc
import functools
import logging
import typing as t
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RoutingException
from werkzeug.wrappers import Response as BaseResponse

from . import flow, helpers, messages, pending, stepup
from .cookie import check_cookie_size, current_keyring
from .exceptions import OAuthError, RocketpunchError, ScopeRefusedError, StateError
from .headers import language_headers, request_language
from .i18n import Translator, request_translator
from .logs import neutral
from .scopes import scope_string
from .settings import is_loopback_host, plain_http_redirect_warning
from .signals import logged_in, login_failed
from .state import AppState, current_state
from .tokens import Token

logger = logging.getLogger("flask_rocketpunch")

#: The attribute :func:`~flask_rocketpunch.login_required_rocketpunch` sets
#: on a view: the scopes it needs.
VIEW_SCOPES_ATTRIBUTE = "_rocketpunch_scopes"


def create_blueprint(url_prefix: str) -> Blueprint:
    """The ``rocketpunch`` blueprint with its three routes under ``url_prefix``."""
    bp = Blueprint(
        "rocketpunch",
        __name__,
        url_prefix=url_prefix or None,
        template_folder="templates",
    )
    bp.add_url_rule("/login", "login", login, methods=["GET"])
    bp.add_url_rule("/callback", "callback", callback, methods=["GET"])
    bp.add_url_rule("/logout", "logout", logout, methods=["POST"])
    return bp


def redirect_uri(state: AppState | None = None) -> str:
    """The redirect URI sent to Rocketpunch: ``ROCKETPUNCH_REDIRECT_URI``, or
    the callback's URL computed from the request."""
    state = state or current_state()
    if state.settings.redirect_uri:
        return state.settings.redirect_uri
    uri = url_for("rocketpunch.callback", _external=True)
    if not state.warned_http_redirect:
        warning = _redirect_warning(uri)
        if warning is not None:
            state.warned_http_redirect = True
            logger.warning("%s", neutral(warning, limit=1000))
    return uri


@functools.lru_cache(maxsize=32)
def _redirect_warning(uri: str) -> str | None:
    """The warning for a computed redirect URI in plain ``http://`` on a
    public host, or ``None``; an app sees few such URIs, each checked once."""
    warning = plain_http_redirect_warning(uri)
    if warning is None or is_loopback_host(urlsplit(uri).hostname):
        return None
    return warning


def begin_login(next_url: str | None, scopes: cabc.Iterable[str] = ()) -> BaseResponse:
    """Remember a new login in flight and redirect to the consent page.

    :param next_url: where to land after login; ignored unless a local path.
    :param scopes: scopes to ask for in addition to ``ROCKETPUNCH_SCOPES``.
    """
    state = current_state()
    settings = state.settings
    now = state.clock()
    wanted = settings.scopes | frozenset(scopes)
    login_state = flow.new_state()
    keys = current_keyring()
    session[pending.PENDING_KEY] = pending.remember_login(
        session.get(pending.PENDING_KEY),
        login_state,
        pending.PendingLogin(
            expires_at=now + settings.login_ttl,
            next_url=pending.safe_next(next_url),
            scopes=wanted,
            key_id=keys.key_ids[0],
        ),
        now=now,
        limit=settings.max_pending_logins,
    )
    challenge = None
    if settings.use_pkce:
        challenge = keys.pkce_challenge(login_state)
    callback_uri = redirect_uri(state)
    authorize_url = settings.authorize_url
    if state.sandbox is not None:
        authorize_url = url_for("rocketpunch_sandbox.authorize", _external=True)
    assert authorize_url is not None
    url = flow.authorization_url(
        authorize_url,
        client_id=settings.client_id,
        redirect_uri=callback_uri,
        scopes=wanted,
        state=login_state,
        code_challenge=challenge,
    )
    check_cookie_size(adding=pending.MAX_PENDING_BYTES)
    response = redirect(url, 302)
    response.headers["Cache-Control"] = "no-store"
    return response


def login() -> BaseResponse:
    """``GET <prefix>/login?next=<path>``: start a login.

    The login asks for ``ROCKETPUNCH_SCOPES`` plus the scopes the view at
    ``next`` needs, so that one consent is enough. With ``retry``, the
    scopes refused in this browser are forgotten first and the user's
    current scopes asked for again too (the "ask again" of the ``403``
    page of a refused step-up).
    """
    next_url = request.args.get("next")
    scopes = scopes_of_page(next_url)
    if "retry" in request.args:
        session.pop(stepup.REFUSED_KEY, None)
        token = helpers.current_token()
        if token is not None:
            scopes |= token.scopes
    return begin_login(next_url, scopes)


def scopes_of_page(next_url: str | None) -> frozenset[str]:
    """The scopes the view at the local path ``next_url`` of this app needs
    (``login_required_rocketpunch(scopes=...)``), or none."""
    path = pending.safe_next(next_url)
    if path is None:
        return frozenset()
    path = urlsplit(path).path
    root = request.script_root
    if root:
        if path != root and not path.startswith(root + "/"):
            return frozenset()
        path = path[len(root) :] or "/"
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    adapter = app.create_url_adapter(request)
    if adapter is None:
        return frozenset()
    try:
        endpoint, _ = adapter.match(path, method="GET")
    except (HTTPException, RoutingException):
        return frozenset()
    scopes = getattr(app.view_functions.get(endpoint), VIEW_SCOPES_ATTRIBUTE, None)
    return scopes if isinstance(scopes, frozenset) else frozenset()


def callback() -> BaseResponse:
    """``GET <prefix>/callback``: finish a login."""
    response = make_response(_finish_login(current_state()))
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _finish_login(state: AppState) -> t.Any:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        token, found = _exchange(state)
    except RocketpunchError as exc:
        logger.info("Login failed: %s: %s", type(exc).__name__, neutral(exc.message))
        login_failed.send(app, error=exc)
        answer = state.ext.run_error_hook(exc)
        return answer if answer is not None else error_response(exc)
    next_url = found.next_url
    state.storage.set(state.ext.renew_login_id(), token)
    _remember_refusal(state, found.scopes, token)
    _warn_if_short_lived(state, token)
    if logger.isEnabledFor(logging.INFO):
        logger.info(
            "Login completed; scopes granted: %s.", neutral(scope_string(token.scopes))
        )
    logged_in.send(app, token=token)
    answer = state.ext.run_login_hook(token)
    if answer is not None:
        return answer
    return redirect(next_url or app_path(state.settings.login_redirect))


def _remember_refusal(state: AppState, requested: frozenset[str], token: Token) -> None:
    """Remember the scopes asked for and not granted, so that a view that
    needs them answers ``403`` instead of asking again straight away."""
    if requested <= token.scopes and stepup.REFUSED_KEY not in session:
        return  # Nothing refused, nothing remembered: the usual login.
    memory = stepup.remember_refusal(
        session.get(stepup.REFUSED_KEY),
        requested=requested,
        granted=token.scopes,
        now=state.clock(),
    )
    refused = requested - token.scopes
    if refused:
        logger.info(
            "Rocketpunch did not grant every scope asked for; missing: %s.",
            neutral(scope_string(refused)),
        )
    if memory:
        session[stepup.REFUSED_KEY] = memory
    else:
        session.pop(stepup.REFUSED_KEY, None)


def _exchange(state: AppState) -> tuple[Token, pending.PendingLogin]:
    """Check the callback's ``state``, then its error or code, and exchange
    the code. Returns the token and the login in flight it completes.

    :raises RocketpunchError: the login cannot be completed.
    """
    settings = state.settings
    args = request.args
    now = state.clock()
    # The state is checked first, errors included: an error that cannot be
    # tied to a login started in this browser is not shown as the provider's
    # (its description would be anyone's text on this site).
    try:
        found, remaining = pending.take_login(
            session.get(pending.PENDING_KEY),
            args.get("state"),
            now=now,
            cookie_sent=current_app.config["SESSION_COOKIE_NAME"] in request.cookies,
        )
    except StateError:
        _store_pending(pending.prune(session.get(pending.PENDING_KEY), now=now))
        raise
    _store_pending(remaining)
    if args.get("error"):
        raise _callback_error(args)
    code = args.get("code")
    if not code:
        raise OAuthError(
            "invalid_request",
            message="The callback has no 'code' parameter. Start the login again"
            " from this site.",
        )
    verifier = None
    if settings.use_pkce:
        verifier = current_keyring().pkce_verifier(args["state"], found.key_id)
    token = flow.exchange_code(
        state.http,
        settings,
        code=code,
        redirect_uri=redirect_uri(state),
        code_verifier=verifier,
        requested_scopes=found.scopes,
        now=state.clock(),
        headers=language_headers(request_language(settings)),
    )
    return token, found


def _warn_if_short_lived(state: AppState, token: Token) -> None:
    """Log once per app when tokens live no longer than the refresh leeway."""
    lifetime = token.expires_in(state.clock())
    if lifetime > state.settings.refresh_leeway or state.warned_short_tokens:
        return
    state.warned_short_tokens = True
    logger.warning(
        "Rocketpunch issued an access token that lives %d seconds, no longer"
        " than ROCKETPUNCH_REFRESH_LEEWAY (%d): it is refreshed on every"
        " request. Set ROCKETPUNCH_REFRESH_LEEWAY below the token's life.",
        round(lifetime),
        int(state.settings.refresh_leeway),
    )


def app_path(path: str) -> str:
    """``path`` inside the app: a path starting with ``/`` gets the app's
    mount point (``SCRIPT_NAME``) in front; a full URL is left as it is."""
    if path.startswith("/") and not path.startswith("//"):
        return request.script_root + path
    return path


def _callback_error(args: cabc.Mapping[str, str]) -> OAuthError:
    error = args.get("error", "")[:100]
    description = args.get("error_description")
    return OAuthError(
        error,
        description[:500] if description else None,
        args.get("error_uri", "")[:500] or None,
        message=flow.AUTHORIZATION_ERRORS.get(
            error, f"Rocketpunch could not complete the login ({error})."
        ),
        at="callback",
    )


def _store_pending(remaining: pending.PendingMap) -> None:
    if remaining:
        if session.get(pending.PENDING_KEY) != remaining:
            session[pending.PENDING_KEY] = remaining
    else:
        session.pop(pending.PENDING_KEY, None)


def logout() -> BaseResponse:
    """``POST <prefix>/logout``: revoke and drop the token, then redirect."""
    state = current_state()
    helpers.logout()
    target = pending.safe_next(request.form.get("next") or request.args.get("next"))
    response = redirect(target or app_path(state.settings.login_redirect), 303)
    response.headers["Cache-Control"] = "no-store"
    return response


def wants_json() -> bool:
    """Whether the client prefers JSON to HTML (API clients, fetch calls)."""
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(error: RocketpunchError) -> Response:
    """The default page (or JSON for API clients) for ``error``, in the
    request's language (see :doc:`/i18n`).

    Rendered from ``rocketpunch/error.html``, which an app can override with
    its own template of that name. The JSON body's ``message`` is the
    translated text for people; ``detail`` is the error's English message
    for developers.
    """
    status = error.http_status
    translator = page_translator()
    during_login = request.blueprint == "rocketpunch"
    title, message = messages.describe(error, during_login=during_login).translated(
        translator
    )
    if wants_json():
        body: dict[str, t.Any] = {
            "error": getattr(error, "error", None) or type(error).__name__,
            "message": message,
            "detail": error.message,
        }
        if isinstance(error, ScopeRefusedError):
            body["missing_scopes"] = sorted(error.scopes)
            body["retry_url"] = error.retry_url
        if getattr(error, "retry_after", None) is not None:
            body["retry_after"] = getattr(error, "retry_after", None)
        response = make_response(body, status)
    else:
        refused = error if isinstance(error, ScopeRefusedError) else None
        html = render_template(
            "rocketpunch/error.html",
            during_login=during_login,
            error=error,
            kind=type(error).__name__,
            denied=getattr(error, "error", None) == "access_denied",
            state_problem=isinstance(error, StateError),
            missing_scopes=sorted(refused.scopes) if refused else [],
            retry_url=refused.retry_url if refused else None,
            login_url=_login_url(),
            home_url=request.script_root + "/",
            title=title,
            message=message,
            # The English text for developers: in debug mode, or when the
            # page is in English anyway.
            show_detail=current_app.debug or translator.locale == "en",
            **translator.context(),
        )
        response = make_response(html, status)
    if isinstance(error, ScopeRefusedError):
        response.headers["WWW-Authenticate"] = (
            'Bearer realm="rocketpunch", error="insufficient_scope",'
            f' scope="{scope_string(error.scopes)}"'
        )
    response.headers["Content-Language"] = translator.locale
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def page_translator() -> Translator:
    """The texts of the current request's pages: its language is chosen by
    Flask-Babel, ``Accept-Language``, then ``ROCKETPUNCH_DEFAULT_LOCALE``."""
    return request_translator(current_state().settings.default_locale)


def _login_url() -> str | None:
    try:
        return url_for("rocketpunch.login")
    except Exception:  # the blueprint may not be registered on this app
        return None
