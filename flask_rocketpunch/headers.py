"""The headers the extension adds to its calls to Rocketpunch: the App Key
(``X-RP-API-Key``), only on the API host's operations, and the language
(``Accept-Language``).

Everything here takes plain arguments, except :func:`request_language`, the
one Flask edge, which reads the current request's ``Accept-Language``.
"""

from __future__ import annotations

import collections.abc as cabc
import functools
from urllib.parse import urlsplit

from flask import has_request_context, request
from requests.structures import CaseInsensitiveDict
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from .languages import LANGUAGES, normalize_language
from .settings import Settings

#: The header that carries the App Key.
APP_KEY_HEADER = "X-RP-API-Key"

#: Longer ``Accept-Language`` headers are negotiated on every request instead
#: of being remembered, so the cache stays small whatever browsers send.
_CACHED_HEADER_LENGTH = 200


def is_api_url(settings: Settings, url: str) -> bool:
    """Whether ``url`` is one of the API host's operations, which get the
    App Key: a URL under ``API_BASE_URL``, or ``USERINFO_URL`` when it is on
    the same origin (scheme, host and port) as ``API_BASE_URL``, as in
    production. The token and revocation endpoints never get it: they
    authenticate the app with its client id and secret.

    :param settings: the app's settings.
    :param url: the absolute URL about to be called.
    """
    target = urlsplit(url)
    base = urlsplit(settings.api_base_url)
    if (target.scheme, target.netloc.lower()) != (base.scheme, base.netloc.lower()):
        return False
    if url == settings.userinfo_url:
        return True
    return target.path.startswith(base.path)


def provider_headers(
    settings: Settings,
    url: str,
    language: str | None,
    given: cabc.Mapping[str, str | None] | None = None,
) -> CaseInsensitiveDict[str | None]:
    """The headers of one call to ``url``: the App Key when ``url`` is on the
    API (see :func:`is_api_url`), ``Accept-Language`` when a language is
    known, then the caller's own headers, which win.

    :param settings: the app's settings.
    :param url: the absolute URL about to be called.
    :param language: the ``Accept-Language`` value, or ``None`` to send none
        (Rocketpunch then answers in Korean).
    :param given: the caller's headers (a ``None`` value drops the header,
        as in requests).
    :raises ValueError: ``given`` has an ``Authorization`` header: the
        extension sets it (the user's bearer token, or none for the public
        client), and another token must not replace it unnoticed.
    """
    headers: CaseInsensitiveDict[str | None] = CaseInsensitiveDict()
    if is_api_url(settings, url):
        headers[APP_KEY_HEADER] = settings.app_key
    if language:
        headers["Accept-Language"] = language
    if given:
        if any(name.lower() == "authorization" for name in given):
            raise ValueError(
                "An 'Authorization' header cannot be passed to the Rocketpunch"
                " client: it sends the current user's bearer token itself (and"
                " the public client sends none). To call the API with another"
                " token, use requests directly."
            )
        headers.update(given)
    return headers


def best_language(accept: LanguageAccept) -> str | None:
    """The best of :data:`LANGUAGES` for an ``Accept-Language`` header, or
    ``None`` when the header names none of them (or is absent)."""
    values = [(_chinese(value), quality) for value, quality in accept]
    return LanguageAccept(values).best_match(LANGUAGES)


def _chinese(value: str) -> str:
    """A Chinese tag as ``zh-CN`` or ``zh-TW`` where one fits."""
    if value.lower().startswith("zh-"):
        return normalize_language(value) or value
    return value


def request_language(settings: Settings) -> str | None:
    """The ``Accept-Language`` to send to Rocketpunch now:
    ``ROCKETPUNCH_LANGUAGE`` when set; else, in a request, the best match of
    the request's own ``Accept-Language`` among :data:`LANGUAGES`; else
    ``None`` (none is sent, and Rocketpunch answers in Korean).

    :param settings: the app's settings.
    """
    if settings.language is not None:
        return settings.language
    if not has_request_context():
        return None
    header = request.headers.get("Accept-Language", "")
    if len(header) > _CACHED_HEADER_LENGTH:
        return best_language(parse_accept_header(header, LanguageAccept))
    return _negotiated(header)


@functools.lru_cache(maxsize=256)
def _negotiated(header: str) -> str | None:
    """:func:`best_language` of a raw ``Accept-Language`` header: the few
    headers an app sees are negotiated once, not on every request."""
    return best_language(parse_accept_header(header, LanguageAccept))


def language_headers(language: str | None) -> dict[str, str]:
    """``{"Accept-Language": language}``, or no header for ``None``."""
    return {"Accept-Language": language} if language else {}
