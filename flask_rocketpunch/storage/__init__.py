"""Where tokens are kept between requests: the seam and its back ends.

:class:`TokenStorage` has three methods keyed by the login id. The default,
:class:`SessionStorage`, keeps the token encrypted in Flask's session
cookie; :class:`MemoryStorage` keeps tokens in the process (tests).
:class:`~flask_rocketpunch.storage.sqlalchemy.SQLAlchemyStorage` keeps them
in a SQL database shared by every host; it is imported from its module, as
it needs SQLAlchemy.
"""

from __future__ import annotations

from .base import Lookup as Lookup
from .base import SealedStorage as SealedStorage
from .base import TokenStorage as TokenStorage
from .memory import MemoryStorage as MemoryStorage
from .session import TOKEN_KEY as TOKEN_KEY
from .session import SessionStorage as SessionStorage
from .urls import storage_from_url as storage_from_url

__all__ = [
    "TOKEN_KEY",
    "Lookup",
    "MemoryStorage",
    "SealedStorage",
    "SessionStorage",
    "TokenStorage",
    "storage_from_url",
]
