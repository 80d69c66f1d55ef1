"""RedisStorage and RedisCoordinator against a real Redis server.

The server comes from ``REDIS_URL`` (see ``services.py``); the provider is
the sandbox served over HTTP on 127.0.0.1. "Processes" and "hosts" are
separate apps, each with its own extension and in-process coordinator, so
the only thing they share is Redis: in threads, and in real processes
started with the ``spawn`` method.
"""

from __future__ import annotations

import collections.abc as cabc
import concurrent.futures
import functools
import hashlib
import itertools
import logging
import multiprocessing
import os
import secrets
import socket
import threading
import time
import typing as t

import pytest
import redis
from coordination import HANG, SECRET_KEY, Refresher, bare_app, make_token
from flask import Flask
from flask.testing import FlaskClient
from redis.backoff import NoBackoff
from redis.retry import Retry

from flask_rocketpunch import (
    RocketpunchOAuth,
    Token,
    current_token,
    login_required_rocketpunch,
    rocketpunch,
)
from flask_rocketpunch.crypto import keyring_for
from flask_rocketpunch.exceptions import (
    ConfigurationError,
    OAuthError,
    ProviderError,
    StorageError,
)
from flask_rocketpunch.refresh import refresh_key
from flask_rocketpunch.sandbox import SandboxProvider
from flask_rocketpunch.storage.redis import RedisCoordinator, RedisStorage
from flask_rocketpunch.testing import complete_login, login_as, logout

LOGIN_ID_KEY = "_rocketpunch_login"

Config = cabc.Mapping[str, t.Any]


# -- helpers --------------------------------------------------------------------


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def build_app(
    config: Config,
    *,
    storage: RedisStorage | None = None,
    coordinator: RedisCoordinator | None = None,
    name: str = "redis_app",
    **settings: t.Any,
) -> Flask:
    """An app with a ``/private`` page that calls the API with the user's
    token and answers which access token it used (as a digest)."""
    app = Flask(name)
    app.config.update(SECRET_KEY=SECRET_KEY, **config)
    for key, value in settings.items():
        app.config[key if key.startswith("SECRET_") else f"ROCKETPUNCH_{key}"] = value
    RocketpunchOAuth(app, storage=storage, coordinator=coordinator)

    @app.get("/private")
    @login_required_rocketpunch
    def private() -> dict[str, t.Any]:
        posts = rocketpunch.get("posts")
        token = current_token()
        assert token is not None
        return {"posts": posts.status_code, "token": digest(token.access_token)}

    return app


def bound(storage: RedisStorage, app: Flask | None = None) -> RedisStorage:
    storage.init_app(app or bare_app())
    return storage


def bound_coordinator(
    client: redis.Redis, app: Flask | None = None, **options: t.Any
) -> RedisCoordinator:
    coordinator = RedisCoordinator(client, **options)
    coordinator.init_app(app or bare_app())
    return coordinator


def as_text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def dump(client: redis.Redis) -> str:
    """Every key and every value in the database, as text."""
    lines = []
    for raw in client.scan_iter(count=1000):
        key = as_text(raw)
        kind = as_text(client.type(key))
        if kind == "string":
            value: object = client.get(key)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "set":
            value = client.smembers(key)
        else:  # pragma: no cover - the storage writes no other type
            value = kind
        lines.append(f"{key} {value!r}")
    return "\n".join(lines)


def session_cookie(browser: FlaskClient) -> str:
    cookie = browser.get_cookie("session")
    assert cookie is not None
    return cookie.value


def login_id(browser: FlaskClient) -> str:
    with browser.session_transaction() as saved:
        value = saved[LOGIN_ID_KEY]
    assert isinstance(value, str)
    return value


def browser_with(app: Flask, cookie: str) -> FlaskClient:
    browser = app.test_client()
    browser.set_cookie("session", cookie, domain="localhost")
    return browser


def newest_access_token(provider: SandboxProvider) -> str:
    return list(provider.access_tokens)[-1]


def bearers(provider: SandboxProvider) -> set[str]:
    return {r.headers["Authorization"] for r in provider.requests_to("posts")}


def lock_key(token: Token) -> str:
    return f"rocketpunch:refresh:lock:{refresh_key(token)}"


def done_key(token: Token) -> str:
    return f"rocketpunch:refresh:done:{refresh_key(token)}"


@pytest.fixture
def storage(redis_client: redis.Redis) -> RedisStorage:
    return bound(RedisStorage(redis_client))


@pytest.fixture
def closed_url() -> str:
    """A Redis URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


# -- the storage ------------------------------------------------------------------


def test_set_get_delete_round_trip(storage: RedisStorage) -> None:
    token = make_token("a")

    assert storage.get("login-a") is None
    storage.set("login-a", token)
    assert storage.get("login-a") == token
    storage.delete("login-a")
    assert storage.get("login-a") is None
    storage.delete("login-a")  # deleting twice is fine


def test_logins_are_kept_apart_by_login_id(storage: RedisStorage) -> None:
    first, second = make_token("first"), make_token("second")
    storage.set("login-1", first)
    storage.set("login-2", second)

    storage.delete("login-1")

    assert storage.get("login-1") is None
    assert storage.get("login-2") == second


def test_key_prefix_keeps_two_storages_apart(redis_client: redis.Redis) -> None:
    one = bound(RedisStorage(redis_client, key_prefix="app-one:"))
    two = bound(RedisStorage(redis_client, key_prefix="app-two:"))
    one.set("login", make_token("one"))

    assert two.get("login") is None
    keys = [as_text(key) for key in redis_client.scan_iter()]
    assert keys
    assert all(key.startswith("app-one:") for key in keys)


def test_ttl_is_thirty_days_and_renewed_by_every_write(
    storage: RedisStorage, redis_client: redis.Redis
) -> None:
    month = 30 * 24 * 3600
    old, new = make_token("old"), make_token("new")
    storage.set("login", old)
    keys = redis_client.keys()
    assert len(keys) == 2  # the login and its user's index
    for key in keys:
        assert month - 60 <= redis_client.ttl(key) <= month

    for key in keys:  # as if a month had nearly gone by
        redis_client.expire(key, 100)
    assert storage.replace("login", old, new)

    for key in keys:
        assert month - 60 <= redis_client.ttl(key) <= month


def test_a_dump_of_redis_shows_no_token_secret_login_id_or_user(
    redis_client: redis.Redis,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_config: dict[str, str],
) -> None:
    storage = RedisStorage(redis_client)
    app = build_app(rocketpunch_config, storage=storage, REFRESH_LEEWAY=1000)
    browser = app.test_client()
    complete_login(browser)
    assert browser.get("/private").status_code == 200  # a refresh: new tokens
    stored = storage.get(login_id(browser))
    assert stored is not None
    assert stored.subject is not None

    text = dump(redis_client)

    assert "refresh:done:" in text  # the refresh's outcome is kept too
    secrets_seen = [
        *rocketpunch_provider.access_tokens,
        *rocketpunch_provider.refresh_tokens,
        rocketpunch_config["ROCKETPUNCH_CLIENT_SECRET"],
        SECRET_KEY,
        login_id(browser),
        stored.subject,
    ]
    assert len(rocketpunch_provider.refresh_tokens) == 2
    for secret in secrets_seen:
        assert secret not in text
        assert secret[-16:] not in text


def test_tampered_value_and_another_logins_value_read_as_none(
    storage: RedisStorage, redis_client: redis.Redis
) -> None:
    storage.set("login-1", make_token("one"))
    storage.set("login-2", make_token("two"))
    record_1 = f"rocketpunch:login:{digest('login-1')}"
    record_2 = f"rocketpunch:login:{digest('login-2')}"
    sealed = as_text(redis_client.hget(record_1, "t"))

    redis_client.hset(record_2, "t", sealed)  # moved to another login
    middle = len(sealed) // 2
    flipped = "A" if sealed[middle] != "A" else "B"
    redis_client.hset(record_1, "t", sealed[:middle] + flipped + sealed[middle + 1 :])

    assert storage.get("login-2") is None
    assert storage.get("login-1") is None


def test_rotated_secret_key_still_opens_with_the_fallback(
    redis_client: redis.Redis,
) -> None:
    token = make_token("rotated")
    bound(RedisStorage(redis_client), bare_app(SECRET_KEY="old-key")).set(
        "login", token
    )

    rotated = bound(
        RedisStorage(redis_client),
        bare_app(SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["old-key"]),
    )
    forgotten = bound(RedisStorage(redis_client), bare_app(SECRET_KEY="new-key"))

    assert rotated.get("login") == token
    assert forgotten.get("login") is None
    assert rotated.logins_of("OA-user-1") == [("login", token)]
    assert forgotten.logins_of("OA-user-1") == []
    rotated.set("login", token)  # sealed again, under the new key
    assert forgotten.get("login") == token


def test_replace_stores_only_over_the_old_token(storage: RedisStorage) -> None:
    old, new, other = make_token("old"), make_token("new"), make_token("other")
    storage.set("login", old)

    assert not storage.replace("login", other, new)
    assert storage.get("login") == old
    assert storage.replace("login", old, new)
    assert storage.get("login") == new
    assert not storage.replace("login", old, other)  # a late, older refresh
    assert storage.get("login") == new

    storage.delete("login")
    assert not storage.replace("login", new, other)  # a logout is not undone
    assert storage.get("login") is None


def test_logins_of_finds_every_login_of_one_user(
    storage: RedisStorage, redis_client: redis.Redis
) -> None:
    first, second = make_token("1", "OA-minji"), make_token("2", "OA-minji")
    storage.set("phone", first)
    storage.set("laptop", second)
    storage.set("desk", make_token("3", "OA-seojun"))
    storage.set("script", make_token("4", None))

    assert sorted(storage.logins_of("OA-minji")) == sorted(
        [("phone", first), ("laptop", second)]
    )
    storage.delete("phone")
    assert storage.logins_of("OA-minji") == [("laptop", second)]
    assert storage.logins_of("OA-nobody") == []

    redis_client.delete(f"rocketpunch:login:{digest('laptop')}")  # expired
    assert storage.logins_of("OA-minji") == []
    assert not redis_client.exists(f"rocketpunch:subject:{digest('OA-minji')}")


def test_a_login_stored_for_another_user_leaves_the_first_users_index(
    storage: RedisStorage,
) -> None:
    storage.set("login", make_token("1", "OA-minji"))
    moved = make_token("2", "OA-seojun")

    storage.set("login", moved)

    assert storage.logins_of("OA-minji") == []
    assert storage.logins_of("OA-seojun") == [("login", moved)]


def test_purge_drops_index_entries_of_expired_logins(
    storage: RedisStorage, redis_client: redis.Redis
) -> None:
    kept, other = make_token("kept", "OA-minji"), make_token("other", "OA-seojun")
    storage.set("expired", make_token("gone", "OA-minji"))
    storage.set("kept", kept)
    storage.set("other", other)
    redis_client.delete(f"rocketpunch:login:{digest('expired')}")
    elsewhere = bound(RedisStorage(redis_client, key_prefix="rocketpunch*:"))
    elsewhere.set("expired", make_token("elsewhere", "OA-minji"))
    redis_client.delete(f"rocketpunch*:login:{digest('expired')}")

    assert storage.purge() == 0

    index = f"rocketpunch:subject:{digest('OA-minji')}"
    assert redis_client.smembers(index) == {digest("kept").encode()}
    assert storage.logins_of("OA-minji") == [("kept", kept)]
    assert storage.logins_of("OA-seojun") == [("other", other)]
    # Another prefix, even one with a glob character, is left alone.
    assert redis_client.exists(f"rocketpunch*:subject:{digest('OA-minji')}")


def test_a_client_that_decodes_replies_works_too(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    try:
        storage = bound(RedisStorage(client))
        stale, new = make_token("stale"), make_token("new")
        storage.set("login", stale)
        coordinator = storage.coordinator()
        coordinator.init_app(bare_app())
        coordinator.refresh_once("login", stale, Refresher(new), lambda: stale)
        late = bound_coordinator(client)

        assert storage.get("login") == stale
        assert storage.logins_of("OA-user-1") == [("login", stale)]
        assert late.refresh_once("login", stale, Refresher(stale), lambda: stale) == (
            new,
            False,
        )
    finally:
        client.flushdb()
        client.close()


def test_storage_url_and_from_url_give_a_redis_storage(
    redis_url: str,
    redis_client: redis.Redis,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_config: dict[str, str],
) -> None:
    app = build_app(rocketpunch_config, STORAGE_URL=redis_url)
    ext = app.extensions["rocketpunch"]
    state = ext.app_state(app)
    browser = app.test_client()

    complete_login(browser)
    answer = browser.get("/private")

    assert isinstance(ext.storage_of(app), RedisStorage)
    assert isinstance(state.coordinator.shared, RedisCoordinator)
    assert answer.status_code == 200
    assert answer.get_json()["token"] == digest(
        newest_access_token(rocketpunch_provider)
    )
    assert redis_client.exists(f"rocketpunch:login:{digest(login_id(browser))}")


def test_login_refresh_and_logout_through_an_app(
    redis_client: redis.Redis,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_config: dict[str, str],
) -> None:
    storage = RedisStorage(redis_client)
    app = build_app(rocketpunch_config, storage=storage, REFRESH_LEEWAY=1000)
    browser = app.test_client()

    assert complete_login(browser).status_code == 302
    key = login_id(browser)
    first = storage.get(key)
    answer = browser.get("/private")
    refreshed = storage.get(key)

    assert answer.status_code == 200
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1
    assert first is not None
    assert refreshed is not None
    assert refreshed.refresh_token != first.refresh_token
    assert refreshed.access_token == newest_access_token(rocketpunch_provider)
    assert refreshed.access_token not in session_cookie(browser)

    assert logout(browser).status_code == 303
    assert storage.get(key) is None
    (revoked,) = rocketpunch_provider.requests_to("revoke")
    assert revoked.params["token"] == refreshed.refresh_token
    assert browser.get("/private").status_code == 302


def test_a_rejected_refresh_logs_out_and_deletes_the_login_from_redis(
    redis_client: redis.Redis,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_config: dict[str, str],
) -> None:
    storage = RedisStorage(redis_client)
    app = build_app(rocketpunch_config, storage=storage)
    browser = app.test_client()
    login_as(browser, expires_in=60, provider=rocketpunch_provider)
    rocketpunch_provider.faults.refresh_invalid_grant = True

    answer = browser.get("/private")

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/auth/rocketpunch/login")
    assert not redis_client.keys("rocketpunch:login:*")
    assert not redis_client.keys("rocketpunch:subject:*")


def test_logout_everywhere_ends_every_login_of_one_user(
    redis_client: redis.Redis,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_config: dict[str, str],
) -> None:
    storage = RedisStorage(redis_client)
    app = build_app(rocketpunch_config, storage=storage)
    phone, laptop, other = app.test_client(), app.test_client(), app.test_client()
    for browser, user in ((phone, "minji"), (laptop, "minji"), (other, "seojun")):
        assert complete_login(browser, user).status_code == 302
    minji = storage.get(login_id(phone))
    assert minji is not None
    assert minji.subject is not None
    refresh_tokens = {
        token.refresh_token for _, token in storage.logins_of(minji.subject)
    }

    ended = app.extensions["rocketpunch"].logout_everywhere(minji.subject, app)

    assert ended == 2
    revoked = {r.params["token"] for r in rocketpunch_provider.requests_to("revoke")}
    assert revoked == refresh_tokens
    assert len(revoked) == 2
    assert phone.get("/private").status_code == 302
    assert laptop.get("/private").status_code == 302
    assert other.get("/private").status_code == 200
    assert storage.logins_of(minji.subject) == []


# -- the coordinator ----------------------------------------------------------------


def test_one_refresh_grant_for_threads_each_with_its_own_app(
    redis_client: redis.Redis,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_config: dict[str, str],
) -> None:
    apps = [
        build_app(rocketpunch_config, storage=RedisStorage(redis_client), name=f"w{n}")
        for n in range(6)
    ]
    first = apps[0].test_client()
    login_as(first, expires_in=60, provider=rocketpunch_provider)
    cookie = session_cookie(first)
    rocketpunch_provider.faults.token_delay = 0.2
    start = threading.Barrier(len(apps))

    def visit(app: Flask) -> tuple[int, str]:
        browser = browser_with(app, cookie)
        start.wait(timeout=HANG)
        answer = browser.get("/private")
        return answer.status_code, answer.get_json()["token"]

    with concurrent.futures.ThreadPoolExecutor(len(apps)) as pool:
        results = list(pool.map(visit, apps, timeout=HANG))

    newest = newest_access_token(rocketpunch_provider)
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1
    assert results == [(200, digest(newest))] * len(apps)
    assert bearers(rocketpunch_provider) == {f"Bearer {newest}"}
    stored = bound(RedisStorage(redis_client), apps[0]).get(login_id(first))
    assert stored is not None
    assert stored.access_token == newest


def _visit_in_child(
    redis_url: str,
    config: dict[str, t.Any],
    cookie: str,
    start: t.Any,
    results: t.Any,
) -> None:
    """One worker process: its own app and Redis client, one request."""
    try:
        app = build_app(config, storage=RedisStorage.from_url(redis_url))
        browser = browser_with(app, cookie)
        start.wait(HANG)
        answer = browser.get("/private")
        results.put((answer.status_code, (answer.get_json() or {}).get("token")))
    except BaseException as exc:  # pragma: no cover - reported to the parent
        results.put((-1, repr(exc)))


def test_one_refresh_grant_for_concurrent_processes(
    redis_url: str,
    redis_client: redis.Redis,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_config: dict[str, str],
) -> None:
    processes = 4
    app = build_app(rocketpunch_config, storage=RedisStorage(redis_client))
    browser = app.test_client()
    login_as(browser, expires_in=60, provider=rocketpunch_provider)
    rocketpunch_provider.faults.token_delay = 0.2
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    results = context.Queue()
    children = [
        context.Process(
            target=_visit_in_child,
            args=(
                redis_url,
                rocketpunch_config,
                session_cookie(browser),
                start,
                results,
            ),
        )
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    try:
        answers = [results.get(timeout=HANG) for _ in children]
    finally:
        for child in children:
            child.join(HANG)

    newest = newest_access_token(rocketpunch_provider)
    assert [status for status, _ in answers] == [200] * processes, answers
    assert {used for _, used in answers} == {digest(newest)}
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1
    assert bearers(rocketpunch_provider) == {f"Bearer {newest}"}
    assert [child.exitcode for child in children] == [0] * processes


def _die_holding_the_lock(redis_url: str, config: dict[str, t.Any], key: str) -> None:
    """A worker that takes the refresh lock, then dies before the provider."""
    app = build_app(config, storage=RedisStorage.from_url(redis_url), TIMEOUT=0.5)
    ext = app.extensions["rocketpunch"]
    storage = ext.storage_of(app)
    stale = storage.get(key)
    assert stale is not None

    def die(token: Token) -> Token:
        os._exit(3)

    ext.app_state(app).coordinator.shared.refresh_once(
        key, stale, die, lambda: storage.get(key)
    )
    os._exit(1)  # pragma: no cover - die() ends the process first


def test_a_winner_that_dies_before_the_provider_is_replaced_after_its_lease(
    redis_url: str,
    redis_client: redis.Redis,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_config: dict[str, str],
) -> None:
    storage = RedisStorage(redis_client)
    app = build_app(rocketpunch_config, storage=storage, TIMEOUT=0.5)  # lease 2 s
    browser = app.test_client()
    stale = login_as(browser, expires_in=60, provider=rocketpunch_provider)
    context = multiprocessing.get_context("spawn")
    child = context.Process(
        target=_die_holding_the_lock,
        args=(redis_url, rocketpunch_config, login_id(browser)),
    )
    child.start()
    child.join(HANG)
    assert child.exitcode == 3
    assert redis_client.pttl(lock_key(stale)) > 0  # the dead winner's lease

    answer = browser.get("/private")

    newest = newest_access_token(rocketpunch_provider)
    assert answer.status_code == 200
    assert answer.get_json()["token"] == digest(newest)
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1
    stored = storage.get(login_id(browser))
    assert stored is not None
    assert stored.access_token == newest


def test_a_late_request_with_the_old_cookie_gets_the_new_token_without_a_grant(
    redis_client: redis.Redis,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_config: dict[str, str],
) -> None:
    """Tokens in the cookie, refreshes shared through Redis: a copy of the
    session from before a refresh, sent to another host within the window."""
    host_a = build_app(rocketpunch_config, coordinator=RedisCoordinator(redis_client))
    host_b = build_app(
        rocketpunch_config, coordinator=RedisCoordinator(redis_client), name="b"
    )
    browser = host_a.test_client()
    login_as(browser, expires_in=60, provider=rocketpunch_provider)
    old_cookie = session_cookie(browser)
    assert browser.get("/private").status_code == 200
    newest = newest_access_token(rocketpunch_provider)

    late = browser_with(host_b, old_cookie).get("/private")

    assert late.status_code == 200
    assert late.get_json()["token"] == digest(newest)
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1


def test_after_logout_the_old_cookie_is_not_handed_the_logged_out_token(
    redis_client: redis.Redis,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_config: dict[str, str],
) -> None:
    host_a = build_app(rocketpunch_config, coordinator=RedisCoordinator(redis_client))
    host_b = build_app(
        rocketpunch_config, coordinator=RedisCoordinator(redis_client), name="b"
    )
    browser = host_a.test_client()
    stale = login_as(browser, expires_in=60, provider=rocketpunch_provider)
    old_cookie = session_cookie(browser)
    assert browser.get("/private").status_code == 200
    assert redis_client.exists(done_key(stale))

    assert logout(browser).status_code == 303
    assert not redis_client.exists(done_key(stale))
    late = browser_with(host_b, old_cookie).get("/private")

    assert late.status_code == 302
    assert late.headers["Location"].startswith("/auth/rocketpunch/login")
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 2  # refused


def test_a_winner_whose_lease_ran_out_does_not_call_the_provider(
    redis_client: redis.Redis,
) -> None:
    """Reading storage took longer than the lease: another process took the
    refresh over meanwhile, and the slow one takes its outcome."""
    stale, new = make_token("stale"), make_token("new")
    slow_refresher, other_refresher = Refresher(make_token("x")), Refresher(new)
    other = bound_coordinator(redis_client)

    def slow_reload() -> Token:
        redis_client.delete(lock_key(stale))  # the lease ran out
        other.refresh_once("login", stale, other_refresher, lambda: stale)
        return stale

    result = bound_coordinator(redis_client).refresh_once(
        "login", stale, slow_refresher, slow_reload
    )

    assert result == (new, False)
    assert slow_refresher.calls == []
    assert other_refresher.calls == [stale]


@pytest.mark.parametrize(
    "outcome", ["t:not-a-sealed-token", "e:{not json", "e:[]", "x:unknown"]
)
def test_an_unreadable_outcome_is_an_invalid_grant(
    redis_client: redis.Redis, outcome: str
) -> None:
    stale = make_token("stale")
    redis_client.set(done_key(stale), outcome, px=60_000)
    refresher = Refresher(make_token("new"))

    with pytest.raises(OAuthError) as caught:
        bound_coordinator(redis_client).refresh_once(
            "login", stale, refresher, lambda: stale
        )

    assert caught.value.error == "invalid_grant"
    assert refresher.calls == []


@pytest.mark.parametrize(("expires_in", "status"), [(60, 200), (0, 503)])
def test_a_stuck_refresh_keeps_a_valid_token_else_answers_503_not_a_logout(
    redis_client: redis.Redis,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_config: dict[str, str],
    expires_in: int,
    status: int,
) -> None:
    ticks = itertools.count(0.0, 5.0)
    coordinator = RedisCoordinator(
        redis_client, clock=functools.partial(next, ticks), sleep=lambda _: None
    )
    app = build_app(rocketpunch_config, coordinator=coordinator)
    browser = app.test_client()
    stale = login_as(browser, expires_in=expires_in, provider=rocketpunch_provider)
    redis_client.set(lock_key(stale), "another-process", px=600_000)

    answer = browser.get("/private", headers={"Accept": "application/json"})

    assert answer.status_code == status
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 0
    if status == 200:
        assert answer.get_json()["token"] == digest(stale.access_token)
    else:
        assert answer.get_json()["error"] == "ProviderError"
        assert "Try again" in answer.get_json()["message"]
    redis_client.delete(lock_key(stale))  # the other process is gone
    assert browser.get("/private").status_code == 200  # still logged in
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1


def test_waiting_leaves_the_connection_to_others(redis_url: str) -> None:
    """A pool of one connection: a waiting worker does not keep it between
    two looks, so the winner and a third party still get it."""
    pool = redis.BlockingConnectionPool.from_url(
        redis_url, max_connections=1, timeout=5
    )
    client = redis.Redis(connection_pool=pool)
    stale, new = make_token("stale"), make_token("new")
    looks: list[bool] = []

    def look_around(seconds: float) -> None:
        looks.append(bool(client.ping()))  # needs the pool's one connection
        time.sleep(seconds)

    refresher = Refresher(new, delay=0.3)
    start = threading.Barrier(4)

    def refresh(_: int) -> tuple[Token, bool]:
        coordinator = bound_coordinator(client, sleep=look_around)
        start.wait(timeout=HANG)
        return coordinator.refresh_once("login", stale, refresher, lambda: stale)

    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool_of_threads:
            results = list(pool_of_threads.map(refresh, range(4), timeout=HANG))
    finally:
        client.delete(lock_key(stale), done_key(stale))
        pool.disconnect()

    assert {token for token, _ in results} == {new}
    assert refresher.calls == [stale]
    assert looks
    assert all(looks)


# -- configuration ------------------------------------------------------------------


def test_a_lease_not_longer_than_twice_the_timeout_is_refused(
    redis_client: redis.Redis, rocketpunch_config: dict[str, str]
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        build_app(rocketpunch_config, storage=RedisStorage(redis_client, lease=10.0))
    message = str(caught.value)
    assert "longer than twice the timeout (10 seconds)" in message
    assert "log the user out" in message

    with pytest.raises(ConfigurationError):
        bound_coordinator(redis_client, bare_app(ROCKETPUNCH_TIMEOUT=(1, 4)), lease=10)
    with pytest.raises(ConfigurationError):
        bound_coordinator(redis_client, lease=float("nan"))

    accepted = bound_coordinator(redis_client, lease=10.5)
    stale, new = make_token("stale"), make_token("new")
    assert accepted.refresh_once("login", stale, Refresher(new), lambda: stale) == (
        new,
        True,
    )
    assert redis_client.pttl(lock_key(stale)) == -2  # released


def test_the_default_lease_is_twice_the_timeout_and_a_second(
    redis_client: redis.Redis,
) -> None:
    seen: list[int] = []
    coordinator = bound_coordinator(redis_client, bare_app(ROCKETPUNCH_TIMEOUT=(1, 4)))
    stale = make_token("stale")

    def look(token: Token) -> Token:
        seen.append(int(redis_client.pttl(lock_key(stale))))
        return make_token("new")

    coordinator.refresh_once("login", stale, look, lambda: stale)

    (left,) = seen
    assert 6_000 < left <= 11_000  # 11 s, not the 2 s of a short lease


def test_a_coordinator_serving_several_apps_takes_the_longest_default_lease(
    redis_client: redis.Redis,
) -> None:
    coordinator = bound_coordinator(redis_client, bare_app(ROCKETPUNCH_TIMEOUT=5))
    coordinator.init_app(bare_app(ROCKETPUNCH_TIMEOUT=1))
    stale = make_token("stale")
    seen: list[int] = []

    def look(token: Token) -> Token:
        seen.append(int(redis_client.pttl(lock_key(stale))))
        return make_token("new")

    coordinator.refresh_once("login", stale, look, lambda: stale)

    (left,) = seen
    assert 6_000 < left <= 11_000  # 11 s, not the 2 s of a short lease


def test_an_object_not_set_up_with_an_app_says_so(redis_client: redis.Redis) -> None:
    stale = make_token("stale")
    with pytest.raises(ConfigurationError, match="not set up with an app"):
        RedisStorage(redis_client).set("login", stale)
    with pytest.raises(ConfigurationError, match="not set up with an app"):
        RedisCoordinator(redis_client).refresh_once(
            "login", stale, Refresher(stale), lambda: stale
        )
    coordinator = RedisCoordinator(redis_client)  # keys, but no lease
    coordinator.keys = functools.partial(keyring_for, {"SECRET_KEY": SECRET_KEY})
    with pytest.raises(ConfigurationError, match="not set up with an app"):
        coordinator.refresh_once("login", stale, Refresher(stale), lambda: stale)


@pytest.mark.parametrize("ttl", [0, -1, 1.5, True])
def test_a_bad_ttl_is_refused(redis_client: redis.Redis, ttl: t.Any) -> None:
    with pytest.raises(ConfigurationError, match="TTL"):
        RedisStorage(redis_client, ttl=ttl)


@pytest.mark.parametrize("window", [0, -5.0, float("inf")])
def test_a_bad_window_is_refused(redis_client: redis.Redis, window: float) -> None:
    with pytest.raises(ConfigurationError, match="window"):
        RedisCoordinator(redis_client, window=window)


# -- Redis down ---------------------------------------------------------------------


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "flask_rocketpunch" and record.levelno == logging.WARNING
    ]


def test_unreachable_redis_raises_storage_error_with_one_log_line_each(
    closed_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flask_rocketpunch")
    storage = bound(RedisStorage.from_url(closed_url))
    coordinator = storage.coordinator()
    coordinator.init_app(bare_app())
    token = make_token("secret")
    key = secrets.token_urlsafe(16)
    calls: list[cabc.Callable[[], object]] = [
        lambda: storage.get(key),
        lambda: storage.set(key, token),
        lambda: storage.replace(key, token, token),
        lambda: storage.delete(key),
        lambda: storage.logins_of("OA-user-1"),
        storage.purge,
        lambda: coordinator.refresh_once(key, token, Refresher(token), lambda: token),
    ]

    for call in calls:
        with pytest.raises(StorageError) as caught:
            call()
        assert "Redis" in caught.value.message
        assert "try again" in caught.value.message
        assert caught.value.http_status == 503
    coordinator.forget(token)  # a logout goes on

    warnings = warnings_of(caplog)
    assert len(warnings) == len(calls) + 1
    assert all(w.startswith("Redis failed while") for w in warnings)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (token.access_token, token.refresh_token or "", key):
        assert secret not in logged
    assert all(record.exc_info is None for record in caplog.records)


def test_unreachable_redis_answers_503_without_a_traceback(
    closed_url: str,
    rocketpunch_config: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = build_app(rocketpunch_config, storage=RedisStorage.from_url(closed_url))
    browser = app.test_client()
    with browser.session_transaction() as saved:
        saved[LOGIN_ID_KEY] = "a-login-id"

    page = browser.get("/private")
    data = browser.get("/private", headers={"Accept": "application/json"})

    assert page.status_code == 503
    assert "Redis" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
    assert data.status_code == 503
    assert data.get_json()["error"] == "StorageError"
    assert len(warnings_of(caplog)) == 2
    assert all(record.exc_info is None for record in caplog.records)


def test_unreachable_coordinator_keeps_a_valid_token_else_answers_503(
    closed_url: str,
    redis_client: redis.Redis,
    rocketpunch_provider: SandboxProvider,
    rocketpunch_config: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    down = RedisCoordinator(
        redis.Redis.from_url(closed_url, retry=Retry(NoBackoff(), 0))
    )
    app = build_app(rocketpunch_config, coordinator=down)
    browser = app.test_client()
    # Due (within the leeway) but still valid: used as it is meanwhile.
    login_as(browser, expires_in=60, provider=rocketpunch_provider)
    assert browser.get("/private").status_code == 200
    token = login_as(browser, expires_in=0, provider=rocketpunch_provider)

    answer = browser.get("/private")

    assert answer.status_code == 503
    assert "Redis" in answer.get_data(as_text=True)
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 0
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert token.access_token not in logged
    # Redis is back (another host's coordinator): the same cookie refreshes.
    back = build_app(rocketpunch_config, coordinator=RedisCoordinator(redis_client))
    assert (
        browser_with(back, session_cookie(browser)).get("/private").status_code == 200
    )
    assert rocketpunch_provider.grant_counts()["refresh_token"] == 1


def test_redis_stalling_after_the_provider_call_loses_no_token(
    redis_url: str, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis stops answering writes while the winner is at the provider: the
    outcome cannot be recorded, but the new token is still returned."""
    quick = redis.Redis.from_url(
        redis_url, socket_timeout=0.3, retry=Retry(NoBackoff(), 0)
    )
    coordinator = bound_coordinator(quick)
    stale, new = make_token("stale"), make_token("new")

    def refresh_while_redis_stalls(token: Token) -> Token:
        redis_client.client_pause(1500, all=False)
        return new

    def fail_while_redis_stalls(token: Token) -> Token:
        redis_client.client_pause(1500, all=False)
        raise ProviderError("Not a token.", reason="invalid_response")

    try:
        result = coordinator.refresh_once(
            "login", stale, refresh_while_redis_stalls, lambda: stale
        )
        redis_client.client_unpause()
        other = make_token("other")
        with pytest.raises(ProviderError):
            coordinator.refresh_once(
                "login", other, fail_while_redis_stalls, lambda: other
            )
    finally:
        redis_client.client_unpause()
        quick.close()

    assert result == (new, True)
    warnings = warnings_of(caplog)
    assert len(warnings) == 2
    assert "recording the outcome" in warnings[0]
    assert "releasing" in warnings[1]
