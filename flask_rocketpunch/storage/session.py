"""The default storage: the token encrypted in Flask's session cookie."""

from __future__ import annotations

import collections.abc as cabc
import logging
import typing as t

from flask import Flask, session

from ..cookie import check_cookie_size, current_keyring
from ..crypto import KeyRing, keyring_for
from ..tokens import Token, open_token, seal_token
from .base import Lookup, TokenStorage

logger = logging.getLogger("flask_rocketpunch")

#: Session key of the encrypted token.
TOKEN_KEY = "_rocketpunch_token"


class SessionStorage(TokenStorage):
    """Keep the token in Flask's session, encrypted with AES-GCM under a key
    derived from ``SECRET_KEY``; ``SECRET_KEY_FALLBACKS`` still decrypt during
    a key rotation. Neither token is readable in the cookie.

    The cookie belongs to one browser, so the login id is not needed to find
    the token; this is the one storage that reads Flask's session, and so
    works only inside a request.

    .. versionadded:: 0.1
    """

    _config: cabc.Mapping[str, t.Any] | None = None
    _shared = False

    def init_app(self, app: Flask) -> None:
        """Read the sealing keys from ``app``'s configuration. One instance
        set up for several apps reads them from the current app instead
        (each app gets its own instance by default)."""
        if self._config is None and not self._shared:
            self._config = app.config
        elif self._config is not app.config:
            self._config, self._shared = None, True

    def _keys(self) -> KeyRing:
        if self._config is None:
            return current_keyring()
        return keyring_for(self._config)

    def get(self, key: str) -> Token | None:
        return self.lookup(key).token

    def lookup(self, key: str) -> Lookup:
        sealed = session.get(TOKEN_KEY)
        if sealed is None:
            return Lookup(None)
        token = open_token(sealed, self._keys()) if isinstance(sealed, str) else None
        if token is None:
            logger.info(
                "The stored token could not be decrypted (SECRET_KEY changed, or"
                " the cookie was tampered with); it is dropped."
            )
            session.pop(TOKEN_KEY, None)
            return Lookup(None, unreadable=True)
        return Lookup(token)

    def set(self, key: str, token: Token) -> None:
        sealed = seal_token(token, self._keys())
        session[TOKEN_KEY] = sealed
        check_cookie_size(adding=len(sealed) + len(TOKEN_KEY) + len(key) + 48)

    def delete(self, key: str) -> None:
        session.pop(TOKEN_KEY, None)

    def replace(self, key: str, old: Token, new: Token) -> bool:
        # The cookie is this browser's own: the answer's cookie holds the
        # newest token this request knows.
        self.set(key, new)
        return True
