"""The :class:`RocketpunchOAuth` extension object."""

from __future__ import annotations

import collections.abc as cabc
import copy
import dataclasses
import logging
import time
import typing as t
import weakref
from http.cookiejar import DefaultCookiePolicy
from importlib.metadata import PackageNotFoundError, version

import requests
from flask import Flask, current_app, jsonify, redirect, request, url_for

from .exceptions import ReauthorizationRequired, RocketpunchError
from .logs import install_redaction
from .refresh import RefreshCoordinator
from .settings import DEFAULTS, SANDBOX_ORIGIN, Settings, load_settings
from .storage import SessionStorage, TokenStorage
from .tokens import Token

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response as BaseResponse

    from .sandbox import Flavor, SandboxProvider

logger = logging.getLogger("flask_rocketpunch")

ResponseReturn = t.Union["BaseResponse", str, tuple[t.Any, ...], dict[str, t.Any]]
LoginHook = cabc.Callable[[Token], ResponseReturn | None]
ErrorHook = cabc.Callable[[RocketpunchError], ResponseReturn | None]
UnauthorizedHandler = cabc.Callable[[ReauthorizationRequired], ResponseReturn]

#: Where the in-process sandbox's consent page is mounted in the app.
SANDBOX_PREFIX = "/_rocketpunch_sandbox"

try:
    __version__ = version("flask-rocketpunch")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0"


def _http_session(settings: Settings) -> requests.Session:
    """A pooled HTTP session for one app. It holds no credentials: each call
    passes its own, and cookies are refused so nothing of one user's call can
    reach another's."""
    http = requests.Session()
    http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    http.headers["User-Agent"] = f"flask-rocketpunch/{__version__}"
    http.max_redirects = 0
    return http


@dataclasses.dataclass
class AppState:
    """What the extension keeps for one app (never on the extension itself)."""

    settings: Settings
    http: requests.Session
    coordinator: RefreshCoordinator
    sandbox: SandboxProvider | None = None
    clock: cabc.Callable[[], float] = time.time
    warned_http_redirect: bool = False
    warned_short_tokens: bool = False


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
        if "rocketpunch" in app.extensions:
            raise RuntimeError(
                "A 'RocketpunchOAuth' instance has already been registered on this"
                " Flask app. Import and use that instance instead."
            )
        settings = load_settings(app.config)
        for key, value in DEFAULTS.items():
            app.config.setdefault(f"ROCKETPUNCH_{key}", copy.copy(value))

        state = AppState(
            settings=settings,
            http=_http_session(settings),
            coordinator=RefreshCoordinator(),
        )
        if settings.sandbox:
            state.sandbox = _mount_sandbox(app, state)
        self._states[app] = state
        app.extensions["rocketpunch"] = self

        from .cli import cli
        from .views import create_blueprint

        app.register_blueprint(create_blueprint(settings.url_prefix))
        app.register_error_handler(ReauthorizationRequired, self._on_reauthorize)
        app.register_error_handler(RocketpunchError, _error_page)
        app.cli.add_command(cli)
        install_redaction()
        if not app.config.get("SECRET_KEY"):
            logger.warning(
                "SECRET_KEY is not set: logins will fail until it is. Set it to a"
                " long random value before the first request."
            )

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

    def on_error(self, f: ErrorHook) -> ErrorHook:
        """Register a function called when a login fails at the callback, with
        the :class:`~flask_rocketpunch.RocketpunchError` (an
        :class:`~flask_rocketpunch.OAuthError` with ``error ==
        "access_denied"`` when the user clicked Deny). If it returns a response,
        that is sent instead of the default error page.
        """
        self._error_hook = f
        return f

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
        if _wants_json():
            body = jsonify(
                error="login_required", message=error.message, login_url=login_url
            )
            body.status_code = 401
            body.headers["WWW-Authenticate"] = 'Bearer realm="rocketpunch"'
            return body
        if error.scopes:
            from .views import begin_login

            return begin_login(next_url, error.scopes)
        return redirect(login_url)

    def _on_reauthorize(self, error: ReauthorizationRequired) -> ResponseReturn:
        return self.unauthorized(error)


def _wants_json() -> bool:
    """Whether the client prefers JSON to HTML (API clients, fetch calls)."""
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _error_page(error: RocketpunchError) -> ResponseReturn:
    from .views import error_response

    return error_response(error)


def _mount_sandbox(app: Flask, state: AppState) -> SandboxProvider:
    from .sandbox import mount_in_app

    settings = state.settings
    provider = mount_in_app(
        app,
        state.http,
        origin=SANDBOX_ORIGIN,
        flavor=t.cast("Flavor", settings.sandbox_flavor),
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        redirect_uri=settings.redirect_uri or settings.url_prefix + "/callback",
        name=app.name,
        url_prefix=SANDBOX_PREFIX,
    )
    logger.warning(
        "ROCKETPUNCH_SANDBOX is on: logins go to the built-in stand-in provider,"
        " not to Rocketpunch. Never turn it on in production."
    )
    return provider


def get_extension() -> tuple[RocketpunchOAuth, AppState]:
    """The extension and state of the current app.

    :raises RuntimeError: the current app has no RocketpunchOAuth.
    """
    ext = current_app.extensions.get("rocketpunch")
    if not isinstance(ext, RocketpunchOAuth):
        raise RuntimeError(
            "RocketpunchOAuth is not set up on this app: call"
            " RocketpunchOAuth(app) or rp.init_app(app) first."
        )
    return ext, ext.app_state()


__all__ = ["RocketpunchOAuth"]
