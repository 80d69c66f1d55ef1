"""Encryption of tokens at rest, with keys derived from ``SECRET_KEY``."""

from __future__ import annotations

import collections.abc as cabc
import functools
import hashlib
import hmac
import os
import typing as t
import zlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .encoding import b64url_decode, b64url_encode
from .exceptions import NO_SECRET_KEY, ConfigurationError

_VERSION = b"\x01"


def _as_bytes(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else key


def derive_key(secret: str | bytes, purpose: str) -> bytes:
    """Derive a 32-byte key for ``purpose`` from an app's secret key (HKDF)."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"flask-rocketpunch",
        info=purpose.encode("ascii"),
    ).derive(_as_bytes(secret))


def _compress(data: bytes) -> bytes:
    """``data`` in zlib's format with a 4 KB window: as small as the default
    32 KB window for a token (which is shorter than that), and its state
    small enough not to be mapped and unmapped by the allocator on every
    call, which made compression the slowest step of storing a token.
    :func:`zlib.decompress` reads it, and every earlier sealed token, alike."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 12, 4)
    return compressor.compress(data) + compressor.flush()


class TokenCipher:
    """Authenticated encryption (AES-256-GCM) of small payloads.

    The first key encrypts; every key is tried to decrypt, so that
    ``SECRET_KEY_FALLBACKS`` keep existing sessions readable during a key
    rotation. Payloads are compressed first, to keep session cookies small.

    :param secrets: the current secret key first, then the fallbacks.
    :param purpose: binds the derived keys to one use.
    """

    def __init__(
        self, secrets: cabc.Sequence[str | bytes], purpose: str = "token-storage"
    ) -> None:
        if not secrets:
            raise ValueError("at least one secret key is needed")
        self._keys = [AESGCM(derive_key(s, purpose)) for s in secrets]
        self._aad = purpose.encode("ascii")

    def _context(self, context: str) -> bytes:
        if not context:
            return self._aad
        return self._aad + b"\x00" + context.encode("utf-8", "surrogatepass")

    def encrypt(self, plaintext: bytes, context: str = "") -> str:
        """Encrypt ``plaintext`` and return URL-safe text.

        :param context: bound to the ciphertext as associated data (for
            example the login id a token belongs to): the text only opens
            with the same context.
        """
        nonce = os.urandom(12)
        sealed = self._keys[0].encrypt(
            nonce, _compress(plaintext), self._context(context)
        )
        return b64url_encode(_VERSION + nonce + sealed)

    def decrypt(self, text: str, context: str = "") -> bytes | None:
        """Decrypt what :meth:`encrypt` made with any of the keys.

        :return: the plaintext, or ``None`` if the text is not valid for any
            key (tampered, truncated, made with a key no longer configured,
            or sealed for another context).
        """
        raw = b64url_decode(text)
        if raw is None or len(raw) < 1 + 12 + 16 or raw[:1] != _VERSION:
            return None
        if b64url_encode(raw) != text:  # only the one canonical spelling
            return None
        nonce, sealed = raw[1:13], raw[13:]
        aad = self._context(context)
        for key in self._keys:
            try:
                compressed = key.decrypt(nonce, sealed, aad)
            except InvalidTag:
                continue
            try:
                return zlib.decompress(compressed)
            except zlib.error:
                return None
        return None


def pkce_verifier(secret: str | bytes, state: str) -> str:
    """The PKCE ``code_verifier`` (RFC 7636) of the login identified by
    ``state``: 43 characters, HMAC-derived so it never has to be stored."""
    return keyring((secret,)).pkce_verifier(state)


def key_id(secret: str | bytes) -> str:
    """A short, one-way fingerprint of a secret key (4 characters)."""
    return b64url_encode(derive_key(secret, "key-id")[:3])


def pkce_challenge(verifier: str) -> str:
    """The ``S256`` code challenge of ``verifier`` (RFC 7636 section 4.2)."""
    return b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())


class KeyRing:
    """Everything derived from one set of secret keys, made once per set.

    The current key (first) seals tokens and derives new PKCE verifiers; the
    fallbacks still open tokens and finish logins started before a rotation.

    :param secrets: the current secret key first, then the fallbacks.
    """

    def __init__(self, secrets: cabc.Sequence[str | bytes]) -> None:
        if not secrets:
            raise ValueError("at least one secret key is needed")
        #: Seals and opens tokens at rest.
        self.cipher = TokenCipher(secrets)
        #: The fingerprint of each key, in order (see :func:`key_id`).
        self.key_ids: tuple[str, ...] = tuple(key_id(s) for s in secrets)
        self._pkce_keys = tuple(derive_key(s, "pkce-verifier") for s in secrets)

    def pkce_verifier(self, state: str, key_id: str = "") -> str:
        """The PKCE ``code_verifier`` (RFC 7636) of the login identified by
        ``state``: 43 characters, HMAC-derived so it never has to be stored.

        :param state: the login's ``state``.
        :param key_id: the fingerprint of the key that started the login; the
            current key when it is not one of this ring's.
        """
        index = self.key_ids.index(key_id) if key_id in self.key_ids else 0
        mac = hmac.new(self._pkce_keys[index], state.encode("utf-8"), hashlib.sha256)
        return b64url_encode(mac.digest())

    def pkce_challenge(self, state: str) -> str:
        """The ``S256`` challenge of a new login's verifier (current key)."""
        return pkce_challenge(self.pkce_verifier(state))


@functools.lru_cache(maxsize=16)
def keyring(secrets: tuple[str | bytes, ...]) -> KeyRing:
    """The :class:`KeyRing` of ``secrets``, made once and then reused."""
    return KeyRing(secrets)


def keyring_for(config: cabc.Mapping[str, t.Any]) -> KeyRing:
    """The :class:`KeyRing` of an app's ``SECRET_KEY`` and
    ``SECRET_KEY_FALLBACKS``, read from ``config`` now (so a rotation takes
    effect at once).

    :raises ConfigurationError: if ``SECRET_KEY`` is not set.
    """
    key = config.get("SECRET_KEY")
    if not key:
        raise ConfigurationError(NO_SECRET_KEY)
    fallbacks = config.get("SECRET_KEY_FALLBACKS")
    if not fallbacks:
        return keyring((key,))
    return keyring((key, *fallbacks))
