"""The default cross-process refresh coordinator, with real processes, a real
SQLite file and the sandbox over real HTTP: one refresh grant per stale
token however many processes want it, a dead winner replaced, and the
failure rules of the manager around it."""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import multiprocessing
import os
import sqlite3
import threading
import time
import typing as t
from pathlib import Path

import pytest
import requests

from flask_rocketpunch.crypto import keyring
from flask_rocketpunch.exceptions import OAuthError, ProviderError
from flask_rocketpunch.manager import TokenManager
from flask_rocketpunch.refresh import DoRefresh, RefreshCoordinator, Reload
from flask_rocketpunch.refresh_sqlite import SQLiteCoordinator
from flask_rocketpunch.sandbox import SandboxProvider, SandboxServer
from flask_rocketpunch.settings import load_settings
from flask_rocketpunch.storage import MemoryStorage
from flask_rocketpunch.tokens import Token

CLIENT_ID = "herd-client"
CLIENT_SECRET = "herd-secret"
SECRET_KEY = "coordinator-test-key"
LOGIN = "login-1"
SPAWN = multiprocessing.get_context("spawn")


def manager_for(
    token_url: str, db: str, stale: Token, *, lease: float = 5.0
) -> TokenManager:
    """A manager as one worker process has it: its own memory of the stale
    token (as a cookie would be), its own in-process coordinator, and the
    shared SQLite file."""
    settings = load_settings(
        {
            "ROCKETPUNCH_CLIENT_ID": CLIENT_ID,
            "ROCKETPUNCH_CLIENT_SECRET": CLIENT_SECRET,
            "ROCKETPUNCH_TOKEN_URL": token_url,
        }
    )
    storage = MemoryStorage()
    storage.set(LOGIN, stale)
    shared = SQLiteCoordinator(db, keys=lambda: keyring((SECRET_KEY,)), lease=lease)
    return TokenManager(
        storage=storage,
        key=LOGIN,
        settings=settings,
        http=requests.Session(),
        coordinator=RefreshCoordinator(shared),
        clock=time.time,
    )


def worker(
    token_url: str,
    db: str,
    stale: dict[str, t.Any],
    go: t.Any,
    out: t.Any,
    die_before_provider: bool = False,
) -> None:
    """One process refreshing ``stale``; puts what it got on ``out``."""
    token = Token.from_dict(stale)
    manager = manager_for(token_url, db, token, lease=1.5)
    if die_before_provider:
        manager.coordinator = RefreshCoordinator(DyingCoordinator(db))
    go.wait(30)
    try:
        new = manager.refresh(token)
    except Exception as exc:  # reported to the parent, which asserts
        out.put(("error", type(exc).__name__))
    else:
        out.put(("ok", new.access_token))


class DyingCoordinator(SQLiteCoordinator):
    """Takes the lease like any winner, then the process dies before it
    calls the provider."""

    def __init__(self, db: str) -> None:
        super().__init__(db, keys=lambda: keyring((SECRET_KEY,)), lease=1.5)

    def refresh_once(
        self, key: str, stale: Token, do_refresh: DoRefresh, reload: Reload
    ) -> tuple[Token, bool]:
        def die(token: Token) -> Token:
            os._exit(3)

        return super().refresh_once(key, stale, die, reload)


@pytest.fixture
def provider() -> SandboxProvider:
    provider = SandboxProvider(require_app_key=False)
    provider.register_client(CLIENT_ID, CLIENT_SECRET, "http://localhost/cb")
    return provider


@pytest.fixture
def token_url(provider: SandboxProvider) -> cabc.Iterator[str]:
    with SandboxServer(provider) as server:
        yield f"{server.url}/oauth/token"


def issued(provider: SandboxProvider) -> Token:
    data = provider.issue_token("minji", CLIENT_ID, "profile", expires_in=0)
    return Token.from_response(data, now=time.time())


def run_processes(
    count: int, token_url: str, db: str, stale: Token, *, first_dies: bool = False
) -> list[tuple[str, str]]:
    go, out = SPAWN.Event(), SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=worker,
            args=(token_url, db, stale.to_dict(), go, out, first_dies and i == 0),
        )
        for i in range(count)
    ]
    for process in processes:
        process.start()
    try:
        go.set()
        survivors = count - 1 if first_dies else count
        return [out.get(timeout=60) for _ in range(survivors)]
    finally:
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()


def test_processes_refreshing_one_token_make_one_grant_and_share_it(
    provider: SandboxProvider, token_url: str, tmp_path: Path
) -> None:
    stale = issued(provider)
    provider.faults.token_delay = 0.3

    results = run_processes(4, token_url, str(tmp_path / "refresh.sqlite3"), stale)

    assert provider.grant_counts()["refresh_token"] == 1
    assert {status for status, _ in results} == {"ok"}
    assert len({access for _, access in results}) == 1
    assert stale.access_token not in {access for _, access in results}


def test_a_winner_that_dies_before_the_provider_call_is_replaced(
    provider: SandboxProvider, token_url: str, tmp_path: Path
) -> None:
    stale = issued(provider)
    db = str(tmp_path / "refresh.sqlite3")
    # The dying process takes the lease before the others start waiting.
    go, out = SPAWN.Event(), SPAWN.Queue()
    dying = SPAWN.Process(
        target=worker, args=(token_url, db, stale.to_dict(), go, out, True)
    )
    dying.start()
    go.set()
    dying.join(60)
    assert dying.exitcode == 3

    results = run_processes(2, token_url, db, stale)

    assert {status for status, _ in results} == {"ok"}
    assert len({access for _, access in results}) == 1
    assert provider.grant_counts()["refresh_token"] == 1


def test_a_request_still_carrying_the_old_token_gets_the_new_one_without_a_grant(
    provider: SandboxProvider, token_url: str, tmp_path: Path
) -> None:
    stale = issued(provider)
    db = str(tmp_path / "refresh.sqlite3")
    first = manager_for(token_url, db, stale).refresh(stale)

    # Another process, later, with the old cookie: the outcome is shared.
    late = manager_for(token_url, db, stale).refresh(stale)

    assert late.access_token == first.access_token
    assert late.refresh_token == first.refresh_token
    assert provider.grant_counts()["refresh_token"] == 1


def test_forget_at_logout_sends_a_stale_copy_to_the_provider(
    provider: SandboxProvider, token_url: str, tmp_path: Path
) -> None:
    stale = issued(provider)
    db = str(tmp_path / "refresh.sqlite3")
    owner = manager_for(token_url, db, stale)
    new = owner.refresh(stale)
    owner.coordinator.forget(new)

    copy = manager_for(token_url, db, stale)
    with pytest.raises(Exception, match="no longer valid"):
        copy.refresh(stale)

    assert provider.grant_counts()["refresh_token"] == 2
    assert provider.requests_to("token")[-1].status == 400


def test_invalid_grant_is_shared_with_waiters_not_repeated(
    provider: SandboxProvider, token_url: str, tmp_path: Path
) -> None:
    stale = issued(provider)
    db = str(tmp_path / "refresh.sqlite3")
    provider.faults.refresh_invalid_grant = True
    provider.faults.token_delay = 0.2
    managers = [manager_for(token_url, db, stale) for _ in range(4)]
    errors: list[str] = []

    def refresh(manager: TokenManager) -> None:
        try:
            manager.refresh(stale)
        except Exception as exc:  # collected and asserted below
            errors.append(type(exc).__name__)

    threads = [threading.Thread(target=refresh, args=(m,)) for m in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == ["ReauthorizationRequired"] * 4
    assert provider.grant_counts()["refresh_token"] == 1
    assert all(m.storage.get(LOGIN) is None for m in managers)


class HeldCoordinator(SQLiteCoordinator):
    """A winner that holds its (long) lease until told to go on."""

    def __init__(self, db: str, release: threading.Event) -> None:
        super().__init__(db, keys=lambda: keyring((SECRET_KEY,)), lease=30)
        self.release = release

    def refresh_once(
        self, key: str, stale: Token, do_refresh: DoRefresh, reload: Reload
    ) -> tuple[Token, bool]:
        def held(token: Token) -> Token:
            self.release.wait(10)
            return do_refresh(token)

        return super().refresh_once(key, stale, held, reload)


def wait_for_lease(db: str) -> None:
    """Return once some process holds a lease in ``db`` (bounded)."""
    for _ in range(1000):
        if os.path.exists(db):
            with contextlib.closing(sqlite3.connect(db)) as conn:
                try:
                    row = conn.execute(
                        "SELECT 1 FROM rocketpunch_refreshes WHERE owner IS NOT NULL"
                    ).fetchone()
                except sqlite3.OperationalError:  # the table is being made
                    row = None
            if row is not None:
                return
        time.sleep(0.01)
    raise AssertionError("no process took the lease")


@pytest.mark.parametrize("still_valid", [True, False])
def test_a_wait_that_runs_out_keeps_a_valid_token_or_answers_503(
    provider: SandboxProvider, token_url: str, tmp_path: Path, still_valid: bool
) -> None:
    data = provider.issue_token("minji", CLIENT_ID, "profile", expires_in=900)
    life = 60 if still_valid else -1
    stale = Token.from_response({**data, "expires_in": 900}, now=time.time())
    stale = Token(stale.access_token, time.time() + life, stale.refresh_token)
    db = str(tmp_path / "refresh.sqlite3")
    release = threading.Event()
    holder = manager_for(token_url, db, stale)
    holder.coordinator = RefreshCoordinator(HeldCoordinator(db, release))
    thread = threading.Thread(target=holder.refresh, args=(stale,))
    thread.start()
    try:
        wait_for_lease(db)
        waiter = manager_for(token_url, db, stale, lease=0.4)
        waiter.settings = load_settings(
            {
                "ROCKETPUNCH_CLIENT_ID": CLIENT_ID,
                "ROCKETPUNCH_CLIENT_SECRET": CLIENT_SECRET,
                "ROCKETPUNCH_TOKEN_URL": token_url,
                "ROCKETPUNCH_REFRESH_LEEWAY": 3600,
            }
        )
        if still_valid:
            assert waiter.valid_token() == stale
        else:
            with pytest.raises(ProviderError) as info:
                waiter.valid_token()
            assert info.value.reason == "refresh_pending"
            assert info.value.http_status == 503
    finally:
        release.set()
        thread.join(10)


def test_an_unusable_file_falls_back_to_refreshing_in_process(
    provider: SandboxProvider,
    token_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    stale = issued(provider)

    new = manager_for(token_url, str(blocker / "refresh.sqlite3"), stale).refresh(stale)

    assert new.access_token != stale.access_token
    assert provider.grant_counts()["refresh_token"] == 1
    assert any("cannot be used" in r.getMessage() for r in caplog.records)


def test_outcomes_are_sealed_in_the_file(
    provider: SandboxProvider, token_url: str, tmp_path: Path
) -> None:
    stale = issued(provider)
    db = tmp_path / "refresh.sqlite3"
    new = manager_for(token_url, str(db), stale).refresh(stale)

    content = db.read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("refresh.sqlite3-*")
    )
    for secret in (new.access_token, new.refresh_token, stale.refresh_token):
        assert secret is not None
        assert secret.encode() not in content


def test_an_oauth_error_outcome_is_replayed_to_a_late_process(
    provider: SandboxProvider, token_url: str, tmp_path: Path
) -> None:
    stale = issued(provider)
    db = str(tmp_path / "refresh.sqlite3")
    shared = SQLiteCoordinator(db, keys=lambda: keyring((SECRET_KEY,)))
    provider.faults.refresh_invalid_grant = True

    def refresh(token: Token) -> Token:
        raise OAuthError("invalid_grant", "used")

    with pytest.raises(OAuthError):
        shared.refresh_once(LOGIN, stale, refresh, lambda: None)
    with pytest.raises(OAuthError) as info:
        shared.refresh_once(LOGIN, stale, refresh, lambda: None)
    assert info.value.error == "invalid_grant"
