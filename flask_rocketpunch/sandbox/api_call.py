"""What an ``/api/v1`` handler receives: the checked request (:class:`Call`),
and what it returns (a status and a JSON body)."""

from __future__ import annotations

import dataclasses
import typing as t

from werkzeug.datastructures import FileStorage

from .catalog import Catalog
from .errors import APIError
from .models import AccessToken
from .openapi import Operation

#: The languages the sandbox's sample data speaks; ``ko`` is the default.
LANGUAGES = ("ko", "en")

#: A handler's answer: the HTTP status and the JSON body (``None`` for 204).
Reply = tuple[int, object]


@dataclasses.dataclass(frozen=True)
class Call:
    """One authenticated, validated API call.

    :param operation: The operation called.
    :param catalog: The provider's sample data.
    :param app_key: The ``X-RP-API-Key`` (a registered client id).
    :param token: The bearer token, when one was sent (always, for user
        operations).
    :param params: Query and path parameters, converted and checked.
    :param body: The JSON body (or multipart ``request`` part), checked.
    :param files: The multipart files by part name.
    :param language: ``"ko"`` or ``"en"``, from ``Accept-Language``.
    """

    operation: Operation
    catalog: Catalog
    app_key: str
    token: AccessToken | None
    params: dict[str, object]
    body: dict[str, object] | None
    files: dict[str, list[FileStorage]]
    language: str = "ko"

    @property
    def user_sub(self) -> str | None:
        """The calling user's ``sub``, when a bearer token was sent."""
        return None if self.token is None else self.token.user_sub

    @property
    def sub(self) -> str:
        """The calling user's ``sub`` (user operations only)."""
        if self.token is None:  # pragma: no cover - the dispatcher ensures it
            raise APIError(401, "C0001", "A Bearer access token is required.")
        return self.token.user_sub

    def param(self, name: str, default: t.Any = None) -> t.Any:
        """A parameter's value, or ``default`` when it was not sent.

        :param name: The parameter name.
        :param default: The value when absent.
        """
        return self.params.get(name, default)

    def field(self, name: str, default: t.Any = None) -> t.Any:
        """A body field's value, or ``default`` when it was not sent.

        :param name: The field name.
        :param default: The value when absent.
        """
        return (self.body or {}).get(name, default)
