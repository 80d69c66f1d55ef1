"""A SQLite file shared by the processes of one host: how it is opened, how
it is switched to WAL, and what using it can raise. Used by the refresh
coordinator (:mod:`~flask_rocketpunch.refresh_sqlite`) and the sandbox's
ledger."""

from __future__ import annotations

import os
import sqlite3
import time

#: What using the file can raise: SQLite's errors, and the OSError of making
#: its folder (a read-only file system, no write access, a file in the way).
FILE_ERRORS = (sqlite3.Error, OSError)

#: Seconds a statement waits for another process's lock.
TIMEOUT = 10.0


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A new connection in autocommit mode (statements say ``BEGIN``
    themselves); one per use, so nothing is shared across a fork or a
    thread."""
    return sqlite3.connect(path, timeout=TIMEOUT, isolation_level=None)


def use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL, waiting for other processes' locks as any
    statement does. The switch is a lock upgrade that SQLite does not wait
    for (``database is locked`` at once, to avoid a deadlock), and workers
    that start together all make it on a new file."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(0.01)
