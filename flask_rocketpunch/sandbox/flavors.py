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
#: The OpenAPI description's userinfo endpoint, relative to the root.
USERINFO_PATH = "/oauth/userinfo"


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
    #: ``/oauth/revoke`` is served (otherwise it answers 404), and clients
    #: should revoke tokens there on logout.
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
    #: Rate limits are enforced unless the provider is told otherwise.
    enforces_rate_limits: bool = False
    #: The OpenAPI description's operation-specific limits apply, and a
    #: daily global limit.
    operation_limits: bool = False
    #: Rate limit headers are ``X-RP-RateLimit-*`` (the OpenAPI
    #: description); otherwise ``X-RateLimit-Limit``, ``-Remaining`` and
    #: ``-Reset`` (the guide's).
    rp_rate_limit_headers: bool = True
    #: Scopes only the app's owners may grant; anyone else approving a
    #: request for them gets ``invalid_scope``.
    owner_only_scopes: frozenset[str] = frozenset()

    @property
    def serves_profiles_me(self) -> bool:
        """Whether ``/api/v1/profiles/me`` answers (the guide's profile)."""
        return self.userinfo_path == PROFILE_PATH

    @property
    def serves_userinfo(self) -> bool:
        """Whether ``/oauth/userinfo`` answers (the OpenAPI description's)."""
        return self.userinfo_path == USERINFO_PATH

    def rate_limit_headers(
        self,
        *,
        limit: int,
        remaining: int,
        reset: int,
        scope: str | None = None,
        scope_remaining: int | None = None,
    ) -> dict[str, str]:
        """The rate limit headers of an API answer in this flavor's names.

        :param limit: The global calls per minute.
        :param remaining: The global calls left in the current minute.
        :param reset: When the current minute ends, in seconds since the epoch.
        :param scope: The operation identifier of an operation-specific limit.
        :param scope_remaining: The calls of that operation left this minute.
        """
        if not self.rp_rate_limit_headers:
            return {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(reset),
            }
        headers = {"X-RP-RateLimit-Remaining": str(remaining)}
        if scope is not None:
            headers["X-RP-RateLimit-Scope"] = scope
        if scope_remaining is not None:
            headers["X-RP-RateLimit-Scope-Remaining"] = str(scope_remaining)
        return headers

    def error_body(
        self,
        code: str,
        message: str,
        details: str | None,
        now: float,
        status: int | None = None,
    ) -> dict[str, object]:
        """The JSON body of an API error in this flavor's shape:
        ``{"code", "message", "timestamp", "details"}`` or the guide's
        ``{"error": {"code", "message", "status"}}``.

        :param code: The Rocketpunch error code, e.g. ``"C0011"``.
        :param message: The human-readable message.
        :param details: The field or reason, if any.
        :param now: The current time, for the ``timestamp`` field.
        :param status: The HTTP status, for the guide's ``error.status``.
        """
        if not self.coded_errors:
            error: dict[str, object] = {"code": code, "message": message}
            if status is not None:
                error["status"] = status
            return {"error": error}
        stamp = datetime.fromtimestamp(now, tz=timezone.utc)
        return {
            "code": code,
            "message": message,
            "timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
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
            "job:write": N_(
                "Create, update and delete your companies' job postings"
                " (app owners only)"
            ),
            "job:manage:read": N_("See your companies' job postings (app owners only)"),
            "event:write": N_(
                "Create, update and delete your companies' events (app owners only)"
            ),
        }
    ),
    profile_scope="profile",
    email_scope="email",
    client_scopes=("profile",),
    requires_pkce=True,
    rotates_refresh_tokens=True,
    revocation=True,
    userinfo_path=USERINFO_PATH,
    metadata=True,
    coded_errors=True,
    access_token_ttl=900,
    refresh_token_prefix="rt_",
    enforces_rate_limits=True,
    operation_limits=True,
    rp_rate_limit_headers=True,
    owner_only_scopes=frozenset(
        {
            "post:write",
            "company:manage:read",
            "job:write",
            "job:manage:read",
            "event:write",
        }
    ),
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
    enforces_rate_limits=False,
    operation_limits=False,
    rp_rate_limit_headers=False,
)
"""The provider as the July 2026 guide says."""

FLAVORS: Mapping[str, FlavorSpec] = MappingProxyType(
    {spec.name: spec for spec in (CURRENT, GUIDE)}
)
"""Every flavor by name."""
