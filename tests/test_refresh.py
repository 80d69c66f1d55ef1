"""One refresh per refresh token: RefreshCoordinator shares a refresh between
the threads that need it and remembers its outcome for a while. (What the
token manager does with it is in ``test_manager.py``.)"""

from __future__ import annotations

import collections.abc as cabc
import threading
import time
import typing as t

import pytest
from support import FakeClock

from flask_rocketpunch.exceptions import OAuthError
from flask_rocketpunch.refresh import RefreshCoordinator
from flask_rocketpunch.tokens import Token

NOW = 1_700_000_000.0
OLD = Token("at-old", NOW + 10, "rt-old", frozenset({"profile"}))
NEW = Token("at-new", NOW + 900, "rt-new", frozenset({"profile"}))
JOIN = 5.0


class Counter:
    """A ``do_refresh`` that counts its calls and takes a little time."""

    def __init__(
        self,
        result: Token = NEW,
        *,
        delay: float = 0.0,
        error: BaseException | None = None,
        fail_first: BaseException | None = None,
    ) -> None:
        self.calls = 0
        self.seen: list[Token] = []
        self._lock = threading.Lock()
        self._result = result
        self._delay = delay
        self._error = error
        self._fail_first = fail_first

    def __call__(self, token: Token) -> Token:
        with self._lock:
            self.calls += 1
            first = self.calls == 1
            self.seen.append(token)
        if self._delay:
            time.sleep(self._delay)
        if first and self._fail_first is not None:
            raise self._fail_first
        if self._error is not None:
            raise self._error
        return self._result


def run_threads(
    count: int, target: cabc.Callable[[], tuple[Token, bool]]
) -> list[tuple[Token, bool] | BaseException]:
    """Run ``target`` in ``count`` threads released together; return each
    thread's result or exception."""
    results: list[tuple[Token, bool] | BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(count)

    def work() -> None:
        start.wait(JOIN)
        try:
            outcome: tuple[Token, bool] | BaseException = target()
        except BaseException as exc:
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert len(results) == count
    return results


# -- RefreshCoordinator ---------------------------------------------------------


def test_concurrent_refreshes_of_one_token_make_one_call() -> None:
    coordinator = RefreshCoordinator()
    do_refresh = Counter(delay=0.2)
    results = run_threads(20, lambda: coordinator.refresh(OLD, do_refresh))
    assert do_refresh.calls == 1
    assert do_refresh.seen == [OLD]
    pairs = [r for r in results if not isinstance(r, BaseException)]
    assert len(pairs) == 20
    assert {token for token, _ in pairs} == {NEW}
    assert sum(performed for _, performed in pairs) == 1


def test_old_token_within_remember_gets_the_result_without_a_call() -> None:
    clock = FakeClock(1000.0)
    coordinator = RefreshCoordinator(remember=60, clock=clock)
    do_refresh = Counter()
    assert coordinator.refresh(OLD, do_refresh) == (NEW, True)
    clock.now += 59
    assert coordinator.refresh(OLD, do_refresh) == (NEW, False)
    assert do_refresh.calls == 1


def test_same_refresh_token_with_a_newer_access_token_refreshes_again() -> None:
    # A provider that does not rotate refresh tokens: the token refreshed a
    # moment ago comes back with its new access token and the same refresh
    # token. Replaying the earlier result would hand back the old, rejected
    # access token.
    coordinator = RefreshCoordinator()
    do_refresh = Counter()
    coordinator.refresh(OLD, do_refresh)
    newer = Token("at-newer", NOW, "rt-old")
    assert coordinator.refresh(newer, do_refresh) == (NEW, True)
    assert do_refresh.calls == 2


def test_old_token_after_remember_calls_again() -> None:
    clock = FakeClock(1000.0)
    coordinator = RefreshCoordinator(remember=60, clock=clock)
    do_refresh = Counter()
    coordinator.refresh(OLD, do_refresh)
    clock.now += 61
    assert coordinator.refresh(OLD, do_refresh) == (NEW, True)
    assert do_refresh.calls == 2


def test_oauth_error_is_shared_with_the_waiters() -> None:
    error = OAuthError("invalid_grant", "The refresh token was revoked.")
    coordinator = RefreshCoordinator()
    do_refresh = Counter(delay=0.2, error=error)
    results = run_threads(10, lambda: coordinator.refresh(OLD, do_refresh))
    assert do_refresh.calls == 1
    assert all(isinstance(r, OAuthError) for r in results)
    assert all(r is error for r in results)


def test_oauth_error_is_replayed_for_a_later_call() -> None:
    clock = FakeClock(1000.0)
    coordinator = RefreshCoordinator(remember=60, clock=clock)
    do_refresh = Counter(error=OAuthError("invalid_grant"))
    with pytest.raises(OAuthError):
        coordinator.refresh(OLD, do_refresh)
    clock.now += 30
    with pytest.raises(OAuthError, match="invalid_grant"):
        coordinator.refresh(OLD, do_refresh)
    assert do_refresh.calls == 1


def test_other_errors_are_not_remembered() -> None:
    coordinator = RefreshCoordinator()
    do_refresh = Counter(fail_first=ConnectionError("provider down"))
    with pytest.raises(ConnectionError):
        coordinator.refresh(OLD, do_refresh)
    assert coordinator.refresh(OLD, do_refresh) == (NEW, True)
    assert do_refresh.calls == 2


def test_waiters_share_a_non_oauth_failure_and_the_next_request_retries() -> None:
    coordinator = RefreshCoordinator()
    do_refresh = Counter(delay=0.1, fail_first=ConnectionError("provider down"))
    results = run_threads(8, lambda: coordinator.refresh(OLD, do_refresh))
    assert do_refresh.calls == 1
    assert all(isinstance(r, ConnectionError) for r in results)

    assert coordinator.refresh(OLD, do_refresh) == (NEW, True)
    assert do_refresh.calls == 2


def test_different_tokens_refresh_in_parallel() -> None:
    coordinator = RefreshCoordinator()
    both_inside = threading.Barrier(2)
    calls: list[str | None] = []

    def do_refresh(token: Token) -> Token:
        calls.append(token.refresh_token)
        both_inside.wait(JOIN)  # breaks (raises) if refreshes are serialised
        return Token(f"new-{token.refresh_token}", NOW + 900)

    first = Token("a1", NOW, "rt-1")
    second = Token("a2", NOW, "rt-2")
    tokens = iter([first, second])
    lock = threading.Lock()

    def one() -> tuple[Token, bool]:
        with lock:
            token = next(tokens)
        return coordinator.refresh(token, do_refresh)

    results = run_threads(2, one)
    assert sorted(c or "" for c in calls) == ["rt-1", "rt-2"]
    assert sorted(
        r[0].access_token for r in results if not isinstance(r, BaseException)
    ) == ["new-rt-1", "new-rt-2"]


def test_oldest_outcomes_are_forgotten_beyond_max_outcomes() -> None:
    coordinator = RefreshCoordinator(max_outcomes=2)
    do_refresh = Counter()
    tokens = [Token(f"a{i}", NOW, f"rt-{i}") for i in range(3)]
    for token in tokens:
        coordinator.refresh(token, do_refresh)
    assert coordinator.refresh(tokens[2], do_refresh)[1] is False
    assert coordinator.refresh(tokens[0], do_refresh)[1] is True
    assert do_refresh.calls == 4


class RecordingShared:
    """A shared coordinator that refreshes at once and records what it got."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def init_app(self, app: t.Any) -> None:
        pass

    def refresh_once(
        self,
        key: str,
        stale: Token,
        do_refresh: cabc.Callable[[Token], Token],
        reload: cabc.Callable[[], Token | None],
    ) -> tuple[Token, bool]:
        self.keys.append(key)
        return do_refresh(stale), True

    def forget(self, token: Token) -> None:
        pass


def test_shared_coordinator_is_given_the_login_id() -> None:
    shared = RecordingShared()
    coordinator = RefreshCoordinator(shared)
    assert coordinator.refresh(OLD, Counter(), key="login-1") == (NEW, True)
    assert shared.keys == ["login-1"]


def test_forget_at_logout_forgets_the_whole_chain_of_refreshes() -> None:
    # A -> B -> C within the window, then a logout holding C: a copy of the
    # session that still holds A (or B) must go to the provider, not be
    # handed B (or C).
    a, b, c = (Token(f"at-{n}", NOW + 10, f"rt-{n}") for n in "abc")
    coordinator = RefreshCoordinator()
    coordinator.refresh(a, Counter(b))
    coordinator.refresh(b, Counter(c))
    unrelated = Token("at-x", NOW + 10, "rt-x")
    coordinator.refresh(unrelated, Counter(NEW))

    coordinator.forget(c)

    for stale in (a, b):
        again = Counter(NEW)
        assert coordinator.refresh(stale, again) == (NEW, True)
        assert again.seen == [stale]
    kept = Counter()
    assert coordinator.refresh(unrelated, kept) == (NEW, False)
    assert kept.calls == 0
