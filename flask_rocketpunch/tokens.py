"""The :class:`Token` value: parsing and validating a token response, expiry."""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import functools
import json
import math
import typing as t

from .crypto import KeyRing
from .encoding import b64url_decode
from .exceptions import ProviderError
from .scopes import parse_scopes, scope_string

#: The longest access token life accepted, in seconds (ten years).
MAX_EXPIRES_IN = 10 * 365 * 24 * 3600

#: The longest access or refresh token accepted, in characters.
MAX_TOKEN_LENGTH = 16 * 1024


def header_safe(value: str) -> bool:
    """Whether ``value`` can be sent as a bearer token in an HTTP header:
    printable ASCII without spaces (``%x21-7E``), so no CR/LF, controls or
    non-ASCII text (RFC 6750 section 2.1 is stricter still)."""
    return value.isascii() and value.isprintable() and " " not in value


def _vschar(value: str) -> bool:
    """Whether ``value`` is made of RFC 6749's ``VSCHAR`` (``%x20-7E``)."""
    return value.isascii() and value.isprintable()


def jwt_subject(access_token: str) -> str | None:
    """The ``sub`` claim of a JWT access token, unverified, or ``None`` when
    the token is not a JWT with a short string ``sub``."""
    parts = access_token.split(".")
    if len(parts) != 3 or len(parts[1]) > 4096:
        return None
    payload = b64url_decode(parts[1])
    try:
        claims = json.loads(payload) if payload is not None else None
    except (ValueError, RecursionError):
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) and 0 < len(sub) <= 255 else None


def _invalid(detail: str) -> ProviderError:
    return ProviderError(
        f"Rocketpunch's token endpoint sent an invalid token response: {detail}."
        " Check that ROCKETPUNCH_TOKEN_URL points at an OAuth 2.0 token endpoint.",
        reason="invalid_response",
    )


@dataclasses.dataclass(frozen=True)
class Token:
    """An OAuth 2.0 access token with what is known about it.

    Build one from a token endpoint's JSON with :meth:`from_response`. The
    ``repr`` shows neither token.

    .. versionadded:: 0.1
    """

    #: The bearer access token.
    access_token: str = dataclasses.field(repr=False)
    #: When the access token expires, in seconds since the epoch.
    expires_at: float
    #: The refresh token, or ``None`` if the provider issued none.
    refresh_token: str | None = dataclasses.field(default=None, repr=False)
    #: The scopes the token was granted.
    scopes: frozenset[str] = frozenset()
    #: The token type; always ``"Bearer"`` once validated.
    token_type: str = "Bearer"

    @functools.cached_property
    def subject(self) -> str | None:
        """The Rocketpunch user the token belongs to: the ``sub`` claim of the
        JWT access token, read without checking its signature (it only files
        a login under its user, for "log out everywhere"), or ``None`` when
        the access token is not a JWT."""
        return jwt_subject(self.access_token)

    @classmethod
    def from_response(
        cls,
        data: object,
        *,
        now: float,
        requested_scopes: cabc.Iterable[str] = (),
        previous: Token | None = None,
    ) -> Token:
        """Validate a token endpoint's parsed JSON (RFC 6749 section 5.1).

        :param data: the parsed JSON body.
        :param now: the current time, in seconds since the epoch.
        :param requested_scopes: the scopes asked for; used when the response
            has no ``scope`` (RFC 6749 section 5.1 says they were granted). A
            ``scope`` of ``""`` means that no scope was granted.
        :param previous: the token being refreshed; its refresh token is kept
            when the response carries none, and its scopes when it has no
            ``scope``.
        :raises ProviderError: with ``reason="invalid_response"`` if a field is
            missing or has the wrong type, the token type is not Bearer, or a
            token has characters that cannot be sent (the message names the
            field, never its value).
        """
        if not isinstance(data, cabc.Mapping):
            raise _invalid("the body is not a JSON object")
        access_token = data.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise _invalid("'access_token' is missing")
        if len(access_token) > MAX_TOKEN_LENGTH or not header_safe(access_token):
            raise _invalid(
                "'access_token' is longer than"
                f" {MAX_TOKEN_LENGTH} characters or has characters that cannot be"
                " sent in an HTTP header (only printable ASCII without spaces)"
            )
        token_type = data.get("token_type")
        if not isinstance(token_type, str) or not token_type:
            raise _invalid("'token_type' is missing")
        if not token_type.isascii() or token_type.lower() != "bearer":
            raise _invalid(
                f"'token_type' is {token_type[:40]!r}, but only 'Bearer' is supported"
            )
        expires_in = data.get("expires_in")
        if (
            isinstance(expires_in, str)
            and expires_in.isascii()
            and expires_in.isdigit()
            and len(expires_in) <= 12
        ):
            expires_in = int(expires_in)
        if (
            isinstance(expires_in, bool)
            or not isinstance(expires_in, (int, float))
            or not 0 <= expires_in <= MAX_EXPIRES_IN
            or not math.isfinite(expires_in)
        ):
            raise _invalid(
                "'expires_in' is missing or not a number of seconds"
                f" between 0 and {MAX_EXPIRES_IN}"
            )
        refresh_token = data.get("refresh_token")
        if refresh_token is not None and not isinstance(refresh_token, str):
            raise _invalid("'refresh_token' is not a string")
        if refresh_token and (
            len(refresh_token) > MAX_TOKEN_LENGTH or not _vschar(refresh_token)
        ):
            raise _invalid(
                f"'refresh_token' is longer than {MAX_TOKEN_LENGTH} characters or"
                " has characters other than printable ASCII"
            )
        if not refresh_token:
            refresh_token = previous.refresh_token if previous else None
        scope = data.get("scope")
        if scope is not None and not isinstance(scope, str):
            raise _invalid("'scope' is not a string")
        if scope is not None and not all(map(header_safe, scope.split(" "))):
            raise _invalid("'scope' has characters that are not allowed in a scope")
        if scope is not None:
            # RFC 6749 section 5.1: an absent scope means "as requested"; a
            # present one, even empty, is what was granted.
            scopes = parse_scopes(scope)
        elif previous is not None:
            scopes = previous.scopes
        else:
            scopes = parse_scopes(requested_scopes)
        return cls(
            access_token=access_token,
            token_type="Bearer",
            expires_at=now + float(expires_in),
            refresh_token=refresh_token,
            scopes=scopes,
        )

    def expires_in(self, now: float) -> float:
        """Seconds left before the access token expires (negative once
        expired)."""
        return self.expires_at - now

    def needs_refresh(self, now: float, leeway: float) -> bool:
        """Whether the token has expired or expires within ``leeway`` seconds."""
        return self.expires_at - leeway <= now

    def has_scopes(self, scopes: cabc.Iterable[str]) -> bool:
        """Whether the token was granted every one of ``scopes``."""
        return frozenset(scopes) <= self.scopes

    def to_dict(self) -> dict[str, t.Any]:
        """A compact JSON-safe form, for storages."""
        out: dict[str, t.Any] = {
            "a": self.access_token,
            "e": math.floor(self.expires_at),
        }
        if self.refresh_token:
            out["r"] = self.refresh_token
        if self.scopes:
            out["s"] = scope_string(self.scopes)
        return out

    @classmethod
    def from_dict(cls, data: cabc.Mapping[str, t.Any]) -> Token:
        """Rebuild a token from :meth:`to_dict`'s output.

        :raises KeyError: or :exc:`TypeError`/:exc:`ValueError` if the data is
            not from :meth:`to_dict`.
        """
        access_token = data["a"]
        if not isinstance(access_token, str):
            raise TypeError("access token is not a string")
        refresh_token = data.get("r")
        if refresh_token is not None and not isinstance(refresh_token, str):
            raise TypeError("refresh token is not a string")
        return cls(
            access_token=access_token,
            expires_at=float(data["e"]),
            refresh_token=refresh_token,
            scopes=parse_scopes(data.get("s")),
        )


def seal_token(token: Token, ring: KeyRing, context: str = "") -> str:
    """``token`` encrypted at rest (AES-GCM) with the current key of ``ring``.

    :param context: what the sealed text is bound to, such as the login id;
        :func:`open_token` needs the same.
    """
    plain = json.dumps(token.to_dict(), separators=(",", ":")).encode("utf-8")
    return ring.cipher.encrypt(plain, context)


@functools.lru_cache(maxsize=1024)
def open_token(sealed: str, ring: KeyRing, context: str = "") -> Token | None:
    """The token in ``sealed``, or ``None`` if it does not open with any key
    of ``ring`` and ``context`` (tampered, foreign, or sealed under a key that
    is no longer configured).

    Cached: the same sealed text is not decrypted and parsed again on every
    request (per key ring, so a rotation is honoured at once).
    """
    plain = ring.cipher.decrypt(sealed, context)
    if plain is None:
        return None
    try:
        return Token.from_dict(json.loads(plain))
    except (ValueError, KeyError, TypeError):
        return None
