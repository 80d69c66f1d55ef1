"""Client authentication at the token and revocation endpoints: HTTP Basic
(RFC 6749 2.3.1, form-urlencoded credentials) or ``client_id`` and
``client_secret`` in the body, never both."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from urllib.parse import unquote_plus

from .errors import TokenError


def _malformed() -> TokenError:
    return TokenError("invalid_client", "Malformed Basic credentials.", 401)


def basic_credentials(authorization: str) -> tuple[str, str]:
    """The client id and secret of a ``Basic`` ``Authorization`` header.

    :param authorization: The header value.
    :raise TokenError: ``invalid_client`` (401): another scheme, or not
        base64 of ``id:secret``.
    """
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise TokenError("invalid_client", "Use HTTP Basic client authentication.", 401)
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise _malformed() from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise _malformed()
    return unquote_plus(user), unquote_plus(password)


def client_credentials(
    form: Mapping[str, str], authorization: str | None
) -> tuple[str, str]:
    """The client id and secret a request authenticates with.

    :param form: The form parameters.
    :param authorization: The ``Authorization`` header, if any.
    :raise TokenError: ``invalid_client`` (401) when there are none or they
        are malformed, ``invalid_request`` when both methods are used.
    """
    body_id = form.get("client_id")
    body_secret = form.get("client_secret")
    if authorization:
        client_id, secret = basic_credentials(authorization)
        if body_secret is not None:
            raise TokenError(
                "invalid_request",
                "Use only one client authentication method, not Basic and body.",
            )
        if body_id is not None and body_id != client_id:
            raise TokenError(
                "invalid_client", "client_id differs from the Basic user.", 401
            )
        return client_id, secret
    if body_id:
        return body_id, body_secret or ""
    raise TokenError("invalid_client", "Client authentication is required.", 401)
