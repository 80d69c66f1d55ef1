"""A local stand-in for Rocketpunch's OAuth server and user API.

Use it to develop and test any OAuth client without the network::

    from flask_rocketpunch.sandbox import SandboxProvider, SandboxServer

    provider = SandboxProvider()
    provider.register_client("id", "secret", "http://127.0.0.1:5000/callback")
    with SandboxServer(provider) as server:
        ...  # point the client at server.url

.. versionadded:: 0.1
"""

from __future__ import annotations

from .flavors import FLAVORS as FLAVORS
from .flavors import Flavor as Flavor
from .flavors import FlavorSpec as FlavorSpec
from .inapp import mount_in_app as mount_in_app
from .models import AccessToken as AccessToken
from .models import AuthorizationCode as AuthorizationCode
from .models import Faults as Faults
from .models import RecordedRequest as RecordedRequest
from .models import RefreshToken as RefreshToken
from .models import SandboxClient as SandboxClient
from .models import TokenResponse as TokenResponse
from .provider import SandboxProvider as SandboxProvider
from .provider import s256 as s256
from .server import SandboxServer as SandboxServer
from .shared import SharedState as SharedState
from .transport import SandboxTransport as SandboxTransport
from .users import SAMPLE_USERS as SAMPLE_USERS
from .users import SandboxUser as SandboxUser
from .views import create_sandbox_app as create_sandbox_app
from .views import create_sandbox_blueprint as create_sandbox_blueprint

__all__ = [
    "FLAVORS",
    "SAMPLE_USERS",
    "AccessToken",
    "AuthorizationCode",
    "Faults",
    "Flavor",
    "FlavorSpec",
    "RecordedRequest",
    "RefreshToken",
    "SandboxClient",
    "SandboxProvider",
    "SandboxServer",
    "SandboxTransport",
    "SandboxUser",
    "SharedState",
    "TokenResponse",
    "create_sandbox_app",
    "create_sandbox_blueprint",
    "mount_in_app",
    "s256",
]
