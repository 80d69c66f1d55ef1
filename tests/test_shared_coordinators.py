"""Every cross-process refresh coordinator keeps the same promises, whatever
it stands on: the SQLite file of one host (the default) and Redis (every
host). Each "process" is a coordinator of its own, in a thread or in a
process started with the ``spawn`` method."""

from __future__ import annotations

import collections.abc as cabc
import concurrent.futures
import functools
import itertools
import multiprocessing
import os
import threading
import time
import typing as t
from pathlib import Path

import pytest
from coordination import HANG, Backend, Coordinator, Refresher, make_token

from flask_rocketpunch.exceptions import OAuthError, ProviderError
from flask_rocketpunch.tokens import Token

Make = cabc.Callable[..., Coordinator]


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite", str(tmp_path / "refresh.sqlite3"))
    return Backend("redis", request.getfixturevalue("redis_url"))


@pytest.fixture
def make(backend: Backend, request: pytest.FixtureRequest) -> Make:
    """Makes a coordinator on ``backend``, as another process would."""
    if backend.kind == "redis":
        return functools.partial(
            backend.coordinator, request.getfixturevalue("redis_client")
        )
    return backend.coordinator


def test_one_provider_call_for_threads_each_with_its_own_coordinator(
    make: Make,
) -> None:
    stale, new = make_token("stale"), make_token("new")
    refresher = Refresher(new, delay=0.2)
    coordinators = [make() for _ in range(8)]
    start = threading.Barrier(len(coordinators))

    def refresh(coordinator: Coordinator) -> tuple[Token, bool]:
        start.wait(timeout=HANG)
        return coordinator.refresh_once("login", stale, refresher, lambda: stale)

    with concurrent.futures.ThreadPoolExecutor(len(coordinators)) as pool:
        results = list(pool.map(refresh, coordinators, timeout=HANG))

    assert refresher.calls == [stale]
    assert {token for token, _ in results} == {new}
    assert sorted(performed for _, performed in results) == [False] * 7 + [True]


def test_a_late_caller_within_the_window_gets_the_new_token_without_a_call(
    make: Make,
) -> None:
    stale, new = make_token("stale"), make_token("new")
    make().refresh_once("login", stale, Refresher(new), lambda: stale)
    late = Refresher(make_token("unused"))

    assert make().refresh_once("login", stale, late, lambda: stale) == (new, False)
    assert late.calls == []


def test_forget_drops_every_outcome_that_handed_out_a_token(make: Make) -> None:
    stale, new = make_token("stale"), make_token("new")
    make().refresh_once("login", stale, Refresher(new), lambda: stale)
    again = Refresher(make_token("again"))

    make().forget(new)
    make().forget(make_token("unknown"))  # nothing to forget
    result = make().refresh_once("login", stale, again, lambda: stale)

    assert result == (again.result, True)
    assert again.calls == [stale]


def test_forget_drops_the_whole_chain_of_refreshes_that_led_to_a_token(
    make: Make,
) -> None:
    a, b, c = make_token("a"), make_token("b"), make_token("c")
    make().refresh_once("login", a, Refresher(b), lambda: a)
    make().refresh_once("login", b, Refresher(c), lambda: b)

    make().forget(c)

    for stale in (a, b):
        again = Refresher(make_token(f"again-{stale.access_token}"))
        result = make().refresh_once(
            "login", stale, again, functools.partial(lambda s: s, stale)
        )
        assert result == (again.result, True)
        assert again.calls == [stale]


def test_the_winner_skips_the_provider_when_storage_has_a_newer_token(
    make: Make,
) -> None:
    stale, newer = make_token("stale"), make_token("newer")
    refresher = Refresher(make_token("unused"))

    first = make().refresh_once("login", stale, refresher, lambda: newer)
    late = make().refresh_once("login", stale, refresher, lambda: stale)

    assert refresher.calls == []
    assert first == (newer, False)
    assert late == (newer, False)


def test_an_oauth_error_is_shared_with_the_waiters_and_late_callers(
    make: Make,
) -> None:
    stale = make_token("stale")
    rejected = OAuthError("invalid_grant", "Refresh token was already used.")
    winner, others = Refresher(stale, delay=0.3, error=rejected), Refresher(stale)
    taken = threading.Event()
    winners_errors: list[OAuthError] = []
    first = make()

    def reload_and_signal() -> Token:
        taken.set()  # the winner holds the refresh now
        return stale

    def win() -> None:
        try:
            first.refresh_once("login", stale, winner, reload_and_signal)
        except OAuthError as exc:
            winners_errors.append(exc)

    thread = threading.Thread(target=win)
    thread.start()
    assert taken.wait(HANG)
    with pytest.raises(OAuthError) as waiting:
        make().refresh_once("login", stale, others, lambda: stale)
    thread.join(HANG)
    with pytest.raises(OAuthError) as late:
        make().refresh_once("login", stale, others, lambda: stale)

    assert winners_errors == [rejected]
    for caught in (waiting, late):
        assert caught.value.error == "invalid_grant"
        assert caught.value.error_description == "Refresh token was already used."
    assert len(winner.calls) == 1
    assert others.calls == []


def test_an_unusable_answer_frees_the_refresh_at_once(make: Make) -> None:
    """The provider answered, but not with a token: its refresh token may be
    spent, so the next request tries again (and learns it from the provider)."""
    stale, new = make_token("stale"), make_token("new")
    broken = ProviderError("Not JSON.", reason="invalid_response")

    with pytest.raises(ProviderError):
        make().refresh_once("login", stale, Refresher(new, error=broken), lambda: stale)
    retried = Refresher(new)
    result = make().refresh_once("login", stale, retried, lambda: stale)

    assert result == (new, True)
    assert retried.calls == [stale]


def test_a_provider_that_is_down_is_told_to_waiters_then_tried_again(
    make: Make,
) -> None:
    """Down or too slow: the processes that wanted the same refresh take the
    failure (and keep their valid token) instead of calling it again at once;
    a moment later the refresh is free."""
    stale, new = make_token("stale"), make_token("new")
    down = ProviderError("Rocketpunch is down.", reason="connection")

    with pytest.raises(ProviderError):
        make(unavailable_for=0.3).refresh_once(
            "login", stale, Refresher(new, error=down), lambda: stale
        )
    waiter = Refresher(new)
    with pytest.raises(ProviderError) as told:
        make(unavailable_for=0.3).refresh_once("login", stale, waiter, lambda: stale)
    assert told.value.reason == "connection"
    assert waiter.calls == []

    time.sleep(0.4)  # a lower bound: the shared failure has lapsed
    result = make(unavailable_for=0.3).refresh_once(
        "login", stale, waiter, lambda: stale
    )
    assert result == (new, True)
    assert waiter.calls == [stale]


def test_a_wait_that_runs_out_raises_refresh_pending(make: Make) -> None:
    """Another process holds the refresh past the waiter's deadline: the
    waiter gives up with a 503, and never calls the provider."""
    stale, new = make_token("stale"), make_token("new")
    entered, release = threading.Event(), threading.Event()

    def stuck(token: Token) -> Token:
        entered.set()
        release.wait(HANG)
        return new

    holder = make()
    thread = threading.Thread(
        target=holder.refresh_once, args=("login", stale, stuck, lambda: stale)
    )
    thread.start()
    try:
        assert entered.wait(HANG)
        ticks = itertools.count(0.0, 5.0)  # each look five seconds after the last
        waiter = make(clock=functools.partial(next, ticks), sleep=lambda _: None)
        refresher = Refresher(make_token("unused"))
        with pytest.raises(ProviderError) as caught:
            waiter.refresh_once("login", stale, refresher, lambda: stale)
    finally:
        release.set()
        thread.join(HANG)

    assert caught.value.reason == "refresh_pending"
    assert caught.value.http_status == 503
    assert refresher.calls == []


def _die_holding_the_refresh(kind: t.Any, location: str, stale: Token) -> None:
    """A worker process that wins the refresh, then dies before the provider."""

    def die(token: Token) -> Token:
        os._exit(3)

    coordinator = Backend(kind, location).coordinator()
    coordinator.refresh_once("login", stale, die, lambda: stale)
    os._exit(1)  # pragma: no cover - die() ends the process first


def test_a_winner_that_dies_before_the_provider_is_replaced_after_its_lease(
    backend: Backend, make: Make
) -> None:
    stale, new = make_token("stale"), make_token("new")
    context = multiprocessing.get_context("spawn")
    child = context.Process(
        target=_die_holding_the_refresh, args=(backend.kind, backend.location, stale)
    )
    child.start()
    child.join(HANG)
    assert child.exitcode == 3
    refresher = Refresher(new)

    result = make().refresh_once("login", stale, refresher, lambda: stale)

    assert result == (new, True)
    assert refresher.calls == [stale]
