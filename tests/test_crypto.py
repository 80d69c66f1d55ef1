"""Token encryption at rest and PKCE derivation."""

from __future__ import annotations

import base64
import string

import pytest

from flask_rocketpunch.crypto import (
    TokenCipher,
    key_id,
    pkce_challenge,
    pkce_verifier,
)

OLD_KEY = "old-secret-key-0123456789"
NEW_KEY = "new-secret-key-9876543210"
PLAINTEXT = b'{"a":"at-very-secret-access","r":"rt-very-secret-refresh","e":1}'

#: RFC 7636 section 4.1: ALPHA / DIGIT / "-" / "." / "_" / "~".
UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")


def test_encrypt_decrypt_round_trip() -> None:
    cipher = TokenCipher([NEW_KEY])
    assert cipher.decrypt(cipher.encrypt(PLAINTEXT)) == PLAINTEXT


def test_round_trip_of_empty_and_binary_payloads() -> None:
    cipher = TokenCipher([NEW_KEY.encode()])
    for payload in (b"", bytes(range(256)) * 4):
        assert cipher.decrypt(cipher.encrypt(payload)) == payload


def test_ciphertext_is_url_safe_and_hides_the_plaintext() -> None:
    sealed = TokenCipher([NEW_KEY]).encrypt(PLAINTEXT)
    assert set(sealed) <= set(string.ascii_letters + string.digits + "-_")
    for secret in ("at-very-secret-access", "rt-very-secret-refresh"):
        assert secret not in sealed
        assert secret.encode() not in base64.urlsafe_b64decode(
            sealed + "=" * (-len(sealed) % 4)
        )


def test_two_encryptions_of_the_same_payload_differ() -> None:
    cipher = TokenCipher([NEW_KEY])
    first, second = cipher.encrypt(PLAINTEXT), cipher.encrypt(PLAINTEXT)
    assert first != second
    assert cipher.decrypt(first) == cipher.decrypt(second) == PLAINTEXT


def _flip(text: str, index: int) -> str:
    char = "A" if text[index] != "A" else "B"
    return text[:index] + char + text[index + 1 :]


@pytest.mark.parametrize("index", [0, 1, 5, 20, -10, -1])
def test_tampered_text_decrypts_to_none(index: int) -> None:
    cipher = TokenCipher([NEW_KEY])
    sealed = cipher.encrypt(PLAINTEXT)
    assert cipher.decrypt(_flip(sealed, index % len(sealed))) is None


@pytest.mark.parametrize("keep", [0, 1, 10, 30, 38])
def test_truncated_text_decrypts_to_none(keep: int) -> None:
    cipher = TokenCipher([NEW_KEY])
    sealed = cipher.encrypt(PLAINTEXT)
    assert cipher.decrypt(sealed[:keep]) is None
    assert cipher.decrypt(sealed[:-1]) is None


@pytest.mark.parametrize(
    "garbage",
    ["", "x", "not base64 at all!!", "====", "\u00e9\u00e9\u00e9\u00e9", "A" * 500],
    ids=repr,
)
def test_garbage_text_decrypts_to_none(garbage: str) -> None:
    assert TokenCipher([NEW_KEY]).decrypt(garbage) is None


def test_other_purpose_cannot_decrypt() -> None:
    sealed = TokenCipher([NEW_KEY], purpose="token-storage").encrypt(PLAINTEXT)
    assert TokenCipher([NEW_KEY], purpose="something-else").decrypt(sealed) is None


def test_secret_key_rotation_keeps_old_ciphertext_readable_with_fallback() -> None:
    sealed = TokenCipher([OLD_KEY]).encrypt(PLAINTEXT)
    assert TokenCipher([NEW_KEY, OLD_KEY]).decrypt(sealed) == PLAINTEXT


def test_secret_key_rotation_without_fallback_drops_old_ciphertext() -> None:
    sealed = TokenCipher([OLD_KEY]).encrypt(PLAINTEXT)
    assert TokenCipher([NEW_KEY]).decrypt(sealed) is None


def test_rotated_cipher_encrypts_with_the_new_key() -> None:
    sealed = TokenCipher([NEW_KEY, OLD_KEY]).encrypt(PLAINTEXT)
    assert TokenCipher([NEW_KEY]).decrypt(sealed) == PLAINTEXT
    assert TokenCipher([OLD_KEY]).decrypt(sealed) is None


def test_cipher_needs_a_key() -> None:
    with pytest.raises(ValueError, match="secret key"):
        TokenCipher([])


def test_pkce_verifier_is_43_unreserved_characters() -> None:
    for state in ("s", "state-1", "\u00e9tat", "x" * 1000):
        verifier = pkce_verifier(NEW_KEY, state)
        assert len(verifier) == 43
        assert set(verifier) <= UNRESERVED


def test_pkce_verifier_is_deterministic_per_key_and_state() -> None:
    assert pkce_verifier(NEW_KEY, "state-1") == pkce_verifier(NEW_KEY, "state-1")
    assert pkce_verifier(NEW_KEY, "state-1") == pkce_verifier(
        NEW_KEY.encode(), "state-1"
    )


def test_pkce_verifier_differs_per_state() -> None:
    verifiers = {pkce_verifier(NEW_KEY, f"state-{i}") for i in range(50)}
    assert len(verifiers) == 50


def test_pkce_verifier_differs_per_key() -> None:
    assert pkce_verifier(NEW_KEY, "state-1") != pkce_verifier(OLD_KEY, "state-1")


def test_pkce_verifier_does_not_reveal_the_state() -> None:
    state = "a-state-that-is-long-enough-to-notice"
    assert state not in pkce_verifier(NEW_KEY, state)


def test_pkce_challenge_matches_rfc7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_pkce_challenge_is_unpadded_and_url_safe() -> None:
    challenge = pkce_challenge(pkce_verifier(NEW_KEY, "state"))
    assert len(challenge) == 43
    assert set(challenge) <= UNRESERVED


def test_key_id_is_a_short_stable_fingerprint_per_key() -> None:
    assert len(key_id(NEW_KEY)) == 4
    assert key_id(NEW_KEY) == key_id(NEW_KEY.encode())
    assert key_id(NEW_KEY) != key_id(OLD_KEY)
    assert set(key_id(NEW_KEY)) <= set(string.ascii_letters + string.digits + "-_")
