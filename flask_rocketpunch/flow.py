"""The authorization code flow, with no Flask globals.

State and PKCE, the bounded map of logins in flight, the authorization URL,
``next`` validation, and the token endpoint calls (code exchange, refresh,
revocation). Every function takes what it needs as arguments, so the flow is
testable without a request.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import hashlib
import json
import logging
import secrets
import typing as t
import unicodedata
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests

from .encoding import b64url_encode
from .exceptions import (
    NoLoginInFlightError,
    OAuthError,
    ProviderError,
    StateExpiredError,
    StateMismatchError,
)
from .scopes import parse_scopes
from .settings import Settings
from .tokens import Token

logger = logging.getLogger("flask_rocketpunch")

#: The most the logins in flight may take in the session, in bytes of JSON.
MAX_PENDING_BYTES = 1200

#: The longest ``next`` remembered with a login in flight; a longer one is
#: dropped and the login lands on ``LOGIN_REDIRECT``.
MAX_REMEMBERED_NEXT = 512

#: The largest token endpoint answer read, in bytes.
MAX_RESPONSE_BYTES = 256 * 1024

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


def state_key(state: str) -> str:
    """The short key under which a login in flight is remembered.

    The session keeps a hash of the state, not the state itself: it is smaller
    and tells nothing to someone who reads the cookie.
    """
    digest = hashlib.sha256(state.encode("utf-8", "surrogatepass")).digest()
    return b64url_encode(digest[:16])


def safe_next(value: object) -> str | None:
    """Return ``value`` if it is a local path on this app, else ``None``.

    Accepted: a path starting with a single ``/``, with no scheme, no host, no
    backslash, no control or white-space character, at most 2048 characters.
    This keeps the callback from being an open redirector (RFC 9700 section
    4.11): ``//evil.example``, ``/\\evil.example``, ``https://evil.example``,
    ``/\\t/evil.example`` and the like are all refused.
    """
    if not isinstance(value, str) or not value or len(value) > 2048:
        return None
    if not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(
        c.isspace() or unicodedata.category(c)[0] == "C" for c in value
    ):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    return value


@dataclasses.dataclass(frozen=True)
class PendingLogin:
    """A login in flight: what the callback needs to finish it."""

    expires_at: float
    next_url: str | None
    scopes: frozenset[str]
    #: Which secret key derived the PKCE verifier (see :func:`key_id`), so a
    #: login in flight survives a ``SECRET_KEY`` rotation.
    key_id: str = ""


PendingMap = dict[str, list[t.Any]]


def remember_login(
    pending: cabc.Mapping[str, t.Any] | None,
    state: str,
    login: PendingLogin,
    *,
    now: float,
    limit: int,
) -> PendingMap:
    """Return a new pending map with ``login`` added under ``state``.

    Expired entries are pruned, and the oldest ones beyond ``limit`` (or
    beyond :data:`MAX_PENDING_BYTES`) dropped, so the map and the cookie that
    carries it stay small however many tabs start a login. A ``next`` longer
    than :data:`MAX_REMEMBERED_NEXT` is not remembered.
    """
    kept = [(key, entry) for key, entry in _valid_entries(pending) if entry[0] > now]
    kept.sort(key=lambda item: item[1][0])
    kept = kept[-(limit - 1) :] if limit > 1 else []
    # Flask's session sorts keys, so age is kept in the entry itself: the
    # stamp is the expiry to the millisecond, later than every kept one.
    stamp = round(login.expires_at, 3)
    if kept:
        stamp = max(stamp, round(kept[-1][1][0] + 0.001, 3))
    next_url = login.next_url
    if next_url is not None and len(next_url) > MAX_REMEMBERED_NEXT:
        next_url = None
    out: PendingMap = dict(kept)
    out[state_key(state)] = [
        stamp,
        next_url,
        " ".join(sorted(login.scopes)),
        login.key_id,
    ]
    # Bounded in bytes too, whatever the next paths: drop the oldest first.
    while len(out) > 1 and len(json.dumps(out)) > MAX_PENDING_BYTES:
        del out[next(iter(out))]
    return out


def _valid_entries(
    pending: cabc.Mapping[str, t.Any] | None,
) -> list[tuple[str, list[t.Any]]]:
    if not isinstance(pending, cabc.Mapping):
        return []
    out = []
    for key, entry in pending.items():
        if (
            isinstance(key, str)
            and isinstance(entry, list)
            and len(entry) in (3, 4)
            and isinstance(entry[0], (int, float))
        ):
            out.append((key, entry))
    return out


def take_login(
    pending: cabc.Mapping[str, t.Any] | None,
    state: str | None,
    *,
    now: float,
    cookie_sent: bool = True,
) -> tuple[PendingLogin, PendingMap]:
    """Find and remove the login in flight that ``state`` belongs to.

    :param pending: the pending map from the session.
    :param state: the ``state`` query parameter of the callback.
    :param now: the current time.
    :param cookie_sent: whether the browser sent a session cookie at all; used
        to say what to check when there is no login in flight.
    :return: the login, and the pending map without it (the state is single
        use whatever the outcome of the code exchange).
    :raises NoLoginInFlightError: the browser has no login in flight.
    :raises StateMismatchError: ``state`` is missing or unknown.
    :raises StateExpiredError: the login took longer than ``LOGIN_TTL``.
    """
    entries = dict(_valid_entries(pending))
    if not entries:
        if cookie_sent:
            why = (
                "this browser has no Rocketpunch login in flight: it was already"
                " completed, the session was cleared, or another site on the same"
                " host name replaced the session cookie (browsers share cookies"
                " between ports: a local provider on another port that is a Flask"
                " app too uses the same cookie name; give this app its own"
                " SESSION_COOKIE_NAME)."
            )
        else:
            why = "the browser did not send its session cookie back."
        raise NoLoginInFlightError(
            f"The login could not be completed because {why} Start the login again"
            " from this site. If it keeps happening, check that the site is opened"
            " under the same host name as the redirect URI (localhost and"
            " 127.0.0.1 are different sites), that SESSION_COOKIE_SAMESITE is"
            " 'Lax' and not 'Strict', that SESSION_COOKIE_DOMAIN matches, and that"
            " SECRET_KEY did not change."
        )
    if not state:
        raise StateMismatchError(
            "The callback has no 'state' parameter, so it cannot be tied to a login"
            " started in this browser. Start the login again from this site."
        )
    key = state_key(state)
    entry = entries.pop(key, None)
    if entry is None:
        raise StateMismatchError(
            "The callback's 'state' does not match any login started in this"
            " browser: it was already used, or the link came from somewhere else."
            " Start the login again from this site."
        )
    login = PendingLogin(
        expires_at=float(entry[0]),
        next_url=safe_next(entry[1]),
        scopes=parse_scopes(entry[2] if isinstance(entry[2], str) else None),
        key_id=entry[3] if len(entry) > 3 and isinstance(entry[3], str) else "",
    )
    remaining = {k: v for k, v in entries.items() if v[0] > now}
    if login.expires_at <= now:
        raise StateExpiredError(
            "The login took too long to complete and has expired. Start the login"
            " again from this site."
        )
    return login, remaining


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
    parts = urlsplit(authorize_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(sorted(scopes)),
        "state": state,
    }
    if code_challenge is not None:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"
    query = [(k, v) for k, v in query if k not in params] + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def _describe(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def read_json(response: requests.Response, what: str) -> object:
    """Read a JSON answer of at most :data:`MAX_RESPONSE_BYTES`.

    :raises ProviderError: too large, not a JSON content type, or not JSON.
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
        return json.loads(body)
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
) -> requests.Response:
    """POST an authenticated form to one of the provider's endpoints.

    :raises ProviderError: if the provider cannot be reached or is too slow.
    """
    body, auth = _client_auth(settings, data)
    try:
        return http.post(
            url,
            data=body,
            auth=auth,
            timeout=settings.timeout,
            headers={"Accept": "application/json"},
            allow_redirects=False,
            stream=True,
        )
    except requests.RequestException as exc:
        raise unreachable(exc, what, url, settings.timeout) from None


def unreachable(
    exc: requests.RequestException, what: str, url: str, timeout: object
) -> ProviderError:
    """The :class:`ProviderError` for a call to ``url`` that failed in
    transport (timeout or connection), logged without the URL's query.

    :param exc: what requests raised.
    :param what: the endpoint, for people ("Rocketpunch's token endpoint").
    :param url: the URL called.
    :param timeout: the timeout the call had.
    """
    if isinstance(exc, requests.Timeout):
        logger.warning("%s at %s did not answer in time.", what, _describe(url))
        return ProviderError(
            f"{what} did not answer within {timeout} seconds. Try again later;"
            " if it persists, check ROCKETPUNCH_TIMEOUT and the network.",
            reason="timeout",
        )
    logger.warning(
        "%s at %s could not be reached (%s).", what, _describe(url), type(exc).__name__
    )
    return ProviderError(
        f"{what} could not be reached. Try again later; if it persists, check"
        " the configured URL and the network.",
        reason="connection",
    )


def token_request(
    http: requests.Session, settings: Settings, data: dict[str, str]
) -> cabc.Mapping[str, t.Any]:
    """POST to the token endpoint and return its parsed JSON answer.

    :raises OAuthError: the provider answered with an RFC 6749 section 5.2
        error.
    :raises ProviderError: unreachable, too slow, a 5xx, or an answer that is
        not JSON.
    """
    what = "Rocketpunch's token endpoint"
    response = post_form(http, settings, settings.token_url, data, what=what)
    with response:
        status = response.status_code
        if status >= 500 or status == 429:
            logger.warning("The token endpoint answered HTTP %s.", status)
            raise ProviderError(
                f"{what} answered HTTP {status}. Rocketpunch may be down or busy;"
                " try again in a moment.",
                reason="server_error",
                status_code=status,
            )
        payload = read_json(response, what)
        if status != 200:
            if isinstance(payload, cabc.Mapping) and isinstance(
                payload.get("error"), str
            ):
                error = str(payload["error"])[:100]
                description = payload.get("error_description")
                uri = payload.get("error_uri")
                logger.info("The token endpoint answered the OAuth error %r.", error)
                exc = OAuthError(
                    error,
                    str(description)[:500] if isinstance(description, str) else None,
                    str(uri)[:500] if isinstance(uri, str) else None,
                )
                if error == "invalid_client":
                    exc.http_status = 500
                    exc.message += (
                        ". Check ROCKETPUNCH_CLIENT_ID, ROCKETPUNCH_CLIENT_SECRET"
                        " and ROCKETPUNCH_CLIENT_AUTH."
                    )
                raise exc
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
) -> Token:
    """Exchange an authorization code for a token (RFC 6749 section 4.1.3).

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
    payload = token_request(http, settings, data)
    return Token.from_response(payload, now=now, requested_scopes=requested_scopes)


def refresh_token(
    http: requests.Session, settings: Settings, token: Token, *, now: float
) -> Token:
    """Use ``token``'s refresh token for a new one (RFC 6749 section 6).

    A response without a ``refresh_token`` keeps the old one; a rotated one
    replaces it.

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
    payload = token_request(http, settings, data)
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
    response = post_form(http, settings, settings.revoke_url, data, what=what)
    with response:
        if response.status_code != 200:
            raise ProviderError(
                f"{what} answered HTTP {response.status_code}.",
                reason="server_error" if response.status_code >= 500 else "rejected",
                status_code=response.status_code,
            )
