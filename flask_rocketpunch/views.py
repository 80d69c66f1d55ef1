"""The blueprint: login, callback and logout. The Flask edge of the flow."""

from __future__ import annotations

import collections.abc as cabc
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
from werkzeug.wrappers import Response as BaseResponse

from . import flow, helpers
from .crypto import key_id, pkce_challenge, pkce_verifier
from .exceptions import OAuthError, RocketpunchError, StateError
from .extension import AppState, get_extension
from .settings import is_loopback_host
from .signals import logged_in, login_failed
from .storage import PENDING_KEY, check_cookie_size, secret_keys
from .tokens import Token

logger = logging.getLogger("flask_rocketpunch")


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


def redirect_uri() -> str:
    """The redirect URI sent to Rocketpunch: ``ROCKETPUNCH_REDIRECT_URI``, or
    the callback's URL computed from the request."""
    _ext, state = get_extension()
    if state.settings.redirect_uri:
        return state.settings.redirect_uri
    uri = url_for("rocketpunch.callback", _external=True)
    if (
        uri.startswith("http://")
        and not is_loopback_host(urlsplit(uri).hostname)
        and not state.warned_http_redirect
    ):
        state.warned_http_redirect = True
        logger.warning(
            "The computed redirect URI %s uses plain http:// on a public host. If"
            " the app runs behind a proxy that terminates TLS, wrap it with"
            " werkzeug.middleware.proxy_fix.ProxyFix, or set"
            " ROCKETPUNCH_REDIRECT_URI.",
            uri,
        )
    return uri


def begin_login(next_url: str | None, scopes: cabc.Iterable[str] = ()) -> BaseResponse:
    """Remember a new login in flight and redirect to the consent page.

    :param next_url: where to land after login; ignored unless a local path.
    :param scopes: scopes to ask for in addition to ``ROCKETPUNCH_SCOPES``.
    """
    _ext, state = get_extension()
    settings = state.settings
    now = state.clock()
    wanted = settings.scopes | frozenset(scopes)
    login_state = flow.new_state()
    signing_key = secret_keys()[0]
    session[PENDING_KEY] = flow.remember_login(
        session.get(PENDING_KEY),
        login_state,
        flow.PendingLogin(
            expires_at=now + settings.login_ttl,
            next_url=flow.safe_next(next_url),
            scopes=wanted,
            key_id=key_id(signing_key),
        ),
        now=now,
        limit=settings.max_pending_logins,
    )
    challenge = None
    if settings.use_pkce:
        challenge = pkce_challenge(pkce_verifier(signing_key, login_state))
    callback_uri = redirect_uri()
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
    check_cookie_size()
    response = redirect(url, 302)
    response.headers["Cache-Control"] = "no-store"
    return response


def login() -> BaseResponse:
    """``GET <prefix>/login?next=<path>``: start a login."""
    return begin_login(request.args.get("next"))


def callback() -> BaseResponse:
    """``GET <prefix>/callback``: finish a login."""
    response = make_response(_finish_login())
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _finish_login() -> t.Any:
    ext, state = get_extension()
    settings = state.settings
    args = request.args
    cookie_name = current_app.config["SESSION_COOKIE_NAME"]
    try:
        # The state is checked first, errors included: an error that cannot be
        # tied to a login started in this browser is not shown as the
        # provider's (its description would be anyone's text on this site).
        try:
            pending, remaining = flow.take_login(
                session.get(PENDING_KEY),
                args.get("state"),
                now=state.clock(),
                cookie_sent=cookie_name in request.cookies,
            )
        except StateError:
            _prune_pending(state.clock())
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
            verifier = pkce_verifier(
                _signing_key(pending.key_id), args.get("state", "")
            )
        token = flow.exchange_code(
            state.http,
            settings,
            code=code,
            redirect_uri=redirect_uri(),
            code_verifier=verifier,
            requested_scopes=pending.scopes,
            now=state.clock(),
        )
    except RocketpunchError as exc:
        logger.info("Login failed: %s: %s", type(exc).__name__, exc.message)
        login_failed.send(current_app._get_current_object(), error=exc)  # type: ignore[attr-defined]
        if ext._error_hook is not None:
            answer = ext._error_hook(exc)
            if answer is not None:
                return answer
        return error_response(exc)
    ext.storage.set(token)
    _warn_if_short_lived(state, token)
    logger.info("Login completed; scopes granted: %s.", " ".join(sorted(token.scopes)))
    logged_in.send(current_app._get_current_object(), token=token)  # type: ignore[attr-defined]
    if ext._login_hook is not None:
        answer = ext._login_hook(token)
        if answer is not None:
            return answer
    return redirect(pending.next_url or app_path(settings.login_redirect))


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


def _signing_key(wanted: str) -> str | bytes:
    """The secret key whose :func:`~flask_rocketpunch.crypto.key_id` is
    ``wanted`` (the one that derived a login's PKCE verifier), else the
    current key."""
    keys = secret_keys()
    for key in keys:
        if key_id(key) == wanted:
            return key
    return keys[0]


def _callback_error(args: cabc.Mapping[str, str]) -> OAuthError:
    error = args.get("error", "")[:100]
    description = args.get("error_description")
    exc = OAuthError(
        error,
        description[:500] if description else None,
        args.get("error_uri", "")[:500] or None,
        message=flow.AUTHORIZATION_ERRORS.get(
            error, f"Rocketpunch could not complete the login ({error})."
        ),
    )
    if error == "access_denied":
        exc.http_status = 403
    elif error in ("server_error", "temporarily_unavailable"):
        exc.http_status = 503
    return exc


def _store_pending(remaining: dict[str, list[t.Any]]) -> None:
    if remaining:
        session[PENDING_KEY] = remaining
    else:
        session.pop(PENDING_KEY, None)


def _prune_pending(now: float) -> None:
    pending = session.get(PENDING_KEY)
    if isinstance(pending, dict):
        kept = {
            k: v
            for k, v in pending.items()
            if isinstance(v, list)
            and v
            and isinstance(v[0], (int, float))
            and v[0] > now
        }
        if kept != pending:
            _store_pending(kept)


def logout() -> BaseResponse:
    """``POST <prefix>/logout``: revoke and drop the token, then redirect."""
    _, state = get_extension()
    helpers.logout()
    target = flow.safe_next(request.form.get("next") or request.args.get("next"))
    response = redirect(target or app_path(state.settings.login_redirect), 303)
    response.headers["Cache-Control"] = "no-store"
    return response


def error_response(error: RocketpunchError) -> Response:
    """The default page (or JSON for API clients) for ``error``.

    Rendered from ``rocketpunch/error.html``, which an app can override with
    its own template of that name.
    """
    from .extension import _wants_json

    status = error.http_status
    if _wants_json():
        body: dict[str, t.Any] = {
            "error": getattr(error, "error", None) or type(error).__name__,
            "message": error.message,
        }
        response = make_response(body, status)
    else:
        login_url = None
        try:
            login_url = url_for("rocketpunch.login")
        except Exception:
            login_url = None
        html = render_template(
            "rocketpunch/error.html",
            during_login=request.blueprint == "rocketpunch",
            error=error,
            kind=type(error).__name__,
            denied=getattr(error, "error", None) == "access_denied",
            state_problem=isinstance(error, StateError),
            login_url=login_url,
            home_url=request.script_root + "/",
        )
        response = make_response(html, status)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response
