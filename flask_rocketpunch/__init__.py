"""flask-rocketpunch: secure "Log in with Rocketpunch" for Flask."""

from __future__ import annotations

from .client import BearerAuth as BearerAuth
from .client import RocketpunchClient as RocketpunchClient
from .decorators import login_required_rocketpunch as login_required_rocketpunch
from .exceptions import APIError as APIError
from .exceptions import ConfigurationError as ConfigurationError
from .exceptions import NoLoginInFlightError as NoLoginInFlightError
from .exceptions import OAuthError as OAuthError
from .exceptions import ProviderError as ProviderError
from .exceptions import RateLimitError as RateLimitError
from .exceptions import ReauthorizationRequired as ReauthorizationRequired
from .exceptions import RocketpunchError as RocketpunchError
from .exceptions import ScopeRefusedError as ScopeRefusedError
from .exceptions import StateError as StateError
from .exceptions import StateExpiredError as StateExpiredError
from .exceptions import StateMismatchError as StateMismatchError
from .exceptions import StorageError as StorageError
from .extension import RocketpunchOAuth as RocketpunchOAuth
from .helpers import current_token as current_token
from .helpers import is_authorized as is_authorized
from .helpers import logout as logout
from .helpers import rocketpunch as rocketpunch
from .public import PublicClient as PublicClient
from .public import rocketpunch_public as rocketpunch_public
from .ratelimits import RateLimit as RateLimit
from .ratelimits import rate_limit_of as rate_limit_of
from .settings import Settings as Settings
from .signals import logged_in as logged_in
from .signals import logged_out as logged_out
from .signals import login_ended as login_ended
from .signals import login_failed as login_failed
from .signals import token_refreshed as token_refreshed
from .storage import MemoryStorage as MemoryStorage
from .storage import SessionStorage as SessionStorage
from .storage import TokenStorage as TokenStorage
from .tokens import Token as Token

__all__ = [
    "APIError",
    "BearerAuth",
    "ConfigurationError",
    "MemoryStorage",
    "NoLoginInFlightError",
    "OAuthError",
    "ProviderError",
    "PublicClient",
    "RateLimit",
    "RateLimitError",
    "ReauthorizationRequired",
    "RocketpunchClient",
    "RocketpunchError",
    "RocketpunchOAuth",
    "ScopeRefusedError",
    "SessionStorage",
    "Settings",
    "StateError",
    "StateExpiredError",
    "StateMismatchError",
    "StorageError",
    "Token",
    "TokenStorage",
    "current_token",
    "is_authorized",
    "logged_in",
    "logged_out",
    "login_ended",
    "login_failed",
    "login_required_rocketpunch",
    "logout",
    "rate_limit_of",
    "rocketpunch",
    "rocketpunch_public",
    "token_refreshed",
]
