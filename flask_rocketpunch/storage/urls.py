"""``ROCKETPUNCH_STORAGE_URL``: a storage from a URL."""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit

from ..exceptions import ConfigurationError
from .base import TokenStorage

#: The storage each URL scheme makes: module, factory, and the extra that
#: installs its driver.
_BACKENDS = {
    "redis": ("redis", "redis", "RedisStorage"),
    "rediss": ("redis", "redis", "RedisStorage"),
    "unix": ("redis", "redis", "RedisStorage"),
    "postgresql": ("sqlalchemy", "sqlalchemy", "SQLAlchemyStorage"),
    "sqlite": ("sqlalchemy", "sqlalchemy", "SQLAlchemyStorage"),
}


def storage_from_url(url: str) -> TokenStorage:
    """The storage ``url`` names: ``redis://`` (or ``rediss://``,
    ``unix://``) for :class:`~flask_rocketpunch.storage.redis.RedisStorage`,
    ``postgresql+psycopg://`` or ``sqlite:///`` for
    :class:`~flask_rocketpunch.storage.sqlalchemy.SQLAlchemyStorage`.

    :raises ConfigurationError: an unknown scheme, or the driver is not
        installed (the message names the extra to install).
    """
    scheme = urlsplit(url).scheme.split("+")[0]
    if scheme not in _BACKENDS:
        raise ConfigurationError(
            f"ROCKETPUNCH_STORAGE_URL has the scheme {scheme!r}; use redis://,"
            " postgresql+psycopg:// or sqlite:///."
        )
    driver, extra, name = _BACKENDS[scheme]
    try:
        importlib.import_module(driver)
    except ImportError:
        raise ConfigurationError(
            f"ROCKETPUNCH_STORAGE_URL names a {name}, but {driver} is not"
            f" installed: pip install 'flask-rocketpunch[{extra}]'."
        ) from None
    module = importlib.import_module(f"flask_rocketpunch.storage.{extra}")
    factory: type[TokenStorage] = getattr(module, name)
    return factory.from_url(url)  # type: ignore[attr-defined, no-any-return]
