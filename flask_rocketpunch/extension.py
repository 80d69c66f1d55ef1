"""The :class:`RocketpunchOAuth` extension object."""

from __future__ import annotations

import collections.abc as cabc
import copy
import logging
import os
import secrets
import typing as t
import weakref

from flask import (
    Flask,
    current_app,
    g,
    has_request_context,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask.helpers import get_debug_flag

from .cli import cli
from .exceptions import (
    NO_SECRET_KEY,
    ConfigurationError,
    ReauthorizationRequired,
    RocketpunchError,
)
from .logs import install_redaction
from .messages import describe
from .public import PublicClient, public_client_for
from .refresh import RefreshCoordinator, SharedCoordinator
from .refresh_sqlite import SQLiteCoordinator
from .sandbox import Flavor, SandboxProvider, SharedState, mount_in_app
from .settings import DEFAULTS, SANDBOX_ORIGIN, load_settings, sandbox_refusal
from .state import EXTENSION_KEY, AppState, ResponseReturn
from .stepup import REFUSED_KEY
from .storage import SessionStorage, TokenStorage, storage_from_url
from .tokens import Token
from .views import (
    begin_login,
    create_blueprint,
    error_response,
    page_translator,
    wants_json,
)

if t.TYPE_CHECKING:
    from .settings import Settings

logger = logging.getLogger("flask_rocketpunch")

LoginHook = cabc.Callable[[Token], ResponseReturn | None]
ErrorHook = cabc.Callable[[RocketpunchError], ResponseReturn | None]
UnauthorizedHandler = cabc.Callable[[ReauthorizationRequired], ResponseReturn]
LoginEndHook = cabc.Callable[[str, Token | None], None]

#: Session key of the login id.
LOGIN_ID_KEY = "_rocketpunch_login"

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
    :param storage: where tokens are kept, for every app of this instance; by
        default the storage ``ROCKETPUNCH_STORAGE_URL`` names, else encrypted
        in Flask's session (:class:`~flask_rocketpunch.SessionStorage`).
    :param coordinator: shares one refresh of a token between processes; by
        default the storage's own (Redis, SQL), else a SQLite file in the
        app's instance folder, which covers every worker of one host.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        The ``coordinator`` parameter; ``storage`` from
        ``ROCKETPUNCH_STORAGE_URL``.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        storage: TokenStorage | None = None,
        coordinator: SharedCoordinator | None = None,
    ) -> None:
        #: Where tokens are kept, when given for every app; see
        #: :meth:`storage_of` for the one an app uses.
        self.storage: TokenStorage = (
            storage if storage is not None else SessionStorage()
        )
        self._explicit_storage = storage is not None
        self._coordinator = coordinator
        self._states: weakref.WeakKeyDictionary[Flask, AppState] = (
            weakref.WeakKeyDictionary()
        )
        self._login_hook: LoginHook | None = None
        self._error_hook: ErrorHook | None = None
        self._unauthorized_handler: UnauthorizedHandler | None = None
        self._login_end_hook: LoginEndHook | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Set up ``app``: read and check its configuration, register the
        routes, the error handlers and the ``flask rocketpunch`` commands.

        :raises ConfigurationError: a key is missing or wrong; the message
            names it and says how to set it. Also when
            ``ROCKETPUNCH_SANDBOX`` is on in an app with debug and testing
            off, or with a real-looking client id, unless
            ``ROCKETPUNCH_SANDBOX_FORCE`` is on.
        :raises RuntimeError: the app already has a RocketpunchOAuth.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "A 'RocketpunchOAuth' instance has already been registered on this"
                " Flask app. Import and use that instance instead."
            )
        settings = load_settings(app.config)
        if settings.sandbox:
            refusal = sandbox_refusal(
                settings, debug=app.debug or app.testing or get_debug_flag()
            )
            if refusal is not None:
                raise ConfigurationError(refusal)
        for key, value in DEFAULTS.items():
            app.config.setdefault(f"ROCKETPUNCH_{key}", copy.copy(value))

        storage = self.storage
        if not self._explicit_storage:
            storage = (
                SessionStorage()
                if settings.storage_url is None
                else storage_from_url(settings.storage_url)
            )
        storage.init_app(app)
        shared = self._coordinator or storage.coordinator()
        if shared is None:
            shared = SQLiteCoordinator(
                os.path.join(app.instance_path, SQLiteCoordinator.FILE_NAME),
                lease=settings.refresh_lease,
            )
        shared.init_app(app)
        state = AppState(
            ext=self,
            settings=settings,
            storage=storage,
            # The shared coordinator keeps the outcomes for the idempotency
            # window; this process only joins the threads of one burst, so
            # that a logout in another process is honoured here too.
            coordinator=RefreshCoordinator(shared, remember=2.0),
        )
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

    def storage_of(self, app: Flask | None = None) -> TokenStorage:
        """The token storage ``app`` uses (default: the current app)."""
        return self.app_state(app).storage

    def settings(self, app: Flask | None = None) -> Settings:
        """The validated configuration of ``app`` (default: the current app)."""
        return self.app_state(app).settings

    def public_client(self, app: Flask | None = None) -> PublicClient:
        """The app-level client of ``app``: reads Rocketpunch's public data
        (posts, jobs, events, codes) with the App Key and no user, in a
        request, a CLI command or a background thread (pass ``app`` where
        there is no app context).

        .. code-block:: python

            posts = rp.public_client(app).get("posts", params={"page": 1}).json()

        Its ``Accept-Language`` is ``ROCKETPUNCH_LANGUAGE``, else the current
        request's best match, else none (Rocketpunch answers in Korean).

        :param app: the app (default: the current app).

        .. versionadded:: 0.2
        """
        return public_client_for(self.app_state(app))

    def sandbox(self, app: Flask | None = None) -> SandboxProvider | None:
        """The in-process sandbox provider of ``app``, when
        ``ROCKETPUNCH_SANDBOX`` is on; its users, codes, tokens and fault
        switches can be inspected and changed from tests."""
        return self.app_state(app).sandbox

    # -- the login id ----------------------------------------------------------

    def login_id(self) -> str:
        """The current browser's login id: the key its token is stored
        under, kept in the signed session (``""`` before any login)."""
        value = session.get(LOGIN_ID_KEY)
        return value if isinstance(value, str) else ""

    def renew_login_id(self) -> str:
        """Give the current browser a new random login id, as every login
        does (an id planted before the login is never reused), and forget
        the token of the old one."""
        old = self.login_id()
        if old:
            self.storage_of().delete(old)
        new = secrets.token_urlsafe(32)
        session[LOGIN_ID_KEY] = new
        return new

    def drop_login_id(self) -> None:
        """Forget the current browser's login id (at logout)."""
        session.pop(LOGIN_ID_KEY, None)

    def logout_everywhere(self, subject: str, app: Flask | None = None) -> int:
        """Log the Rocketpunch user ``subject`` (their ``sub``) out of every
        browser: revoke and delete each of their stored logins. Works in a
        request, a CLI command or a background job (pass ``app`` outside an
        app context).

        :data:`~flask_rocketpunch.signals.login_ended` is sent for each login
        with ``reason="logout_everywhere"`` (``current=True`` only for the
        current request's own login, whose session forgets it too). Each
        other browser learns it at its next request, which sends
        :data:`~flask_rocketpunch.signals.login_ended` again there, with
        ``reason="missing"`` and ``current=True``.

        :param subject: the user's ``sub`` claim.
        :param app: the app (default: the current app).
        :return: how many logins were ended.
        :raises NotImplementedError: the storage keeps tokens in the
            browsers' cookies, where no server can reach them.

        .. versionadded:: 0.2
        """
        state = self.app_state(app)
        if app is None:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
        logins = state.storage.logins_of(subject)
        own = ""
        if has_request_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
            own = self.login_id()
        for key, token in logins:
            current = bool(own) and key == own
            if current:
                self.drop_login_id()
                session.pop(REFUSED_KEY, None)
                g.pop("_rocketpunch_manager", None)
                g.pop("_rocketpunch_client", None)
            state.end_login(
                key, token, reason="logout_everywhere", app=app, current=current
            )
        logger.info("Logged one user out everywhere: %d login(s) ended.", len(logins))
        return len(logins)

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

    def on_login_end(self, f: LoginEndHook) -> LoginEndHook:
        """Register a function called when the current browser's login ends,
        for any reason, with the reason (one of
        :data:`~flask_rocketpunch.signals.LOGIN_END_REASONS`: ``"logout"``,
        ``"rejected"``, ``"revoked"``, ``"expired"``, ``"undecryptable"``,
        ``"missing"``, ``"logout_everywhere"``) and the token that was
        dropped (``None`` when it could not be read). It runs in that
        browser's request, after the login was forgotten, so it can end the
        app's own session of the user, for example with Flask-Login's
        ``logout_user()``. Its return value is ignored.

        .. code-block:: python

            @rp.on_login_end
            def end_local_session(reason, token):
                logout_user()

        .. versionadded:: 0.2
        """
        self._login_end_hook = f
        return f

    def run_login_end_hook(self, reason: str, token: Token | None) -> None:
        """Call the :meth:`on_login_end` hook, if one is registered."""
        if self._login_end_hook is not None:
            self._login_end_hook(reason, token)

    def on_error(self, f: ErrorHook) -> ErrorHook:
        """Register a function called when a login fails at the callback, with
        the :class:`~flask_rocketpunch.RocketpunchError` (an
        :class:`~flask_rocketpunch.OAuthError` with ``error ==
        "access_denied"`` when the user clicked Deny), and when a view needs
        scopes Rocketpunch just refused (a
        :class:`~flask_rocketpunch.ScopeRefusedError`). If it returns a
        response, that is sent instead of the default error page.

        .. versionchanged:: 0.2
            Also called with :class:`~flask_rocketpunch.ScopeRefusedError`.
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
            translator = page_translator()
            _, message = describe(error).translated(translator)
            body = jsonify(
                error="login_required",
                message=message,
                detail=error.message,
                login_url=login_url,
            )
            body.status_code = 401
            body.headers["Content-Language"] = translator.locale
            body.headers["WWW-Authenticate"] = 'Bearer realm="rocketpunch"'
            return body
        if error.scopes:
            return begin_login(next_url, error.scopes)
        return redirect(login_url)


def _mount_sandbox(app: Flask, state: AppState) -> SandboxProvider:
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
        secret=app.secret_key,
        state_path=os.path.join(app.instance_path, SharedState.FILE_NAME),
    )
    logger.warning(
        "ROCKETPUNCH_SANDBOX is on: logins go to the built-in stand-in provider,"
        " not to Rocketpunch. Never turn it on in production."
    )
    return provider


__all__ = ["RocketpunchOAuth"]
