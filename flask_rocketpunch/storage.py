"""Where tokens are kept between requests.

A storage has three methods, :meth:`~TokenStorage.get`,
:meth:`~TokenStorage.set` and :meth:`~TokenStorage.delete`, called during a
request for the current user. The default, :class:`SessionStorage`, keeps the
token encrypted in Flask's session.
"""

from __future__ import annotations

import abc
import json
import logging
import typing as t

from flask import current_app, session
from flask.sessions import SecureCookieSessionInterface

from .crypto import TokenCipher
from .exceptions import ConfigurationError
from .tokens import Token

logger = logging.getLogger("flask_rocketpunch")

#: Session key of the encrypted token.
TOKEN_KEY = "_rocketpunch_token"
#: Session key of the logins in flight.
PENDING_KEY = "_rocketpunch_pending"

#: Browsers drop cookies over 4096 bytes; warn before that.
COOKIE_WARN_BYTES = 3800


class TokenStorage(abc.ABC):
    """The storage seam: implement these three methods to keep tokens
    elsewhere (a database, Redis). They are called inside a request, for the
    current user.

    .. versionadded:: 0.1
    """

    @abc.abstractmethod
    def get(self) -> Token | None:
        """Return the current user's token, or ``None``."""

    @abc.abstractmethod
    def set(self, token: Token) -> None:
        """Store ``token`` for the current user, replacing any other."""

    @abc.abstractmethod
    def delete(self) -> None:
        """Forget the current user's token."""


def secret_keys() -> list[str | bytes]:
    """The app's ``SECRET_KEY`` followed by its ``SECRET_KEY_FALLBACKS``.

    :raises ConfigurationError: if ``SECRET_KEY`` is not set.
    """
    key = current_app.config.get("SECRET_KEY")
    if not key:
        raise ConfigurationError(
            "SECRET_KEY is not set. flask-rocketpunch keeps logins in the session"
            " and encrypts tokens with a key derived from it: set app.config"
            '["SECRET_KEY"] (or FLASK_SECRET_KEY with from_prefixed_env()) to a'
            " long random value, for example from secrets.token_hex()."
        )
    fallbacks = current_app.config.get("SECRET_KEY_FALLBACKS") or []
    return [key, *fallbacks]


_ciphers: dict[tuple[str | bytes, ...], TokenCipher] = {}


def current_cipher() -> TokenCipher:
    """The cipher for the current app's secret keys (cached per key set)."""
    keys = tuple(secret_keys())
    cipher = _ciphers.get(keys)
    if cipher is None:
        if len(_ciphers) > 32:
            _ciphers.clear()
        cipher = _ciphers[keys] = TokenCipher(keys)
    return cipher


def check_cookie_size() -> int | None:
    """Measure the session cookie the response will carry, and log a warning
    when it nears the browsers' 4 KB limit. Returns the size in bytes, or
    ``None`` for a session interface other than Flask's cookie one."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    interface = app.session_interface
    if not isinstance(interface, SecureCookieSessionInterface):
        return None
    serializer = interface.get_signing_serializer(app)
    if serializer is None:
        return None
    size = len(serializer.dumps(dict(session)))
    if size > COOKIE_WARN_BYTES:
        logger.warning(
            "The session cookie is %d bytes, close to the 4096-byte limit of"
            " browsers, which drop larger cookies (a login loop follows). Keep"
            " less in the session, or use a server-side token storage.",
            size,
        )
    return size


class SessionStorage(TokenStorage):
    """Keep the token in Flask's session, encrypted with AES-GCM under a key
    derived from ``SECRET_KEY``; ``SECRET_KEY_FALLBACKS`` still decrypt during
    a key rotation. Neither token is readable in the cookie.

    .. versionadded:: 0.1
    """

    def get(self) -> Token | None:
        sealed = session.get(TOKEN_KEY)
        if not isinstance(sealed, str):
            return None
        plain = current_cipher().decrypt(sealed)
        if plain is None:
            logger.info(
                "The stored token could not be decrypted (SECRET_KEY changed, or"
                " the cookie was tampered with); it is dropped."
            )
            session.pop(TOKEN_KEY, None)
            return None
        try:
            return Token.from_dict(json.loads(plain))
        except (ValueError, KeyError, TypeError):
            session.pop(TOKEN_KEY, None)
            return None

    def set(self, token: Token) -> None:
        plain = json.dumps(token.to_dict(), separators=(",", ":")).encode("utf-8")
        session[TOKEN_KEY] = current_cipher().encrypt(plain)
        check_cookie_size()

    def delete(self) -> None:
        session.pop(TOKEN_KEY, None)


class MemoryStorage(TokenStorage):
    """Keep one token in memory, shared by every request: for tests and
    scripts with a single user, never for a multi-user app.

    :param token: an initial token.

    .. versionadded:: 0.1
    """

    def __init__(self, token: Token | None = None) -> None:
        self.token = token

    def get(self) -> Token | None:
        return self.token

    def set(self, token: Token) -> None:
        self.token = token

    def delete(self) -> None:
        self.token = None


__all__: t.Sequence[str] = [
    "MemoryStorage",
    "SessionStorage",
    "TokenStorage",
]
