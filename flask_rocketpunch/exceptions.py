"""Exceptions raised by flask-rocketpunch.

Every exception derives from :class:`RocketpunchError`, so one ``except`` clause
catches them all. Each class carries the data a caller needs to react, and an
:attr:`~RocketpunchError.http_status` that the default error pages use.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

from .i18n import N_

if t.TYPE_CHECKING:
    import requests

    from .ratelimits import RateLimit

#: Said wherever a missing ``SECRET_KEY`` is noticed.
NO_SECRET_KEY = N_(
    "SECRET_KEY is not set. flask-rocketpunch keeps logins in the session and"
    " encrypts tokens with a key derived from it: set app.config"
    '["SECRET_KEY"] (or FLASK_SECRET_KEY with from_prefixed_env()) to a long'
    " random value, for example from secrets.token_hex()."
)


#: The status of the default error page for an :class:`OAuthError`, by
#: where it was answered (``"callback"``: the authorization response, RFC 6749
#: section 4.1.2.1; ``"token"``: the token endpoint, section 5.2) and its
#: ``error`` code; any other answers ``400``.
OAUTH_ERROR_STATUS: cabc.Mapping[str, cabc.Mapping[str, int]] = {
    "callback": {
        "access_denied": 403,
        "server_error": 503,
        "temporarily_unavailable": 503,
    },
    "token": {"invalid_client": 500},
}

#: What to check, added to the message of an :class:`OAuthError` from the
#: token endpoint with this ``error`` code.
OAUTH_ERROR_ADVICE: cabc.Mapping[str, str] = {
    "invalid_client": "Check ROCKETPUNCH_CLIENT_ID, ROCKETPUNCH_CLIENT_SECRET and"
    " ROCKETPUNCH_CLIENT_AUTH.",
}

#: The status of the default error page for a :class:`ProviderError`, by its
#: ``reason``; any other reason answers ``502``.
PROVIDER_ERROR_STATUS: cabc.Mapping[str, int] = {
    "timeout": 504,
    "refresh_pending": 503,
}


class RocketpunchError(Exception):
    """Base class of every error raised by flask-rocketpunch.

    .. versionadded:: 0.1
    """

    #: The HTTP status the default error page answers with.
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        #: A message that says what went wrong and what to do. It never
        #: contains a client secret, a code, a verifier or a token.
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(RocketpunchError):
    """The extension is configured wrongly, for example a required key is
    missing. Raised at :meth:`~flask_rocketpunch.RocketpunchOAuth.init_app` or
    when a view first needs the value.
    """


class OAuthError(RocketpunchError):
    """The provider answered with an RFC 6749 error, at the callback (section
    4.1.2.1) or at the token endpoint (section 5.2).

    :param error: the ``error`` code, such as ``access_denied`` or
        ``invalid_grant``.
    :param error_description: the provider's human-readable description.
    :param error_uri: a page about the error, if the provider sent one.
    :param at: where the provider answered it: ``"token"`` (the token
        endpoint) or ``"callback"`` (the redirect back from the consent page).
    """

    def __init__(
        self,
        error: str,
        error_description: str | None = None,
        error_uri: str | None = None,
        *,
        message: str | None = None,
        at: t.Literal["token", "callback"] = "token",
    ) -> None:
        #: The RFC 6749 error code.
        self.error = error
        #: The provider's description of the error, or ``None``.
        self.error_description = error_description
        #: A URI the provider gave for the error, or ``None``.
        self.error_uri = error_uri
        if message is None:
            message = f"Rocketpunch answered with the OAuth error {error!r}"
            if error_description:
                message += f": {error_description}"
            if at == "token" and error in OAUTH_ERROR_ADVICE:
                message += f". {OAUTH_ERROR_ADVICE[error]}"
        super().__init__(message)
        self.http_status = OAUTH_ERROR_STATUS[at].get(error, 400)


class StateError(RocketpunchError):
    """The ``state`` at the callback does not belong to a login in flight in
    this browser. This protects against login CSRF (RFC 6749 section 10.12).
    """

    http_status = 400


class NoLoginInFlightError(StateError):
    """The callback arrived but this browser has no login in flight.

    Usually the session cookie did not come back: the login started on another
    host name (``localhost`` versus ``127.0.0.1``), ``SESSION_COOKIE_SAMESITE``
    is ``"Strict"``, the cookie domain does not match, or ``SECRET_KEY`` changed.
    """


class StateMismatchError(StateError):
    """The callback's ``state`` matches no login in flight in this browser: it
    was already used, belongs to another browser, or was tampered with."""


class StateExpiredError(StateError):
    """The callback's ``state`` belonged to a login that took too long."""


class ProviderError(RocketpunchError):
    """Rocketpunch could not be reached, was too slow, failed, or answered with
    something that is not a valid response.

    :param message: what happened and what to do.
    :param reason: a short machine-readable reason: ``"connection"``,
        ``"timeout"`` (answered with ``504``), ``"server_error"``,
        ``"invalid_response"``, ``"rejected"`` (the revocation endpoint
        refused the request), ``"refresh_pending"`` (another process is
        refreshing the token and did not finish in time; ``503``).
    :param status_code: the HTTP status of the provider's answer, if any.
    """

    def __init__(
        self, message: str, *, reason: str, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        #: A short machine-readable reason.
        self.reason = reason
        #: The HTTP status the provider answered with, or ``None``.
        self.status_code = status_code
        self.http_status = PROVIDER_ERROR_STATUS.get(reason, 502)


class StorageError(RocketpunchError):
    """The token storage (Redis, a database) failed or could not be reached.
    Nothing was lost: the request can be tried again once it is back.

    .. versionadded:: 0.2
    """

    http_status = 503


class ReauthorizationRequired(RocketpunchError):
    """The user must log in with Rocketpunch again: there is no token, or it
    could not be refreshed (for example the refresh token was revoked), or it
    lacks a scope the view needs.

    :param message: what happened.
    :param scopes: the scopes the new authorization should ask for, if known.
    """

    http_status = 401

    def __init__(self, message: str, *, scopes: t.Iterable[str] = ()) -> None:
        super().__init__(message)
        #: The scopes a new login should request (may be empty).
        self.scopes: frozenset[str] = frozenset(scopes)


class ScopeRefusedError(RocketpunchError):
    """A view needs scopes that Rocketpunch refused in this browser a short
    while ago (the user unticked them, or the app may not have them), so a
    new authorization would only be refused again and loop.

    :func:`~flask_rocketpunch.login_required_rocketpunch` answers with it
    (through the :meth:`~flask_rocketpunch.RocketpunchOAuth.on_error` hook,
    else the default ``403`` page or JSON) instead of starting a step-up.

    :param message: what happened and what to do.
    :param scopes: the scopes the view needs and the token lacks.
    :param retry_url: a URL that forgets the refusal and asks again.

    .. versionadded:: 0.2
    """

    http_status = 403
    #: The error code of the JSON answer (RFC 6750 section 3.1).
    error = "insufficient_scope"

    def __init__(
        self, message: str, *, scopes: t.Iterable[str], retry_url: str | None = None
    ) -> None:
        super().__init__(message)
        #: The scopes the view needs and the token lacks.
        self.scopes: frozenset[str] = frozenset(scopes)
        #: Where to ask for them again (forgets the refusal first).
        self.retry_url = retry_url


class UnsafeURLError(RocketpunchError, ValueError):
    """An API call was asked for a URL the access token must not go to: on
    another scheme, host or port than ``ROCKETPUNCH_API_BASE_URL`` (after
    every normalisation the URL goes through), with user info, or a path with
    control characters or whitespace at its ends. Nothing was sent.

    It is a :exc:`ValueError` too, so code that caught that still works.
    The default error page answers ``400``.

    .. versionadded:: 0.2
    """

    http_status = 400


class APIError(RocketpunchError):
    """A call to the Rocketpunch API failed.

    Both of the provider's error shapes are understood: the current
    ``{"code", "message", "timestamp", "details"}`` and the July 2026 guide's
    ``{"error": {"message"}}``.

    :param status_code: the HTTP status of the answer.
    :param code: the provider's error code such as ``"C0011"``, or ``None``.
    :param message: the provider's message, or a description of the failure.
    :param response: the :class:`requests.Response`.
    """

    http_status = 502

    def __init__(
        self,
        status_code: int,
        code: str | None,
        message: str,
        response: requests.Response | None = None,
    ) -> None:
        super().__init__(message)
        #: The HTTP status of the API's answer.
        self.status_code = status_code
        #: The provider's error code, or ``None`` when it sent none.
        self.code = code
        #: The full response, to read headers or the body.
        self.response = response

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        return f"Rocketpunch API error {self.status_code}{code}: {self.message}"

    @property
    def rate_limit(self) -> RateLimit:
        """The answer's ``X-RP-RateLimit-*`` headers (see
        :func:`~flask_rocketpunch.rate_limit_of`); every field ``None``
        without a response.

        .. versionadded:: 0.2
        """
        from .ratelimits import RateLimit, rate_limit_of

        return RateLimit() if self.response is None else rate_limit_of(self.response)


class RateLimitError(APIError):
    """Rocketpunch answered ``429 Too Many Requests``: the API, or the token
    endpoint during a login or a refresh. The default error page answers
    ``429`` with the same ``Retry-After``.

    :param retry_after: seconds to wait before retrying, from ``Retry-After``.
    :param scope: the operation whose own limit was reached, such as
        ``"post.create"``; by default from ``X-RP-RateLimit-Scope``.
    :param remaining: calls left in the app's global budget; by default from
        ``X-RP-RateLimit-Remaining``.
    :param scope_remaining: calls of that operation left this minute; by
        default from ``X-RP-RateLimit-Scope-Remaining``.

    .. versionchanged:: 0.2
        Answers ``429`` (was ``503``); raised for the token endpoint too;
        ``scope``, ``remaining`` and ``scope_remaining``.
    """

    http_status = 429

    def __init__(
        self,
        status_code: int,
        code: str | None,
        message: str,
        response: requests.Response | None = None,
        *,
        retry_after: int | None = None,
        scope: str | None = None,
        remaining: int | None = None,
        scope_remaining: int | None = None,
    ) -> None:
        super().__init__(status_code, code, message, response)
        #: Seconds to wait before retrying, or ``None`` if the API did not say.
        self.retry_after = retry_after
        told = self.rate_limit
        #: The operation whose own limit was reached (``"post.create"``...),
        #: or ``None`` for the app's global limit or when not said.
        self.scope = scope if scope is not None else told.scope
        #: Calls left in the app's global budget, or ``None``.
        self.remaining = remaining if remaining is not None else told.remaining
        #: Calls of :attr:`scope` left this minute, or ``None``.
        self.scope_remaining = (
            scope_remaining if scope_remaining is not None else told.scope_remaining
        )
