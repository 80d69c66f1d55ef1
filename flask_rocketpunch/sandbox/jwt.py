"""The sandbox's access tokens: HS256 JSON Web Tokens under a provider's key.

Clients must treat them as opaque; they are JWTs only because Rocketpunch's
are, so that a client which decodes one for display sees the same shape.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from ..encoding import b64url_encode

_HEADER = {"alg": "HS256", "typ": "JWT", "kid": "sandbox"}


def _signature(key: bytes, signing_input: str) -> str:
    digest = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return b64url_encode(digest)


def encode_jwt(payload: Mapping[str, object], key: bytes) -> str:
    """Sign ``payload`` as a compact JWT.

    :param payload: The claims.
    :param key: The HMAC key.
    """
    header = b64url_encode(json.dumps(_HEADER).encode())
    body = b64url_encode(json.dumps(dict(payload)).encode())
    signing_input = f"{header}.{body}"
    return f"{signing_input}.{_signature(key, signing_input)}"


def has_valid_signature(token: str, key: bytes) -> bool:
    """Whether ``token`` carries a signature made with ``key``.

    :param token: The compact JWT.
    :param key: The HMAC key.
    """
    signing_input, _, signature = token.rpartition(".")
    return hmac.compare_digest(signature, _signature(key, signing_input))
