"""One refresh per token at a time: within a process, and across processes.

With rotating refresh tokens, two requests that refresh the same token at once
would both send it; the provider honours the first and answers the second with
``invalid_grant``, logging the user out. :class:`RefreshCoordinator`
serialises refreshes per stale token inside a process and remembers the
outcome for a short while, so a request that lost the race (or that still
carries the old token in its cookie) gets the winner's token instead of
calling the provider again.

Across processes (gunicorn workers) and hosts, a :class:`SharedCoordinator`
stands behind it: the in-process coordinator lets at most one thread per
process through to the shared one, which lets one process call the provider
and hands its outcome to the others. The default is
:class:`~flask_rocketpunch.refresh_sqlite.SQLiteCoordinator` (every worker of
one host); server-side storages bring their own (several hosts).
"""

from __future__ import annotations

import collections
import collections.abc as cabc
import dataclasses
import hashlib
import threading
import time
import typing as t

from .exceptions import OAuthError, ProviderError
from .tokens import Token

if t.TYPE_CHECKING:
    from flask import Flask

#: Failures of the provider (``ProviderError.reason``) that a shared
#: coordinator tells the processes waiting for the same refresh, for
#: :data:`UNAVAILABLE_FOR` seconds, instead of letting each of them call a
#: provider that is down or too slow again. Any other failure (an answer that
#: was unusable: the refresh token may be spent) frees the refresh at once.
SHARED_FAILURES = frozenset({"timeout", "connection", "server_error"})
#: Seconds a shared provider failure is told to the waiting processes.
UNAVAILABLE_FOR = 1.0

#: How many refreshes back a logout forgets (see
#: :meth:`RefreshCoordinator.forget`): far more than fit in one window.
MAX_CHAIN = 32

#: Makes a new token from a stale one at the token endpoint.
DoRefresh = cabc.Callable[[Token], Token]
#: Reads the login's token from storage again (``None``: no token any more).
Reload = cabc.Callable[[], "Token | None"]


class Record(t.Protocol):
    """Records the outcome of a shared refresh for the waiting processes and
    frees the refresh (one of the three is given)."""

    def __call__(
        self,
        *,
        token: Token | None = None,
        error: OAuthError | None = None,
        unavailable: ProviderError | None = None,
    ) -> None: ...


def refresh_as_winner(
    stale: Token,
    do_refresh: DoRefresh,
    reload: Reload,
    *,
    record: Record,
    release: cabc.Callable[[], None],
    still_mine: cabc.Callable[[], bool] = lambda: True,
) -> tuple[Token, bool] | None:
    """The part of a shared refresh that the process holding the lease plays,
    the same for every cross-process coordinator: re-read storage (another
    host may have stored a newer token), else call the provider, then record
    the outcome for the waiters, or free the refresh.

    An OAuth error is recorded (the waiters take it); a provider that is down
    or too slow (:data:`SHARED_FAILURES`) is recorded briefly; anything else,
    such as an answer that could not be used, frees the refresh at once.

    :param record: records an outcome and frees the refresh.
    :param release: frees the refresh without an outcome.
    :param still_mine: whether the lease is still held, checked before the
        provider is called.
    :return: the new token and whether the provider was called, or ``None``
        when the lease was lost before the call (wait for its new holder).
    """
    try:
        current = reload()
        if current is not None and current != stale:
            # Another process or host already stored a newer token.
            new, performed = current, False
        elif not still_mine():
            return None
        else:
            new, performed = do_refresh(stale), True
    except OAuthError as exc:
        record(error=exc)
        raise
    except ProviderError as exc:
        if exc.reason in SHARED_FAILURES:
            # Down or too slow: the waiters take the same answer instead of
            # calling a struggling provider again.
            record(unavailable=exc)
        else:
            release()
        raise
    except BaseException:
        release()
        raise
    record(token=new)
    return new, performed


class SharedCoordinator(t.Protocol):
    """One refresh per stale token across processes: what a cross-process
    coordinator provides.

    .. versionadded:: 0.2
    """

    def init_app(self, app: Flask) -> None:
        """Called by the extension for each app it serves: read what the
        coordinator needs from ``app.config`` (the keys that seal outcomes,
        ``ROCKETPUNCH_TIMEOUT`` to check the lease against)."""
        ...

    def refresh_once(
        self, key: str, stale: Token, do_refresh: DoRefresh, reload: Reload
    ) -> tuple[Token, bool]:
        """Refresh ``stale`` with ``do_refresh`` unless another process is
        doing it or has just done it, in which case wait for and return its
        outcome.

        :param key: the login id ``stale`` is stored under.
        :param stale: the token as this request read it.
        :param do_refresh: calls the token endpoint; only the winner calls it.
        :param reload: reads the login's token from storage again; the winner
            calls it before the provider (another process may have refreshed
            already) and waiters use it to see the winner's write.
        :return: the new token, and whether this call refreshed it.
        :raises OAuthError: what the winner's refresh answered (for example
            ``invalid_grant``), shared with the waiters.
        :raises ProviderError: with ``reason="refresh_pending"`` when the wait
            for another process ran out.
        """
        ...

    def forget(self, token: Token) -> None:
        """Forget every remembered outcome that handed out ``token``."""
        ...


def refresh_key(token: Token) -> str:
    """The key one refresh of ``token`` is shared under: a hash of the stale
    token as a whole. Requests carrying the same token share one refresh; a
    later refresh of a refresh token that does not rotate comes with a newer
    access token, so it is a new refresh."""
    material = f"{token.refresh_token or ''}\n{token.access_token}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


@dataclasses.dataclass
class _Slot:
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    users: int = 0
    #: What the refresh raised, for the threads that waited for it (a later
    #: request makes a new slot and tries again).
    failure: BaseException | None = None


@dataclasses.dataclass(frozen=True)
class _Outcome:
    at: float
    token: Token | None
    error: OAuthError | None


class RefreshCoordinator:
    """Serialise refreshes of each refresh token and share their outcome.

    :param shared: the cross-process coordinator behind this one, if any.
    :param remember: seconds an outcome is reused for requests that still
        carry the old refresh token.
    :param max_outcomes: how many outcomes are kept at most.
    :param clock: the time source (monotonic).
    """

    def __init__(
        self,
        shared: SharedCoordinator | None = None,
        *,
        remember: float = 60.0,
        max_outcomes: int = 4096,
        clock: cabc.Callable[[], float] = time.monotonic,
    ) -> None:
        #: The cross-process coordinator behind this one, if any.
        self.shared = shared
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
        return refresh_key(token)

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

    def forget(self, token: Token) -> None:
        """Forget every remembered refresh that handed out ``token``, here and
        in the shared coordinator (at logout: a stale copy of the session
        must not be handed the logged-out tokens; it goes to the provider,
        which sees the reuse of a rotated refresh token).

        The chain back is forgotten too: when ``A`` was refreshed to ``B`` and
        ``B`` to ``token`` within the window, a copy still holding ``A`` must
        not be handed ``B`` either."""
        with self._guard:
            handed_out = {refresh_key(token)}
            while handed_out:
                gone = [
                    key
                    for key, outcome in self._outcomes.items()
                    if outcome.token is not None
                    and refresh_key(outcome.token) in handed_out
                ]
                for key in gone:
                    del self._outcomes[key]
                handed_out = set(gone)
        if self.shared is not None:
            self.shared.forget(token)

    def refresh(
        self,
        token: Token,
        do_refresh: DoRefresh,
        reload: Reload | None = None,
        key: str = "",
    ) -> tuple[Token, bool]:
        """Refresh ``token`` with ``do_refresh``, unless another thread is doing
        or has just done it, in which case its result is returned. With a
        :attr:`shared` coordinator, the one thread of this process that goes
        through asks it, so other processes share the refresh too.

        :param reload: reads the login's token from storage again (see
            :meth:`SharedCoordinator.refresh_once`).
        :param key: the login id the token is stored under.
        :return: the new token, and whether this call made the refresh.
        :raises OAuthError: what ``do_refresh`` raised (an OAuth error is
            remembered like a token; another error is shared with the threads
            that were waiting for that refresh, and the next request tries
            again).
        """
        slot_key = self._key(token)
        with self._guard:
            outcome = self._recent(slot_key)
            if outcome is None:
                slot = self._slots.setdefault(slot_key, _Slot())
                slot.users += 1
        if outcome is not None:
            return self._replay(outcome)
        try:
            with slot.lock:
                with self._guard:
                    outcome = self._recent(slot_key)
                if outcome is not None:
                    return self._replay(outcome)
                if slot.failure is not None:
                    # The refresh this thread waited for failed (a provider
                    # that is down or slow): do not call it again at once.
                    raise slot.failure
                try:
                    if self.shared is None:
                        new, performed = do_refresh(token), True
                    else:
                        new, performed = self.shared.refresh_once(
                            key, token, do_refresh, reload or (lambda: None)
                        )
                except OAuthError as exc:
                    with self._guard:
                        self._store(slot_key, _Outcome(self._clock(), None, exc))
                    raise
                except Exception as exc:
                    slot.failure = exc
                    raise
                with self._guard:
                    self._store(slot_key, _Outcome(self._clock(), new, None))
                return new, performed
        finally:
            with self._guard:
                slot.users -= 1
                if slot.users == 0:
                    self._slots.pop(slot_key, None)

    @staticmethod
    def _replay(outcome: _Outcome) -> tuple[Token, bool]:
        if outcome.error is not None:
            raise outcome.error
        assert outcome.token is not None
        return outcome.token, False
