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
