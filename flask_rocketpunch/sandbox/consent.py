"""Consent in the sandbox.

- The consent form's token: the authorization parameters, signed and timed
  with :mod:`itsdangerous`, so that a decision is only accepted from a
  consent page this provider served recently for exactly those parameters.
- The signed-in user: after an approval the browser carries a signed cookie
  naming the user, as a Rocketpunch login session would.
- The consents given: per user and client, the scopes the user approved, so
  that a later request those scopes cover skips the consent page.
"""

from __future__ import annotations

import secrets
import threading
import typing as t
from collections.abc import Callable, Iterable, Mapping

from itsdangerous import (
    BadSignature,
    Signer,
    TimestampSigner,
    URLSafeTimedSerializer,
)

#: Seconds a consent page may stay open before its form is refused.
CONSENT_TTL = 900


class _ClockSigner(TimestampSigner):
    """Reads the time from the provider's clock, so fake clocks work."""

    def __init__(
        self, *args: t.Any, clock: Callable[[], float], **kwargs: t.Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock())


def _canonical(params: Mapping[str, str]) -> list[list[str]]:
    # As it reads back from JSON, to compare with a loaded payload.
    return [[key, value] for key, value in sorted(params.items())]


class ConsentSigner:
    """Signs and checks consent tokens.

    :param clock: Returns the current time in seconds since the epoch.
    :param max_age: Seconds a token stays valid.
    :param key: The signing key; a random one of its own when not given
        (processes that share a sandbox pass the same key).
    """

    def __init__(
        self,
        clock: Callable[[], float],
        max_age: int = CONSENT_TTL,
        *,
        key: bytes | None = None,
    ) -> None:
        self.max_age = max_age
        if key is None:
            key = secrets.token_bytes(32)
        self._user_signer = Signer(key, salt="flask-rocketpunch.sandbox.signed-in")
        self._serializer = URLSafeTimedSerializer(
            key,
            salt="flask-rocketpunch.sandbox.consent",
            signer=_ClockSigner,
            signer_kwargs={"clock": clock},
        )

    def sign(self, params: Mapping[str, str]) -> str:
        """The token for a consent form showing these parameters.

        :param params: The authorization request parameters.
        """
        return self._serializer.dumps(_canonical(params))

    def verify(self, params: Mapping[str, str], token: str) -> bool:
        """Whether ``token`` was made by :meth:`sign` for exactly these
        parameters and has not expired.

        :param params: The authorization request parameters, as posted.
        :param token: The token from the form.
        """
        try:
            signed = self._serializer.loads(token, max_age=self.max_age)
        except BadSignature:
            return False
        return bool(signed == _canonical(params))

    def sign_user(self, sub: str) -> str:
        """The value of the signed-in cookie for the user ``sub``.

        :param sub: The user's ``sub``.
        """
        return self._user_signer.sign(sub).decode()

    def signed_in_user(self, value: str | None) -> str | None:
        """The ``sub`` a signed-in cookie names, or ``None`` when there is
        none or it was not signed by this provider.

        :param value: The cookie's value.
        """
        if not value:
            return None
        try:
            return self._user_signer.unsign(value).decode()
        except (BadSignature, UnicodeDecodeError):
            return None


class ConsentStore:
    """The scopes each user approved for each client.

    A consent grows with every approval (the union of the scopes approved)
    and lasts until it is withdrawn with :meth:`forget` or the provider is
    reset. Revoking a token does not withdraw it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._consents: dict[tuple[str, str], frozenset[str]] = {}

    def remember(self, user_sub: str, client_id: str, scopes: Iterable[str]) -> None:
        """Record that ``user_sub`` approved ``scopes`` for ``client_id``.

        :param user_sub: The user's ``sub``.
        :param client_id: The client's id.
        :param scopes: The scopes approved.
        """
        key = (user_sub, client_id)
        with self._lock:
            self._consents[key] = self._consents.get(key, frozenset()) | set(scopes)

    def covers(self, user_sub: str, client_id: str, scopes: Iterable[str]) -> bool:
        """Whether ``user_sub`` already approved every one of ``scopes`` for
        ``client_id``.

        :param user_sub: The user's ``sub``.
        :param client_id: The client's id.
        :param scopes: The scopes asked for.
        """
        with self._lock:
            given = self._consents.get((user_sub, client_id))
        return given is not None and set(scopes) <= given

    def forget(self, user_sub: str | None = None, client_id: str | None = None) -> int:
        """Withdraw consents; return how many were withdrawn.

        :param user_sub: Only this user's; every user's when ``None``.
        :param client_id: Only for this client; every client's when ``None``.
        """
        with self._lock:
            keys = [
                key
                for key in self._consents
                if user_sub in (None, key[0]) and client_id in (None, key[1])
            ]
            for key in keys:
                del self._consents[key]
        return len(keys)

    def snapshot(self) -> dict[tuple[str, str], frozenset[str]]:
        """Every consent, by ``(user_sub, client_id)``."""
        with self._lock:
            return dict(self._consents)
