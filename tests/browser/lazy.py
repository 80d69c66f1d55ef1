"""Playwright names imported when first used: without Playwright installed,
the ``browser`` fixture skips the tests instead of the modules failing to
import."""

from __future__ import annotations

import typing as t


def expect(*args: t.Any, **kwargs: t.Any) -> t.Any:
    """Playwright's ``expect``."""
    from playwright.sync_api import expect

    return expect(*args, **kwargs)
