"""The sandbox's ledger: which codes and refresh tokens were spent, and
which grants and access tokens were revoked, kept where every process of
one host sees it (a SQLite file), so that an in-app sandbox served by
several workers still refuses a replayed code or a revoked token.

Only SHA-256 digests of the names are stored, never a code or a token.
"""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import hashlib
import logging
import os
import sqlite3
import threading

from ..sqlite_file import FILE_ERRORS, connect, use_wal

logger = logging.getLogger("flask_rocketpunch")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rocketpunch_sandbox_marks (
    digest TEXT PRIMARY KEY,
    until REAL NOT NULL
)
"""


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


class Ledger:
    """Marks that outlive a request and are seen by every process sharing
    ``path``: a mark is set once (:meth:`spend` says whether this call set
    it) and read with :meth:`is_marked`.

    :param path: The SQLite file, made (with its folder) when first needed;
        ``None`` keeps the marks in this process only.

    When the file cannot be used, a warning is logged once and the marks
    are kept in this process only, so a single process keeps working.
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = None if path is None else os.fspath(path)
        self._memory: dict[str, float] = {}
        self._lock = threading.Lock()
        self._ready = False

    @property
    def shared(self) -> bool:
        """Whether the marks are in a file other processes see."""
        return self.path is not None

    def spend(self, name: str, until: float) -> bool:
        """Set the mark ``name`` unless it is set; return whether this call
        set it (``False``: it was spent before, by any process).

        :param name: What is marked, e.g. ``"code:<the code>"``.
        :param until: When the mark may be forgotten (seconds since the
            epoch, on the provider's clock): after what it marks expired.
        """
        digest = _digest(name)
        with self._lock:
            if self.path is not None:
                try:
                    with self._connect() as conn:
                        cursor = conn.execute(
                            "INSERT OR IGNORE INTO rocketpunch_sandbox_marks"
                            " (digest, until) VALUES (?, ?)",
                            (digest, until),
                        )
                        return cursor.rowcount == 1
                except FILE_ERRORS as exc:
                    self._fall_back(exc)
            if digest in self._memory:
                return False
            self._memory[digest] = until
            return True

    def is_marked(self, *names: str) -> bool:
        """Whether any of the marks ``names`` is set (one look at the file).

        :param names: What is marked.
        """
        digests = [_digest(name) for name in names]
        with self._lock:
            if self.path is not None:
                try:
                    with self._connect() as conn:
                        # Only placeholders are joined in; the digests are
                        # bound as parameters.
                        marks = ", ".join("?" * len(digests))
                        row = conn.execute(
                            "SELECT 1 FROM rocketpunch_sandbox_marks"  # noqa: S608
                            f" WHERE digest IN ({marks}) LIMIT 1",
                            digests,
                        ).fetchone()
                        return row is not None
                except FILE_ERRORS as exc:
                    self._fall_back(exc)
            return any(digest in self._memory for digest in digests)

    def forget_before(self, now: float) -> None:
        """Forget the marks whose ``until`` has passed.

        :param now: The current time on the provider's clock.
        """
        with self._lock:
            if self.path is not None:
                try:
                    with self._connect() as conn:
                        conn.execute(
                            "DELETE FROM rocketpunch_sandbox_marks WHERE until < ?",
                            (now,),
                        )
                    return
                except FILE_ERRORS as exc:
                    self._fall_back(exc)
            for digest, until in list(self._memory.items()):
                if until < now:
                    del self._memory[digest]

    # -- the file ---------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self) -> cabc.Iterator[sqlite3.Connection]:
        assert self.path is not None
        if not self._ready:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            with contextlib.closing(connect(self.path)) as conn:
                use_wal(conn)
                conn.execute(_SCHEMA)
            self._ready = True
        # A connection per use, closed at once: nothing is shared across a
        # fork, and nothing is left open when the app goes away.
        with contextlib.closing(connect(self.path)) as conn:
            yield conn

    def _fall_back(self, exc: BaseException) -> None:
        logger.warning(
            "The sandbox cannot use its state file %s (%s): it keeps its state in"
            " this process only, so under several worker processes logins fail."
            " Make the app's instance folder writable, or serve the sandbox in a"
            " process of its own with 'flask rocketpunch sandbox'.",
            self.path,
            type(exc).__name__,
        )
        self.path = None
