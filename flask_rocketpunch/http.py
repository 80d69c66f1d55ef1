"""HTTP calls to the provider, shared by the flow and the API client:
bounded JSON reading, authenticated form posts, ``Retry-After``, the total
deadline of each call, and one mapping of transport failures to
:class:`~flask_rocketpunch.ProviderError`."""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import datetime
import email.utils
import json
import logging
import math
import typing as t
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from .deadline import deadline, expired, total_seconds
from .exceptions import ProviderError
from .logs import neutral
from .settings import Settings

logger = logging.getLogger("flask_rocketpunch")

#: The largest token endpoint answer read, in bytes.
MAX_RESPONSE_BYTES = 256 * 1024

#: The deepest nesting of arrays and objects accepted in a provider's JSON.
MAX_JSON_DEPTH = 32

#: The longest wait a ``Retry-After`` is taken to ask for, in seconds (a
#: day); a longer one is cut to it.
MAX_RETRY_AFTER = 24 * 3600


def _no_constant(name: str) -> t.NoReturn:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes | str) -> object:
    """Parse a provider's JSON strictly: ``NaN`` and ``Infinity`` are refused,
    and so is nesting deeper than :data:`MAX_JSON_DEPTH`.

    :raises ValueError: ``body`` is not such JSON (also for nesting so deep
        that the parser itself would recurse too far).
    """
    try:
        value = json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise ValueError("JSON nested too deeply")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return value


def read_body(response: requests.Response, limit: int) -> bytes | None:
    """The body of ``response``, or ``None`` when it is longer than ``limit``
    bytes (a streamed body is then not read further)."""
    if getattr(response, "_content_consumed", True) or response.raw is None:
        content = response.content or b""
        return content if len(content) <= limit else None
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(65536):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after_seconds(value: str | None, now: float) -> int | None:
    """The seconds a ``Retry-After`` header value asks to wait (RFC 9110
    section 10.2.3), or ``None`` when it is absent or malformed.

    Both forms are understood: a number of seconds (ASCII digits only), and
    an HTTP-date, counted from ``now`` (a date in the past means ``0``).
    Waits longer than :data:`MAX_RETRY_AFTER` are cut to it.

    :param value: the header's value.
    :param now: the current time, in seconds since the epoch.
    """
    if value is None:
        return None
    value = value.strip(" \t")
    if not value.isascii():
        return None
    if value.isdigit():
        # Long digit strings are not converted: they only mean "very long".
        return min(int(value), MAX_RETRY_AFTER) if len(value) <= 9 else MAX_RETRY_AFTER
    if len(value) > 64 or not any(c.isalpha() for c in value):
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return max(0, min(math.ceil(seconds), MAX_RETRY_AFTER))


@contextlib.contextmanager
def provider_call(what: str, url: str, timeout: object) -> cabc.Iterator[None]:
    """Run one call to the provider, reading of its answer included, within
    the total deadline ``timeout`` stands for (see
    :func:`~flask_rocketpunch.deadline.total_seconds`); a transport failure
    inside becomes :func:`unreachable`'s :class:`ProviderError`.

    :param what: the endpoint, for people.
    :param url: the URL called.
    :param timeout: the call's requests ``timeout``.
    """
    with deadline(total_seconds(timeout)):
        try:
            yield
        except requests.RequestException as exc:
            raise unreachable(exc, what, url, timeout) from None


def describe(url: str) -> str:
    """``url`` without its query and fragment, for log lines."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def read_json(response: requests.Response, what: str) -> object:
    """Read a JSON answer of at most :data:`MAX_RESPONSE_BYTES`.

    :raises ProviderError: too large, not a JSON content type, not JSON, or
        JSON nested deeper than :data:`MAX_JSON_DEPTH` (see :func:`parse_json`).
    """
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(65536):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ProviderError(
                f"{what} sent an answer larger than {MAX_RESPONSE_BYTES} bytes;"
                " it was not read. Check the configured URL.",
                reason="invalid_response",
                status_code=response.status_code,
            )
        chunks.append(chunk)
    body = b"".join(chunks)
    ctype = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    is_json_type = ctype == "application/json" or (
        ctype.startswith("application/") and ctype.endswith("+json")
    )
    if not is_json_type:
        raise ProviderError(
            f"{what} answered HTTP {response.status_code} with content type"
            f" {ctype or 'none'!r} instead of JSON. Check the configured URL.",
            reason="invalid_response",
            status_code=response.status_code,
        )
    try:
        return parse_json(body)
    except ValueError:
        raise ProviderError(
            f"{what} answered HTTP {response.status_code} with a body that is not"
            " valid JSON. Check the configured URL, or try again later.",
            reason="invalid_response",
            status_code=response.status_code,
        ) from None


def _client_auth(
    settings: Settings, data: dict[str, str]
) -> tuple[dict[str, str], tuple[str, str] | None]:
    if settings.client_auth == "client_secret_basic":
        # RFC 6749 section 2.3.1: form-encode each part before Basic.
        user = quote(settings.client_id, safe="")
        password = quote(settings.client_secret, safe="")
        return data, (user, password)
    return {
        **data,
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
    }, None


def post_form(
    http: requests.Session,
    settings: Settings,
    url: str,
    data: dict[str, str],
    *,
    what: str,
    headers: cabc.Mapping[str, str] | None = None,
) -> requests.Response:
    """POST an authenticated form to one of the provider's endpoints.

    :param headers: more headers to send, such as ``Accept-Language``.
    :raises ProviderError: if the provider cannot be reached or is too slow.
    """
    body, auth = _client_auth(settings, data)
    try:
        return send(
            http,
            "POST",
            url,
            data=body,
            auth=auth,
            timeout=settings.timeout,
            headers={"Accept": "application/json", **(headers or {})},
            stream=True,
        )
    except requests.RequestException as exc:
        raise unreachable(exc, what, url, settings.timeout) from None


def send(
    http: requests.Session, method: str, url: str, **kwargs: t.Any
) -> requests.Response:
    """Send one request without following a redirect: a ``3xx`` answer is
    returned as it is, also on a session whose ``max_redirects`` is ``0``
    (where requests raises :exc:`~requests.TooManyRedirects` for it)."""
    try:
        return http.request(method, url, allow_redirects=False, **kwargs)
    except requests.TooManyRedirects as exc:
        if isinstance(exc.response, requests.Response):
            return exc.response
        raise


def unreachable(
    exc: requests.RequestException, what: str, url: str, timeout: object
) -> ProviderError:
    """The :class:`ProviderError` for a call to ``url`` that failed in
    transport (timeout or connection), logged without the URL's query. A
    failure once the call's total deadline has passed is a timeout, whatever
    requests called it.

    :param exc: what requests raised.
    :param what: the endpoint, for people ("Rocketpunch's token endpoint").
    :param url: the URL called.
    :param timeout: the timeout the call had.
    """
    if isinstance(exc, requests.Timeout) or expired():
        logger.warning("%s at %s did not answer in time.", what, neutral(describe(url)))
        return ProviderError(
            f"{what} did not answer within {timeout} seconds. Try again later;"
            " if it persists, check ROCKETPUNCH_TIMEOUT and the network.",
            reason="timeout",
        )
    logger.warning(
        "%s at %s could not be reached (%s).",
        what,
        neutral(describe(url)),
        type(exc).__name__,
    )
    return ProviderError(
        f"{what} could not be reached. Try again later; if it persists, check"
        " the configured URL and the network.",
        reason="connection",
    )
