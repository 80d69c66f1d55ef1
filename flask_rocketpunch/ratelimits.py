"""Rocketpunch's rate limits as data: the ``X-RP-RateLimit-*`` headers of an
answer, and the :class:`~flask_rocketpunch.RateLimitError` for a ``429`` from
the token endpoint."""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import logging
import time
import typing as t

from .exceptions import ProviderError, RateLimitError
from .http import read_json, retry_after_seconds

if t.TYPE_CHECKING:
    import requests

logger = logging.getLogger("flask_rocketpunch")

REMAINING_HEADER = "X-RP-RateLimit-Remaining"
SCOPE_HEADER = "X-RP-RateLimit-Scope"
SCOPE_REMAINING_HEADER = "X-RP-RateLimit-Scope-Remaining"


@dataclasses.dataclass(frozen=True)
class RateLimit:
    """What an answer of the Rocketpunch API says about the app's rate
    limits. Every field is ``None`` when the answer did not say.

    .. versionadded:: 0.2
    """

    #: Calls left in the app's global budget (60 a minute, 5,000 a day per
    #: App Key), from ``X-RP-RateLimit-Remaining``.
    remaining: int | None = None
    #: The operation whose own limit applies, such as ``"post.create"``, from
    #: ``X-RP-RateLimit-Scope`` (sent with a ``429`` of an operation limit).
    scope: str | None = None
    #: Calls of that operation left this minute, from
    #: ``X-RP-RateLimit-Scope-Remaining``.
    scope_remaining: int | None = None


def _count(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 19 else None


def rate_limit_of(response: requests.Response) -> RateLimit:
    """The rate-limit headers of one answer of the Rocketpunch API, whether
    it succeeded or failed:

    .. code-block:: python

        answer = rocketpunch.get("posts")
        if rate_limit_of(answer).remaining == 0:
            ...

    Values that are absent or not counts are ``None``.

    :param response: an answer of the API.

    .. versionadded:: 0.2
    """
    headers = response.headers
    scope = headers.get(SCOPE_HEADER, "").strip()
    return RateLimit(
        remaining=_count(headers.get(REMAINING_HEADER)),
        scope=scope[:100] or None,
        scope_remaining=_count(headers.get(SCOPE_REMAINING_HEADER)),
    )


def token_endpoint_rate_limited(
    response: requests.Response, what: str
) -> RateLimitError:
    """The :class:`~flask_rocketpunch.RateLimitError` for a ``429`` from the
    token endpoint (a code exchange or a refresh), with the ``Retry-After``
    it sent, so that the error page can say when to try again.

    :param response: the token endpoint's answer; its body is read (bounded)
        for Rocketpunch's error code, such as ``C0010``.
    :param what: the endpoint, for people.
    """
    retry_after = retry_after_seconds(response.headers.get("Retry-After"), time.time())
    code: str | None = None
    try:
        body = read_json(response, what)
    except ProviderError:
        body = None
    if isinstance(body, cabc.Mapping):
        for name in ("code", "error"):
            if isinstance(body.get(name), str):
                code = str(body[name])[:100]
                break
    logger.warning(
        "%s answered 429: the app's rate limit is spent (retry after %s seconds).",
        what,
        retry_after if retry_after is not None else "an unknown number of",
    )
    message = (
        f"{what} answered 429 Too Many Requests: this app has used up its"
        " Rocketpunch rate limit for now."
    )
    if retry_after is not None:
        message += f" Try again in {retry_after} seconds."
    else:
        message += " Try again in a minute."
    return RateLimitError(429, code, message, response, retry_after=retry_after)
