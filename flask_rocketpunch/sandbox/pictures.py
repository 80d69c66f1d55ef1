"""The ``picture`` of a sample user: a URL of the sandbox's static folder."""

from __future__ import annotations

from urllib.parse import quote

from flask import url_for

from .provider import SandboxProvider
from .users import SandboxUser


def picture_url(provider: SandboxProvider, user: SandboxUser) -> str | None:
    """The ``picture`` claim of ``user``, for a request to a sandbox view.

    In order: the user's own ``picture``; the avatar under the provider's
    ``public_url``; else the avatar's URL on the host the request arrived
    at.

    :param provider: The provider answering.
    :param user: The user.
    """
    if user.picture is not None:
        return user.picture
    if user.avatar is None:
        return None
    if provider.public_url is not None:
        return f"{provider.public_url.rstrip('/')}/static/{quote(user.avatar)}"
    return url_for(".static", filename=user.avatar, _external=True)
