"""Base64url without padding (RFC 4648 section 5), the one encoding of
states, verifiers, challenges, sealed tokens and sandbox JWTs."""

from __future__ import annotations

import base64
import binascii


def b64url_encode(data: bytes) -> str:
    """``data`` as unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes | None:
    """Decode unpadded (or padded) base64url text.

    :return: the bytes, or ``None`` if ``text`` is not base64url.
    """
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
