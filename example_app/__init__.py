"""A small Flask app showing "Log in with Rocketpunch".

Run it with ``flask --app example_app run --debug`` (or ``make demo``).
Without a ``FLASK_ROCKETPUNCH_CLIENT_ID`` in the environment it uses the
built-in sandbox provider, so no Rocketpunch account is needed; the sandbox
is only served in debug mode (or with ``FLASK_ROCKETPUNCH_SANDBOX_FORCE=true``,
e.g. under ``gunicorn -w 4``).

Pages:

- ``/``: public; a "Log in with Rocketpunch" button, or, once logged in, a
  link to the dashboard and a logout button.
- ``/dashboard``: protected; the user's name, picture and email.
- ``/api/me``: protected JSON; the user's claims (a ``401`` JSON body when
  not logged in).
- a friendly "You cancelled the login" page when the user clicks Deny.

Every page is in Korean or English: Flask-Babel picks the language from the
browser's ``Accept-Language`` (``ROCKETPUNCH_DEFAULT_LOCALE`` when it names
neither), and flask-rocketpunch's own pages follow Flask-Babel's choice. The
texts are in ``example_app/translations`` (``make messages``, ``make
translations``).
"""

from __future__ import annotations

import collections.abc as cabc
import os
import secrets
import tempfile
import typing as t

from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import Babel, get_locale

from flask_rocketpunch import (
    OAuthError,
    RocketpunchError,
    RocketpunchOAuth,
    is_authorized,
    login_required_rocketpunch,
    rocketpunch,
)
from flask_rocketpunch.locales import choose_locale

#: The extension, shared by every app made by :func:`create_app`.
rp = RocketpunchOAuth()

bp = Blueprint("example", __name__)


@bp.record_once
def _set_up_babel(state: BlueprintSetupState) -> None:
    """Flask-Babel, for the pages' texts, on whichever app registers the
    blueprint (tests build their own apps around it)."""
    if "babel" not in state.app.extensions:
        Babel(state.app, locale_selector=select_locale)
    state.app.context_processor(lambda: {"lang": str(get_locale() or "en")})


def create_app(
    config: cabc.Mapping[str, t.Any] | None = None,
    *,
    instance_path: str | None = None,
) -> Flask:
    """Make the example app.

    Configuration comes from ``FLASK_*`` environment variables (for example
    ``FLASK_SECRET_KEY``, ``FLASK_ROCKETPUNCH_CLIENT_ID``,
    ``FLASK_ROCKETPUNCH_CLIENT_SECRET``), ``ROCKETPUNCH_STORAGE_URL`` (or
    ``FLASK_ROCKETPUNCH_STORAGE_URL``) for server-side token storage, then
    from ``config``.

    Under gunicorn, name the factory call:
    ``gunicorn -w 4 'example_app:create_app()'``.

    - Without ``SECRET_KEY``, a random one is made for this run: sessions
      (and logins) do not survive a restart.
    - Without ``ROCKETPUNCH_CLIENT_ID``, the built-in sandbox provider is
      used instead of Rocketpunch.

    :param config: settings that override the environment (tests use it).
    :param instance_path: the app's instance folder (an absolute path), where
        the workers of one host share the file that lets one of them refresh
        a token at a time; by default ``instance/`` beside the package.
    """
    app = Flask(__name__, instance_path=instance_path)
    app.config.from_prefixed_env()
    # Where tokens are kept: redis://..., postgresql+psycopg://...,
    # sqlite:///...; unset, they stay encrypted in the session cookie.
    if os.environ.get("ROCKETPUNCH_STORAGE_URL"):
        app.config.setdefault(
            "ROCKETPUNCH_STORAGE_URL", os.environ["ROCKETPUNCH_STORAGE_URL"]
        )
    if config is not None:
        app.config.update(config)
    # Name, picture and email: the scopes differ between the current provider
    # and the July 2026 guide's.
    # Its own cookie name: browsers share cookies between ports of one host,
    # so a local provider that is a Flask app too would overwrite "session".
    if app.config["SESSION_COOKIE_NAME"] == "session":
        app.config["SESSION_COOKIE_NAME"] = "example_app_session"
    guide = app.config.get("ROCKETPUNCH_SANDBOX_FLAVOR") == "guide"
    app.config.setdefault(
        "ROCKETPUNCH_SCOPES", "profile:read profile:email" if guide else "profile email"
    )

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(app)
        app.logger.warning(
            "example_app: SECRET_KEY is not set; using a random key kept in"
            " the instance folder, shared by every worker process. Set"
            " FLASK_SECRET_KEY in production."
        )
    if not app.config.get("ROCKETPUNCH_CLIENT_ID"):
        app.config["ROCKETPUNCH_SANDBOX"] = True

    rp.init_app(app)
    if rp.settings(app).sandbox:
        app.logger.warning(
            "example_app: using the built-in Rocketpunch SANDBOX (no"
            " FLASK_ROCKETPUNCH_CLIENT_ID set). Logins go to a stand-in consent"
            " page with sample users, not to rocketpunch.com."
        )
    app.register_blueprint(bp)
    return app


def select_locale() -> str:
    """Flask-Babel's locale selector: Korean or English, as the browser
    prefers, else ``ROCKETPUNCH_DEFAULT_LOCALE``."""
    return choose_locale(
        request.headers.get("Accept-Language"),
        default=current_app.config["ROCKETPUNCH_DEFAULT_LOCALE"],
    )


def _instance_secret_key(app: Flask) -> str:
    """A random secret key made once and kept in the app's instance folder,
    so every worker process of a server (gunicorn ``-w 4``) signs and reads
    the same session cookies, and logins survive a restart."""
    path = os.path.join(app.instance_path, "example-secret-key")
    os.makedirs(app.instance_path, exist_ok=True)
    if not os.path.exists(path):
        # Written whole under another name, then linked into place: a worker
        # starting at the same moment reads either no file or the whole key.
        fd, draft = tempfile.mkstemp(dir=app.instance_path)
        with os.fdopen(fd, "w", encoding="ascii") as new:
            new.write(secrets.token_urlsafe(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another worker was first: use its key
        finally:
            os.unlink(draft)
    with open(path, encoding="ascii") as existing:
        return existing.read().strip()


@bp.get("/")
def home() -> str:
    """The public home page."""
    sandbox = current_app.extensions["rocketpunch"].sandbox()
    return render_template(
        "home.html",
        logged_in=is_authorized(),
        sample_users=sandbox.users if sandbox is not None else (),
    )


@bp.get("/dashboard")
@login_required_rocketpunch
def dashboard() -> str:
    """The user's Rocketpunch profile; only for logged-in users."""
    return render_template("dashboard.html", me=rocketpunch.userinfo())


@bp.get("/api/me")
@login_required_rocketpunch
def api_me() -> ResponseReturnValue:
    """The user's claims as JSON; ``401`` JSON when not logged in."""
    return jsonify(rocketpunch.userinfo())


@rp.on_error
def login_failed(error: RocketpunchError) -> tuple[str, int] | None:
    """A friendly page when the user clicked Deny on the consent page.

    It links to the public home page and to a new login, never to a
    protected page, so a denial cannot loop. Other errors fall through to the
    extension's default page.
    """
    if isinstance(error, OAuthError) and error.error == "access_denied":
        dashboard_url = url_for("example.dashboard")
        page = render_template(
            "denied.html",
            try_again_url=url_for("rocketpunch.login", next=dashboard_url),
        )
        return page, error.http_status
    return None
