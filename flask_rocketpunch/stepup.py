"""Scopes Rocketpunch refused in this browser: a small, bounded, expiring
memory kept in the session, so that a view needing a scope the user keeps
unticking (or the app may not have) answers a clear ``403`` instead of
sending the browser round the authorization without end.

The functions take and return plain mappings, testable without a request.
"""

from __future__ import annotations

import collections.abc as cabc
import math

#: Session key of the refused scopes: ``{scope: expiry}``.
REFUSED_KEY = "_rocketpunch_refused"

#: Seconds a refusal is remembered. After that, a view that needs the scope
#: asks for it once more.
REFUSED_TTL = 600.0

#: The most refused scopes remembered; the ones that expire first go.
MAX_REFUSED = 8

#: Longer scopes are not remembered (they are the app's own, but the
#: session cookie stays small whatever they are).
MAX_SCOPE_LENGTH = 100

#: The memory as stored in the session.
RefusedMap = dict[str, float]


def _entries(memory: object, now: float) -> RefusedMap:
    """The valid, unexpired entries of a memory from the session."""
    if not isinstance(memory, cabc.Mapping):
        return {}
    out: RefusedMap = {}
    for scope, expires_at in memory.items():
        if (
            isinstance(scope, str)
            and 0 < len(scope) <= MAX_SCOPE_LENGTH
            and isinstance(expires_at, (int, float))
            and not isinstance(expires_at, bool)
            and math.isfinite(expires_at)
            and expires_at > now
        ):
            out[scope] = float(expires_at)
    return out


def refused_scopes(memory: object, *, now: float) -> frozenset[str]:
    """The scopes refused in this browser that are still remembered at ``now``.

    :param memory: the memory from the session (anything: it is checked).
    :param now: the current time.
    """
    return frozenset(_entries(memory, now))


def remember_refusal(
    memory: object,
    *,
    requested: cabc.Iterable[str],
    granted: cabc.Iterable[str],
    now: float,
    ttl: float = REFUSED_TTL,
) -> RefusedMap:
    """The memory after a login that asked for ``requested`` and was
    granted ``granted``: granted scopes are forgotten, the refused ones
    remembered until ``now + ttl``, expired entries dropped, and at most
    :data:`MAX_REFUSED` kept (those that expire first are dropped).

    :return: the new memory; empty when nothing is refused.
    """
    granted_set = frozenset(granted)
    entries = {
        scope: expiry
        for scope, expiry in _entries(memory, now).items()
        if scope not in granted_set
    }
    for scope in sorted(frozenset(requested) - granted_set):
        if len(scope) <= MAX_SCOPE_LENGTH:
            entries[scope] = round(now + ttl, 3)
    kept = sorted(entries.items(), key=lambda item: (item[1], item[0]))
    return dict(kept[-MAX_REFUSED:])
