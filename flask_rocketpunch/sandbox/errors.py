"""Errors the sandbox answers with, in the provider's shapes."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .models import AccessToken


def add_query(url: str, params: Mapping[str, str | None]) -> str:
    """Append parameters to a URL, keeping its existing query.

    :param url: The base URL.
    :param params: Parameters to add; ``None`` values are left out.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend((k, v) for k, v in params.items() if v is not None)
    return urlunsplit(parts._replace(query=urlencode(query)))


class SandboxError(Exception):
    """Base class of the errors the provider raises to its views."""


class InvalidAuthorizationRequest(SandboxError):
    """An authorization request that must not be redirected (RFC 6749 4.1.2.1).

    Raised for an unknown ``client_id`` or a ``redirect_uri`` that does not
    match; answered with a 400 HTML page in the reader's language.

    :param title: The page's title, in English (a catalog's msgid).
    :param message: What went wrong, in English, with ``%(name)s``
        placeholders for ``values``.
    :param values: The placeholders' values.
    """

    def __init__(self, title: str, message: str, **values: str) -> None:
        super().__init__(message % values if values else message)
        self.title = title
        #: The message in English with the values filled in.
        self.message = str(self.args[0])
        #: The message before the values are filled in, to translate it.
        self.template = message
        self.values = values


class AuthorizationError(SandboxError):
    """An authorization request error sent back to the client's redirect URI."""

    def __init__(
        self, error: str, description: str, redirect_uri: str, state: str | None
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.redirect_uri = redirect_uri
        self.state = state

    @property
    def location(self) -> str:
        """The redirect URL carrying ``error``, ``error_description``, ``state``."""
        return add_query(
            self.redirect_uri,
            {
                "error": self.error,
                "error_description": self.description,
                "state": self.state,
            },
        )


class TokenError(SandboxError):
    """A token or revocation endpoint error (RFC 6749 section 5.2)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


class APIError(SandboxError):
    """An error of the user-context API (userinfo, profile, ``/api/v1``).

    :param status: The HTTP status.
    :param code: The Rocketpunch error code, e.g. ``"C0011"``.
    :param message: A human-readable message.
    :param details: The field or reason, if any.
    :param www_authenticate: A ``WWW-Authenticate`` challenge, if any.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: str | None = None,
        www_authenticate: str | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.www_authenticate = www_authenticate


def insufficient_scope(scope: str) -> APIError:
    """The 403 ``C0011`` error for a missing scope (RFC 6750 3.1).

    :param scope: The scope the token lacks.
    """
    return APIError(
        403,
        "C0011",
        f"The access token lacks the required scope {scope!r}.",
        details=scope,
        www_authenticate=(
            f'Bearer realm="rocketpunch", error="insufficient_scope", scope="{scope}"'
        ),
    )


def require_scope(token: AccessToken, scope: str) -> None:
    """Raise 403 ``C0011`` unless the token carries ``scope``.

    :param token: The authenticated access token.
    :param scope: The required scope.
    :raise APIError: The scope is missing.
    """
    if scope not in token.scopes:
        raise insufficient_scope(scope)


def fault_error(status: int, profile_scope: str) -> APIError:
    """The API error a ``*_status`` fault answers with.

    :param status: The HTTP status to answer.
    :param profile_scope: The scope a 403 names as missing.
    """
    if status == 401:
        return APIError(
            401,
            "C0001",
            "The access token is invalid.",
            www_authenticate='Bearer realm="rocketpunch", error="invalid_token"',
        )
    if status == 403:
        return insufficient_scope(profile_scope)
    if status == 429:
        return APIError(429, "C0010", "Rate limit exceeded.")
    codes = {400: "C0005", 404: "C0008"}
    code = codes.get(status, "C9999" if status >= 500 else "C0002")
    return APIError(status, code, f"The sandbox answered {status} (fault).")
