"""The sandbox's responses: JSON, HTML pages, redirects and errors in the
provider's shapes. Serialised here, not with the host app's JSON provider or
error handlers: the sandbox must not depend on the app it is mounted in."""

from __future__ import annotations

import json
from collections.abc import Mapping

from flask import render_template
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from ..i18n import request_translator
from ..locales import SANDBOX_DEFAULT_LOCALE
from .errors import APIError, TokenError
from .provider import SandboxProvider
from .ratelimit import RateLimitExceeded

#: Token and revocation responses must not be cached (RFC 6749 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_HTML_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}
_BASIC_CHALLENGE = 'Basic realm="rocketpunch"'


def json_response(
    body: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``body`` as JSON, non-ASCII kept as it is.

    :param body: Anything :func:`json.dumps` takes.
    :param status: The HTTP status.
    :param headers: Extra headers.
    """
    response = Response(
        json.dumps(body, ensure_ascii=False), status, mimetype="application/json"
    )
    response.headers.update(headers or {})
    return response


def html_response(template: str, status: int = 200, **context: object) -> Response:
    """A sandbox page that cannot be framed, cached or leak a referrer, in
    the reader's language: the host app's Flask-Babel locale, else the best
    ``Accept-Language`` match, else Korean, as Rocketpunch.

    :param template: A template name under ``rocketpunch_sandbox/``.
    :param status: The HTTP status.
    :param context: The template's variables; ``_``, ``gettext``,
        ``ngettext`` and ``lang`` are added.
    """
    translator = request_translator(SANDBOX_DEFAULT_LOCALE)
    body = render_template(
        f"rocketpunch_sandbox/{template}", **{**translator.context(), **context}
    )
    response = Response(body, status, mimetype="text/html")
    response.headers.update(_HTML_HEADERS)
    response.headers["Content-Language"] = translator.locale
    return response


def error_page(
    title: str,
    message: str,
    hint: str | None = None,
    *,
    values: Mapping[str, str] | None = None,
) -> Response:
    """A 400 page for an error that must not be sent back to the client.

    :param title: The page title, in English (translated on the page).
    :param message: What went wrong, in English, with ``%(name)s``
        placeholders for ``values``.
    :param hint: What to check, if anything, in English.
    :param values: The placeholders' values (not translated).
    """
    return html_response(
        "error.html",
        400,
        title=title,
        message=message,
        hint=hint,
        values=dict(values or {}),
    )


def redirect_response(location: str) -> Response:
    """A 302 to ``location`` with the headers of the sandbox's pages.

    :param location: Where to send the browser.
    """
    response = redirect(location, 302)
    response.headers.update(_HTML_HEADERS)
    return response


def oauth_error_response(
    error: str,
    description: str,
    status: int = 400,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A token or revocation endpoint error (RFC 6749 5.2), with a Basic
    challenge on a 401.

    :param error: The error code, e.g. ``"invalid_grant"``.
    :param description: The ``error_description``.
    :param status: The HTTP status.
    :param headers: Extra headers.
    """
    merged = {**NO_STORE, **(headers or {})}
    if status == 401:
        merged["WWW-Authenticate"] = _BASIC_CHALLENGE
    body = {"error": error, "error_description": description}
    return json_response(body, status, merged)


def token_error_response(error: TokenError) -> Response:
    """The response of a :class:`TokenError`.

    :param error: The error.
    """
    return oauth_error_response(error.error, error.description, error.status)


def api_error_response(provider: SandboxProvider, error: APIError) -> Response:
    """An API error in the provider's flavor, with its challenge, and on a
    429 ``Retry-After`` and the flavor's rate limit headers.

    :param provider: The provider answering.
    :param error: The error.
    """
    headers: dict[str, str] = {}
    if error.www_authenticate is not None:
        headers["WWW-Authenticate"] = error.www_authenticate
    if error.status == 429 and not isinstance(error, RateLimitExceeded):
        # A fault switch: the rate_limit_retry_after seconds, or the minute.
        error = provider.rate_limited(provider.faults.rate_limit_retry_after)
    if isinstance(error, RateLimitExceeded):
        headers["Retry-After"] = str(error.retry_after)
        headers.update(provider.rate_limit_headers(error.rate_status))
    return json_response(provider.error_body(error), error.status, headers)
