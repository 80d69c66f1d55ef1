"""Tokens in a SQL database (PostgreSQL or SQLite) through SQLAlchemy 2."""

from __future__ import annotations

import collections.abc as cabc
import logging
import time
import typing as t

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..exceptions import ConfigurationError, StorageError
from ..tokens import Token
from .base import Lookup, SealedStorage
from .sql_refresh import SQLAlchemyCoordinator
from .sql_table import (
    StoredRow,
    database_errors,
    stored_form,
    token_hash,
    token_table,
)

if t.TYPE_CHECKING:
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

logger = logging.getLogger("flask_rocketpunch")

#: The databases whose upsert and locking the storage knows.
DIALECTS = ("postgresql", "sqlite")
#: Seconds :meth:`SQLAlchemyStorage.from_url` waits for PostgreSQL to accept
#: a connection, and for a SQLite file's write lock.
CONNECT_TIMEOUT = 5
SQLITE_BUSY_TIMEOUT = 15.0


class SQLAlchemyStorage(SealedStorage):
    """Keep tokens in a SQL table, one row per login, shared by every
    worker and host that uses the database. Tested on PostgreSQL (with
    psycopg 3) and SQLite.

    .. code-block:: python

        engine = sqlalchemy.create_engine("postgresql+psycopg://...")
        storage = SQLAlchemyStorage(engine)
        storage.create_table()
        RocketpunchOAuth(app, storage=storage)

    or with Flask-SQLAlchemy, after ``db.init_app(app)``:
    ``RocketpunchOAuth(app, storage=SQLAlchemyStorage(db))``; or set
    ``ROCKETPUNCH_STORAGE_URL`` (see :meth:`from_url`).

    Each row holds the token sealed with AES-GCM under a key derived from
    ``SECRET_KEY`` and bound to its login id, so the table reveals no token
    and a row copied to another login does not open. Reading a token is one
    ``SELECT``. A row not written for ``ttl`` seconds reads as logged out and
    is deleted; :meth:`purge` (``flask rocketpunch purge``) deletes them all.

    The storage brings its own refresh coordinator (:meth:`coordinator`), so
    one refresh of a token is shared by every process on every host: on
    PostgreSQL the refreshing process holds the row's lock (``SELECT ... FOR
    UPDATE``), elsewhere it takes a lease on the row with a compare-and-set.
    A process waiting for another one's refresh holds a pooled connection on
    PostgreSQL: size the pool for one connection per refresh in flight on
    top of the requests' own.

    A database failure is logged at WARNING in one line and answered with a
    :class:`~flask_rocketpunch.exceptions.StorageError` (503); nothing stored
    is lost.

    **Alembic.** ``alembic revision --autogenerate`` compares the database
    with ``target_metadata`` in ``env.py``. Make the storage on that
    metadata (``SQLAlchemyStorage(engine, metadata=Base.metadata)``, or
    ``SQLAlchemyStorage(db)`` with Flask-SQLAlchemy and Flask-Migrate, whose
    metadata is ``db.metadata``) in a module that ``env.py`` imports, and the
    next revision creates the table and its indexes; do not call
    :meth:`create_table` then. A :meth:`from_url` storage declares its table
    on a metadata of its own and creates it itself: if Alembic manages the
    same database, leave the table out with ``include_object`` in
    ``env.py``, or autogenerate will propose to drop it.

    :param engine_or_db: a SQLAlchemy :class:`~sqlalchemy.engine.Engine`, or a
        Flask-SQLAlchemy ``db`` (the engine of its default bind is taken
        inside the app at :meth:`init_app`; call ``db.init_app(app)`` first).
    :param table_name: the table's name.
    :param metadata: the :class:`~sqlalchemy.schema.MetaData` to declare the
        table on; by default ``db.metadata`` for a Flask-SQLAlchemy ``db``, else
        a private one.
    :param ttl: seconds a login's row is kept after its last write (login
        or refresh); after that the user logs in again.
    :param lease: seconds a process may take to refresh a token before
        another takes over; by default twice ``ROCKETPUNCH_TIMEOUT`` plus a
        second. An explicit lease must be longer than twice the timeout.
    :param window: seconds a request still holding the refresh token that
        was just replaced is handed the new token instead of refreshing again.
    :param poll: seconds between two looks of a process waiting for another
        one's refresh (where rows cannot be locked).
    :param clock: the time source, in seconds since the epoch (shared by
        every process: not monotonic).

    .. versionadded:: 0.2
    """

    def __init__(
        self,
        engine_or_db: sa.Engine | SQLAlchemy,
        *,
        table_name: str = "rocketpunch_tokens",
        metadata: sa.MetaData | None = None,
        ttl: int = 30 * 24 * 3600,
        lease: float | None = None,
        window: float = 60.0,
        poll: float = 0.05,
        clock: cabc.Callable[[], float] = time.time,
    ) -> None:
        self._engine: sa.Engine | None = None
        self._db: SQLAlchemy | None = None
        if isinstance(engine_or_db, sa.Engine):
            self._use_engine(engine_or_db)
            default_metadata = sa.MetaData()
        else:
            db_metadata = getattr(engine_or_db, "metadata", None)
            if not isinstance(db_metadata, sa.MetaData):
                raise TypeError(
                    "SQLAlchemyStorage takes a SQLAlchemy Engine or a"
                    f" Flask-SQLAlchemy db, not {type(engine_or_db).__name__}."
                )
            self._db = engine_or_db
            default_metadata = db_metadata
        if ttl <= 0:
            raise ValueError("ttl must be a positive number of seconds.")
        #: The token table.
        self.table = token_table(
            metadata if metadata is not None else default_metadata, table_name
        )
        #: Seconds a row is kept after its last write.
        self.ttl = float(ttl)
        #: Seconds the refresh token just replaced still gets the new token.
        self.window = float(window)
        #: Seconds between two looks of a waiting process (SQLite).
        self.poll = float(poll)
        #: The time source.
        self.clock = clock
        self._create_on_init = False
        self._table_pending = False
        self._coordinator = SQLAlchemyCoordinator(self, lease=lease)

    @classmethod
    def from_url(cls, url: str, **kwargs: t.Any) -> SQLAlchemyStorage:
        """A storage on a new engine for ``url``
        (``ROCKETPUNCH_STORAGE_URL``): ``postgresql+psycopg://user:password@host/db``
        or ``sqlite:///path/to/file.db``.

        The engine's pool has SQLAlchemy's default size (5, and 10 more when
        busy); PostgreSQL connections give up after 5 seconds, SQLite waits
        up to 15 seconds for the file's write lock and uses WAL mode. Unlike
        other storages, this one creates its table at :meth:`init_app` when
        it is missing (and at first use if the database was down then).

        :param kwargs: passed to the constructor.
        :raises ConfigurationError: not a URL SQLAlchemy can use, or its
            driver is not installed.
        """
        try:
            parsed = sa.make_url(url)
            connect_args: dict[str, t.Any] = {}
            if parsed.get_backend_name() == "postgresql":
                connect_args["connect_timeout"] = CONNECT_TIMEOUT
            elif parsed.get_backend_name() == "sqlite":
                connect_args["timeout"] = SQLITE_BUSY_TIMEOUT
            engine = sa.create_engine(parsed, connect_args=connect_args)
        except (sa.exc.ArgumentError, ImportError, ValueError):
            # SQLAlchemy's message may repeat the URL, password included.
            raise ConfigurationError(
                "The storage URL cannot be used: write it as"
                " postgresql+psycopg://user:password@host/database or"
                " sqlite:///path/to/file.db, and install the driver with"
                " pip install 'flask-rocketpunch[postgresql]'."
            ) from None
        storage = cls(engine, **kwargs)
        storage._create_on_init = True
        return storage

    # -- set-up -------------------------------------------------------------------

    def _use_engine(self, engine: sa.Engine) -> None:
        if engine.dialect.name not in DIALECTS:
            raise ConfigurationError(
                f"SQLAlchemyStorage supports PostgreSQL and SQLite; this engine is"
                f" {engine.dialect.name}."
            )
        self._engine = engine

    def init_app(self, app: Flask) -> None:
        """Seal tokens with ``app``'s ``SECRET_KEY``; with Flask-SQLAlchemy,
        take the engine of ``db`` for ``app``; for a :meth:`from_url` storage,
        create the table if it is missing.

        :raises ConfigurationError: ``db.init_app(app)`` was not called first.
        """
        super().init_app(app)
        if self._db is not None:
            try:
                with app.app_context():
                    engine = self._db.engine
            except (RuntimeError, KeyError):
                raise ConfigurationError(
                    "SQLAlchemyStorage(db) takes its engine from Flask-SQLAlchemy:"
                    " call db.init_app(app) before RocketpunchOAuth(app, storage=...)."
                ) from None
            self._use_engine(engine)
        if self._create_on_init:
            try:
                self.create_table()
            except StorageError:
                # Logged; tried again at first use, so the app starts anyway.
                self._table_pending = True

    @property
    def engine(self) -> sa.Engine:
        """The engine in use.

        :raises ConfigurationError: a Flask-SQLAlchemy storage not set up
            with an app yet.
        """
        if self._engine is None:
            raise ConfigurationError(
                "This SQLAlchemyStorage takes its engine from Flask-SQLAlchemy: pass"
                " it to RocketpunchOAuth(app, storage=...) after db.init_app(app), or"
                " call storage.init_app(app)."
            )
        return self._engine

    def create_table(self) -> None:
        """Create the table (and its indexes) unless it exists. With Alembic
        or ``db.create_all()``, there is no need to call it.

        :raises StorageError: the database failed.
        """
        engine = self.engine
        with database_errors("creating the token table"):
            try:
                self.table.create(engine, checkfirst=True)
            except sa.exc.SQLAlchemyError:
                # Another process may have created it at the same moment.
                if not sa.inspect(engine).has_table(
                    self.table.name, schema=self.table.schema
                ):
                    raise
            if self._create_on_init and engine.dialect.name == "sqlite":
                # Readers do not wait for writers, across processes.
                with engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        self._table_pending = False

    def _connect(self) -> sa.Connection:
        engine = self.engine
        if self._table_pending:
            self.create_table()
        # Single statements need no transaction: one round trip each.
        return engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _run(
        self, doing: str, operation: cabc.Callable[[sa.Connection], t.Any]
    ) -> t.Any:
        """Run ``operation`` on an autocommit connection, once more if the
        first one turned out dead (the database restarted since)."""
        with database_errors(doing):
            try:
                with self._connect() as conn:
                    return operation(conn)
            except sa.exc.DBAPIError as error:
                if not error.connection_invalidated:
                    raise
            with self._connect() as conn:
                return operation(conn)

    # -- the seam -----------------------------------------------------------------

    def _where(self, key: str) -> sa.ColumnElement[bool]:
        return self.table.c.login_id == key

    def read(self, key: str) -> StoredRow | None:
        """The row of the login ``key`` as stored (``None`` when there is
        none, or it has expired; an expired row is deleted), in one
        ``SELECT``.

        :raises StorageError: the database failed.
        """
        now = self.clock()
        query = sa.select(*StoredRow.columns(self.table)).where(self._where(key))

        def operation(conn: sa.Connection) -> StoredRow | None:
            row = StoredRow.from_row(conn.execute(query).first())
            if row is not None and row.expires_at < now:
                conn.execute(
                    sa.delete(self.table).where(
                        self._where(key), self.table.c.expires_at < now
                    )
                )
                return None
            return row

        return t.cast("StoredRow | None", self._run("reading a token", operation))

    def get(self, key: str) -> Token | None:
        """The token of the login ``key``, or ``None``: no row, an expired
        one (deleted now), or one that does not open (tampered, copied from
        another login, or sealed under a key no longer configured).

        :raises StorageError: the database failed.
        """
        return self.lookup(key).token

    def lookup(self, key: str) -> Lookup:
        """:meth:`get`, telling a row that does not open apart.

        :raises StorageError: the database failed.
        """
        row = self.read(key)
        if row is None:
            return Lookup(None)
        token = self.unseal(key, row.sealed)
        if token is None:
            logger.info(
                "A stored token could not be opened (SECRET_KEY changed without"
                " SECRET_KEY_FALLBACKS, or the row was altered); the login reads"
                " as logged out."
            )
            return Lookup(None, unreadable=True)
        return Lookup(token)

    def token_values(self, key: str, token: Token, now: float) -> dict[str, t.Any]:
        """The columns that store ``token`` for the login ``key`` at ``now``."""
        return {
            "sealed": self.seal(key, token),
            "refresh_hash": token_hash(token),
            "subject": token.subject,
            "expires_at": now + self.ttl,
        }

    def set(self, key: str, token: Token) -> None:
        """Store ``token`` for the login ``key`` (an upsert).

        :raises StorageError: the database failed.
        """
        columns = self.table.c
        values = {
            "login_id": key,
            "version": 1,
            **self.token_values(key, token, self.clock()),
            "previous_hash": None,
            "previous_until": None,
            "lease_owner": None,
            "lease_until": None,
        }
        insert = (
            postgresql.insert(self.table)
            if self.engine.dialect.name == "postgresql"
            else sqlite.insert(self.table)
        ).values(values)
        changes: dict[str, t.Any] = {name: insert.excluded[name] for name in values}
        del changes["login_id"]
        changes["version"] = columns.version + 1
        statement = insert.on_conflict_do_update(
            index_elements=[columns.login_id], set_=changes
        )
        self._run("storing a token", lambda conn: conn.execute(statement))

    def delete(self, key: str) -> None:
        """Forget the token of the login ``key``.

        :raises StorageError: the database failed.
        """
        statement = sa.delete(self.table).where(self._where(key))
        self._run("deleting a token", lambda conn: conn.execute(statement))

    def replace(self, key: str, old: Token, new: Token) -> bool:
        """Store ``new`` for the login ``key`` only if it still holds ``old``:
        an ``UPDATE`` on the refresh token's hash and the row's version. A
        row that holds ``new`` already (the refresh coordinator wrote it)
        counts as stored.

        :return: whether the login now holds ``new``.
        :raises StorageError: the database failed.
        """
        row = self.read(key)
        if row is None:
            return False
        current = self.unseal(key, row.sealed)
        if current == stored_form(new):
            return True
        if current != stored_form(old):
            return False
        now = self.clock()
        columns = self.table.c
        statement = (
            sa.update(self.table)
            .where(
                self._where(key),
                columns.version == row.version,
                columns.refresh_hash.is_not_distinct_from(token_hash(old)),
            )
            .values(
                **self.token_values(key, new, now),
                version=columns.version + 1,
                previous_hash=token_hash(old),
                previous_until=now + self.window,
                lease_owner=None,
                lease_until=None,
            )
        )
        result = self._run(
            "storing a refreshed token", lambda conn: conn.execute(statement)
        )
        return bool(result.rowcount == 1)

    def logins_of(self, subject: str) -> cabc.Sequence[tuple[str, Token]]:
        """The logins (login id and token) of the Rocketpunch user
        ``subject``, for "log out everywhere"; rows that do not open are left
        out.

        :raises StorageError: the database failed.
        """
        columns = self.table.c
        query = sa.select(columns.login_id, columns.sealed).where(
            columns.subject == subject, columns.expires_at >= self.clock()
        )
        rows = self._run(
            "finding a user's logins", lambda conn: conn.execute(query).all()
        )
        out = []
        for login_id, sealed in rows:
            token = self.unseal(login_id, sealed)
            if token is not None:
                out.append((str(login_id), token))
        return out

    def purge(self) -> int:
        """Delete the rows not written for ``ttl`` seconds.

        :return: how many were deleted.
        :raises StorageError: the database failed.
        """
        statement = sa.delete(self.table).where(self.table.c.expires_at < self.clock())
        result = self._run(
            "purging expired tokens", lambda conn: conn.execute(statement)
        )
        return int(result.rowcount)

    def coordinator(self) -> SQLAlchemyCoordinator:
        """The refresh coordinator that uses this storage's rows (see
        :class:`~flask_rocketpunch.storage.sql_refresh.SQLAlchemyCoordinator`)."""
        return self._coordinator
