"""``flask rocketpunch check``: the effective configuration and its pitfalls."""

from __future__ import annotations

import click
from flask import current_app, url_for
from flask.cli import AppGroup

from .exceptions import ConfigurationError
from .settings import Settings, is_loopback_host, load_settings

cli = AppGroup("rocketpunch", help="Commands of flask-rocketpunch.")


def mask(value: object) -> str:
    """Show that a secret is set without showing it."""
    if not value:
        return "(not set)"
    return f"******** ({len(str(value))} characters)"


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


def warnings_for(settings: Settings, redirect_uri: str) -> list[str]:
    """What in the configuration will likely break a login."""
    from urllib.parse import urlsplit

    config = current_app.config
    out = []
    parts = urlsplit(redirect_uri)
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        out.append(
            f"The redirect URI {redirect_uri} uses plain http:// on a public host."
            " Behind a proxy that terminates TLS, wrap the app with"
            " werkzeug.middleware.proxy_fix.ProxyFix, or set"
            " ROCKETPUNCH_REDIRECT_URI to the https:// URL."
        )
    samesite = str(config.get("SESSION_COOKIE_SAMESITE") or "").lower()
    if not samesite:
        out.append(
            'SESSION_COOKIE_SAMESITE is not set. Set it to "Lax": the login works'
            " and the session cookie is not sent on cross-site POSTs (such as a"
            " forged logout form)."
        )
    if samesite == "strict":
        out.append(
            'SESSION_COOKIE_SAMESITE is "Strict": browsers do not send the session'
            " cookie on the redirect back from Rocketpunch, so every login fails."
            ' Use "Lax".'
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
            f"The provider runs on the same host as this app ({redirect_host})."
            " Browsers share cookies between ports, so if it is a Flask app too,"
            " its 'session' cookie replaces this app's and every login fails."
            " Set SESSION_COOKIE_NAME to a name of this app's own."
        )
    if not config.get("SECRET_KEY"):
        out.append(
            "SECRET_KEY is not set: logins cannot be remembered and tokens cannot"
            " be encrypted. Set it to a long random value."
        )
    if settings.sandbox:
        out.append(
            "ROCKETPUNCH_SANDBOX is on: logins use the built-in stand-in provider."
            " Turn it off in production."
        )
    if settings.insecure_transport:
        out.append(
            "ROCKETPUNCH_INSECURE_TRANSPORT is on: plain http:// provider URLs are"
            " allowed. Use it only on a trusted network."
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
    uri, guessed = computed_redirect_uri(settings)
    rows = [
        ("CLIENT_ID", settings.client_id),
        ("CLIENT_SECRET", mask(settings.client_secret)),
        ("SCOPES", " ".join(sorted(settings.scopes))),
        ("REDIRECT_URI", settings.redirect_uri or "(computed from the request)"),
        ("URL_PREFIX", settings.url_prefix),
        ("AUTHORIZE_URL", settings.authorize_url or "(sandbox consent page)"),
        ("TOKEN_URL", settings.token_url),
        ("REVOKE_URL", settings.revoke_url or "(no revocation)"),
        ("USERINFO_URL", settings.userinfo_url),
        ("API_BASE_URL", settings.api_base_url),
        ("CLIENT_AUTH", settings.client_auth),
        ("LOGIN_REDIRECT", settings.login_redirect),
        ("REFRESH_LEEWAY", f"{settings.refresh_leeway:g}"),
        ("USE_PKCE", str(settings.use_pkce)),
        ("TIMEOUT", str(settings.timeout)),
        ("SANDBOX", str(settings.sandbox)),
        ("SANDBOX_FLAVOR", settings.sandbox_flavor),
        ("INSECURE_TRANSPORT", str(settings.insecure_transport)),
        ("LOGIN_TTL", f"{settings.login_ttl:g}"),
        ("MAX_PENDING_LOGINS", str(settings.max_pending_logins)),
    ]
    click.echo("Effective configuration:")
    for key, value in rows:
        click.echo(f"  ROCKETPUNCH_{key:<19} {value}")
    click.echo("")
    click.echo("Redirect URI to register in the Rocketpunch console:")
    click.echo(f"  {uri}")
    if guessed:
        click.echo(
            "  (computed for http://127.0.0.1:5000; it follows the host the app is"
            " served on. Set ROCKETPUNCH_REDIRECT_URI or SERVER_NAME to fix it.)"
        )
    found = warnings_for(settings, uri)
    click.echo("")
    if found:
        click.echo("Warnings:")
        for text in found:
            click.echo(f"  - {text}")
    else:
        click.echo("No warnings.")
