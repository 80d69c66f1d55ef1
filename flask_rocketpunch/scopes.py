"""Scopes: the one parser of scope strings and lists (RFC 6749 section 3.3)."""

from __future__ import annotations

import collections.abc as cabc

#: What a scope value may be: a space-separated string, or an iterable of
#: strings that may themselves hold several space-separated scopes.
ScopeValue = str | cabc.Iterable[str] | None


def split_scopes(value: ScopeValue) -> tuple[str, ...]:
    """The scopes in ``value`` in their first order, without duplicates.

    ``"profile email"``, ``["profile", "email"]`` and ``["profile email"]``
    all give ``("profile", "email")``; a string is never split into
    characters.
    """
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    seen: dict[str, None] = {}
    for item in items:
        for scope in str(item).split():
            seen.setdefault(scope, None)
    return tuple(seen)


def parse_scopes(value: ScopeValue) -> frozenset[str]:
    """The set of scopes in ``value`` (see :func:`split_scopes`)."""
    return frozenset(split_scopes(value))


def scope_string(scopes: cabc.Iterable[str]) -> str:
    """The space-separated form of ``scopes``, sorted, as sent to the
    provider and kept with a login in flight."""
    return " ".join(sorted(set(scopes)))
