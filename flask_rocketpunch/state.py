"""Per-app state and its lookup: a leaf the Flask edges import.

:class:`AppState` is what the extension keeps for one app (settings, the
pooled HTTP session, the refresh coordinator, the sandbox). The views, the
decorator and the helpers find it with :func:`current_state`, which sees the
extension only through the :class:`Extension` protocol, so nothing here
imports :mod:`flask_rocketpunch.extension`.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import logging
import time
import typing as t
from http.cookiejar import DefaultCookiePolicy
from importlib.metadata import PackageNotFoundError, version

import requests
from flask import Flask, current_app

from .deadline import DeadlineAdapter
from .exceptions import ProviderError
from .flow import revoke_token
from .refresh import RefreshCoordinator
from .settings import Settings
from .signals import login_ended
from .storage import TokenStorage

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response as BaseResponse

    from .exceptions import ReauthorizationRequired, RocketpunchError
    from .sandbox import SandboxProvider
    from .tokens import Token

logger = logging.getLogger("flask_rocketpunch")

try:
    __version__ = version("flask-rocketpunch")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0"

#: What a view, hook or handler may return (anything Flask turns into a
#: response).
ResponseReturn = t.Union["BaseResponse", str, tuple[t.Any, ...], dict[str, t.Any]]

#: The key of the extension in ``app.extensions``.
EXTENSION_KEY = "rocketpunch"


class Extension(t.Protocol):
    """What the Flask edges need of :class:`~flask_rocketpunch.RocketpunchOAuth`."""

    def app_state(self, app: Flask | None = None) -> AppState: ...

    def login_id(self) -> str: ...

    def renew_login_id(self) -> str: ...

    def drop_login_id(self) -> None: ...

    def unauthorized(
        self, error: ReauthorizationRequired | None = None
    ) -> ResponseReturn: ...

    def run_login_hook(self, token: Token) -> ResponseReturn | None: ...

    def run_error_hook(self, error: RocketpunchError) -> ResponseReturn | None: ...

    def run_login_end_hook(self, reason: str, token: Token | None) -> None: ...


def http_session() -> requests.Session:
    """A pooled HTTP session for one app. It holds no credentials: each call
    passes its own, and cookies are refused so nothing of one user's call can
    reach another's. Its connections honour each call's total deadline."""
    http = requests.Session()
    http.mount("https://", DeadlineAdapter())
    http.mount("http://", DeadlineAdapter())
    http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    http.headers["User-Agent"] = f"flask-rocketpunch/{__version__}"
    http.max_redirects = 0
    return http


@dataclasses.dataclass(eq=False)
class AppState:
    """What the extension keeps for one app (never on the extension itself)."""

    #: The extension that owns this state.
    ext: Extension
    settings: Settings
    #: Where this app's tokens are kept.
    storage: TokenStorage
    #: Shares refreshes between threads, and through its shared coordinator
    #: between processes.
    coordinator: RefreshCoordinator
    http: requests.Session = dataclasses.field(default_factory=http_session)
    sandbox: SandboxProvider | None = None
    clock: cabc.Callable[[], float] = time.time
    warned_http_redirect: bool = False
    warned_short_tokens: bool = False

    def end_login(
        self,
        key: str,
        token: Token | None,
        *,
        reason: str,
        app: Flask,
        current: bool = False,
        revoke: bool = True,
    ) -> None:
        """End one login, the one way every login ends: revoke its refresh
        token at ``REVOKE_URL`` (a failure is logged and does not stop the
        rest), delete it from storage, forget any remembered refresh that
        handed it out, then send
        :data:`~flask_rocketpunch.signals.login_ended` and, for the current
        request's own login, run the ``on_login_end`` hook.

        Dropping the browser's login id and its session keys is the
        caller's part (only the request of that browser can).

        :param key: the login id.
        :param token: the login's token, if there is one.
        :param reason: why, one of
            :data:`~flask_rocketpunch.signals.LOGIN_END_REASONS`.
        :param app: the app, the signal's sender.
        :param current: whether it is the current request's own login.
        :param revoke: whether to revoke the token (not when the provider
            already refused it).
        """
        if token is not None and revoke:
            try:
                revoke_token(self.http, self.settings, token)
            except ProviderError as exc:
                logger.warning(
                    "Revoking the refresh token failed (%s); the user is logged"
                    " out here anyway.",
                    exc.reason,
                )
        self.storage.delete(key)
        if token is not None:
            self.coordinator.forget(token)
        login_ended.send(app, reason=reason, token=token, current=current)
        if current:
            self.ext.run_login_end_hook(reason, token)


def current_state() -> AppState:
    """The state of the current app.

    :raises RuntimeError: the current app has no RocketpunchOAuth.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    ext: Extension | None = app.extensions.get(EXTENSION_KEY)
    if ext is None:
        raise RuntimeError(
            "RocketpunchOAuth is not set up on this app: call"
            " RocketpunchOAuth(app) or rp.init_app(app) first."
        )
    return ext.app_state(app)
