"""The HTTP client for the Rocketpunch API."""

from __future__ import annotations

import collections.abc as cabc
import functools
import logging
import re
import time
import typing as t
import unicodedata
from urllib.parse import urljoin, urlsplit

import requests
from requests.auth import AuthBase
from urllib3.util import parse_url

from .exceptions import (
    APIError,
    ProviderError,
    RateLimitError,
    ReauthorizationRequired,
    UnsafeURLError,
)
from .headers import provider_headers
from .http import (
    MAX_RESPONSE_BYTES,
    parse_json,
    provider_call,
    read_body,
    read_json,
    retry_after_seconds,
    send,
)
from .manager import TokenManager
from .settings import Settings
from .tokens import header_safe

logger = logging.getLogger("flask_rocketpunch")

R = t.TypeVar("R")

#: The default port of each scheme, to compare origins.
_DEFAULT_PORTS = {"http": 80, "https": 443}

#: Scheme, host and port.
Origin = tuple[str, str, int]


def _origin_of_prepared(url: str) -> Origin | None:
    """The scheme, host and port a prepared ``url`` is sent to, as urllib3
    reads it, or ``None`` without a host or with user info."""
    try:
        parts = parse_url(url)
    except ValueError:
        return None
    scheme = (parts.scheme or "").lower()
    if not parts.host or parts.auth or scheme not in _DEFAULT_PORTS:
        return None
    return scheme, parts.host.lower(), parts.port or _DEFAULT_PORTS[scheme]


@functools.lru_cache(maxsize=256)
def origin_of(url: str) -> Origin | None:
    """The scheme, host and port ``url`` is sent to once requests has
    prepared it (IDNA, quoting), or ``None`` when it has no host, carries
    user info or is not http(s).
    """
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
    except (requests.RequestException, ValueError, UnicodeError):
        return None
    return _origin_of_prepared(t.cast(str, prepared.url))


def _describe(origin: Origin | None) -> str:
    if origin is None:
        return "(none)"
    scheme, host, port = origin
    return f"{scheme}://{host}:{port}"


def check_path(path: str) -> None:
    """Refuse an API ``path`` with control characters anywhere or whitespace
    at its ends: URL parsing drops or strips them, which can turn a relative
    path into a reference to another host.

    :raises UnsafeURLError: such a path.
    """
    if path.isascii() and path.isprintable():
        clean = True
    else:
        clean = not any(
            unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in path
        )
    if not clean or path != path.strip():
        raise UnsafeURLError(
            f"The API path {path!r} has control characters or whitespace at its"
            " ends; they are refused because URL parsing removes them and can"
            " send the request (and the token) to another host. Remove them, or"
            " quote the path's parts with urllib.parse.quote()."
        )


class BearerAuth(AuthBase):
    """Adds ``Authorization: Bearer <token>`` to one request.

    :param access_token: the access token.
    :param only_to: a URL: the header is added only when the request, as
        prepared for sending, goes to the same scheme, host and port, and
        :class:`~flask_rocketpunch.exceptions.UnsafeURLError` is raised
        otherwise. ``None`` adds it to any request.
    :raises ReauthorizationRequired: the token has characters that cannot go
        into a header (it is never shown).

    .. versionchanged:: 0.2
        The ``only_to`` parameter; a token that cannot be sent is refused.
    """

    def __init__(self, access_token: str, only_to: str | None = None) -> None:
        self.access_token = access_token
        self.only_to = only_to

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if not header_safe(self.access_token):
            raise ReauthorizationRequired(
                "The stored Rocketpunch access token has characters that cannot"
                " be sent in an HTTP header; log in again for a new one."
            )
        if self.only_to is not None:
            allowed = origin_of(self.only_to)
            target = _origin_of_prepared(r.url or "")
            if allowed is None or target != allowed:
                raise UnsafeURLError(
                    f"The request to {_describe(target)} is not on"
                    f" {_describe(allowed)}, the only place the bearer token is"
                    " sent; nothing was sent."
                )
        r.headers["Authorization"] = f"Bearer {self.access_token}"
        return r

    def __repr__(self) -> str:
        return "BearerAuth(<hidden>)"


def api_error(response: requests.Response, *, now: float | None = None) -> APIError:
    """Turn a failed API answer into :class:`APIError` or :class:`RateLimitError`.

    Understands ``{"code", "message", ...}`` (the current API) and
    ``{"error": {"message"}}`` (the July 2026 guide). The body is read up to
    :data:`~flask_rocketpunch.http.MAX_RESPONSE_BYTES` and parsed strictly
    (:func:`~flask_rocketpunch.http.parse_json`); anything else is described
    by its status. A redirect (which API calls never follow) is an error too.

    :param response: the failed answer.
    :param now: the current time for an HTTP-date ``Retry-After``; the system
        clock by default.
    """
    code: str | None = None
    status = response.status_code
    message = f"HTTP {status} {response.reason or ''}".strip()
    if 300 <= status < 400:
        message = (
            f"The Rocketpunch API answered with a redirect (HTTP {status}), which"
            " is not followed so that the access token stays on the API host."
        )
    raw = read_body(response, MAX_RESPONSE_BYTES)
    try:
        body = parse_json(raw) if raw else None
    except ValueError:
        body = None
    if isinstance(body, cabc.Mapping):
        error = body.get("error")
        if isinstance(body.get("code"), str):
            code = body["code"]
        if isinstance(body.get("message"), str):
            message = body["message"]
        elif isinstance(error, cabc.Mapping):
            if isinstance(error.get("message"), str):
                message = error["message"]
            if isinstance(error.get("code"), str):
                code = error["code"]
        elif isinstance(error, str):
            code = error
            if isinstance(body.get("error_description"), str):
                message = body["error_description"]
    message = message[:1000]
    if code is not None:
        code = code[:100]
    if status == 429:
        retry_after = retry_after_seconds(
            response.headers.get("Retry-After"), time.time() if now is None else now
        )
        if retry_after is not None:
            message += f" (retry after {retry_after} seconds)"
        return RateLimitError(status, code, message, response, retry_after=retry_after)
    return APIError(status, code, message, response)


class _Unauthorized(Exception):
    """The API answered ``401`` to a call that may be retried once."""


class _Revoked(Exception):
    """The API refused the access token as invalid again, right after a
    refresh."""


def _invalid_token(response: requests.Response) -> bool:
    """Whether a ``401`` says the bearer token is invalid (RFC 6750 section
    3.1), rather than, say, the App Key."""
    challenge = response.headers.get("WWW-Authenticate", "")[:1000]
    return re.search(r'error\s*=\s*"?invalid_token\b', challenge) is not None


class RocketpunchClient:
    """Calls the Rocketpunch API as the current user.

    Get one through the :data:`~flask_rocketpunch.rocketpunch` proxy. Paths are
    relative to ``ROCKETPUNCH_API_BASE_URL``. Every call carries the user's
    bearer token (refreshed first when it is about to expire) and must finish
    within ``ROCKETPUNCH_TIMEOUT`` in total; after a ``401`` the token is
    refreshed once and the call retried once.

    The token is sent only to the scheme, host and port of
    ``ROCKETPUNCH_API_BASE_URL`` (``ROCKETPUNCH_USERINFO_URL`` for
    :meth:`userinfo`), checked on the URL exactly as it is sent, and redirects
    are never followed.

    Failed calls raise :class:`~flask_rocketpunch.APIError` (or
    :class:`~flask_rocketpunch.RateLimitError` for a ``429``).

    Calls to the API also carry the App Key (``X-RP-API-Key``) and, when a
    language is known, ``Accept-Language``; a caller's ``headers=`` win over
    these (``None`` as a value drops one), except ``Authorization``, which
    is refused with :exc:`ValueError`.

    :param http: the app's pooled HTTP session.
    :param settings: the app's settings.
    :param tokens: the user's tokens; ``None`` for the app-level client
        (:class:`~flask_rocketpunch.public.PublicClient`), which sends the
        App Key and no bearer token.
    :param language: the ``Accept-Language`` sent, or ``None`` for none.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        The App Key and ``Accept-Language`` headers; ``tokens`` may be
        ``None``; the ``language`` parameter.
    """

    def __init__(
        self,
        *,
        http: requests.Session,
        settings: Settings,
        tokens: TokenManager | None,
        language: str | None = None,
    ) -> None:
        self._http = http
        self._settings = settings
        self._tokens = tokens
        #: The ``Accept-Language`` sent to Rocketpunch, or ``None``.
        self.language = language

    def url_for(self, path: str) -> str:
        """The absolute URL of an API ``path``.

        :raises UnsafeURLError: (a :exc:`ValueError`) for a URL that, once
            joined and prepared for sending, is not on the scheme, host and
            port of ``ROCKETPUNCH_API_BASE_URL``, or a path with control
            characters or whitespace at its ends, so the bearer token is never
            sent anywhere else.
        """
        base = self._settings.api_base_url
        check_path(path)
        if urlsplit(path).scheme or path.startswith("//"):
            url = path
        else:
            url = urljoin(base, path.lstrip("/"))
        target, allowed = origin_of(url), origin_of(base)
        if target is None or target != allowed:
            raise UnsafeURLError(
                f"{path!r} is not on the Rocketpunch API host"
                f" ({_describe(allowed)}); the token is only sent to"
                " ROCKETPUNCH_API_BASE_URL's scheme, host and port."
            )
        return url

    def request(self, method: str, path: str, **kwargs: t.Any) -> requests.Response:
        """Send a request to the API as the current user.

        :param method: the HTTP method.
        :param path: a path relative to ``ROCKETPUNCH_API_BASE_URL``.
        :param kwargs: passed to :meth:`requests.Session.request` (``params``,
            ``json``, ``data``, ``headers``, ``timeout``...). ``timeout`` (the
            configured one when left out or ``None``) bounds the whole call,
            body included; with ``stream=True`` the body you read afterwards
            is bounded per read only.
        :raises UnsafeURLError: ``path`` would leave the API host; nothing
            was sent.
        :raises APIError: the API answered with an error status, or with a
            redirect (never followed; ``304`` is returned).
        :raises RateLimitError: the API answered ``429``.
        :raises ProviderError: the API could not be reached or was too slow.
        :raises ReauthorizationRequired: the user must log in again.
        """
        return self._send(
            method,
            self.url_for(path),
            kwargs,
            only_to=self._settings.api_base_url,
            read=lambda response: response,
        )

    def _send(
        self,
        method: str,
        url: str,
        kwargs: dict[str, t.Any],
        *,
        only_to: str,
        read: cabc.Callable[[requests.Response], R],
    ) -> R:
        if kwargs.get("timeout") is None:
            # Every call has a timeout, even when a caller passes None.
            kwargs["timeout"] = self._settings.timeout
        kwargs.pop("auth", None)
        if kwargs.pop("allow_redirects", False):
            raise ValueError(
                "Calls to the Rocketpunch API never follow redirects, so that the"
                " access token stays on the API host: leave out allow_redirects."
            )
        kwargs["headers"] = provider_headers(
            self._settings, url, self.language, kwargs.get("headers")
        )
        if self._tokens is None:
            # The app-level client: the App Key alone, so no refresh and no
            # retry after a 401.
            return self._call(method, url, None, kwargs, only_to, read, retry=False)
        token = self._tokens.valid_token()
        try:
            return self._call(method, url, token.access_token, kwargs, only_to, read)
        except _Unauthorized:
            logger.info("The API rejected the access token; refreshing once.")
        token = self._tokens.refresh(token)
        try:
            return self._call(
                method, url, token.access_token, kwargs, only_to, read, retry=False
            )
        except _Revoked:
            # Refused again just after a refresh: the grant is revoked.
            self._tokens.end("revoked")
            raise ReauthorizationRequired(
                "Rocketpunch no longer accepts this login (it was revoked). Log in"
                " again."
            ) from None

    def _call(
        self,
        method: str,
        url: str,
        access_token: str | None,
        kwargs: dict[str, t.Any],
        only_to: str,
        read: cabc.Callable[[requests.Response], R],
        *,
        retry: bool = True,
    ) -> R:
        # One total deadline for the call, its answer's body included.
        with provider_call("The Rocketpunch API", url, kwargs["timeout"]):
            response = send(
                self._http,
                method,
                url,
                auth=None
                if access_token is None
                else BearerAuth(access_token, only_to),
                **kwargs,
            )
            status = response.status_code
            if status == 401 and retry:
                response.close()
                raise _Unauthorized
            if status == 401 and _invalid_token(response):
                response.close()
                raise _Revoked
            if status >= 400 or (300 <= status < 400 and status != 304):
                with response:
                    now = None if self._tokens is None else self._tokens.clock()
                    raise api_error(response, now=now)
            return read(response)

    def get(self, path: str, **kwargs: t.Any) -> requests.Response:
        """``GET`` an API path; see :meth:`request`."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: t.Any) -> requests.Response:
        """``POST`` to an API path; see :meth:`request`."""
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: t.Any) -> requests.Response:
        """``PUT`` an API path; see :meth:`request`."""
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: t.Any) -> requests.Response:
        """``PATCH`` an API path; see :meth:`request`."""
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: t.Any) -> requests.Response:
        """``DELETE`` an API path; see :meth:`request`."""
        return self.request("DELETE", path, **kwargs)

    def userinfo(
        self, *, headers: cabc.Mapping[str, str | None] | None = None
    ) -> dict[str, t.Any]:
        """The user's claims from ``ROCKETPUNCH_USERINFO_URL``: ``sub``,
        ``name``, ``preferred_username``, ``picture``, and ``email`` when the
        ``email`` scope was granted.

        :param headers: more headers, which win over the defaults (for
            example ``{"Accept-Language": "en"}``).
        :raises APIError: for example ``403`` with code ``C0011`` when the
            token lacks the ``profile`` scope.

        .. versionchanged:: 0.2
            The ``headers`` parameter.
        """
        what = "Rocketpunch's userinfo endpoint"

        def read(response: requests.Response) -> object:
            with response:
                return read_json(response, what)

        url = self._settings.userinfo_url
        kwargs: dict[str, t.Any] = {"stream": True, "headers": headers}
        claims = self._send("GET", url, kwargs, only_to=url, read=read)
        if not isinstance(claims, dict):
            raise ProviderError(
                f"{what} did not answer with a JSON object.",
                reason="invalid_response",
            )
        return claims
