"""The example app with fault-injection hooks, for gunicorn in the crash
tests: ``gunicorn 'herd_support.app:create_app(instance_path=..., crash="before")'``.

It has the example app's pages (its blueprint, templates and cookie name)
and configuration from ``FLASK_*`` variables, but its extension gets a
:class:`HookedCoordinator`: the default SQLite coordinator, whose winner can
be made to die, whose lease can be made shorter than the settings give, and
whose file can be put where it cannot be made.
"""

from __future__ import annotations

import os
import typing as t

from flask import Flask

from example_app import bp
from flask_rocketpunch import RocketpunchOAuth
from flask_rocketpunch.refresh import DoRefresh, Reload
from flask_rocketpunch.refresh_sqlite import SQLiteCoordinator
from flask_rocketpunch.settings import load_settings
from flask_rocketpunch.tokens import Token

#: When the winner of a refresh dies: just before its call to the token
#: endpoint, or just after the answer (the rotated token is then lost).
Crash = t.Literal["before", "after"]

#: The file, in the instance folder, that the one dying worker creates.
CRASH_MARKER = "herd-crashed"

#: The status the dying worker exits with.
CRASH_STATUS = 17


class HookedCoordinator(SQLiteCoordinator):
    """A :class:`SQLiteCoordinator` that kills its process with
    :func:`os._exit` once, across every worker sharing ``marker``: the first
    process to win a refresh dies at the ``crash`` point, holding the lease.

    :param crash: when to die, or ``None`` never to.
    :param marker: the file whose creation elects the one process that dies.
    """

    def __init__(
        self,
        path: str,
        *,
        crash: Crash | None,
        marker: str,
        lease: float,
    ) -> None:
        super().__init__(path, lease=lease)
        self.crash = crash
        self.marker = marker

    def refresh_once(
        self, key: str, stale: Token, do_refresh: DoRefresh, reload: Reload
    ) -> tuple[Token, bool]:
        def hooked(token: Token) -> Token:
            if self.crash == "before":
                self._die_once()
            new = do_refresh(token)
            if self.crash == "after":
                self._die_once()
            return new

        return super().refresh_once(key, stale, hooked, reload)

    def _die_once(self) -> None:
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return  # another worker died already
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os._exit(CRASH_STATUS)


def create_app(
    instance_path: str,
    crash: Crash | None = None,
    lease: float | None = None,
    coordination_path: str | None = None,
) -> Flask:
    """The example app with a :class:`HookedCoordinator`.

    :param instance_path: the instance folder (the coordination file and the
        crash marker go there).
    :param crash: when the first winner dies, or ``None``.
    :param lease: the coordinator's lease in seconds; by default what the
        extension would use (``2 * ROCKETPUNCH_TIMEOUT + 1``).
    :param coordination_path: the coordination file, if not in the instance
        folder.
    """
    # Named for the example app's package: its templates and static files.
    app = Flask("example_app", instance_path=instance_path)
    app.config.from_prefixed_env()
    app.config["SESSION_COOKIE_NAME"] = "example_app_session"
    app.config.setdefault("ROCKETPUNCH_SCOPES", "profile email")
    settings = load_settings(app.config)
    coordinator = HookedCoordinator(
        coordination_path or os.path.join(instance_path, SQLiteCoordinator.FILE_NAME),
        crash=crash,
        marker=os.path.join(instance_path, CRASH_MARKER),
        lease=settings.refresh_lease if lease is None else lease,
    )
    RocketpunchOAuth(app, coordinator=coordinator)
    app.register_blueprint(bp)
    return app
