"""The session cookie: the keys derived from the current app's secret keys,
and the cookie's size. Flask's globals are read here, at the edge."""

from __future__ import annotations

import logging

from flask import current_app, request, session
from flask.sessions import SecureCookieSessionInterface

from .crypto import KeyRing, keyring_for

logger = logging.getLogger("flask_rocketpunch")

#: Browsers drop cookies over 4096 bytes; warn before that.
COOKIE_WARN_BYTES = 3800


def current_keyring() -> KeyRing:
    """The keys derived from the current app's ``SECRET_KEY`` and
    ``SECRET_KEY_FALLBACKS`` (made once per key set, so a rotation takes
    effect on the next request).

    :raises ConfigurationError: if ``SECRET_KEY`` is not set.
    """
    return keyring_for(current_app.config)


def check_cookie_size(adding: int) -> int | None:
    """Log a warning when the session cookie the response will carry nears
    the browsers' 4 KB limit. Returns its size in bytes (an upper bound when
    it is far from the limit), or ``None`` for a session interface other than
    Flask's cookie one.

    :param adding: an upper bound of the bytes this request adds to the
        session (the JSON of the values it sets). The cookie is measured
        exactly only when the cookie the browser sent plus that comes near the
        limit, so the usual request serializes nothing.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    interface = app.session_interface
    if not isinstance(interface, SecureCookieSessionInterface):
        return None
    sent = request.cookies.get(app.config["SESSION_COOKIE_NAME"], "")
    bound = len(sent) + 4 * -(-adding // 3) + 64
    if bound <= COOKIE_WARN_BYTES:
        return bound
    data = dict(session)
    serializer = interface.get_signing_serializer(app)
    if serializer is None:
        return None
    size = len(serializer.dumps(data))
    if size > COOKIE_WARN_BYTES:
        logger.warning(
            "The session cookie is %d bytes, close to the 4096-byte limit of"
            " browsers, which drop larger cookies (a login loop follows). Keep"
            " less in the session, or use a server-side token storage.",
            size,
        )
    return size
