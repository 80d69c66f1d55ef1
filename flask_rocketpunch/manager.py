"""The current user's token: read it, refresh it when due, drop it when dead."""

from __future__ import annotations

import collections.abc as cabc
import logging

import requests

from . import flow
from .exceptions import (
    OAuthError,
    ProviderError,
    RateLimitError,
    ReauthorizationRequired,
    StorageError,
)
from .logs import neutral
from .refresh import RefreshCoordinator
from .settings import Settings
from .storage import TokenStorage
from .tokens import Token

logger = logging.getLogger("flask_rocketpunch")

#: Token endpoint errors after which only a new login helps.
REAUTHORIZE_ERRORS = frozenset(
    {"invalid_grant", "unauthorized_client", "invalid_scope"}
)

#: Called when a login ends, with the reason (one of
#: :data:`~flask_rocketpunch.signals.LOGIN_END_REASONS`) and the token that
#: was dropped, if it could be read.
LoginEndHandler = cabc.Callable[[str, "Token | None"], None]

#: Headers for the token endpoint, or a function returning them.
Headers = cabc.Mapping[str, str] | cabc.Callable[[], cabc.Mapping[str, str]]


class TokenManager:
    """Gives a valid access token for one user, refreshing it first when it
    expires within ``REFRESH_LEEWAY``.

    :param storage: where the user's token is kept.
    :param key: the login id the token is kept under.
    :param settings: the app's settings.
    :param http: the app's pooled HTTP session.
    :param coordinator: shares refreshes between concurrent requests.
    :param clock: the time source, in seconds since the epoch.
    :param on_refresh: called with the new token after this manager refreshed.
    :param on_end: called once when the login ends (a refresh token
        rejected, an expired token that cannot be refreshed, a token that is
        gone or cannot be opened, a token the API refuses); it must forget
        the login's token. By default it deletes it from ``storage``.
    :param headers: more headers for the token endpoint, such as
        ``Accept-Language``, or a function returning them, called only when
        a refresh is sent (most requests send none).
    """

    __slots__ = (
        "_ended",
        "_failed",
        "_headers",
        "_known",
        "_read",
        "_refreshed",
        "clock",
        "coordinator",
        "http",
        "key",
        "on_end",
        "on_refresh",
        "settings",
        "storage",
    )

    def __init__(
        self,
        *,
        storage: TokenStorage,
        key: str,
        settings: Settings,
        http: requests.Session,
        coordinator: RefreshCoordinator,
        clock: cabc.Callable[[], float],
        on_refresh: cabc.Callable[[Token], None] = lambda token: None,
        on_end: LoginEndHandler | None = None,
        headers: Headers | None = None,
    ) -> None:
        self.storage = storage
        self.key = key
        self.settings = settings
        self.http = http
        self.coordinator = coordinator
        self.clock = clock
        self.on_refresh = on_refresh
        self.on_end: LoginEndHandler = on_end or (
            lambda reason, token: storage.delete(key)
        )
        self._ended = False
        self._headers = headers
        #: The token this manager got by refreshing, if any: it is not
        #: refreshed again in the same request, even when the leeway is
        #: longer than the provider's token life.
        self._refreshed: Token | None = None
        #: The token as last read from or written to storage, so that one
        #: request reads the storage once however many API calls it makes.
        self._known: Token | None = None
        self._read = False
        #: A refresh failed for lack of an answer in this request: the valid
        #: token is used for the rest of it, without paying the wait again.
        self._failed = False

    def _load(self) -> Token | None:
        if not self._read:
            found = self.storage.lookup(self.key)
            self._known, self._read = found.token, True
            if found.token is None and self.key:
                # The browser has a login id, so it logged in, but its token
                # is gone or cannot be opened: that login has ended.
                self._end("undecryptable" if found.unreadable else "missing", None)
        return self._known

    def _end(self, reason: str, token: Token | None) -> None:
        self._known, self._read = None, True
        if self._ended:
            return
        self._ended = True
        logger.info("The Rocketpunch login ended (%s).", reason)
        self.on_end(reason, token)

    def end(self, reason: str) -> None:
        """End the login now: forget its token and tell :attr:`on_end` why.
        Does nothing the second time.

        :param reason: one of :data:`~flask_rocketpunch.signals.LOGIN_END_REASONS`.
        """
        self._end(reason, self._load())

    def _reload(self) -> Token | None:
        return self.storage.get(self.key)

    def current(self) -> Token | None:
        """The stored token as it is, possibly expired."""
        return self._load()

    def valid_token(self) -> Token:
        """The token, refreshed first if it is expired or within the leeway.

        If a refresh fails because Rocketpunch is unreachable or too slow (or
        the storage failed) while the token is still valid, the token is used
        as it is for the rest of the request, and the next request tries the
        refresh again.

        :raises ReauthorizationRequired: no token, or it cannot be refreshed.
        :raises ProviderError: the token has expired and Rocketpunch cannot be
            reached to refresh it (or another process is still refreshing it).
        :raises RateLimitError: the token has expired and the token endpoint
            answered ``429``.
        :raises StorageError: the token has expired and the storage or the
            shared coordinator failed.
        """
        token = self._load()
        if token is None:
            raise ReauthorizationRequired("You are not logged in with Rocketpunch.")
        now = self.clock()
        fresh = self._refreshed
        if (
            fresh
            and token.access_token == fresh.access_token
            and token.expires_at > now
        ):
            return token
        if not token.needs_refresh(now, self.settings.refresh_leeway):
            return token
        if self._failed and token.expires_at > now:
            return token
        if not token.refresh_token and token.expires_at > now:
            # Nothing to refresh with: use it until it expires.
            return token
        try:
            return self.refresh(token)
        except (ProviderError, StorageError, RateLimitError):
            self._failed = True
            if token.expires_at > now:
                logger.warning(
                    "Refreshing the token failed; the current one is still valid for"
                    " %d seconds and is used meanwhile.",
                    int(token.expires_at - now),
                )
                return token
            raise

    def refresh(self, stale: Token) -> Token:
        """Refresh ``stale`` now (or reuse a concurrent refresh of it), store
        and return the new token.

        :raises ReauthorizationRequired: the refresh token was rejected; the
            stored token has been dropped.
        """
        if not stale.refresh_token:
            self._end("expired", stale)
            raise ReauthorizationRequired(
                "Your Rocketpunch login has expired. Log in again."
            )

        def do_refresh(token: Token) -> Token:
            headers = self._headers
            if callable(headers):
                headers = headers()
            return flow.refresh_token(
                self.http, self.settings, token, now=self.clock(), headers=headers
            )

        try:
            new, performed = self.coordinator.refresh(
                stale, do_refresh, self._reload, self.key
            )
        except OAuthError as exc:
            if exc.error not in REAUTHORIZE_ERRORS:
                raise
            newer = self._newer_than(stale)
            if newer is not None:
                return newer
            logger.info(
                "The refresh token was rejected (%s); the user must log in again.",
                neutral(exc.error),
            )
            self._end("rejected", stale)
            raise ReauthorizationRequired(
                "Your Rocketpunch login is no longer valid (it was revoked or has"
                " expired). Log in again."
            ) from exc
        if not self.storage.replace(self.key, stale, new):
            # A later refresh was stored meanwhile: keep it.
            newer = self._newer_than(stale)
            if newer is None:
                self._end("missing", stale)
                raise ReauthorizationRequired(
                    "Your Rocketpunch login ended while its token was being"
                    " refreshed. Log in again."
                )
            return newer
        self._known, self._read = new, True
        self._refreshed = new
        if performed:
            self.on_refresh(new)
        return new

    def _newer_than(self, stale: Token) -> Token | None:
        """The login's token in storage when another process replaced
        ``stale`` with it, else ``None``."""
        current = self._reload()
        if current is None or current == stale:
            return None
        self._known, self._read = current, True
        self._refreshed = current
        return current
