"""Blinker signals sent by the extension.

Each is sent with the Flask app as sender, like Flask's own signals.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent after a successful login, with ``token=`` the new
#: :class:`~flask_rocketpunch.Token`.
logged_in = _signals.signal("rocketpunch-logged-in")

#: Sent when a login fails at the callback, with ``error=`` the
#: :class:`~flask_rocketpunch.RocketpunchError`.
login_failed = _signals.signal("rocketpunch-login-failed")

#: Sent after a token was refreshed, with ``token=`` the new token.
token_refreshed = _signals.signal("rocketpunch-token-refreshed")

#: Sent after a logout, with ``token=`` the token that was dropped (or
#: ``None`` if there was none).
logged_out = _signals.signal("rocketpunch-logged-out")


#: Why a login ended, as :data:`login_ended` gives it in ``reason=``.
#:
#: ``"logout"``: the user logged out (the logout route or
#: :func:`~flask_rocketpunch.logout`). ``"logout_everywhere"``:
#: :meth:`~flask_rocketpunch.RocketpunchOAuth.logout_everywhere`.
#: ``"rejected"``: Rocketpunch refused the refresh token (``invalid_grant``,
#: ``unauthorized_client``, ``invalid_scope``). ``"revoked"``: the API still
#: refused the access token right after a refresh. ``"expired"``: the access
#: token expired and there is no refresh token. ``"undecryptable"``: the
#: stored token can no longer be opened (``SECRET_KEY`` rotated without
#: ``SECRET_KEY_FALLBACKS``, or the stored value was altered). ``"missing"``:
#: the browser's login has no token any more (ended from another browser or
#: process, by "log out everywhere" say, or expired from the storage).
LOGIN_END_REASONS = frozenset(
    {
        "logout",
        "logout_everywhere",
        "rejected",
        "revoked",
        "expired",
        "undecryptable",
        "missing",
    }
)

#: Sent whenever a login ends, for any of :data:`LOGIN_END_REASONS`, with
#: ``reason=`` the reason, ``token=`` the token that was dropped (``None``
#: when it could not be read), and ``current=`` whether the login is the
#: current request's own (``False`` for the other logins that
#: :meth:`~flask_rocketpunch.RocketpunchOAuth.logout_everywhere` ends, and
#: outside a request). End the app's own session of the user (Flask-Login's
#: ``logout_user()``) when ``current`` is true.
#:
#: .. versionadded:: 0.2
login_ended = _signals.signal("rocketpunch-login-ended")
