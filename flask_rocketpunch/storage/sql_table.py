"""The table of :class:`~flask_rocketpunch.storage.sqlalchemy.SQLAlchemyStorage`,
the row as read, and how database failures reach the user."""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import dataclasses
import hashlib
import logging
import typing as t

import sqlalchemy as sa

from ..exceptions import ConfigurationError, StorageError
from ..logs import neutral
from ..tokens import Token

logger = logging.getLogger("flask_rocketpunch")

#: What every database failure tells the user (a 503 page or JSON body).
DATABASE_FAILED = (
    "The token database failed or could not be reached. Nothing was lost: try"
    " again in a moment."
)

#: PostgreSQL's codes for "the lock was not granted in time" (``lock_timeout``,
#: ``NOWAIT``) and "the statement was cancelled" (``statement_timeout``).
LOCK_TIMEOUT_CODES = frozenset({"55P03", "57014"})

#: The columns, by name, so that a table declared earlier under the same name
#: can be checked.
COLUMN_NAMES = (
    "login_id",
    "sealed",
    "refresh_hash",
    "version",
    "expires_at",
    "previous_hash",
    "previous_until",
    "subject",
    "lease_owner",
    "lease_until",
)


def token_table(metadata: sa.MetaData, name: str) -> sa.Table:
    """The token table ``name`` declared on ``metadata`` (the one declared
    there already, when a storage was made before with the same name).

    Times are seconds since the epoch (UTC), as
    :attr:`~flask_rocketpunch.Token.expires_at`.

    :raises ConfigurationError: ``metadata`` has another table of that name.
    """
    existing = metadata.tables.get(name)
    if existing is not None:
        if tuple(existing.columns.keys()) != COLUMN_NAMES:
            raise ConfigurationError(
                f"The metadata already has a table named {name!r} that is not a"
                " token table: pass SQLAlchemyStorage(..., table_name=...) another"
                " name."
            )
        return existing
    return sa.Table(
        name,
        metadata,
        # The login id: 43 characters from secrets.token_urlsafe(32).
        sa.Column("login_id", sa.String(64), primary_key=True),
        # The token sealed with AES-GCM under SECRET_KEY, bound to the login id.
        sa.Column("sealed", sa.Text, nullable=False),
        # SHA-256 (hex) of the refresh token: what a refresh compares.
        sa.Column("refresh_hash", sa.String(64), index=True),
        # +1 on every write: compare-and-set where rows cannot be locked.
        sa.Column("version", sa.Integer, nullable=False),
        # When the row may be purged: the last write plus the storage's ttl.
        sa.Column("expires_at", sa.Double, nullable=False, index=True),
        # The refresh token replaced by the last refresh, and until when a
        # request still holding it is handed the new token.
        sa.Column("previous_hash", sa.String(64)),
        sa.Column("previous_until", sa.Double),
        # The Rocketpunch user (``sub``), for "log out everywhere".
        sa.Column("subject", sa.String(255), index=True),
        # Who refreshes the token now, and until when (where rows cannot be
        # locked: SQLite).
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", sa.Double),
    )


def token_hash(token: Token) -> str | None:
    """SHA-256 (hex) of ``token``'s refresh token, or ``None`` without one."""
    if not token.refresh_token:
        return None
    return hashlib.sha256(token.refresh_token.encode("utf-8")).hexdigest()


def stored_form(token: Token) -> Token:
    """``token`` as it reads back from storage (its expiry in whole
    seconds), to compare a token in hand with a stored one."""
    return Token.from_dict(token.to_dict())


@dataclasses.dataclass(frozen=True)
class StoredRow:
    """One login's row as read (the sealed token still sealed)."""

    sealed: str
    refresh_hash: str | None
    version: int
    expires_at: float
    previous_hash: str | None
    previous_until: float | None
    lease_owner: str | None
    lease_until: float | None

    @classmethod
    def columns(cls, table: sa.Table) -> list[sa.Column[t.Any]]:
        """The columns to select for :meth:`from_row`."""
        return [table.c[field.name] for field in dataclasses.fields(cls)]

    @classmethod
    def from_row(cls, row: sa.Row[t.Any] | None) -> StoredRow | None:
        if row is None:
            return None
        return cls(**row._asdict())


def describe(error: sa.exc.SQLAlchemyError) -> str:
    """The driver's one-line account of ``error`` for a log line: no SQL, no
    parameters (they hold sealed tokens and login ids)."""
    cause: BaseException = error
    if isinstance(error, sa.exc.DBAPIError) and error.orig is not None:
        cause = error.orig
    lines = str(cause).strip().splitlines()
    first = lines[0] if lines else ""
    if isinstance(cause, sa.exc.SQLAlchemyError):
        # SQLAlchemy's own messages end with a link to its error page.
        first = first.split(" (Background on this error at:")[0]
    name = type(cause).__name__
    return neutral(f"{name}: {first}" if first else name)


def is_lock_timeout(error: sa.exc.SQLAlchemyError) -> bool:
    """Whether ``error`` is PostgreSQL giving up waiting for a row lock."""
    cause = getattr(error, "orig", None)
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return code in LOCK_TIMEOUT_CODES


def log_failure(error: sa.exc.SQLAlchemyError, doing: str) -> None:
    """Log a database failure at WARNING, in one line without any token."""
    logger.warning("The token database failed while %s (%s).", doing, describe(error))


@contextlib.contextmanager
def database_errors(doing: str) -> cabc.Iterator[None]:
    """Turn every SQLAlchemy error into a :class:`StorageError` (a 503 page
    without a traceback), logged once at WARNING.

    :param doing: what was being done, for the log line.
    """
    try:
        yield
    except sa.exc.SQLAlchemyError as error:
        log_failure(error, doing)
        raise StorageError(DATABASE_FAILED) from None
