"""Where the sandbox's views find their provider: the app's registry of
sandbox blueprints, filled when a blueprint is registered."""

from __future__ import annotations

import typing as t
from collections.abc import Callable

from flask import current_app, request
from flask.blueprints import BlueprintSetupState
from flask.sansio.app import App

from .provider import SandboxProvider

EXTENSION_KEY = "rocketpunch_sandbox"
"""``app.extensions[EXTENSION_KEY]`` maps blueprint names to their providers."""


def providers_of(app: App) -> dict[str, SandboxProvider]:
    """The sandbox providers mounted in ``app``, by blueprint name.

    :param app: The Flask app.
    """
    return t.cast(
        "dict[str, SandboxProvider]", app.extensions.setdefault(EXTENSION_KEY, {})
    )


def remember(provider: SandboxProvider) -> Callable[[BlueprintSetupState], None]:
    """A blueprint setup function that files ``provider`` under the name
    the blueprint is registered with (nested names included).

    :param provider: The provider the blueprint serves.
    """

    def setup(state: BlueprintSetupState) -> None:
        name = f"{state.name_prefix}.{state.name}".lstrip(".")
        providers_of(state.app)[name] = provider

    return setup


def current_provider() -> SandboxProvider:
    """The provider of the sandbox blueprint handling the current request."""
    return providers_of(current_app)[request.blueprint or ""]
