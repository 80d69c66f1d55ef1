"""``flask rocketpunch check``: the effective configuration and its pitfalls;
``flask rocketpunch purge``: expired logins out of the token storage."""

from __future__ import annotations

import collections.abc as cabc
import os
from urllib.parse import urlsplit

import click
from flask import current_app, url_for
from flask.cli import AppGroup

from .exceptions import NO_SECRET_KEY, ConfigurationError, StorageError
from .i18n import Translator, english, translator
from .locales import environment_locale
from .logs import neutral
from .sandbox.command import sandbox_command
from .settings import (
    Settings,
    load_settings,
    plain_http_redirect_warning,
)
from .state import current_state
from .storage import TokenStorage

cli = AppGroup("rocketpunch", help="Commands of flask-rocketpunch.")
cli.add_command(sandbox_command)


def computed_redirect_uri(settings: Settings) -> tuple[str, bool]:
    """The redirect URI to register, and whether it was computed from a guessed
    host (no ``ROCKETPUNCH_REDIRECT_URI`` and no ``SERVER_NAME``)."""
    if settings.redirect_uri:
        return settings.redirect_uri, False
    app = current_app
    server_name = app.config.get("SERVER_NAME")
    scheme = app.config.get("PREFERRED_URL_SCHEME", "http")
    base = f"{scheme}://{server_name or '127.0.0.1:5000'}"
    with app.test_request_context("/", base_url=base):
        return url_for("rocketpunch.callback", _external=True), not server_name


def cli_translator(settings: Settings | None = None) -> Translator:
    """The language of the commands' output: the environment's
    (``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else
    ``ROCKETPUNCH_DEFAULT_LOCALE``."""
    default = settings.default_locale if settings is not None else "en"
    return translator(environment_locale(os.environ) or default)


def warnings_for(
    settings: Settings,
    redirect_uri: str,
    translate: cabc.Callable[..., str] = english,
) -> list[str]:
    """What in the configuration will likely break a login.

    :param translate: gettext for the output's language; English by default.
    """
    _ = translate
    config = current_app.config
    out = []
    parts = urlsplit(redirect_uri)
    http_warning = plain_http_redirect_warning(redirect_uri, translate)
    if http_warning is not None:
        out.append(http_warning)
    samesite = str(config.get("SESSION_COOKIE_SAMESITE") or "").lower()
    if not samesite:
        out.append(
            _(
                'SESSION_COOKIE_SAMESITE is not set. Set it to "Lax": the login'
                " works and the session cookie is not sent on cross-site POSTs"
                " (such as a forged logout form)."
            )
        )
    if samesite == "strict":
        out.append(
            _(
                'SESSION_COOKIE_SAMESITE is "Strict": browsers do not send the'
                " session cookie on the redirect back from Rocketpunch, so every"
                ' login fails. Use "Lax".'
            )
        )
    redirect_host = parts.hostname
    provider_hosts = {
        urlsplit(url).hostname
        for url in (settings.authorize_url, settings.token_url)
        if url and not settings.sandbox
    }
    if (
        redirect_host in provider_hosts
        and config.get("SESSION_COOKIE_NAME", "session") == "session"
    ):
        out.append(
            _(
                "The provider runs on the same host as this app (%(host)s)."
                " Browsers share cookies between ports, so if it is a Flask app"
                " too, its 'session' cookie replaces this app's and every login"
                " fails. Set SESSION_COOKIE_NAME to a name of this app's own.",
                host=redirect_host,
            )
        )
    if not config.get("SECRET_KEY"):
        out.append(_(NO_SECRET_KEY))
    if is_https_deployment(redirect_uri) and not config.get("SESSION_COOKIE_SECURE"):
        out.append(
            _(
                "The app is served over https:// but SESSION_COOKIE_SECURE is not"
                " True: browsers also send the session cookie, which holds the"
                " login, over plain http://. Set SESSION_COOKIE_SECURE = True."
            )
        )
    if settings.sandbox:
        out.extend(sandbox_warnings(settings, _))
    if settings.insecure_transport:
        out.append(
            _(
                "ROCKETPUNCH_INSECURE_TRANSPORT is on: plain http:// provider URLs"
                " are allowed. Use it only on a trusted network."
            )
        )
    return out


#: Words in a client id that say it is made up for development or tests.
_PLACEHOLDER_WORDS = ("sandbox", "test", "example", "dev", "demo", "fake", "dummy")


def looks_real(client_id: str) -> bool:
    """Whether ``client_id`` looks like a registered application's id rather
    than one made up for the sandbox or tests (such as ``"sandbox-client"``)."""
    lowered = client_id.lower()
    return lowered.startswith("rp_app_") or not any(
        word in lowered for word in _PLACEHOLDER_WORDS
    )


def is_https_deployment(redirect_uri: str) -> bool:
    """Whether the app is served over ``https://``: by its redirect URI
    (configured, or computed with ``PREFERRED_URL_SCHEME``), its
    ``PREFERRED_URL_SCHEME``, or a ``PUBLIC_URL`` (or
    ``ROCKETPUNCH_PUBLIC_URL``) config key."""
    config = current_app.config
    public_urls = (config.get("PUBLIC_URL"), config.get("ROCKETPUNCH_PUBLIC_URL"))
    return (
        urlsplit(redirect_uri).scheme == "https"
        or config.get("PREFERRED_URL_SCHEME") == "https"
        or any(urlsplit(str(url)).scheme == "https" for url in public_urls if url)
    )


def sandbox_warnings(
    settings: Settings, translate: cabc.Callable[..., str] = english
) -> list[str]:
    """The warnings about a sandbox that is on: always one, and more when the
    configuration looks like a production one.

    :param translate: gettext for the output's language; English by default.
    """
    _ = translate
    app = current_app
    out = [
        _(
            "ROCKETPUNCH_SANDBOX is on: logins use the built-in stand-in"
            " provider. Turn it off in production."
        )
    ]
    if looks_real(settings.client_id):
        out.append(
            _(
                "ROCKETPUNCH_SANDBOX is on with ROCKETPUNCH_CLIENT_ID"
                " %(client_id)s, which looks like a registered application's:"
                " this looks like a production configuration, where anyone can"
                " log in as any sample user. Turn the sandbox off, or remove the"
                " client id and secret from this configuration.",
                client_id=repr(neutral(settings.client_id)),
            )
        )
    if not (app.debug or app.testing):
        out.append(
            _(
                "ROCKETPUNCH_SANDBOX is on while neither debug nor testing is:"
                " this looks like a production run. Use the sandbox only with"
                " FLASK_DEBUG=1 or TESTING = True."
            )
        )
    return out


@cli.command("check")
def check() -> None:
    """Print the effective configuration, the redirect URI to register in the
    Rocketpunch console, and warnings."""
    try:
        settings = load_settings(current_app.config)
    except ConfigurationError as exc:
        raise click.ClickException(exc.message) from None
    _ = cli_translator(settings).gettext
    uri, guessed = computed_redirect_uri(settings)
    rows = settings.rows()
    click.echo(_("Effective configuration:"))
    for key, value in rows:
        # Explanations such as "(not set)" are in the catalog; values are not.
        click.echo(f"  ROCKETPUNCH_{key:<19} {_(value) if value else value}")
    click.echo("")
    click.echo(_("Redirect URI to register in the Rocketpunch console:"))
    click.echo(f"  {uri}")
    if guessed:
        click.echo(
            "  "
            + _(
                "(computed for http://127.0.0.1:5000; it follows the host the app"
                " is served on. Set ROCKETPUNCH_REDIRECT_URI or SERVER_NAME to fix"
                " it.)"
            )
        )
    found = warnings_for(settings, uri, _)
    click.echo("")
    if found:
        click.echo(_("Warnings:"))
        for text in found:
            click.echo(f"  - {text}")
    else:
        click.echo(_("No warnings."))


@cli.command("purge")
def purge() -> None:
    """Delete the stored tokens of logins that have expired (run it daily
    from cron with a server-side storage)."""
    state = current_state()
    _ = cli_translator(state.settings).gettext
    storage = state.storage
    name = type(storage).__name__
    if type(storage).purge is TokenStorage.purge:
        click.echo(
            _(
                "%(storage)s expires tokens on its own: nothing needs purging.",
                storage=name,
            )
        )
        return
    try:
        count = storage.purge()
    except StorageError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        _(
            "Purged %(count)s expired login(s) from %(storage)s.",
            count=count,
            storage=name,
        )
    )
