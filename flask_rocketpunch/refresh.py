"""One refresh per refresh token at a time, within a process.

With rotating refresh tokens, two requests that refresh the same token at once
would both send it; the provider honours the first and answers the second with
``invalid_grant``, logging the user out. The coordinator serialises refreshes
per refresh token and remembers the outcome for a short while, so a request
that lost the race (or that still carries the old token in its cookie) gets
the winner's token instead of calling the provider again.
"""

from __future__ import annotations

import collections
import collections.abc as cabc
import dataclasses
import hashlib
import threading
import time

from .exceptions import OAuthError
from .tokens import Token


@dataclasses.dataclass
class _Slot:
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    users: int = 0


@dataclasses.dataclass(frozen=True)
class _Outcome:
    at: float
    token: Token | None
    error: OAuthError | None


class RefreshCoordinator:
    """Serialise refreshes of each refresh token and share their outcome.

    :param remember: seconds an outcome is reused for requests that still
        carry the old refresh token.
    :param max_outcomes: how many outcomes are kept at most.
    :param clock: the time source (monotonic).
    """

    def __init__(
        self,
        *,
        remember: float = 60.0,
        max_outcomes: int = 4096,
        clock: cabc.Callable[[], float] = time.monotonic,
    ) -> None:
        self._remember = remember
        self._max = max_outcomes
        self._clock = clock
        self._guard = threading.Lock()
        self._slots: dict[str, _Slot] = {}
        self._outcomes: collections.OrderedDict[str, _Outcome] = (
            collections.OrderedDict()
        )

    @staticmethod
    def _key(token: Token) -> str:
        # The stale token as a whole: requests carrying the same token share
        # one refresh. A later refresh of a refresh token that does not rotate
        # comes with a newer access token, so it is a new refresh.
        material = f"{token.refresh_token or ''}\n{token.access_token}"
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def _recent(self, key: str) -> _Outcome | None:
        outcome = self._outcomes.get(key)
        if outcome is None:
            return None
        if self._clock() - outcome.at > self._remember:
            del self._outcomes[key]
            return None
        return outcome

    def _store(self, key: str, outcome: _Outcome) -> None:
        self._outcomes[key] = outcome
        self._outcomes.move_to_end(key)
        while len(self._outcomes) > self._max:
            self._outcomes.popitem(last=False)

    def refresh(
        self, token: Token, do_refresh: cabc.Callable[[Token], Token]
    ) -> tuple[Token, bool]:
        """Refresh ``token`` with ``do_refresh``, unless another thread is doing
        or has just done it, in which case its result is returned.

        :return: the new token, and whether this call made the refresh.
        :raises OAuthError: what ``do_refresh`` raised (an OAuth error is
            shared with the waiting threads; other errors are not remembered).
        """
        key = self._key(token)
        with self._guard:
            outcome = self._recent(key)
            if outcome is None:
                slot = self._slots.setdefault(key, _Slot())
                slot.users += 1
        if outcome is not None:
            return self._replay(outcome)
        try:
            with slot.lock:
                with self._guard:
                    outcome = self._recent(key)
                if outcome is not None:
                    return self._replay(outcome)
                try:
                    new = do_refresh(token)
                except OAuthError as exc:
                    with self._guard:
                        self._store(key, _Outcome(self._clock(), None, exc))
                    raise
                with self._guard:
                    self._store(key, _Outcome(self._clock(), new, None))
                return new, True
        finally:
            with self._guard:
                slot.users -= 1
                if slot.users == 0:
                    self._slots.pop(key, None)

    @staticmethod
    def _replay(outcome: _Outcome) -> tuple[Token, bool]:
        if outcome.error is not None:
            raise outcome.error
        assert outcome.token is not None
        return outcome.token, False
