"""The authorization code flow, with no Flask globals.

The ``state``, the authorization URL, ``next`` validation, and the token
endpoint calls (code exchange, refresh, revocation). Every function takes
what it needs as arguments, so the flow is testable without a request. The
logins in flight are in :mod:`flask_rocketpunch.pending`.
"""

from __future__ import annotations

import collections.abc as cabc
import functools
import logging
import secrets
import typing as t
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests

from .exceptions import OAuthError, ProviderError
from .http import post_form, provider_call, read_json
from .logs import neutral
from .ratelimits import token_endpoint_rate_limited
from .scopes import scope_string
from .settings import Settings
from .tokens import Token

logger = logging.getLogger("flask_rocketpunch")

#: Error codes of RFC 6749 section 4.1.2.1 with a sentence for people.
AUTHORIZATION_ERRORS: dict[str, str] = {
    "access_denied": "You chose not to let this app use your Rocketpunch account.",
    "invalid_request": "The login request was malformed.",
    "unauthorized_client": "This app is not allowed to log in with Rocketpunch.",
    "unsupported_response_type": "Rocketpunch does not support this kind of login.",
    "invalid_scope": "This app asked Rocketpunch for permissions it cannot have.",
    "server_error": "Rocketpunch had an internal error.",
    "temporarily_unavailable": "Rocketpunch is temporarily unavailable.",
}


def new_state() -> str:
    """A fresh ``state`` value: 256 bits from the OS's CSPRNG."""
    return secrets.token_urlsafe(32)


def authorization_url(
    authorize_url: str,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: cabc.Iterable[str],
    state: str,
    code_challenge: str | None,
) -> str:
    """Build the URL of the consent page (RFC 6749 section 4.1.1, RFC 7636
    section 4.3), keeping any query the configured URL already has."""
    base, kept, fragment = _split_endpoint(authorize_url)
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": scope_string(scopes),
        "state": state,
    }
    if code_challenge is not None:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"
    query = [(k, v) for k, v in kept if k not in params] + list(params.items())
    return f"{base}?{urlencode(query, quote_via=quote)}{fragment}"


@functools.lru_cache(maxsize=32)
def _split_endpoint(url: str) -> tuple[str, tuple[tuple[str, str], ...], str]:
    """``url`` without its query, its query's pairs, and its ``#fragment``
    (made once per configured URL)."""
    parts = urlsplit(url)
    base = urlunsplit(parts._replace(query="", fragment=""))
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return base, tuple(parse_qsl(parts.query, keep_blank_values=True)), fragment


def token_request(
    http: requests.Session,
    settings: Settings,
    data: dict[str, str],
    headers: cabc.Mapping[str, str] | None = None,
) -> cabc.Mapping[str, t.Any]:
    """POST to the token endpoint and return its parsed JSON answer.

    :param headers: more headers to send, such as ``Accept-Language``.
    :raises OAuthError: the provider answered with an RFC 6749 section 5.2
        error.
    :raises RateLimitError: the provider answered ``429``.
    :raises ProviderError: unreachable, too slow (the whole call, answer
        included, must finish within ``ROCKETPUNCH_TIMEOUT``), a 5xx, a
        redirect (never followed), or an answer that is not JSON.
    """
    what = "Rocketpunch's token endpoint"
    url = settings.token_url
    with provider_call(what, url, settings.timeout):
        response = post_form(http, settings, url, data, what=what, headers=headers)
        with response:
            return _token_answer(response, what)


def _token_answer(response: requests.Response, what: str) -> cabc.Mapping[str, t.Any]:
    status = response.status_code
    if status == 429:
        raise token_endpoint_rate_limited(response, what)
    if status >= 500:
        logger.warning("The token endpoint answered HTTP %s.", status)
        raise ProviderError(
            f"{what} answered HTTP {status}. Rocketpunch may be down or busy;"
            " try again in a moment.",
            reason="server_error",
            status_code=status,
        )
    if 300 <= status < 400:
        logger.warning("The token endpoint answered a redirect (HTTP %s).", status)
        raise ProviderError(
            f"{what} answered with a redirect (HTTP {status}), which is not"
            " followed: the client's credentials go only to the configured URL."
            " Set ROCKETPUNCH_TOKEN_URL to the endpoint's final URL.",
            reason="invalid_response",
            status_code=status,
        )
    payload = read_json(response, what)
    if status != 200:
        if isinstance(payload, cabc.Mapping) and isinstance(payload.get("error"), str):
            error = str(payload["error"])[:100]
            description = payload.get("error_description")
            uri = payload.get("error_uri")
            logger.info(
                "The token endpoint answered the OAuth error %s.", neutral(error)
            )
            raise OAuthError(
                error,
                str(description)[:500] if isinstance(description, str) else None,
                str(uri)[:500] if isinstance(uri, str) else None,
            )
        raise ProviderError(
            f"{what} answered HTTP {status} without an OAuth error.",
            reason="invalid_response",
            status_code=status,
        )
    if not isinstance(payload, cabc.Mapping):
        raise ProviderError(
            f"{what} answered with JSON that is not an object.",
            reason="invalid_response",
            status_code=status,
        )
    return payload


def exchange_code(
    http: requests.Session,
    settings: Settings,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str | None,
    requested_scopes: cabc.Iterable[str],
    now: float,
    headers: cabc.Mapping[str, str] | None = None,
) -> Token:
    """Exchange an authorization code for a token (RFC 6749 section 4.1.3).

    :param headers: more headers to send, such as ``Accept-Language``.
    :raises OAuthError: for example ``invalid_grant`` for a used code.
    :raises ProviderError: see :func:`token_request`, and an invalid token.
    """
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
    }
    if code_verifier is not None:
        data["code_verifier"] = code_verifier
    payload = token_request(http, settings, data, headers)
    return Token.from_response(payload, now=now, requested_scopes=requested_scopes)


def refresh_token(
    http: requests.Session,
    settings: Settings,
    token: Token,
    *,
    now: float,
    headers: cabc.Mapping[str, str] | None = None,
) -> Token:
    """Use ``token``'s refresh token for a new one (RFC 6749 section 6).

    A response without a ``refresh_token`` keeps the old one; a rotated one
    replaces it.

    :param headers: more headers to send, such as ``Accept-Language``.
    :raises OAuthError: ``invalid_grant`` if the refresh token is expired,
        revoked or already used.
    :raises ProviderError: see :func:`token_request`.
    """
    if not token.refresh_token:
        raise OAuthError(
            "invalid_grant",
            message="The token has expired and Rocketpunch gave no refresh token.",
        )
    data = {"grant_type": "refresh_token", "refresh_token": token.refresh_token}
    payload = token_request(http, settings, data, headers)
    return Token.from_response(payload, now=now, previous=token)


def revoke_token(http: requests.Session, settings: Settings, token: Token) -> None:
    """Revoke ``token``'s refresh token (RFC 7009); with no refresh token, the
    access token. Does nothing when ``REVOKE_URL`` is ``None``.

    :raises ProviderError: if the revocation endpoint fails.
    """
    if settings.revoke_url is None:
        return
    if token.refresh_token:
        data = {"token": token.refresh_token, "token_type_hint": "refresh_token"}
    else:
        data = {"token": token.access_token, "token_type_hint": "access_token"}
    what = "Rocketpunch's revocation endpoint"
    with provider_call(what, settings.revoke_url, settings.timeout):
        response = post_form(http, settings, settings.revoke_url, data, what=what)
        with response:
            status = response.status_code
    if status != 200:
        raise ProviderError(
            f"{what} answered HTTP {status}.",
            reason="server_error" if status >= 500 else "rejected",
            status_code=status,
        )
