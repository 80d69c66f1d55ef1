"""One sandbox served by several processes (``gunicorn -w 4`` with
``ROCKETPUNCH_SANDBOX = True``).

Each worker builds its own :class:`~flask_rocketpunch.sandbox.SandboxProvider`,
so nothing kept in one worker's memory is seen by the others: the consent page
may be served by one, its form posted to a second, the code exchanged by a
third and the token used by a fourth. :class:`SharedState` makes them agree:

- every key (the consent form's, the access tokens') is derived from one
  secret they share, the app's ``SECRET_KEY``;
- codes and refresh tokens carry their own record, signed with such a key, so
  any worker can read one it did not issue (access tokens are JWTs that
  already carry theirs);
- what must be seen once by all (a code or a rotated refresh token spent, a
  grant or an access token revoked) is a mark in a :class:`~.ledger.Ledger`,
  a SQLite file in the app's instance folder.

Recorded requests, grant counts, fault switches, rate counters and created
posts stay per process; for those, serve the sandbox in one process of its own
(``flask rocketpunch sandbox``).
"""

from __future__ import annotations

import json
import os
import secrets
import typing as t
from collections.abc import Mapping

from itsdangerous import BadSignature, URLSafeSerializer

from ..crypto import derive_key
from ..encoding import b64url_decode
from .jwt import has_valid_signature
from .ledger import Ledger
from .models import AccessToken, AuthorizationCode, RefreshToken


class SharedState:
    """Keys and marks that several processes serving one sandbox share.

    :param secret: The secret every process knows (the app's ``SECRET_KEY``);
        ``None`` makes a random one, good for this process only.
    :param path: The ledger's SQLite file (see :class:`~.ledger.Ledger`);
        ``None`` keeps the marks in this process.

    .. versionadded:: 0.2
    """

    #: The ledger's file name in the app's instance folder.
    FILE_NAME = "rocketpunch-sandbox.sqlite3"

    def __init__(
        self,
        secret: str | bytes | None,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        self._secret = secrets.token_bytes(32) if secret is None else secret
        #: The marks: spent codes and refresh tokens, revoked grants and
        #: access tokens.
        self.ledger = Ledger(path)
        self._codes = self._serializer("codes")
        self._refresh = self._serializer("refresh-tokens")

    def key(self, purpose: str) -> bytes:
        """A 32-byte key for ``purpose``, the same in every process.

        :param purpose: What the key is for, e.g. ``"access-tokens"``.
        """
        return derive_key(self._secret, f"sandbox {purpose}")

    def _serializer(self, purpose: str) -> URLSafeSerializer:
        return URLSafeSerializer(self.key(purpose), salt=f"sandbox {purpose}")

    # -- codes ------------------------------------------------------------------

    def seal_code(self, record: AuthorizationCode) -> str:
        """The code for ``record``: the record itself, signed (and a random
        nonce, so two codes never look alike).

        :param record: The code's record; its ``code`` is ignored.
        """
        return self._codes.dumps(
            {
                "c": record.client_id,
                "r": record.redirect_uri,
                "u": record.user_sub,
                "s": sorted(record.scopes),
                "h": record.code_challenge,
                "m": record.code_challenge_method,
                "e": record.expires_at,
                "g": record.grant_id,
                "n": secrets.token_urlsafe(12),
            }
        )

    def open_code(self, code: str) -> AuthorizationCode | None:
        """The record of a code from :meth:`seal_code`, unused as far as the
        code tells (the ledger says whether it was spent), or ``None`` if it
        was not made with this state's key.

        :param code: The code.
        """
        data = _loads(self._codes, code)
        if data is None:
            return None
        try:
            return AuthorizationCode(
                code=code,
                client_id=str(data["c"]),
                redirect_uri=str(data["r"]),
                user_sub=str(data["u"]),
                scopes=frozenset(map(str, data["s"])),
                code_challenge=_optional(data["h"]),
                code_challenge_method=_optional(data["m"]),
                expires_at=float(data["e"]),
                grant_id=str(data["g"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    # -- refresh tokens -----------------------------------------------------------

    def seal_refresh_token(self, record: RefreshToken, prefix: str) -> str:
        """The refresh token for ``record``: ``prefix`` and the record, signed.

        :param record: The token's record; its ``token`` is ignored.
        :param prefix: The flavor's refresh token prefix.
        """
        return prefix + self._refresh.dumps(
            {
                "c": record.client_id,
                "u": record.user_sub,
                "s": sorted(record.scopes),
                "e": record.expires_at,
                "g": record.grant_id,
                "n": secrets.token_urlsafe(12),
            }
        )

    def open_refresh_token(self, token: str, prefix: str) -> RefreshToken | None:
        """The record of a token from :meth:`seal_refresh_token`, neither used
        nor revoked as far as the token tells, or ``None``.

        :param token: The refresh token.
        :param prefix: The flavor's refresh token prefix.
        """
        if not token.startswith(prefix):
            return None
        data = _loads(self._refresh, token[len(prefix) :])
        if data is None:
            return None
        try:
            return RefreshToken(
                token=token,
                client_id=str(data["c"]),
                user_sub=str(data["u"]),
                scopes=frozenset(map(str, data["s"])),
                expires_at=float(data["e"]),
                grant_id=str(data["g"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    # -- access tokens ------------------------------------------------------------

    def open_access_token(self, token: str, key: bytes) -> AccessToken | None:
        """The record of an access token JWT signed with ``key`` whose claims
        include the grant (``gid``), or ``None``.

        :param token: The access token.
        :param key: The access tokens' signing key.
        """
        if token.count(".") != 2 or not has_valid_signature(token, key):
            return None
        raw = b64url_decode(token.split(".")[1])
        try:
            claims = json.loads(raw or b"")
            return AccessToken(
                token=token,
                client_id=str(claims["client_id"]),
                user_sub=str(claims["sub"]),
                scopes=frozenset(str(claims["scope"]).split()),
                issued_at=float(claims["iat"]),
                expires_at=float(claims["exp"]),
                grant_id=str(claims["gid"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _loads(serializer: URLSafeSerializer, text: str) -> Mapping[str, t.Any] | None:
    # Signed by a process of this sandbox: the shape is ours, but checked
    # anyway by the callers (a KeyError or TypeError gives None).
    try:
        data = serializer.loads(text)
    except (BadSignature, ValueError):
        return None
    return t.cast("Mapping[str, t.Any]", data) if isinstance(data, dict) else None


def _optional(value: object) -> str | None:
    return None if value is None else str(value)
