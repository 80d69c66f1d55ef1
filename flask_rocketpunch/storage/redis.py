"""Tokens in Redis, shared by every process and host, with the refresh
coordinator that goes with them.

Install the driver with ``pip install 'flask-rocketpunch[redis]'``, then
either set ``ROCKETPUNCH_STORAGE_URL = "redis://..."`` or pass
``RocketpunchOAuth(app, storage=RedisStorage(redis.Redis(...)))``. Apps that
keep tokens in the session cookie can still share refreshes between hosts
with ``RocketpunchOAuth(app, coordinator=RedisCoordinator(redis.Redis(...)))``.

Every key starts with the prefix (``rocketpunch:`` by default, written ``P``
here) and names its subject by a SHA-256 digest, so a dump of Redis shows no
login id, user id, code or token:

``P login:<sha256(login id)>``
    A hash: ``t`` the token sealed (AES-GCM, under a key derived from
    ``SECRET_KEY``, with the login id as associated data), ``h`` the digest
    of the token's refresh and access tokens (compared by :meth:`replace`),
    ``i`` the login id sealed (for "log out everywhere"), ``s`` the user
    index below. Expires ``ttl`` seconds after the last write.
``P subject:<sha256(sub)>``
    A set of the login digests of one Rocketpunch user. Expires ``ttl``
    seconds after the last write of any of them.
``P refresh:lock:<refresh key>``
    Who is refreshing one stale token: a random owner id, for ``lease``
    seconds.
``P refresh:done:<refresh key>``
    What that refresh gave, for ``window`` seconds: the new token sealed
    with the refresh key as associated data, or the provider's OAuth error.
``P refresh:fresh:<refresh key of the new token>``
    The refresh keys whose outcome handed out that token, for ``window``
    seconds, so a logout can forget them.

A refresh key is :func:`~flask_rocketpunch.refresh.refresh_key`: a SHA-256
of the stale token. Each operation is one Lua script, so it is atomic and
one round trip; the scripts touch keys derived inside them, which standalone
Redis (and Sentinel) allows but Redis Cluster does not.
"""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import functools
import hashlib
import json
import logging
import math
import secrets
import time
import typing as t

import redis
from redis.backoff import EqualJitterBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from ..crypto import KeyRing, keyring_for
from ..exceptions import ConfigurationError, OAuthError, ProviderError, StorageError
from ..logs import neutral
from ..refresh import (
    MAX_CHAIN,
    UNAVAILABLE_FOR,
    DoRefresh,
    Reload,
    refresh_as_winner,
    refresh_key,
)
from ..settings import load_settings
from ..tokens import Token, open_token, seal_token
from .base import Lookup, SealedStorage

if t.TYPE_CHECKING:
    from flask import Flask

logger = logging.getLogger("flask_rocketpunch")

#: The token's life in Redis: that of Rocketpunch's refresh tokens.
DEFAULT_TTL = 30 * 24 * 3600

#: Seconds a socket to Redis may take to connect or answer, for clients
#: made by :meth:`RedisStorage.from_url` (the URL's ``socket_timeout`` and
#: ``socket_connect_timeout`` win). With :data:`RETRIES` retries, a request
#: learns that Redis is unreachable within seconds, well before a worker
#: timeout.
SOCKET_TIMEOUT = 2.0

#: How many times :meth:`RedisStorage.from_url`'s client retries a command
#: after a connection error or a timeout.
RETRIES = 2

# Store a login: KEYS[1] the login's hash; ARGV: the expected digest ("" for
# none), the sealed token, its digest, the sealed login id, the user index
# ("" for none), the login's digest, the TTL in ms. Returns 1, or 0 when the
# stored digest is not the expected one.
_WRITE = """
local record = KEYS[1]
local expected, sealed, digest, sealed_id, index, member, ttl =
    ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if expected ~= '' and redis.call('HGET', record, 'h') ~= expected then
    return 0
end
local previous = redis.call('HGET', record, 's')
if previous and previous ~= '' and previous ~= index then
    redis.call('SREM', previous, member)
end
redis.call('HSET', record, 't', sealed, 'h', digest, 'i', sealed_id, 's', index)
redis.call('PEXPIRE', record, ttl)
if index ~= '' then
    redis.call('SADD', index, member)
    redis.call('PEXPIRE', index, ttl)
end
return 1
"""

# Delete a login: KEYS[1] the login's hash; ARGV[1] the login's digest.
_DELETE = """
local previous = redis.call('HGET', KEYS[1], 's')
redis.call('DEL', KEYS[1])
if previous and previous ~= '' then
    redis.call('SREM', previous, ARGV[1])
end
return 1
"""

# Look for an outcome, else take the lock: KEYS the lock and the outcome;
# ARGV the owner id and the lease in ms. Returns the outcome, 1 when the
# lock was taken, 0 when another process holds it.
_TAKE = """
local done = redis.call('GET', KEYS[2])
if done then
    return done
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return 1
end
return 0
"""

# Renew the lease if it is still ours: KEYS[1] the lock; ARGV the owner id
# and the lease in ms. Returns 1, or 0 when another process took it over.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return 1
end
return 0
"""

# Record an outcome and release the lock: KEYS the lock, the outcome and,
# for a token, the new token's reverse index; ARGV the owner id, the
# outcome, the window in ms and the refresh key. An error never replaces a
# token already recorded (a process that took over from a slow one).
_FINISH = """
local current = redis.call('GET', KEYS[2])
local is_error = string.sub(ARGV[2], 1, 2) == 'e:'
if not (is_error and current and string.sub(current, 1, 2) == 't:') then
    redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
    if KEYS[3] then
        redis.call('SADD', KEYS[3], ARGV[4])
        redis.call('PEXPIRE', KEYS[3], ARGV[3])
    end
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[1])
end
return 1
"""

# Release the lock if it is still ours: KEYS[1] the lock; ARGV[1] the owner.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# Forget the outcomes that handed out one token: KEYS[1] its reverse index;
# ARGV[1] the prefix of outcome keys. Returns how many were forgotten.
_FORGET = """
local fresh = {KEYS[1]}
local forgotten = 0
for _ = 1, tonumber(ARGV[3]) do
    local next_fresh = {}
    for _, set in ipairs(fresh) do
        for _, key in ipairs(redis.call('SMEMBERS', set)) do
            redis.call('DEL', ARGV[1] .. key)
            table.insert(next_fresh, ARGV[2] .. key)
            forgotten = forgotten + 1
        end
        redis.call('DEL', set)
    end
    if #next_fresh == 0 then
        break
    end
    fresh = next_fresh
end
return forgotten
"""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _text(value: object) -> str:
    """A reply as text, whether the client decodes replies or not."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _milliseconds(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def _log_failure(action: str, exc: RedisError) -> None:
    # The exception's text names the server and the failure, never a value.
    logger.warning(
        "Redis failed while %s (%s: %s).", action, type(exc).__name__, neutral(exc)
    )


@contextlib.contextmanager
def _redis_failures(action: str, message: str) -> cabc.Iterator[None]:
    """Turn a Redis failure into a :exc:`StorageError` (a ``503`` page), with
    one log line and no token in either."""
    try:
        yield
    except RedisError as exc:
        _log_failure(action, exc)
        raise StorageError(message) from exc


_STORAGE_DOWN = (
    "Redis, where logins are kept, failed or could not be reached. Nothing was"
    " lost: try again in a moment."
)
_COORDINATOR_DOWN = (
    "Redis, which shares token refreshes between processes, failed or could not"
    " be reached. Nothing was lost: try again in a moment."
)


class RedisCoordinator:
    """One refresh per stale token across every process and host that share
    a Redis server: a cross-host
    :class:`~flask_rocketpunch.refresh.SharedCoordinator`.

    :class:`RedisStorage` brings one (see :meth:`RedisStorage.coordinator`).
    With tokens kept in the session cookie, pass one to the extension so
    several hosts still refresh each token once::

        rp = RocketpunchOAuth(
            app, coordinator=RedisCoordinator(redis.Redis.from_url(url))
        )

    The first process to ask for a refresh of a token takes a lock on it for
    ``lease`` seconds, reads storage again (another host may have refreshed
    already), calls the token endpoint, and records the outcome for
    ``window`` seconds; the others wait for that outcome and never call the
    provider. A winner that dies is replaced once its lease ends.

    :param client: the Redis client. Waiting processes return its
        connection to the pool between two looks.
    :param key_prefix: the start of every key this coordinator writes.
    :param lease: seconds one process may hold a refresh before another may
        take over. It must be longer than twice ``ROCKETPUNCH_TIMEOUT``; by
        default twice that plus a second.
    :param window: seconds an outcome is kept for requests that still carry
        the old token.
    :param poll: seconds between two looks of a waiting process.
    :param unavailable_for: seconds a refresh that failed for lack of an
        answer (see :data:`~flask_rocketpunch.refresh.SHARED_FAILURES`) is
        told to the processes that waited for it.
    :param clock: the time source, for the end of a wait.
    :param sleep: waits between two looks.

    .. versionadded:: 0.2
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        key_prefix: str = "rocketpunch:",
        lease: float | None = None,
        window: float = 60.0,
        poll: float = 0.02,
        unavailable_for: float = UNAVAILABLE_FOR,
        clock: cabc.Callable[[], float] = time.time,
        sleep: cabc.Callable[[float], None] = time.sleep,
    ) -> None:
        if not (math.isfinite(window) and window > 0):
            raise ConfigurationError(
                f"The refresh window must be a positive number of seconds, got"
                f" {window!r}."
            )
        #: The Redis client.
        self.client = client
        #: The start of every key.
        self.key_prefix = key_prefix
        #: The lease as given (``None``: from the app's ``ROCKETPUNCH_TIMEOUT``).
        self.lease = lease
        #: Seconds an outcome is kept.
        self.window = window
        #: Seconds between two looks of a waiting process.
        self.poll = poll
        self.unavailable_for = unavailable_for
        self.clock = clock
        self.sleep = sleep
        #: Gives the key ring that seals outcomes; bound by :meth:`init_app`.
        self.keys: cabc.Callable[[], KeyRing] | None = None
        self._lease = lease
        self._take = client.register_script(_TAKE)
        self._renew = client.register_script(_RENEW)
        self._finish_script = client.register_script(_FINISH)
        self._release_script = client.register_script(_RELEASE)
        self._forget = client.register_script(_FORGET)

    def init_app(self, app: Flask) -> None:
        """Seal outcomes with ``app``'s ``SECRET_KEY`` (and open them with its
        fallbacks), and check the lease against its ``ROCKETPUNCH_TIMEOUT``.

        :raises ConfigurationError: the lease is not longer than twice
            ``ROCKETPUNCH_TIMEOUT``.
        """
        lease = load_settings(app.config).lease(self.lease, "RedisCoordinator")
        # One coordinator serving several apps keeps the longest lease.
        self._lease = max(self._lease or 0.0, lease) if self.lease is None else lease
        if self.keys is None:
            self.keys = functools.partial(keyring_for, app.config)

    def _keyring(self) -> KeyRing:
        if self.keys is None:
            raise ConfigurationError(
                "This RedisCoordinator is not set up with an app: pass it to"
                " RocketpunchOAuth(app, coordinator=...) or call"
                " coordinator.init_app(app)."
            )
        return self.keys()

    def _key(self, kind: str, name: str) -> str:
        return f"{self.key_prefix}refresh:{kind}:{name}"

    # -- the protocol ---------------------------------------------------------

    def refresh_once(
        self, key: str, stale: Token, do_refresh: DoRefresh, reload: Reload
    ) -> tuple[Token, bool]:
        """Refresh ``stale`` with ``do_refresh``, unless another process (on
        any host) is doing it or has just done it: then wait for its outcome
        and return it. See
        :meth:`flask_rocketpunch.refresh.SharedCoordinator.refresh_once`.

        :param key: the login id (not needed: refreshes are shared by stale
            token).
        :param stale: the token as this request read it.
        :param do_refresh: calls the token endpoint; only the winner calls it.
        :param reload: reads the login's token from storage again; the winner
            calls it before the provider.
        :return: the new token, and whether this call refreshed it.
        :raises OAuthError: what the winner's refresh answered, shared with
            the waiters.
        :raises ProviderError: ``reason="refresh_pending"``: another process
            held the refresh for longer than the lease and a second.
        :raises StorageError: Redis failed or could not be reached.
        """
        self._keyring()  # set up with an app, before taking anything
        name = refresh_key(stale)
        lock, done = self._key("lock", name), self._key("done", name)
        owner = secrets.token_hex(16)
        lease = self._lease_seconds()
        deadline = self.clock() + lease + 1
        while True:
            outcome = self._wait_for_turn(lock, done, owner, lease, deadline)
            if outcome is not None:
                return self._replay(name, outcome), False
            won = refresh_as_winner(
                stale,
                do_refresh,
                reload,
                record=functools.partial(self._finish, lock, done, name, owner),
                release=functools.partial(self._release, lock, owner),
                still_mine=functools.partial(self._still_mine, lock, owner, lease),
            )
            if won is not None:
                return won
            # The lease ran out before the provider call: wait for its taker.

    def forget(self, token: Token) -> None:
        """Forget every outcome that handed out ``token`` (at logout), so a
        stale copy of the session goes to the provider, which refuses the
        spent refresh token, instead of being handed the logged-out tokens.

        A Redis failure is logged and does not stop the logout: the outcomes
        expire within the window anyway.
        """
        try:
            self._forget(
                keys=[self._key("fresh", refresh_key(token))],
                args=[self._key("done", ""), self._key("fresh", ""), MAX_CHAIN],
            )
        except RedisError as exc:
            _log_failure("forgetting refresh outcomes at a logout", exc)

    # -- steps ----------------------------------------------------------------

    def _lease_seconds(self) -> float:
        if self._lease is None:
            raise ConfigurationError(
                "This RedisCoordinator is not set up with an app: pass it to"
                " RocketpunchOAuth(app, coordinator=...)."
            )
        return self._lease

    def _wait_for_turn(
        self, lock: str, done: str, owner: str, lease: float, deadline: float
    ) -> str | None:
        """Take the lock (``None``), or return the recorded outcome. No
        connection is held between two looks."""
        while True:
            with _redis_failures("coordinating a token refresh", _COORDINATOR_DOWN):
                answer = self._take(
                    keys=[lock, done], args=[owner, _milliseconds(lease)]
                )
            if answer == 1:
                return None
            if answer != 0:
                return _text(answer)
            if self.clock() >= deadline:
                raise ProviderError(
                    "Another process is refreshing this login's token and did not"
                    " finish in time. Try again in a moment.",
                    reason="refresh_pending",
                )
            self.sleep(self.poll)

    def _still_mine(self, lock: str, owner: str, lease: float) -> bool:
        """Renew the lease for the provider call, unless it ran out and
        another process took it over."""
        with _redis_failures("coordinating a token refresh", _COORDINATOR_DOWN):
            return bool(self._renew(keys=[lock], args=[owner, _milliseconds(lease)]))

    def _replay(self, name: str, outcome: str) -> Token:
        kind, _, body = outcome.partition(":")
        if kind == "u":
            data = json.loads(body)
            raise ProviderError(str(data["message"]), reason=str(data["reason"]))
        if kind == "e":
            try:
                data = json.loads(body)
                error = str(data["error"])
            except (ValueError, KeyError, TypeError):
                error, data = "invalid_grant", {}
            raise OAuthError(error, data.get("description"), data.get("uri"))
        token = open_token(body, self._keyring(), name) if kind == "t" else None
        if token is None:
            # Sealed under a key no longer configured, or altered.
            raise OAuthError(
                "invalid_grant",
                message="The shared outcome of a token refresh could not be read.",
            )
        return token

    def _finish(
        self,
        lock: str,
        done: str,
        name: str,
        owner: str,
        *,
        token: Token | None = None,
        error: OAuthError | None = None,
        unavailable: ProviderError | None = None,
    ) -> None:
        """Record the outcome for the waiters and release the lock. A failure
        is logged, not raised: the caller still gets its new token."""
        keys = [lock, done]
        window = self.window
        if unavailable is not None:
            outcome = "u:" + json.dumps(
                {"message": unavailable.message, "reason": unavailable.reason}
            )
            window = self.unavailable_for
        elif token is not None:
            outcome = "t:" + seal_token(token, self._keyring(), name)
            keys.append(self._key("fresh", refresh_key(token)))
        else:
            assert error is not None
            outcome = "e:" + json.dumps(
                {
                    "error": error.error,
                    "description": error.error_description,
                    "uri": error.error_uri,
                }
            )
        try:
            self._finish_script(
                keys=keys, args=[owner, outcome, _milliseconds(window), name]
            )
        except RedisError as exc:
            _log_failure("recording the outcome of a token refresh", exc)

    def _release(self, lock: str, owner: str) -> None:
        try:
            self._release_script(keys=[lock], args=[owner])
        except RedisError as exc:
            _log_failure("releasing a token refresh", exc)


class RedisStorage(SealedStorage):
    """Keep tokens in Redis, shared by every process and host of the app,
    sealed so that a dump of Redis reveals no token.

    .. code-block:: python

        rp = RocketpunchOAuth(app, storage=RedisStorage(redis.Redis(...)))

    or ``ROCKETPUNCH_STORAGE_URL = "redis://localhost:6379/0"``. Each login
    expires ``ttl`` seconds after its last write; each write renews it.
    Refreshes are shared between hosts through the same Redis (see
    :meth:`coordinator`). Logins are indexed by Rocketpunch user for
    :meth:`~flask_rocketpunch.RocketpunchOAuth.logout_everywhere`.

    A failure of Redis raises :exc:`~flask_rocketpunch.exceptions.StorageError`, which
    the extension answers with a ``503`` page (or JSON), after one warning
    in the log.

    :param client: the Redis client (standalone or Sentinel; not Cluster).
    :param key_prefix: the start of every key, to share a database.
    :param ttl: seconds a login is kept after its last write: the life of
        Rocketpunch's refresh tokens.
    :param lease: the refresh lease of :meth:`coordinator`.
    :param window: how long the coordinator keeps a refresh's outcome.

    .. versionadded:: 0.2
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        key_prefix: str = "rocketpunch:",
        ttl: int = DEFAULT_TTL,
        lease: float | None = None,
        window: float = 60.0,
    ) -> None:
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
            raise ConfigurationError(
                f"The token TTL must be a positive whole number of seconds, got"
                f" {ttl!r}."
            )
        #: The Redis client.
        self.client = client
        #: The start of every key.
        self.key_prefix = key_prefix
        #: Seconds a login is kept after its last write.
        self.ttl = ttl
        #: The refresh lease given to :meth:`coordinator`.
        self.lease = lease
        #: The outcome window given to :meth:`coordinator`.
        self.window = window
        self._write = client.register_script(_WRITE)
        self._delete = client.register_script(_DELETE)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        key_prefix: str = "rocketpunch:",
        ttl: int = DEFAULT_TTL,
        lease: float | None = None,
        window: float = 60.0,
    ) -> RedisStorage:
        """A storage on the Redis server ``url`` names (``redis://``,
        ``rediss://`` or ``unix://``, as :meth:`redis.Redis.from_url` reads
        them), with socket timeouts of :data:`SOCKET_TIMEOUT` seconds unless
        the URL sets them, and :data:`RETRIES` retries. The other parameters
        are those of the class.
        """
        client = redis.Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            retry=Retry(EqualJitterBackoff(cap=0.5, base=0.05), RETRIES),
        )
        return cls(client, key_prefix=key_prefix, ttl=ttl, lease=lease, window=window)

    def coordinator(self) -> RedisCoordinator:
        """A :class:`RedisCoordinator` on the same client, prefix, lease and
        window: refreshes are shared by every host that uses this Redis."""
        return RedisCoordinator(
            self.client,
            key_prefix=self.key_prefix,
            lease=self.lease,
            window=self.window,
        )

    # -- keys -----------------------------------------------------------------

    def _record(self, member: str) -> str:
        return f"{self.key_prefix}login:{member}"

    def _index(self, subject: str) -> str:
        return f"{self.key_prefix}subject:{_digest(subject)}"

    @staticmethod
    def _id_context(member: str) -> str:
        return f"login-id:{member}"

    # -- the seam -------------------------------------------------------------

    def get(self, key: str) -> Token | None:
        """The token of the login ``key``, or ``None`` (none stored, expired,
        or a value that does not open for this login). One round trip.

        :raises StorageError: Redis failed or could not be reached.
        """
        return self.lookup(key).token

    def lookup(self, key: str) -> Lookup:
        """:meth:`get`, telling a value that does not open apart.

        :raises StorageError: Redis failed or could not be reached.
        """
        with _redis_failures("reading a token", _STORAGE_DOWN):
            sealed = self.client.hget(self._record(_digest(key)), "t")
        if sealed is None:
            return Lookup(None)
        token = self.unseal(key, _text(sealed))
        if token is None:
            logger.info(
                "A token stored in Redis could not be opened (SECRET_KEY changed,"
                " or the value was altered); the login is treated as logged out."
            )
            return Lookup(None, unreadable=True)
        return Lookup(token)

    def set(self, key: str, token: Token) -> None:
        """Store ``token`` for the login ``key`` and renew its TTL.

        :raises StorageError: Redis failed or could not be reached.
        """
        self._put(key, token, expected="")

    def replace(self, key: str, old: Token, new: Token) -> bool:
        """Store ``new`` for the login ``key`` only if Redis still holds
        ``old`` (compared by digest, atomically in Redis).

        :return: whether ``new`` was stored.
        :raises StorageError: Redis failed or could not be reached.
        """
        return self._put(key, new, expected=refresh_key(old))

    def delete(self, key: str) -> None:
        """Forget the token of the login ``key``, and its entry in its user's
        index.

        :raises StorageError: Redis failed or could not be reached.
        """
        member = _digest(key)
        with _redis_failures("deleting a token", _STORAGE_DOWN):
            self._delete(keys=[self._record(member)], args=[member])

    def _put(self, key: str, token: Token, *, expected: str) -> bool:
        member = _digest(key)
        index = self._index(token.subject) if token.subject else ""
        ring = self.keys()
        sealed = seal_token(token, ring, key)
        sealed_id = ring.cipher.encrypt(
            key.encode("utf-8", "surrogatepass"), self._id_context(member)
        )
        args = [expected, sealed, refresh_key(token), sealed_id, index, member]
        with _redis_failures("storing a token", _STORAGE_DOWN):
            stored = self._write(
                keys=[self._record(member)], args=[*args, self.ttl * 1000]
            )
        return bool(stored)

    def logins_of(self, subject: str) -> cabc.Sequence[tuple[str, Token]]:
        """The stored logins (login id and token) of the Rocketpunch user
        ``subject``. Index entries of expired logins are removed on the way.

        :raises StorageError: Redis failed or could not be reached.
        """
        index = self._index(subject)
        ring = self.keys()
        with _redis_failures("finding the logins of a user", _STORAGE_DOWN):
            members = [_text(m) for m in self.client.smembers(index)]
            pipe = self.client.pipeline(transaction=False)
            for member in members:
                pipe.hmget(self._record(member), ["i", "t"])
            rows = pipe.execute()
        logins: list[tuple[str, Token]] = []
        dangling = []
        for member, (sealed_id, sealed) in zip(members, rows, strict=True):
            if sealed_id is None or sealed is None:
                dangling.append(member)
                continue
            plain = ring.cipher.decrypt(_text(sealed_id), self._id_context(member))
            if plain is None:
                continue  # sealed under a key no longer configured
            login = plain.decode("utf-8", "surrogatepass")
            token = self.unseal(login, _text(sealed))
            if token is not None and token.subject == subject:
                logins.append((login, token))
        if dangling:
            with _redis_failures("cleaning the index of a user", _STORAGE_DOWN):
                self.client.srem(index, *dangling)
        return logins

    def purge(self) -> int:
        """Remove what has expired. Redis expires the logins by itself, so
        this only drops the index entries of expired logins.

        :return: how many tokens were removed: always ``0``.
        :raises StorageError: Redis failed or could not be reached.
        """
        pattern = _glob_escape(self.key_prefix) + "subject:*"
        with _redis_failures("cleaning the login indexes", _STORAGE_DOWN):
            for index in self.client.scan_iter(match=pattern, count=500):
                members = [_text(m) for m in self.client.smembers(index)]
                pipe = self.client.pipeline(transaction=False)
                for member in members:
                    pipe.exists(self._record(member))
                found = pipe.execute()
                dangling = [m for m, n in zip(members, found, strict=True) if not n]
                if dangling:
                    self.client.srem(index, *dangling)
        return 0


__all__ = ["RedisCoordinator", "RedisStorage"]
