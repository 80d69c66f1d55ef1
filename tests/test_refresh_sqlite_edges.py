"""The SQLite coordinator at the edges: a new file that several processes
open at once, and a file that cannot be used, where refreshes go on, shared
between the threads of each process only, with a warning, never an error for
the request (a read-only instance folder, a file in the way, a file lost
during a refresh)."""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import functools
import logging
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from flask_rocketpunch.crypto import keyring_for
from flask_rocketpunch.exceptions import ProviderError
from flask_rocketpunch.refresh_sqlite import SQLiteCoordinator
from flask_rocketpunch.tokens import Token

NOW = 1_700_000_000.0
STALE = Token("at-stale", NOW + 10, "rt-stale", frozenset({"profile"}))
FRESH = Token("at-fresh", NOW + 900, "rt-fresh", frozenset({"profile"}))
LOGIN = "login-1"


def coordinator(path: Path) -> SQLiteCoordinator:
    keys = functools.partial(keyring_for, {"SECRET_KEY": "sqlite-tests"})
    return SQLiteCoordinator(path, keys=keys, clock=lambda: NOW)


def a_directory_in_place_of_the_file(tmp_path: Path) -> Path:
    path = tmp_path / "refresh.sqlite3"
    path.mkdir()
    return path


def a_file_in_place_of_the_folder(tmp_path: Path) -> Path:
    # As a read-only file system or a folder without write access: the
    # folder cannot be made (this suite may run as root, which ignores
    # permissions).
    (tmp_path / "instance").write_text("not a folder")
    return tmp_path / "instance" / "refresh.sqlite3"


#: Makes an unusable coordination file's path in a folder.
Unusable = cabc.Callable[[Path], Path]

UNUSABLE = [
    pytest.param(a_directory_in_place_of_the_file, id="directory-in-place-of-file"),
    pytest.param(a_file_in_place_of_the_folder, id="folder-cannot-be-made"),
]


@pytest.mark.parametrize("unusable", UNUSABLE)
def test_unusable_file_refreshes_in_this_process_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, unusable: Unusable
) -> None:
    shared = coordinator(unusable(tmp_path))
    calls: list[Token] = []

    def do_refresh(token: Token) -> Token:
        calls.append(token)
        return FRESH

    with caplog.at_level(logging.WARNING, logger="flask_rocketpunch"):
        first = shared.refresh_once(LOGIN, STALE, do_refresh, lambda: STALE)
        second = shared.refresh_once(LOGIN, STALE, do_refresh, lambda: STALE)

    assert first == second == (FRESH, True)
    assert calls == [STALE, STALE]
    warnings = [r for r in caplog.records if "cannot be used" in r.getMessage()]
    assert len(warnings) == 1
    assert "instance folder writable" in warnings[0].getMessage()


@pytest.mark.parametrize("unusable", UNUSABLE)
def test_unusable_file_at_logout_only_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, unusable: Unusable
) -> None:
    shared = coordinator(unusable(tmp_path))
    with caplog.at_level(logging.WARNING, logger="flask_rocketpunch"):
        shared.forget(FRESH)
    assert "coordination file failed" in caplog.text


def _lose_the_file(path: Path) -> None:
    """Put a directory where the coordination file was."""
    for suffix in ("", "-wal", "-shm"):
        target = Path(f"{path}{suffix}")
        if target.exists():
            os.remove(target)
    path.mkdir()


def test_file_lost_during_the_refresh_still_gives_the_new_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "refresh.sqlite3"
    shared = coordinator(path)

    def do_refresh(token: Token) -> Token:
        _lose_the_file(path)
        return FRESH

    with caplog.at_level(logging.WARNING, logger="flask_rocketpunch"):
        result = shared.refresh_once(LOGIN, STALE, do_refresh, lambda: STALE)
    assert result == (FRESH, True)
    assert "coordination file failed" in caplog.text


def test_file_lost_during_a_failed_refresh_raises_the_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "refresh.sqlite3"
    shared = coordinator(path)

    def do_refresh(token: Token) -> Token:
        _lose_the_file(path)
        raise ProviderError("Rocketpunch is down.", reason="server_error")

    with (
        caplog.at_level(logging.WARNING, logger="flask_rocketpunch"),
        pytest.raises(ProviderError, match="down"),
    ):
        shared.refresh_once(LOGIN, STALE, do_refresh, lambda: STALE)
    assert "coordination file failed" in caplog.text


def test_new_file_locked_by_another_process_still_coordinates(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The first refresh on a host: several workers open the new file at
    once, one of them holds its write lock while another switches it to
    WAL. The switch waits as any statement does, and the refresh is shared."""
    path = tmp_path / "refresh.sqlite3"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, other.execute, args=("COMMIT",))
    release.start()
    try:
        with caplog.at_level(logging.WARNING, logger="flask_rocketpunch"):
            first = coordinator(path).refresh_once(
                LOGIN, STALE, lambda token: FRESH, lambda: STALE
            )
    finally:
        release.join(5)
        other.close()
    # Another process, a moment later: the outcome, not a second refresh.
    second = coordinator(path).refresh_once(
        LOGIN, STALE, lambda token: FRESH, lambda: STALE
    )
    assert "cannot be used" not in caplog.text
    assert first == (FRESH, True)
    assert second == (FRESH, False)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
