"""What differs between the two providers the sandbox can play.

``"current"`` follows Rocketpunch's OpenAPI description, ``"guide"`` the
OAuth guide of July 2026. Each is one frozen :class:`FlavorSpec`; the rest of
the sandbox (and the extension's settings) reads its attributes instead of
comparing flavor names.

This module imports nothing else of the package, so that any part of it can
use it without an import cycle.
"""

from __future__ import annotations

import dataclasses
import typing as t
from collections.abc import Mapping
from datetime import datetime, timezone
from types import MappingProxyType

Flavor = t.Literal["current", "guide"]
"""``"current"`` follows the OpenAPI description, ``"guide"`` the July 2026 guide."""


def N_(message: str) -> str:
    """Mark a scope's description for translation (``make messages``); the
    consent page translates it. Defined here, as this module imports nothing
    of the package."""
    return message


#: The guide's profile endpoint, relative to the provider's root.
PROFILE_PATH = "/api/v1/profiles/me"


@dataclasses.dataclass(frozen=True)
class FlavorSpec:
    """How one flavor of the provider behaves.

    .. versionadded:: 0.1
    """

    #: The flavor's name, a key of :data:`FLAVORS`.
    name: str
    #: Scopes the provider knows, mapped to what the consent page says.
    scopes: Mapping[str, str]
    #: The scope that reads the profile.
    profile_scope: str
    #: The scope that adds the email address to the profile.
    email_scope: str
    #: The scopes a client asks for by default.
    client_scopes: tuple[str, ...]
    #: PKCE ``S256`` is required on every authorization request.
    requires_pkce: bool
    #: Each refresh returns a new refresh token and spends the old one.
    rotates_refresh_tokens: bool
    #: Clients should revoke tokens at the revocation endpoint on logout.
    revocation: bool
    #: Where the user's profile is read, relative to the provider's root.
    userinfo_path: str
    #: ``/.well-known/oauth-authorization-server`` is served.
    metadata: bool
    #: API errors are ``{"code", "message", "timestamp", "details"}``;
    #: otherwise ``{"error": {"message"}}``.
    coded_errors: bool
    #: Lifetime of an access token, in seconds.
    access_token_ttl: int
    #: What every refresh token starts with.
    refresh_token_prefix: str

    @property
    def serves_profiles_me(self) -> bool:
        """Whether ``/api/v1/profiles/me`` answers (the guide's profile)."""
        return self.userinfo_path == PROFILE_PATH

    def error_body(
        self, code: str, message: str, details: str | None, now: float
    ) -> dict[str, object]:
        """The JSON body of an API error in this flavor's shape.

        :param code: The Rocketpunch error code, e.g. ``"C0011"``.
        :param message: The human-readable message.
        :param details: The field or reason, if any.
        :param now: The current time, for the ``timestamp`` field.
        """
        if not self.coded_errors:
            return {"error": {"message": message}}
        stamp = datetime.fromtimestamp(now, tz=timezone.utc)
        return {
            "code": code,
            "message": message,
            "timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%S"),
            "details": details,
        }


CURRENT = FlavorSpec(
    name="current",
    scopes=MappingProxyType(
        {
            "profile": N_("Read your profile: name, username and picture"),
            "email": N_("Read your email address"),
            "post:write": N_(
                "Create, update and delete posts as you (app owners only)"
            ),
            "company:manage:read": N_("See the companies you manage (app owners only)"),
        }
    ),
    profile_scope="profile",
    email_scope="email",
    client_scopes=("profile",),
    requires_pkce=True,
    rotates_refresh_tokens=True,
    revocation=True,
    userinfo_path="/oauth/userinfo",
    metadata=True,
    coded_errors=True,
    access_token_ttl=900,
    refresh_token_prefix="rt_",
)
"""The provider as Rocketpunch's OpenAPI description says."""

GUIDE = FlavorSpec(
    name="guide",
    scopes=MappingProxyType(
        {
            "profile:read": N_("Read your public profile information"),
            "profile:email": N_("Access your email address"),
        }
    ),
    profile_scope="profile:read",
    email_scope="profile:email",
    client_scopes=("profile:read",),
    requires_pkce=False,
    rotates_refresh_tokens=False,
    revocation=False,
    userinfo_path=PROFILE_PATH,
    metadata=False,
    coded_errors=False,
    access_token_ttl=3600,
    refresh_token_prefix="def50200",
)
"""The provider as the July 2026 guide says."""

FLAVORS: Mapping[str, FlavorSpec] = MappingProxyType(
    {spec.name: spec for spec in (CURRENT, GUIDE)}
)
"""Every flavor by name."""
