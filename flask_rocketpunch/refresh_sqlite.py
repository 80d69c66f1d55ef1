"""The default cross-process refresh coordinator: a SQLite file on the host.

Every worker of one host (gunicorn ``-w 4``) opens the same file, in the
app's instance folder. For each stale token (by :func:`refresh_key`) it
holds a row: a short lease naming the process that refreshes it, then the
sealed outcome for :attr:`SQLiteCoordinator.window` seconds. A worker that
loses the race waits for the outcome and sends the winner's new token in its
own response; a winner that dies is replaced once its lease ends. Nothing to
install or run: SQLite ships with Python.
"""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import functools
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
import typing as t

from .crypto import KeyRing, keyring_for
from .exceptions import ConfigurationError, OAuthError, ProviderError
from .refresh import (
    MAX_CHAIN,
    UNAVAILABLE_FOR,
    DoRefresh,
    Reload,
    refresh_as_winner,
    refresh_key,
)
from .sqlite_file import FILE_ERRORS, connect, use_wal
from .tokens import Token, open_token, seal_token

if t.TYPE_CHECKING:
    from flask import Flask

logger = logging.getLogger("flask_rocketpunch")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rocketpunch_refreshes (
    stale TEXT PRIMARY KEY,
    owner TEXT,
    lease_until REAL NOT NULL,
    outcome TEXT,
    error TEXT,
    fresh TEXT,
    done_at REAL
)
"""


def _unavailable(error: str | None) -> bool:
    """Whether a recorded failure is the provider's being down or slow (kept
    about a second, for the processes that waited for it), not an OAuth
    error (kept for the whole window)."""
    return error is not None and '"unavailable"' in error


class SQLiteCoordinator:
    """One refresh per stale token across the processes of one host.

    :param path: the SQLite file; its folder is made when first needed.
    :param keys: the app's key ring, to seal outcomes at rest; by default
        the one of the app given to :meth:`init_app`.
    :param lease: seconds a process may hold a refresh before another takes
        over; longer than two token endpoint calls.
    :param window: seconds an outcome is kept for requests that still carry
        the old token.
    :param poll: seconds between two looks of a waiting process.
    :param unavailable_for: seconds a refresh that failed for lack of an
        answer (see :data:`~flask_rocketpunch.refresh.SHARED_FAILURES`) is
        told to the processes that waited for it.
    :param clock: the time source (seconds since the epoch; shared between
        processes, so not monotonic).
    :param sleep: waits between two looks.

    .. versionadded:: 0.2
    """

    #: The file name in the app's instance folder.
    FILE_NAME = "rocketpunch-refresh.sqlite3"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        keys: cabc.Callable[[], KeyRing] | None = None,
        lease: float = 11.0,
        window: float = 60.0,
        poll: float = 0.02,
        unavailable_for: float = UNAVAILABLE_FOR,
        clock: cabc.Callable[[], float] = time.time,
        sleep: cabc.Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = os.fspath(path)
        self.keys = keys
        self.lease = lease
        self.window = window
        self.poll = poll
        self.unavailable_for = unavailable_for
        self.clock = clock
        self.sleep = sleep
        self._ready = False
        self._ready_lock = threading.Lock()
        self._warned = False

    def init_app(self, app: Flask) -> None:
        """Seal outcomes with ``app``'s secret keys, unless ``keys`` was
        given."""
        if self.keys is None:
            self.keys = functools.partial(keyring_for, app.config)

    def _keyring(self) -> KeyRing:
        if self.keys is None:
            raise ConfigurationError(
                "This SQLiteCoordinator is not set up with an app: pass it to"
                " RocketpunchOAuth(app, coordinator=...)."
            )
        return self.keys()

    # -- the file ---------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self) -> cabc.Iterator[sqlite3.Connection]:
        if not self._ready:
            with self._ready_lock:
                if not self._ready:
                    os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
                    with contextlib.closing(connect(self.path)) as conn:
                        use_wal(conn)
                        conn.execute(_SCHEMA)
                    self._ready = True
        conn = connect(self.path)
        try:
            yield conn
        finally:
            conn.close()

    # -- the protocol -------------------------------------------------------------

    def refresh_once(
        self, key: str, stale: Token, do_refresh: DoRefresh, reload: Reload
    ) -> tuple[Token, bool]:
        """See :meth:`flask_rocketpunch.refresh.SharedCoordinator.refresh_once`."""
        key = refresh_key(stale)  # per stale token: the login id is not needed
        owner = f"{os.getpid()}-{secrets.token_hex(8)}"
        try:
            done = self._wait_for_turn(key, owner)
        except FILE_ERRORS as exc:
            return self._uncoordinated(exc, stale, do_refresh)
        if done is not None:
            return done, False
        won = refresh_as_winner(
            stale,
            do_refresh,
            reload,
            record=functools.partial(self._finish, key, owner),
            release=functools.partial(self._release, key, owner),
        )
        assert won is not None  # the lease is not checked again here
        return won

    def forget(self, token: Token) -> None:
        """Forget every outcome that handed out ``token`` (at logout), so a
        stale copy of the session gets ``invalid_grant`` from the provider
        instead of the logged-out tokens. The chain of earlier refreshes
        that led to ``token`` within the window is forgotten too."""
        try:
            with self._connect() as conn:
                fresh = [refresh_key(token)]
                for _ in range(MAX_CHAIN):
                    stale = []
                    for key in fresh:
                        stale += [
                            row[0]
                            for row in conn.execute(
                                "SELECT stale FROM rocketpunch_refreshes"
                                " WHERE fresh = ?",
                                (key,),
                            )
                        ]
                        conn.execute(
                            "DELETE FROM rocketpunch_refreshes WHERE fresh = ?", (key,)
                        )
                    if not stale:
                        break
                    fresh = stale
        except FILE_ERRORS as exc:
            logger.warning("The refresh coordination file failed (%s).", exc)

    # -- steps --------------------------------------------------------------------

    def _wait_for_turn(self, key: str, owner: str) -> Token | None:
        """Take the lease on ``key`` (``None``), or return the outcome of the
        process that held it. Raises what that process's refresh raised.

        :raises ProviderError: the wait ran out (``reason="refresh_pending"``).
        """
        deadline = self.clock() + self.lease + 1
        while True:
            now = self.clock()
            with self._connect() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    row = self._take_or_look(conn, key, owner, now)
                finally:
                    conn.execute("COMMIT")
            if row is None:
                return None
            outcome, error, done_at = row
            if done_at is not None:
                return self._replay(key, outcome, error)
            if now >= deadline:
                raise ProviderError(
                    "Another process is refreshing this login's token and did not"
                    " finish in time. Try again in a moment.",
                    reason="refresh_pending",
                )
            self.sleep(self.poll)

    def _take_or_look(
        self, conn: sqlite3.Connection, key: str, owner: str, now: float
    ) -> tuple[str | None, str | None, float | None] | None:
        """Under the write lock: take the lease when nobody holds it and no
        recent outcome exists (``None``), else return the row's outcome,
        error and completion time (``done_at`` is ``None`` while another
        process holds the lease)."""
        row = conn.execute(
            "SELECT lease_until, outcome, error, done_at FROM rocketpunch_refreshes"
            " WHERE stale = ?",
            (key,),
        ).fetchone()
        if row is not None:
            lease_until, outcome, error, done_at = row
            keep = self.unavailable_for if _unavailable(error) else self.window
            if done_at is not None and now - done_at <= keep:
                return outcome, error, done_at
            if done_at is None and lease_until > now:
                return None, None, None
        conn.execute(
            "INSERT OR REPLACE INTO rocketpunch_refreshes (stale, owner, lease_until)"
            " VALUES (?, ?, ?)",
            (key, owner, now + self.lease),
        )
        return None

    def _replay(self, key: str, outcome: str | None, error: str | None) -> Token:
        if error is not None:
            data = json.loads(error)
            if "unavailable" in data:
                raise ProviderError(
                    str(data["unavailable"]), reason=str(data["reason"])
                )
            raise OAuthError(str(data.get("error")), data.get("description"))
        token = open_token(outcome or "", self._keyring(), key)
        if token is None:
            # Sealed under a key no longer configured: refresh again.
            raise OAuthError(
                "invalid_grant",
                message="The shared refresh outcome could not be read.",
            )
        return token

    def _finish(
        self,
        key: str,
        owner: str,
        *,
        token: Token | None = None,
        error: OAuthError | None = None,
        unavailable: ProviderError | None = None,
    ) -> None:
        now = self.clock()
        sealed = seal_token(token, self._keyring(), key) if token is not None else None
        failure = None
        if error is not None:
            failure = json.dumps(
                {"error": error.error, "description": error.error_description}
            )
        elif unavailable is not None:
            failure = json.dumps(
                {"unavailable": unavailable.message, "reason": unavailable.reason}
            )
        fresh = refresh_key(token) if token is not None else None
        try:
            with self._connect() as conn:
                conn.execute(
                    "UPDATE rocketpunch_refreshes SET owner = NULL, outcome = ?,"
                    " error = ?, fresh = ?, done_at = ? WHERE stale = ? AND owner = ?",
                    (sealed, failure, fresh, now, key, owner),
                )
                conn.execute(
                    "DELETE FROM rocketpunch_refreshes WHERE done_at < ?",
                    (now - self.window,),
                )
        except FILE_ERRORS as exc:
            logger.warning("The refresh coordination file failed (%s).", exc)

    def _release(self, key: str, owner: str) -> None:
        try:
            with self._connect() as conn:
                conn.execute(
                    "DELETE FROM rocketpunch_refreshes WHERE stale = ? AND owner = ?",
                    (key, owner),
                )
        except FILE_ERRORS as exc:
            logger.warning("The refresh coordination file failed (%s).", exc)

    def _uncoordinated(
        self, exc: Exception, stale: Token, do_refresh: DoRefresh
    ) -> tuple[Token, bool]:
        if not self._warned:
            self._warned = True
            logger.warning(
                "The refresh coordination file %s cannot be used (%s): refreshes"
                " are shared between the threads of each process only, so several"
                " worker processes may refresh one token at once. Make the app's"
                " instance folder writable, or pass RocketpunchOAuth(coordinator=...).",
                self.path,
                exc,
            )
        return do_refresh(stale), True
