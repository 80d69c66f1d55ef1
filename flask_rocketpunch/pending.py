"""The logins in flight: a small bounded map kept in the session.

Each login started in a browser (one per tab) is remembered under a hash of
its ``state`` until the callback takes it, once, before it expires. The
format of an entry lives in :class:`PendingLogin` alone; the functions here
take and return plain mappings, so they are testable without a request.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import hashlib
import json
import math
import unicodedata
from urllib.parse import urlsplit

from .encoding import b64url_encode
from .exceptions import NoLoginInFlightError, StateExpiredError, StateMismatchError
from .scopes import parse_scopes, scope_string

#: Session key of the logins in flight.
PENDING_KEY = "_rocketpunch_pending"

#: The most the logins in flight may take in the session, in bytes of JSON.
MAX_PENDING_BYTES = 1200

#: The longest ``next`` remembered with a login in flight; a longer one is
#: dropped and the login lands on ``LOGIN_REDIRECT``.
MAX_REMEMBERED_NEXT = 512

#: The pending map as stored in the session: state hash -> entry.
PendingMap = dict[str, str]


def state_key(state: str) -> str:
    """The short key under which a login in flight is remembered.

    The session keeps a hash of the state, not the state itself: it is smaller
    and tells nothing to someone who reads the cookie.
    """
    digest = hashlib.sha256(state.encode("utf-8", "surrogatepass")).digest()
    return b64url_encode(digest[:16])


def safe_next(value: object) -> str | None:
    """Return ``value`` if it is a local path on this app, else ``None``.

    Accepted: a path starting with a single ``/``, with no scheme, no host, no
    backslash, no control or white-space character, at most 2048 characters.
    This keeps the callback from being an open redirector (RFC 9700 section
    4.11): ``//evil.example``, ``/\\evil.example``, ``https://evil.example``,
    ``/\\t/evil.example`` and the like are all refused.
    """
    if not isinstance(value, str) or not value or len(value) > 2048:
        return None
    if not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(
        c.isspace() or unicodedata.category(c)[0] == "C" for c in value
    ):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    return value


@dataclasses.dataclass(frozen=True)
class PendingLogin:
    """A login in flight: what the callback needs to finish it."""

    expires_at: float
    next_url: str | None
    scopes: frozenset[str]
    #: Which secret key derived the PKCE verifier (see
    #: :func:`~flask_rocketpunch.crypto.key_id`), so a login in flight
    #: survives a ``SECRET_KEY`` rotation.
    key_id: str = ""

    def to_entry(self) -> str:
        """The compact form kept in the session: one string, ``"<expiry>
        <key id> <next> <scopes...>"`` (``-`` for no key id or no ``next``;
        neither a key id nor a safe ``next`` holds a space)."""
        return " ".join(
            (
                f"{self.expires_at:.3f}",
                self.key_id or "-",
                self.next_url or "-",
                scope_string(self.scopes),
            )
        )

    @classmethod
    def from_entry(cls, entry: object) -> PendingLogin | None:
        """Read :meth:`to_entry`'s form back (and the list form of 0.1, for
        logins in flight across an upgrade); ``None`` for anything else.

        A ``next`` that is not a local path (see :func:`safe_next`) is
        dropped: the session is signed, but it is checked again anyway.
        """
        if isinstance(entry, str):
            parts = entry.split(" ", 3)
            if len(parts) != 4:
                return None
            try:
                expires = float(parts[0])
            except ValueError:
                return None
            entry = [
                expires,
                None if parts[2] == "-" else parts[2],
                parts[3],
                "" if parts[1] == "-" else parts[1],
            ]
        if not isinstance(entry, list) or len(entry) not in (3, 4):
            return None
        expires_at, next_url, scopes = entry[0], entry[1], entry[2]
        if (
            isinstance(expires_at, bool)
            or not isinstance(expires_at, (int, float))
            or not math.isfinite(expires_at)
        ):
            return None
        key_id = entry[3] if len(entry) == 4 and isinstance(entry[3], str) else ""
        return cls(
            expires_at=float(expires_at),
            next_url=safe_next(next_url),
            scopes=parse_scopes(scopes if isinstance(scopes, str) else None),
            key_id=key_id,
        )


def _logins(pending: object) -> dict[str, PendingLogin]:
    """The valid entries of a pending map from the session."""
    if not isinstance(pending, cabc.Mapping):
        return {}
    out = {}
    for key, entry in pending.items():
        login = PendingLogin.from_entry(entry)
        if isinstance(key, str) and login is not None:
            out[key] = login
    return out


def _to_map(logins: cabc.Mapping[str, PendingLogin]) -> PendingMap:
    return {key: login.to_entry() for key, login in logins.items()}


def prune(pending: object, *, now: float) -> PendingMap:
    """``pending`` without its expired and unreadable entries."""
    return _to_map({k: v for k, v in _logins(pending).items() if v.expires_at > now})


def remember_login(
    pending: object,
    state: str,
    login: PendingLogin,
    *,
    now: float,
    limit: int,
) -> PendingMap:
    """Return a new pending map with ``login`` added under ``state``.

    Expired entries are pruned, and the oldest ones beyond ``limit`` (or
    beyond :data:`MAX_PENDING_BYTES`) dropped, so the map and the cookie that
    carries it stay small however many tabs start a login. A ``next`` longer
    than :data:`MAX_REMEMBERED_NEXT` is not remembered.
    """
    kept = sorted(
        ((k, v) for k, v in _logins(pending).items() if v.expires_at > now),
        key=lambda item: item[1].expires_at,
    )
    kept = kept[-(limit - 1) :] if limit > 1 else []
    # Flask's session sorts keys, so age is kept in the entry itself: the
    # stamp is the expiry to the millisecond, later than every kept one.
    stamp = round(login.expires_at, 3)
    if kept:
        stamp = max(stamp, round(kept[-1][1].expires_at + 0.001, 3))
    next_url = login.next_url
    if next_url is not None and len(next_url) > MAX_REMEMBERED_NEXT:
        next_url = None
    logins = dict(kept)
    logins[state_key(state)] = PendingLogin(stamp, next_url, login.scopes, login.key_id)
    out = _to_map(logins)
    # Bounded in bytes too, whatever the next paths: drop the oldest first.
    while len(out) > 1 and len(json.dumps(out)) > MAX_PENDING_BYTES:
        del out[next(iter(out))]
    return out


def take_login(
    pending: object,
    state: str | None,
    *,
    now: float,
    cookie_sent: bool = True,
) -> tuple[PendingLogin, PendingMap]:
    """Find and remove the login in flight that ``state`` belongs to.

    :param pending: the pending map from the session.
    :param state: the ``state`` query parameter of the callback.
    :param now: the current time.
    :param cookie_sent: whether the browser sent a session cookie at all; used
        to say what to check when there is no login in flight.
    :return: the login, and the pending map without it and without expired
        entries (the state is single use whatever the outcome of the code
        exchange).
    :raises NoLoginInFlightError: the browser has no login in flight.
    :raises StateMismatchError: ``state`` is missing or unknown.
    :raises StateExpiredError: the login took longer than ``LOGIN_TTL``.
    """
    logins = _logins(pending)
    if not logins:
        raise NoLoginInFlightError(_no_login_message(cookie_sent))
    if not state:
        raise StateMismatchError(
            "The callback has no 'state' parameter, so it cannot be tied to a login"
            " started in this browser. Start the login again from this site."
        )
    login = logins.pop(state_key(state), None)
    if login is None:
        raise StateMismatchError(
            "The callback's 'state' does not match any login started in this"
            " browser: it was already used, or the link came from somewhere else."
            " Start the login again from this site."
        )
    if login.expires_at <= now:
        raise StateExpiredError(
            "The login took too long to complete and has expired. Start the login"
            " again from this site."
        )
    remaining = {k: v for k, v in logins.items() if v.expires_at > now}
    return login, _to_map(remaining)


def _no_login_message(cookie_sent: bool) -> str:
    if cookie_sent:
        why = (
            "this browser has no Rocketpunch login in flight: it was already"
            " completed, the session was cleared, or another site on the same"
            " host name replaced the session cookie (browsers share cookies"
            " between ports: a local provider on another port that is a Flask"
            " app too uses the same cookie name; give this app its own"
            " SESSION_COOKIE_NAME)."
        )
    else:
        why = "the browser did not send its session cookie back."
    return (
        f"The login could not be completed because {why} Start the login again"
        " from this site. If it keeps happening, check that the site is opened"
        " under the same host name as the redirect URI (localhost and"
        " 127.0.0.1 are different sites), that SESSION_COOKIE_SAMESITE is"
        " 'Lax' and not 'Strict', that SESSION_COOKIE_DOMAIN matches, and that"
        " SECRET_KEY did not change."
    )
