"""The HTTP client for the Rocketpunch API."""

from __future__ import annotations

import collections.abc as cabc
import logging
import re
import typing as t
from urllib.parse import urljoin, urlsplit

import requests
from requests.auth import AuthBase

from .exceptions import APIError, ProviderError, RateLimitError, ReauthorizationRequired
from .http import read_json, unreachable
from .manager import TokenManager
from .settings import Settings

logger = logging.getLogger("flask_rocketpunch")


class BearerAuth(AuthBase):
    """Adds ``Authorization: Bearer <token>`` to one request.

    :param access_token: the access token.
    """

    def __init__(self, access_token: str) -> None:
        self.access_token = access_token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.access_token}"
        return r

    def __repr__(self) -> str:
        return "BearerAuth(<hidden>)"


def _retry_after(response: requests.Response) -> int | None:
    value = response.headers.get("Retry-After", "").strip()
    return int(value) if value.isdigit() else None


def _invalid_token(response: requests.Response) -> bool:
    """Whether a ``401`` says the bearer token is invalid (RFC 6750 section
    3.1), rather than, say, the App Key."""
    challenge = response.headers.get("WWW-Authenticate", "")[:1000]
    return re.search(r'error\s*=\s*"?invalid_token\b', challenge) is not None


def api_error(response: requests.Response) -> APIError:
    """Turn a failed API answer into :class:`APIError` or :class:`RateLimitError`.

    Understands ``{"code", "message", ...}`` (the current API) and
    ``{"error": {"message"}}`` (the July 2026 guide).
    """
    code: str | None = None
    message = f"HTTP {response.status_code} {response.reason or ''}".strip()
    try:
        body = response.json()
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
    if response.status_code == 429:
        retry_after = _retry_after(response)
        if retry_after is not None:
            message += f" (retry after {retry_after} seconds)"
        return RateLimitError(
            response.status_code, code, message, response, retry_after=retry_after
        )
    return APIError(response.status_code, code, message, response)


class RocketpunchClient:
    """Calls the Rocketpunch API as the current user.

    Get one through the :data:`~flask_rocketpunch.rocketpunch` proxy. Paths are
    relative to ``ROCKETPUNCH_API_BASE_URL``. Every call carries the user's
    bearer token (refreshed first when it is about to expire) and a timeout;
    after a ``401`` the token is refreshed once and the call retried once.

    Failed calls raise :class:`~flask_rocketpunch.APIError` (or
    :class:`~flask_rocketpunch.RateLimitError` for a ``429``).

    .. versionadded:: 0.1
    """

    def __init__(
        self, *, http: requests.Session, settings: Settings, tokens: TokenManager
    ) -> None:
        self._http = http
        self._settings = settings
        self._tokens = tokens

    def url_for(self, path: str) -> str:
        """The absolute URL of an API ``path``.

        :raises ValueError: for an absolute URL on another host, so the bearer
            token is never sent anywhere else.
        """
        base = self._settings.api_base_url
        if urlsplit(path).scheme or path.startswith("//"):
            target, allowed = urlsplit(path), urlsplit(base)
            if (target.scheme, target.netloc) != (allowed.scheme, allowed.netloc):
                raise ValueError(
                    f"{path!r} is not on the Rocketpunch API host; the token is only"
                    " sent to ROCKETPUNCH_API_BASE_URL's host."
                )
            return path
        return urljoin(base, path.lstrip("/"))

    def request(self, method: str, path: str, **kwargs: t.Any) -> requests.Response:
        """Send a request to the API as the current user.

        :param method: the HTTP method.
        :param path: a path relative to ``ROCKETPUNCH_API_BASE_URL``.
        :param kwargs: passed to :meth:`requests.Session.request` (``params``,
            ``json``, ``data``, ``headers``, ``timeout``...).
        :raises APIError: the API answered with an error status.
        :raises RateLimitError: the API answered ``429``.
        :raises ProviderError: the API could not be reached or was too slow.
        :raises ReauthorizationRequired: the user must log in again.
        """
        return self._send(method, self.url_for(path), kwargs)

    def _send(
        self, method: str, url: str, kwargs: dict[str, t.Any]
    ) -> requests.Response:
        if kwargs.get("timeout") is None:
            # Every call has a timeout, even when a caller passes None.
            kwargs["timeout"] = self._settings.timeout
        kwargs.pop("auth", None)
        token = self._tokens.valid_token()
        response = self._call(method, url, token.access_token, kwargs)
        if response.status_code == 401:
            response.close()
            logger.info("The API rejected the access token; refreshing once.")
            token = self._tokens.refresh(token)
            response = self._call(method, url, token.access_token, kwargs)
            if response.status_code == 401 and _invalid_token(response):
                # Refused again just after a refresh: the grant is revoked.
                response.close()
                self._tokens.end("revoked")
                raise ReauthorizationRequired(
                    "Rocketpunch no longer accepts this login (it was revoked)."
                    " Log in again."
                )
        if response.status_code >= 400:
            raise api_error(response)
        return response

    def _call(
        self, method: str, url: str, access_token: str, kwargs: dict[str, t.Any]
    ) -> requests.Response:
        try:
            return self._http.request(
                method, url, auth=BearerAuth(access_token), **kwargs
            )
        except requests.RequestException as exc:
            what = "The Rocketpunch API"
            raise unreachable(exc, what, url, kwargs["timeout"]) from None

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

    def userinfo(self) -> dict[str, t.Any]:
        """The user's claims from ``ROCKETPUNCH_USERINFO_URL``: ``sub``,
        ``name``, ``preferred_username``, ``picture``, and ``email`` when the
        ``email`` scope was granted.

        :raises APIError: for example ``403`` with code ``C0011`` when the
            token lacks the ``profile`` scope.
        """
        response = self._send("GET", self._settings.userinfo_url, {"stream": True})
        with response:
            claims = read_json(response, "Rocketpunch's userinfo endpoint")
        if not isinstance(claims, dict):
            raise ProviderError(
                "Rocketpunch's userinfo endpoint did not answer with a JSON object.",
                reason="invalid_response",
                status_code=response.status_code,
            )
        return claims
