"""The sandbox's rate limits, as Rocketpunch's OpenAPI description states
them: a global budget per App Key (60 calls a minute, 5,000 a day) and, for
some user-context writes, a budget per operation (a minute, an hour, a day).

Windows follow the provider's clock: a minute is a clock minute, an hour a
clock hour, a day a UTC day. A refused call spends nothing.
"""

from __future__ import annotations

import dataclasses
import threading
import typing as t
from collections.abc import Callable, Mapping
from types import MappingProxyType

from .errors import APIError

#: The global limit per App Key and clock minute.
PER_MINUTE = 60
#: The global limit per App Key and UTC day.
PER_DAY = 5000


@dataclasses.dataclass(frozen=True)
class OperationLimit:
    """The calls an operation allows per minute, hour and day.

    .. versionadded:: 0.2
    """

    per_minute: int
    per_hour: int
    per_day: int


#: The operation-specific limits of the OpenAPI description's Rate Limits
#: table, by operation identifier (the ``X-RP-RateLimit-Scope`` value).
OPERATION_LIMITS: Mapping[str, OperationLimit] = MappingProxyType(
    {
        "post.create": OperationLimit(2, 10, 50),
        "post.update": OperationLimit(5, 40, 300),
        "post.delete": OperationLimit(2, 10, 30),
        "job.create": OperationLimit(2, 10, 50),
        "job.update": OperationLimit(5, 40, 300),
        "job.delete": OperationLimit(2, 10, 30),
        "job.publish": OperationLimit(5, 30, 150),
        "job.disable": OperationLimit(5, 30, 150),
        "event.create": OperationLimit(2, 10, 50),
        "event.update": OperationLimit(5, 40, 300),
        "event.delete": OperationLimit(2, 10, 30),
        "event.sub.create": OperationLimit(10, 100, 500),
        "event.sub.update": OperationLimit(15, 150, 800),
        "event.sub.delete": OperationLimit(10, 100, 400),
    }
)

#: The operation identifier of each OpenAPI ``operationId`` that has an
#: operation-specific limit.
OPERATION_SCOPES: Mapping[str, str] = MappingProxyType(
    {
        "createPost": "post.create",
        "updatePost": "post.update",
        "deletePost": "post.delete",
        "createJob": "job.create",
        "updatePlatformJob": "job.update",
        "deleteJob": "job.delete",
        "publishJob": "job.publish",
        "disableJob": "job.disable",
        "createEvent": "event.create",
        "patchEvent": "event.update",
        "deleteEvent": "event.delete",
        "createFreeEventTicket": "event.sub.create",
        "createChargedEventTicket": "event.sub.create",
        "createEventSession": "event.sub.create",
        "addEventHost": "event.sub.create",
        "createEventFaq": "event.sub.create",
        "patchEventTicket": "event.sub.update",
        "patchEventSession": "event.sub.update",
        "updateEventHostRole": "event.sub.update",
        "patchEventFaq": "event.sub.update",
        "deleteEventTicket": "event.sub.delete",
        "deleteEventSession": "event.sub.delete",
        "removeEventHost": "event.sub.delete",
        "deleteEventFaq": "event.sub.delete",
    }
)

_SPANS = {"minute": 60, "hour": 3600, "day": 86400}


def operation_scope(operation: str | None) -> str | None:
    """The operation identifier limiting an operation, if any.

    :param operation: An OpenAPI ``operationId`` (``"createPost"``) or
        an operation identifier (``"post.create"``).
    """
    if operation is None:
        return None
    if operation in OPERATION_LIMITS:
        return operation
    return OPERATION_SCOPES.get(operation)


@dataclasses.dataclass(frozen=True)
class RateLimitStatus:
    """What one counted call left of the budgets.

    :param limit: The global calls per minute.
    :param remaining: The global calls left in the current minute.
    :param reset: When the current minute ends, in seconds since the epoch.
    :param scope: The operation identifier, for a call with its own limit.
    :param scope_remaining: The calls of that operation left in the current
        minute.

    .. versionadded:: 0.2
    """

    limit: int
    remaining: int
    reset: int
    scope: str | None = None
    scope_remaining: int | None = None


class RateLimitExceeded(APIError):
    """The 429 ``C0010`` of an exceeded limit, with what its headers say.

    :param message: The human-readable message.
    :param retry_after: Seconds until the exhausted window ends.
    :param status: The budgets at the time of the refusal.
    :param details: The exceeded limit, e.g. ``"post.create per minute"``.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: int,
        status: RateLimitStatus,
        details: str | None = None,
    ) -> None:
        super().__init__(429, "C0010", message, details=details)
        self.retry_after = retry_after
        self.rate_status = status


def rate_limit_exceeded() -> APIError:
    """The 429 ``C0010`` error a fault switch answers with; its response
    gets ``Retry-After`` from the switch (see
    :func:`~.responses.api_error_response`)."""
    return APIError(429, "C0010", "Rate limit exceeded.")


@dataclasses.dataclass
class _Counter:
    window: int = -1
    calls: int = 0

    def seen(self, window: int) -> int:
        return self.calls if self.window == window else 0


class _Budget(t.NamedTuple):
    key: tuple[str, ...]
    span: str
    limit: int
    #: What the limit is, for messages: "per minute", "post.create per hour".
    described: str
    #: An operation's own budget, not the App Key's.
    operation: bool


class RateLimiter:
    """Counts calls per App Key, and per App Key, user and operation.

    :param per_minute: The global calls allowed per App Key and minute.
    :param enforce: Refuse calls beyond a limit with 429; otherwise only
        count them.
    :param clock: Returns the current time in seconds since the epoch.
    :param per_day: The global calls allowed per App Key and UTC day;
        ``None`` for no daily limit.
    :param operation_limits: The operation-specific limits, by operation
        identifier; empty to have none.
    """

    def __init__(
        self,
        per_minute: int,
        enforce: bool,
        clock: Callable[[], float],
        *,
        per_day: int | None = PER_DAY,
        operation_limits: Mapping[str, OperationLimit] = OPERATION_LIMITS,
    ) -> None:
        self.per_minute = per_minute
        self.per_day = per_day
        self.enforce = enforce
        self.operation_limits = operation_limits
        self._clock = clock
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, ...], _Counter] = {}

    def _budgets(
        self, app_key: str, scope: str | None, user: str | None
    ) -> list[_Budget]:
        # The App Key's minute first, the operation's minute (if any) third.
        day = 2**62 if self.per_day is None else self.per_day
        budgets = [
            _Budget(
                (app_key, "minute"), "minute", self.per_minute, "per minute", False
            ),
            _Budget((app_key, "day"), "day", day, "per day", False),
        ]
        limit = self.operation_limits.get(scope) if scope else None
        if scope is not None and limit is not None:
            who = (app_key, user or "", scope)
            for span, allowed in (
                ("minute", limit.per_minute),
                ("hour", limit.per_hour),
                ("day", limit.per_day),
            ):
                budgets.append(
                    _Budget((*who, span), span, allowed, f"{scope} per {span}", True)
                )
        return budgets

    def count(
        self,
        app_key: str,
        operation: str | None = None,
        user: str | None = None,
    ) -> RateLimitStatus:
        """Count one call; return what is left of its budgets.

        :param app_key: The App Key (the client id) the call is made with.
        :param operation: The OpenAPI ``operationId`` or operation
            identifier, for the operation-specific limits.
        :param user: The ``sub`` of the token's user; operation limits are
            counted per App Key and user.
        :raise RateLimitExceeded: When enforcing and a budget is spent; the
            call is then not counted.
        """
        scope = operation_scope(operation)
        now = self._clock()
        budgets = self._budgets(app_key, scope, user)
        windows = {span: int(now // seconds) for span, seconds in _SPANS.items()}
        with self._lock:
            seen = [
                self._counters.get(b.key, _Counter()).seen(windows[b.span])
                for b in budgets
            ]
            spent = [
                b for b, calls in zip(budgets, seen, strict=True) if calls >= b.limit
            ]
            refused = bool(spent) and self.enforce
            if not refused:
                for budget in budgets:
                    counter = self._counters.setdefault(budget.key, _Counter())
                    counter.calls = counter.seen(windows[budget.span]) + 1
                    counter.window = windows[budget.span]
                seen = [calls + 1 for calls in seen]
        limited = len(budgets) > 2
        status = RateLimitStatus(
            limit=self.per_minute,
            remaining=max(self.per_minute - seen[0], 0),
            reset=(windows["minute"] + 1) * 60,
            scope=scope if limited else None,
            scope_remaining=max(budgets[2].limit - seen[2], 0) if limited else None,
        )
        if not refused:
            return status
        retry_after = max(
            (windows[b.span] + 1) * _SPANS[b.span] - int(now) for b in spent
        )
        own = [b for b in spent if b.operation]
        if not own:
            # X-RP-RateLimit-Scope is omitted when only the global limit is hit.
            status = dataclasses.replace(status, scope=None, scope_remaining=None)
        first = (own or spent)[0].described
        raise RateLimitExceeded(
            f"Rate limit exceeded ({first}). Retry after {retry_after} seconds.",
            retry_after=retry_after,
            status=status,
            details=first if own else f"App Key {first}",
        )

    def peek(self, app_key: str) -> RateLimitStatus:
        """What is left of an App Key's minute, without counting a call.

        :param app_key: The App Key (the client id).
        """
        window = int(self._clock() // 60)
        with self._lock:
            counter = self._counters.get((app_key, "minute"), _Counter())
            calls = counter.seen(window)
        return RateLimitStatus(
            self.per_minute, max(self.per_minute - calls, 0), (window + 1) * 60
        )

    def retry_after(self) -> int:
        """Seconds until the current minute ends."""
        return 60 - int(self._clock()) % 60

    def clear(self) -> None:
        """Forget every count."""
        with self._lock:
            self._counters.clear()
