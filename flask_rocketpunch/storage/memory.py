"""Tokens in the process's memory."""

from __future__ import annotations

import collections.abc as cabc
import threading

from ..tokens import Token
from .base import TokenStorage


class MemoryStorage(TokenStorage):
    """Keep tokens in a dictionary of this process, by login id: for tests
    and scripts. Nothing survives a restart and other processes see nothing.

    :param token: a token returned for every login that has none of its own,
        for scripts with a single user.

    .. versionadded:: 0.1
    """

    def __init__(self, token: Token | None = None) -> None:
        #: The token of logins that have none of their own.
        self.token = token
        # None marks a login that logged out while ``token`` is set.
        self._tokens: dict[str, Token | None] = {}
        self._lock = threading.Lock()

    @property
    def tokens(self) -> dict[str, Token]:
        """A snapshot of the stored tokens, by login id."""
        with self._lock:
            return {k: v for k, v in self._tokens.items() if v is not None}

    def get(self, key: str) -> Token | None:
        with self._lock:
            return self._tokens.get(key, self.token)

    def set(self, key: str, token: Token) -> None:
        with self._lock:
            self._tokens[key] = token

    def delete(self, key: str) -> None:
        with self._lock:
            if self.token is None:
                self._tokens.pop(key, None)
            else:
                self._tokens[key] = None

    def replace(self, key: str, old: Token, new: Token) -> bool:
        with self._lock:
            if self._tokens.get(key, self.token) != old:
                return False
            self._tokens[key] = new
            return True

    def logins_of(self, subject: str) -> cabc.Sequence[tuple[str, Token]]:
        with self._lock:
            return [
                (key, token)
                for key, token in self._tokens.items()
                if token is not None and token.subject == subject
            ]
