"""One refresh per login across every process and host that shares a
:class:`~flask_rocketpunch.storage.sqlalchemy.SQLAlchemyStorage`.

The login's row is the point of agreement. Before calling the provider, a
process compares the token it holds (``stale``) with the row:

- the row holds ``stale``: nobody has refreshed it; this process may, once it
  holds the row's lock (PostgreSQL) or its lease (SQLite);
- the row holds a newer token and ``stale`` is the one it replaced (the same
  refresh token, or the previous one within the storage's ``window``):
  another process refreshed; its token is returned without a provider call;
- the row holds a token newer than that: ``stale`` was replaced long ago and
  sending it again would be a reuse of a rotated refresh token, so the
  answer is ``invalid_grant`` without a provider call (the manager then
  reads the stored token);
- no row (the login ended meanwhile, or its token is kept in another
  storage): ``reload`` reads the login again; nothing there means the login
  ended (``invalid_grant``, without a provider call), a token there is
  refreshed without coordination.
"""

from __future__ import annotations

import enum
import logging
import secrets
import time
import typing as t

import sqlalchemy as sa

from ..exceptions import OAuthError, ProviderError
from ..settings import load_settings
from .sql_table import (
    StoredRow,
    database_errors,
    is_lock_timeout,
    log_failure,
    stored_form,
    token_hash,
)

if t.TYPE_CHECKING:
    from flask import Flask

    from ..refresh import DoRefresh, Reload
    from ..tokens import Token
    from .sqlalchemy import SQLAlchemyStorage

logger = logging.getLogger("flask_rocketpunch")

#: The lease before :meth:`SQLAlchemyCoordinator.init_app` computes it from
#: ``ROCKETPUNCH_TIMEOUT`` (twice the default timeout, plus a second).
DEFAULT_LEASE = 11.0


class _Verdict(enum.Enum):
    ABSENT = "absent"
    OURS = "ours"
    MOVED = "moved"


def _pending() -> ProviderError:
    return ProviderError(
        "Another process is refreshing this login's token and did not finish in"
        " time. Try again in a moment.",
        reason="refresh_pending",
    )


def _ended() -> OAuthError:
    return OAuthError(
        "invalid_grant",
        message="This login ended (logged out, or its refresh token was rejected)"
        " while its token was being refreshed.",
    )


def _superseded() -> OAuthError:
    return OAuthError(
        "invalid_grant",
        message="This refresh token was replaced by a newer one some time ago.",
    )


class SQLAlchemyCoordinator:
    """The :class:`~flask_rocketpunch.refresh.SharedCoordinator` of a
    :class:`~flask_rocketpunch.storage.sqlalchemy.SQLAlchemyStorage`, keyed by
    the login id; get it with
    :meth:`~flask_rocketpunch.storage.sqlalchemy.SQLAlchemyStorage.coordinator`.

    On **PostgreSQL**, the refreshing process locks the login's row
    (``SELECT ... FOR UPDATE``) and calls the provider while it holds the
    lock; the others wait for the lock (at most ``lease`` + 1 seconds), then
    find the new token. A process that dies releases the lock at once; one
    that hangs loses it after ``lease`` seconds (the server ends its session).

    On **SQLite** (no row locks), the refreshing process takes a lease on the
    row with a compare-and-set on its version, calls the provider outside any
    transaction, and writes the new token with a compare-and-set again. The
    others look at the row every ``poll`` seconds without holding a
    connection, until the token changes, the lease ends (then one of them
    takes over), or ``lease`` + 1 seconds have passed.

    :param storage: the storage whose rows are used.
    :param lease: see the storage's ``lease``.

    .. versionadded:: 0.2
    """

    def __init__(self, storage: SQLAlchemyStorage, *, lease: float | None = None):
        self.storage = storage
        self._explicit_lease = lease
        #: Seconds a process may take to refresh before another takes over.
        self.lease = lease if lease is not None else DEFAULT_LEASE

    def init_app(self, app: Flask) -> None:
        """Compute the lease from ``ROCKETPUNCH_TIMEOUT``, or check the one
        given against it.

        :raises ConfigurationError: the lease given is not longer than two
            token endpoint calls.
        """
        settings = load_settings(app.config)
        self.lease = settings.lease(self._explicit_lease, "SQLAlchemyStorage")

    # -- the protocol -------------------------------------------------------------

    def refresh_once(
        self, key: str, stale: Token, do_refresh: DoRefresh, reload: Reload
    ) -> tuple[Token, bool]:
        """See :meth:`flask_rocketpunch.refresh.SharedCoordinator.refresh_once`.

        ``reload`` is only called when the login has no row here.

        :raises StorageError: the database failed.
        """
        if self.storage.engine.dialect.name == "postgresql":
            return self._with_row_lock(key, stale, do_refresh, reload)
        return self._with_lease(key, stale, do_refresh, reload)

    def forget(self, token: Token) -> None:
        """End the window in which a request still holding the refresh token
        that ``token`` replaced is handed ``token`` (at logout). A database
        failure is logged and does not stop the logout."""
        digest = token_hash(token)
        if digest is None:
            return
        table = self.storage.table
        statement = (
            sa.update(table)
            .where(table.c.refresh_hash == digest)
            .values(previous_hash=None, previous_until=None)
        )
        try:
            with self.storage.engine.begin() as conn:
                conn.execute(statement)
        except sa.exc.SQLAlchemyError as error:
            log_failure(error, "ending a refresh window")

    # -- both ---------------------------------------------------------------------

    def _judge(
        self, key: str, row: StoredRow | None, stale: Token, now: float
    ) -> tuple[_Verdict, Token | None]:
        """What the row says about refreshing ``stale`` (see the module)."""
        if row is None or row.expires_at < now:
            return _Verdict.ABSENT, None
        current = self.storage.unseal(key, row.sealed)
        if current is None:
            return _Verdict.ABSENT, None
        if current == stored_form(stale):
            return _Verdict.OURS, None
        digest = token_hash(stale)
        if digest is not None and (
            digest == row.refresh_hash
            or (
                digest == row.previous_hash
                and row.previous_until is not None
                and row.previous_until >= now
            )
        ):
            return _Verdict.MOVED, current
        raise _superseded()

    @staticmethod
    def _unstored(
        stale: Token, do_refresh: DoRefresh, reload: Reload
    ) -> tuple[Token, bool]:
        """The login has no row here: it ended since the request read it, or
        its token is kept in another storage."""
        current = reload()
        if current is None:
            raise _ended()
        if current != stale:
            return current, False
        return do_refresh(stale), True

    def _refreshed(
        self, key: str, stale: Token, new: Token, now: float
    ) -> dict[str, t.Any]:
        """The columns written after refreshing ``stale`` into ``new``."""
        return {
            **self.storage.token_values(key, new, now),
            "version": self.storage.table.c.version + 1,
            "previous_hash": token_hash(stale),
            "previous_until": now + self.storage.window,
            "lease_owner": None,
            "lease_until": None,
        }

    # -- PostgreSQL: the row's lock -------------------------------------------------

    def _with_row_lock(
        self, key: str, stale: Token, do_refresh: DoRefresh, reload: Reload
    ) -> tuple[Token, bool]:
        storage = self.storage
        table = storage.table
        query = (
            sa.select(*StoredRow.columns(table))
            .where(table.c.login_id == key)
            .with_for_update()
        )
        with (
            database_errors("coordinating a refresh"),
            storage.engine.connect() as conn,
        ):
            self._bound_waits(conn)
            try:
                row = conn.execute(query).first()
            except sa.exc.OperationalError as error:
                if is_lock_timeout(error):
                    raise _pending() from None
                raise
            verdict, current = self._judge(
                key, StoredRow.from_row(row), stale, storage.clock()
            )
            if verdict is _Verdict.MOVED:
                assert current is not None
                return current, False
            if verdict is _Verdict.OURS:
                return self._refresh_locked(conn, key, stale, do_refresh), True
        # No row: nothing to hold while the provider answers.
        return self._unstored(stale, do_refresh, reload)

    def _bound_waits(self, conn: sa.Connection) -> None:
        """Bound, for this transaction, the wait for the row's lock (the
        lease and a second) and how long this session may sit idle holding
        it (the lease: the server then ends the session of a process that
        hangs, which releases the lock)."""
        conn.execute(
            sa.select(
                sa.func.set_config(
                    "lock_timeout", str(int((self.lease + 1) * 1000)), True
                ),
                sa.func.set_config(
                    "idle_in_transaction_session_timeout",
                    str(int(self.lease * 1000)),
                    True,
                ),
            )
        )

    def _refresh_locked(
        self, conn: sa.Connection, key: str, stale: Token, do_refresh: DoRefresh
    ) -> Token:
        """Call the provider while holding the row's lock, then write the new
        token and let go of the lock."""
        table = self.storage.table
        where = table.c.login_id == key
        try:
            new = do_refresh(stale)
        except OAuthError as error:
            if error.error == "invalid_grant":
                # The row still holds ``stale`` (we hold its lock): nothing
                # newer to fall back on. The deletion is committed before the
                # waiting processes see the row.
                try:
                    conn.execute(sa.delete(table).where(where))
                    conn.commit()
                except sa.exc.SQLAlchemyError as failure:
                    log_failure(failure, "deleting a login whose refresh failed")
            raise
        try:
            conn.execute(
                sa.update(table)
                .where(where)
                .values(**self._refreshed(key, stale, new, self.storage.clock()))
            )
            conn.commit()
        except sa.exc.SQLAlchemyError as failure:
            # The new token is handed back all the same: the manager stores
            # it with a compare-and-set on a fresh connection.
            log_failure(failure, "storing a refreshed token")
        return new

    # -- elsewhere (SQLite): a lease on the row --------------------------------------

    def _with_lease(
        self, key: str, stale: Token, do_refresh: DoRefresh, reload: Reload
    ) -> tuple[Token, bool]:
        storage = self.storage
        # This process's own time: the wait is bounded even if the clock
        # shared with the other processes jumps.
        deadline = time.monotonic() + self.lease + 1
        owner = secrets.token_hex(16)
        while True:
            now = storage.clock()
            row = storage.read(key)
            verdict, current = self._judge(key, row, stale, now)
            if verdict is _Verdict.MOVED:
                assert current is not None
                return current, False
            if verdict is _Verdict.ABSENT:
                return self._unstored(stale, do_refresh, reload)
            assert row is not None
            if row.lease_until is None or row.lease_until < now:
                if self._take_lease(key, row.version, owner, now):
                    new = self._refresh_leased(
                        key, stale, do_refresh, row.version, owner
                    )
                    return new, True
                continue  # the row changed meanwhile: look again
            if time.monotonic() >= deadline:
                raise _pending()
            # No connection is held while sleeping.
            time.sleep(self.storage.poll)

    def _take_lease(self, key: str, version: int, owner: str, now: float) -> bool:
        table = self.storage.table
        columns = table.c
        statement = (
            sa.update(table)
            .where(
                columns.login_id == key,
                columns.version == version,
                sa.or_(columns.lease_until.is_(None), columns.lease_until < now),
            )
            .values(lease_owner=owner, lease_until=now + self.lease)
        )
        with (
            database_errors("taking a refresh lease"),
            self.storage.engine.begin() as conn,
        ):
            return bool(conn.execute(statement).rowcount == 1)

    def _refresh_leased(
        self,
        key: str,
        stale: Token,
        do_refresh: DoRefresh,
        version: int,
        owner: str,
    ) -> Token:
        """Call the provider holding the lease, then write the new token with
        a compare-and-set on the version and the lease."""
        table = self.storage.table
        columns = table.c
        ours = sa.and_(
            columns.login_id == key,
            columns.version == version,
            columns.lease_owner == owner,
        )
        try:
            new = do_refresh(stale)
        except OAuthError as error:
            if error.error == "invalid_grant":
                # The row still holds ``stale`` (the version has not moved):
                # end the login before the waiting processes look again.
                self._quietly(sa.delete(table).where(ours), "ending a login")
            else:
                self._release(ours)
            raise
        except BaseException:
            self._release(ours)
            raise
        statement = (
            sa.update(table)
            .where(ours)
            .values(**self._refreshed(key, stale, new, self.storage.clock()))
        )
        if not self._quietly(statement, "storing a refreshed token"):
            logger.info(
                "A refreshed token was not stored by the coordinator (the login"
                " ended or its lease ran out meanwhile); the request decides."
            )
        return new

    def _release(self, ours: sa.ColumnElement[bool]) -> None:
        self._quietly(
            sa.update(self.storage.table)
            .where(ours)
            .values(lease_owner=None, lease_until=None),
            "releasing a refresh lease",
        )

    def _quietly(self, statement: sa.Executable, doing: str) -> bool:
        """Run ``statement``; whether it changed a row (a failure is logged,
        never raised: the provider's answer matters more)."""
        try:
            with self.storage.engine.begin() as conn:
                return bool(conn.execute(statement).rowcount == 1)
        except sa.exc.SQLAlchemyError as error:
            log_failure(error, doing)
            return False
