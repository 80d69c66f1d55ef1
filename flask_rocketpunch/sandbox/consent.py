"""The consent form's token: the authorization parameters, signed and timed
with :mod:`itsdangerous`, so that a decision is only accepted from a consent
page this provider served recently for exactly those parameters."""

from __future__ import annotations

import secrets
import typing as t
from collections.abc import Callable, Mapping

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

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
        self._serializer = URLSafeTimedSerializer(
            secrets.token_bytes(32) if key is None else key,
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
