"""The ``picture`` of a sample user: a URL of the sandbox's static folder, or
a ``data:`` URI when the sandbox has no public address of its own."""

from __future__ import annotations

import base64
import functools
import mimetypes
from importlib import resources
from urllib.parse import quote

from flask import url_for

from .provider import SandboxProvider
from .users import SandboxUser


@functools.lru_cache(maxsize=32)
def avatar_data_uri(filename: str) -> str | None:
    """The file ``filename`` of the sandbox's static folder as a ``data:``
    URI, or ``None`` if there is no such file.

    :param filename: A plain file name, such as ``"avatar-minji.svg"``.
    """
    if "/" in filename or "\\" in filename or filename.startswith("."):
        return None
    source = resources.files(__package__) / "static" / filename
    if not source.is_file():
        return None
    mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    encoded = base64.b64encode(source.read_bytes()).decode("ascii")
    return f"data:{mimetype};base64,{encoded}"


def picture_url(provider: SandboxProvider, user: SandboxUser) -> str | None:
    """The ``picture`` claim of ``user``, for a request to a sandbox view.

    In order: the user's own ``picture``; the avatar under the provider's
    ``public_url``; the avatar as a ``data:`` URI when the provider has
    ``inline_pictures``; else the avatar's URL on the host the request
    arrived at.

    :param provider: The provider answering.
    :param user: The user.
    """
    if user.picture is not None:
        return user.picture
    if user.avatar is None:
        return None
    if provider.public_url is not None:
        return f"{provider.public_url.rstrip('/')}/static/{quote(user.avatar)}"
    if provider.inline_pictures:
        return avatar_data_uri(user.avatar)
    return url_for(".static", filename=user.avatar, _external=True)
