"""The :class:`RocketpunchOAuth` extension object."""

from __future__ import annotations

import collections.abc as cabc
import copy
import logging
import typing as t
import weakref

from flask import Flask, current_app, jsonify, redirect, request, url_for

from .cli import cli
from .exceptions import ReauthorizationRequired, RocketpunchError
from .logs import install_redaction
from .settings import DEFAULTS, NO_SECRET_KEY, SANDBOX_ORIGIN, load_settings
from .state import EXTENSION_KEY, AppState, ResponseReturn
from .storage import SessionStorage, TokenStorage
from .tokens import Token
from .views import begin_login, create_blueprint, error_response, wants_json

if t.TYPE_CHECKING:
    from .sandbox import Flavor, SandboxProvider
    from .settings import Settings

logger = logging.getLogger("flask_rocketpunch")

LoginHook = cabc.Callable[[Token], ResponseReturn | None]
ErrorHook = cabc.Callable[[RocketpunchError], ResponseReturn | None]
UnauthorizedHandler = cabc.Callable[[ReauthorizationRequired], ResponseReturn]

#: Where the in-process sandbox's consent page is mounted in the app.
SANDBOX_PREFIX = "/_rocketpunch_sandbox"


class RocketpunchOAuth:
    """The Flask extension: "Log in with Rocketpunch".

    Registers the login, callback and logout routes under
    ``ROCKETPUNCH_URL_PREFIX`` and keeps per-app state in ``app.extensions``.

    .. code-block:: python

        app = Flask(__name__)
        app.config.from_prefixed_env()
        rp = RocketpunchOAuth(app)

    or, with an application factory, ``rp = RocketpunchOAuth()`` at import
    time and ``rp.init_app(app)`` in the factory. One instance can serve
    several apps.

    :param app: the app to set up now; omit it to call :meth:`init_app` later.
    :param storage: where tokens are kept; by default, encrypted in Flask's
        session (:class:`~flask_rocketpunch.SessionStorage`).

    .. versionadded:: 0.1
    """

    def __init__(
        self, app: Flask | None = None, *, storage: TokenStorage | None = None
    ) -> None:
        #: Where tokens are kept.
        self.storage: TokenStorage = (
            storage if storage is not None else SessionStorage()
        )
        self._states: weakref.WeakKeyDictionary[Flask, AppState] = (
            weakref.WeakKeyDictionary()
        )
        self._login_hook: LoginHook | None = None
        self._error_hook: ErrorHook | None = None
        self._unauthorized_handler: UnauthorizedHandler | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Set up ``app``: read and check its configuration, register the
        routes, the error handlers and the ``flask rocketpunch`` commands.

        :raises ConfigurationError: a key is missing or wrong; the message
            names it and says how to set it.
        :raises RuntimeError: the app already has a RocketpunchOAuth.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "A 'RocketpunchOAuth' instance has already been registered on this"
                " Flask app. Import and use that instance instead."
            )
        settings = load_settings(app.config)
        for key, value in DEFAULTS.items():
            app.config.setdefault(f"ROCKETPUNCH_{key}", copy.copy(value))

        state = AppState(ext=self, settings=settings)
        if settings.sandbox:
            state.sandbox = _mount_sandbox(app, state)
        self._states[app] = state
        app.extensions[EXTENSION_KEY] = self

        app.register_blueprint(create_blueprint(settings.url_prefix))
        app.register_error_handler(ReauthorizationRequired, self.unauthorized)
        app.register_error_handler(RocketpunchError, error_response)
        app.cli.add_command(cli)
        install_redaction()
        if not app.config.get("SECRET_KEY"):
            logger.warning("%s", NO_SECRET_KEY)

    def app_state(self, app: Flask | None = None) -> AppState:
        """The state kept for ``app`` (default: the current app).

        :raises RuntimeError: the app was not set up with :meth:`init_app`.
        """
        if app is None:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            return self._states[app]
        except KeyError:
            raise RuntimeError(
                "This app is not set up with this RocketpunchOAuth instance: call"
                " init_app(app) first."
            ) from None

    def settings(self, app: Flask | None = None) -> Settings:
        """The validated configuration of ``app`` (default: the current app)."""
        return self.app_state(app).settings

    def sandbox(self, app: Flask | None = None) -> SandboxProvider | None:
        """The in-process sandbox provider of ``app``, when
        ``ROCKETPUNCH_SANDBOX`` is on; its users, codes, tokens and fault
        switches can be inspected and changed from tests."""
        return self.app_state(app).sandbox

    # -- hooks -----------------------------------------------------------------

    def on_login(self, f: LoginHook) -> LoginHook:
        """Register a function called after a successful login with the new
        :class:`~flask_rocketpunch.Token`, for example to create a local user
        and call Flask-Login's ``login_user``. If it returns a response, that is
        sent instead of the redirect to ``next``.
        """
        self._login_hook = f
        return f

    def run_login_hook(self, token: Token) -> ResponseReturn | None:
        """Call the :meth:`on_login` hook, if one is registered, with the new
        token; return what it returned (a response replaces the redirect)."""
        if self._login_hook is None:
            return None
        return self._login_hook(token)

    def on_error(self, f: ErrorHook) -> ErrorHook:
        """Register a function called when a login fails at the callback, with
        the :class:`~flask_rocketpunch.RocketpunchError` (an
        :class:`~flask_rocketpunch.OAuthError` with ``error ==
        "access_denied"`` when the user clicked Deny). If it returns a response,
        that is sent instead of the default error page.
        """
        self._error_hook = f
        return f

    def run_error_hook(self, error: RocketpunchError) -> ResponseReturn | None:
        """Call the :meth:`on_error` hook, if one is registered, with the
        error; return what it returned (a response replaces the default
        error page)."""
        if self._error_hook is None:
            return None
        return self._error_hook(error)

    def unauthorized_handler(self, f: UnauthorizedHandler) -> UnauthorizedHandler:
        """Register the function that answers requests to protected views
        when the user is not logged in (or must log in again), instead of the
        default redirect to the login route (or ``401`` JSON for API clients).
        """
        self._unauthorized_handler = f
        return f

    def unauthorized(
        self, error: ReauthorizationRequired | None = None
    ) -> ResponseReturn:
        """The one answer to "not logged in". Browsers are sent to log in with
        ``next`` set to the current page; requests that prefer JSON get a
        ``401`` JSON body. When ``error.scopes`` names scopes, a new
        authorization for them starts straight away.
        """
        if error is None:
            error = ReauthorizationRequired("You are not logged in with Rocketpunch.")
        if self._unauthorized_handler is not None:
            return self._unauthorized_handler(error)
        next_url = None
        if request.method == "GET":
            next_url = request.script_root + request.full_path.rstrip("?")
        login_url = url_for("rocketpunch.login", next=next_url)
        if wants_json():
            body = jsonify(
                error="login_required", message=error.message, login_url=login_url
            )
            body.status_code = 401
            body.headers["WWW-Authenticate"] = 'Bearer realm="rocketpunch"'
            return body
        if error.scopes:
            return begin_login(next_url, error.scopes)
        return redirect(login_url)


def _mount_sandbox(app: Flask, state: AppState) -> SandboxProvider:
    from .sandbox import (
        SandboxProvider,
        SandboxTransport,
        create_sandbox_app,
        create_sandbox_blueprint,
    )

    flavor = t.cast("Flavor", state.settings.sandbox_flavor)
    provider = SandboxProvider(flavor=flavor)
    app.register_blueprint(
        create_sandbox_blueprint(provider), url_prefix=SANDBOX_PREFIX
    )
    state.http.mount(
        SANDBOX_ORIGIN + "/", SandboxTransport(create_sandbox_app(provider))
    )
    logger.warning(
        "ROCKETPUNCH_SANDBOX is on: logins go to the built-in stand-in provider,"
        " not to Rocketpunch. Never turn it on in production."
    )
    return provider


__all__ = ["RocketpunchOAuth"]
