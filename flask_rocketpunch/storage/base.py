"""The storage seam: three methods, keyed by the login id."""

from __future__ import annotations

import abc
import collections.abc as cabc
import typing as t

from ..crypto import KeyRing, keyring_for
from ..exceptions import ConfigurationError
from ..tokens import Token, open_token, seal_token

if t.TYPE_CHECKING:
    from flask import Flask

    from ..refresh import SharedCoordinator


class Lookup(t.NamedTuple):
    """What :meth:`TokenStorage.lookup` found for a login.

    .. versionadded:: 0.2
    """

    #: The token, or ``None``.
    token: Token | None
    #: Something was stored for the login but could not be opened (the
    #: secret key changed without a fallback, or the value was altered).
    unreadable: bool = False


class TokenStorage(abc.ABC):
    """Where tokens are kept between requests: implement :meth:`get`,
    :meth:`set` and :meth:`delete` to keep them anywhere.

    Each login has an opaque, random login id, which the extension keeps in
    the signed session and renews at every login; it is the ``key`` of these
    methods. A storage never reads Flask's globals, so it works outside a
    request too (a CLI command, a background job).

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        The methods take the login id.
    """

    def init_app(self, app: Flask) -> None:  # noqa: B027 - optional hook
        """Called by :meth:`~flask_rocketpunch.RocketpunchOAuth.init_app` for
        each app the storage serves. Does nothing by default."""

    @abc.abstractmethod
    def get(self, key: str) -> Token | None:
        """The token of the login ``key``, or ``None``."""

    def lookup(self, key: str) -> Lookup:
        """The token of the login ``key`` (as :meth:`get`), and whether a
        stored value failed to open, so that the extension can tell the app
        why a login ended. The default calls :meth:`get` and never reports
        an unreadable value; the sealing storages override it.

        .. versionadded:: 0.2
        """
        return Lookup(self.get(key))

    @abc.abstractmethod
    def set(self, key: str, token: Token) -> None:
        """Store ``token`` for the login ``key``, replacing any other."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Forget the token of the login ``key``."""

    def replace(self, key: str, old: Token, new: Token) -> bool:
        """Store ``new`` for the login ``key`` only if it still has ``old``
        (a compare-and-set after a refresh), so a late request can never put
        back a token that a later refresh replaced.

        The default reads, compares and writes; storages shared between
        processes override it with an atomic operation.

        :return: whether ``new`` was stored.
        """
        if self.get(key) != old:
            return False
        self.set(key, new)
        return True

    def purge(self) -> int:
        """Delete the tokens of logins that have expired, for storages that
        keep them until asked (``flask rocketpunch purge``). Does nothing by
        default: the other storages expire tokens on their own.

        :return: how many were deleted.

        .. versionadded:: 0.2
        """
        return 0

    def coordinator(self) -> SharedCoordinator | None:
        """The cross-process refresh coordinator this storage brings (one
        that spans every host sharing the storage), or ``None`` to use the
        extension's default, which spans the processes of one host."""
        return None

    def logins_of(self, subject: str) -> cabc.Sequence[tuple[str, Token]]:
        """The stored logins (login id and token) of the Rocketpunch user
        ``subject`` (its ``sub``), for "log out everywhere".

        :raises NotImplementedError: the storage cannot find logins by user
            (the cookie storage keeps each login in its browser).
        """
        raise NotImplementedError(
            f"{type(self).__name__} cannot find the logins of a user: use a"
            " server-side storage (RedisStorage, SQLAlchemyStorage) for log out"
            " everywhere."
        )


class SealedStorage(TokenStorage):
    """A base for server-side storages: tokens are sealed (AES-GCM, under a
    key derived from the app's ``SECRET_KEY``, with the login id as associated
    data) before they leave the process, so a dump of the store reveals no
    token and a sealed token cannot be moved to another login.

    One storage serves the app it was set up with; ``SECRET_KEY_FALLBACKS``
    still open tokens sealed before a rotation.
    """

    _config: cabc.Mapping[str, t.Any] | None = None

    def init_app(self, app: Flask) -> None:
        """Remember ``app``'s configuration, to derive the sealing keys from
        its ``SECRET_KEY`` (read again at each use, so rotations apply)."""
        self._config = app.config

    def keys(self) -> KeyRing:
        """The key ring of the app this storage was set up with.

        :raises ConfigurationError: not set up with an app yet, or no
            ``SECRET_KEY``.
        """
        if self._config is None:
            raise ConfigurationError(
                f"This {type(self).__name__} is not set up with an app: pass it to"
                " RocketpunchOAuth(app, storage=...) or call storage.init_app(app)."
            )
        return keyring_for(self._config)

    def seal(self, key: str, token: Token) -> str:
        """``token`` sealed for the login ``key``."""
        return seal_token(token, self.keys(), key)

    def unseal(self, key: str, sealed: object) -> Token | None:
        """The token sealed for the login ``key``, or ``None`` for anything
        that does not open (tampered, foreign, or another login's)."""
        if not isinstance(sealed, str):
            return None
        return open_token(sealed, self.keys(), key)
