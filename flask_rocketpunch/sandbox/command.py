"""The sandbox in a process of its own: ``flask rocketpunch sandbox`` and
``python -m flask_rocketpunch.sandbox``.

For apps served by several processes or hosts, and for clients written in
other languages: one server holds every code and token, and its counters and
fault switches are reachable over HTTP (see :mod:`.control`).
"""

from __future__ import annotations

import signal
import threading
import types
import typing as t

import click
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from ..settings import DEFAULTS, is_loopback_host
from .control import CONTROL_PREFIX, create_control_blueprint
from .flavors import FLAVORS, FlavorSpec
from .provider import SandboxProvider
from .server import _QuietRequestHandler
from .views import create_sandbox_app

_ANY_ADDRESS = ("0.0.0.0", "::", "")  # noqa: S104 - compared, not bound

#: The client the command registers unless told otherwise.
DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-secret"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:5000/auth/rocketpunch/callback"


def control_enabled(host: str, control: bool | None) -> bool:
    """Whether to serve the control API: as asked, else only when the server
    listens on a loopback address.

    :param host: The address the server listens on.
    :param control: ``--control`` / ``--no-control``, or ``None``.
    """
    return is_loopback_host(host) if control is None else control


def create_standalone_app(
    provider: SandboxProvider, *, control: bool, any_host: bool = False
) -> Flask:
    """The sandbox at the root, with its control API at ``/_sandbox/`` when
    ``control`` is on.

    :param provider: The provider to serve.
    :param control: Serve the control API.
    :param any_host: See
        :func:`~flask_rocketpunch.sandbox.control.create_control_blueprint`.

    .. versionadded:: 0.2
    """
    app = create_sandbox_app(provider)
    if control:
        app.register_blueprint(
            create_control_blueprint(provider, any_host=any_host),
            url_prefix=CONTROL_PREFIX,
        )
    return app


def config_lines(
    base: str,
    spec: FlavorSpec,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
) -> dict[str, object]:
    """The ``ROCKETPUNCH_*`` settings (names without the prefix) that point
    an app at a sandbox served at ``base``.

    :param base: The sandbox's URL, without a trailing slash.
    :param spec: The flavor served.
    :param client_id: The registered client id.
    :param client_secret: Its secret.
    :param redirect_uri: Its redirect URI.
    """
    lines: dict[str, object] = {
        "AUTHORIZE_URL": f"{base}/oauth/authorize",
        "TOKEN_URL": f"{base}/oauth/token",
        "REVOKE_URL": f"{base}/oauth/revoke" if spec.revocation else None,
        "USERINFO_URL": base + spec.userinfo_path,
        "API_BASE_URL": f"{base}/api/v1/",
        "CLIENT_ID": client_id,
        "CLIENT_SECRET": client_secret,
        "REDIRECT_URI": redirect_uri,
    }
    # Only where the flavor differs from the extension's defaults.
    if list(spec.client_scopes) != DEFAULTS["SCOPES"]:
        lines["SCOPES"] = " ".join(spec.client_scopes)
    if spec.requires_pkce != DEFAULTS["USE_PKCE"]:
        lines["USE_PKCE"] = spec.requires_pkce
    if not is_loopback_host(_hostname(base)):
        lines["INSECURE_TRANSPORT"] = True
    return lines


def _hostname(url: str) -> str:
    return url.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")


def _python(value: object) -> str:
    return repr(value) if not isinstance(value, str) else f'"{value}"'


def _env(value: object) -> str:
    # As app.config.from_prefixed_env() reads it: JSON where JSON parses.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _echo_config(lines: dict[str, object], url: str, control: bool) -> None:
    click.echo(f"Rocketpunch sandbox serving at {url}")
    click.echo("Put these in the app's configuration:")
    for key, value in lines.items():
        click.echo(f"    ROCKETPUNCH_{key} = {_python(value)}")
    click.echo("or in its environment (with app.config.from_prefixed_env()):")
    for key, value in lines.items():
        click.echo(f"    FLASK_ROCKETPUNCH_{key}={_env(value)}")
    if control:
        click.echo(f"Control API (counters, faults, reset): {url}{CONTROL_PREFIX}/")
    else:
        click.echo("Control API: off.")
    click.echo("Press CTRL+C to stop.")


@click.command("sandbox")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on.",
)
@click.option(
    "--port",
    default=5001,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="The port; 0 picks a free one (printed).",
)
@click.option(
    "--flavor",
    type=click.Choice(list(FLAVORS)),
    default="current",
    show_default=True,
    help="Behave as the OpenAPI description (current) or the July 2026 guide.",
)
@click.option(
    "--client-id",
    default=DEFAULT_CLIENT_ID,
    show_default=True,
    help="The client id to register.",
)
@click.option(
    "--client-secret",
    default=DEFAULT_CLIENT_SECRET,
    show_default=True,
    help="Its secret.",
)
@click.option(
    "--redirect-uri",
    default=DEFAULT_REDIRECT_URI,
    show_default=True,
    help="Its one redirect URI, matched character for character.",
)
@click.option(
    "--access-token-ttl",
    type=click.IntRange(min=1),
    default=None,
    help="Access token lifetime in seconds (default: the flavor's).",
)
@click.option(
    "--enforce-rate-limit",
    is_flag=True,
    help="Answer 429 once a client makes more than 60 API calls a minute.",
)
@click.option(
    "--control/--no-control",
    default=None,
    help=(
        "Serve the control API at /_sandbox/ (counters, faults, reset)."
        " Default: on when listening on a loopback address only."
    ),
)
def sandbox_command(
    host: str,
    port: int,
    flavor: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    access_token_ttl: int | None,
    enforce_rate_limit: bool,
    control: bool | None,
) -> None:
    """Serve the sandbox provider in this process, for apps served by
    several processes and for clients in other languages; prints the
    settings to give the app."""
    if not redirect_uri.startswith(("http://", "https://")):
        raise click.BadParameter(
            f"give the absolute callback URL of the app, e.g. {DEFAULT_REDIRECT_URI}.",
            param_hint="--redirect-uri",
        )
    provider = SandboxProvider(
        t.cast("t.Literal['current', 'guide']", flavor),
        access_token_ttl=access_token_ttl,
        enforce_rate_limit=enforce_rate_limit,
    )
    provider.register_client(client_id, client_secret, redirect_uri, name="Your app")
    serve_control = control_enabled(host, control)
    app = create_standalone_app(
        provider, control=serve_control, any_host=not is_loopback_host(host)
    )
    server: BaseWSGIServer = make_server(
        host, port, app, threaded=True, request_handler=_QuietRequestHandler
    )
    # Listening on every address: show the loopback one.
    shown = "127.0.0.1" if host in _ANY_ADDRESS else host
    if ":" in shown:
        shown = f"[{shown}]"
    url = f"http://{shown}:{server.server_port}"
    _echo_config(
        config_lines(url, provider.flavor_spec, client_id, client_secret, redirect_uri),
        url,
        serve_control,
    )
    if threading.current_thread() is threading.main_thread():
        # Stop as cleanly on SIGTERM (what process managers and test
        # harnesses send) as on Ctrl-C.
        signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _stop(signum: int, frame: types.FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """``python -m flask_rocketpunch.sandbox``."""
    sandbox_command(prog_name="python -m flask_rocketpunch.sandbox")
