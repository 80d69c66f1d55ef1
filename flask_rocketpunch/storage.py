"""Where tokens are kept between requests.

A storage has three methods, :meth:`~TokenStorage.get`,
:meth:`~TokenStorage.set` and :meth:`~TokenStorage.delete`, called during a
request for the current user. The default, :class:`SessionStorage`, keeps the
token encrypted in Flask's session.
"""

from __future__ import annotations

import abc
import functools
import json
import logging
import typing as t

from flask import current_app, session
from flask.sessions import SecureCookieSessionInterface

from .crypto import KeyRing, keyring
from .exceptions import ConfigurationError
from .settings import NO_SECRET_KEY
from .tokens import Token

logger = logging.getLogger("flask_rocketpunch")

#: Session key of the encrypted token.
TOKEN_KEY = "_rocketpunch_token"

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


def secret_keys() -> tuple[str | bytes, ...]:
    """The app's ``SECRET_KEY`` followed by its ``SECRET_KEY_FALLBACKS``.

    :raises ConfigurationError: if ``SECRET_KEY`` is not set.
    """
    config = current_app.config
    key = config.get("SECRET_KEY")
    if not key:
        raise ConfigurationError(NO_SECRET_KEY)
    fallbacks = config.get("SECRET_KEY_FALLBACKS")
    return (key, *fallbacks) if fallbacks else (key,)


def current_keyring() -> KeyRing:
    """The keys derived from the current app's secret keys (made once per
    key set, so a rotation takes effect on the next request)."""
    return keyring(secret_keys())


def check_cookie_size() -> int | None:
    """Measure the session cookie the response will carry, and log a warning
    when it nears the browsers' 4 KB limit. Returns the size in bytes, or
    ``None`` for a session interface other than Flask's cookie one.

    The cookie is measured exactly only when a cheap upper bound (the
    session's JSON in base64 plus the signature) comes near the limit.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    interface = app.session_interface
    if not isinstance(interface, SecureCookieSessionInterface):
        return None
    serializer = interface.get_signing_serializer(app)
    if serializer is None:
        return None
    data = dict(session)
    try:
        bound = 4 * -(-len(json.dumps(data, separators=(",", ":"))) // 3) + 64
    except TypeError:  # not plain JSON (tagged values): measure exactly
        bound = COOKIE_WARN_BYTES + 1
    if bound <= COOKIE_WARN_BYTES:
        return bound
    size = len(serializer.dumps(data))
    if size > COOKIE_WARN_BYTES:
        logger.warning(
            "The session cookie is %d bytes, close to the 4096-byte limit of"
            " browsers, which drop larger cookies (a login loop follows). Keep"
            " less in the session, or use a server-side token storage.",
            size,
        )
    return size


@functools.lru_cache(maxsize=1024)
def _open(ring: KeyRing, sealed: str) -> Token | None:
    """The token sealed in ``sealed``, or ``None``. Cached: a request that
    carries the same sealed token as an earlier one is not decrypted and
    parsed again (the cache is per key ring, so a rotation is honoured)."""
    plain = ring.cipher.decrypt(sealed)
    if plain is None:
        return None
    try:
        return Token.from_dict(json.loads(plain))
    except (ValueError, KeyError, TypeError):
        return None


def seal(token: Token, ring: KeyRing) -> str:
    """``token`` encrypted with the current key of ``ring``."""
    plain = json.dumps(token.to_dict(), separators=(",", ":")).encode("utf-8")
    return ring.cipher.encrypt(plain)


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
        token = _open(current_keyring(), sealed)
        if token is None:
            logger.info(
                "The stored token could not be decrypted (SECRET_KEY changed, or"
                " the cookie was tampered with); it is dropped."
            )
            session.pop(TOKEN_KEY, None)
        return token

    def set(self, token: Token) -> None:
        session[TOKEN_KEY] = seal(token, current_keyring())
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
