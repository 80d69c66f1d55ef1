"""Which language a page is shown in, with no Flask globals.

The rule, in order: the locale the app chose with Flask-Babel, when it is one
flask-rocketpunch speaks; else the best match of the request's
``Accept-Language`` among those; else the default (``ROCKETPUNCH_DEFAULT_LOCALE``
for the app's pages, Korean for the sandbox, as Rocketpunch itself).
"""

from __future__ import annotations

import collections.abc as cabc

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

#: The languages flask-rocketpunch has catalogs for.
SUPPORTED: tuple[str, ...] = ("ko", "en")

#: The language of a page when nothing else decides it.
DEFAULT_LOCALE = "en"

#: The sandbox's default: Rocketpunch answers in Korean unless asked otherwise.
SANDBOX_DEFAULT_LOCALE = "ko"


def supported(tag: object, languages: cabc.Sequence[str] = SUPPORTED) -> str | None:
    """The language of ``languages`` that the locale ``tag`` names, or
    ``None``. ``"ko"``, ``"ko_KR"``, ``"ko-KR"`` and ``"KO"`` all name ``"ko"``.

    :param tag: a locale as text (or a Babel ``Locale``), or ``None``.
    :param languages: the languages to choose from.
    """
    if tag is None:
        return None
    text = str(tag).strip().replace("_", "-").lower()
    if not text:
        return None
    for language in languages:
        if text == language or text.partition("-")[0] == language:
            return language
    return None


def best_accepted(
    header: str | None, languages: cabc.Sequence[str] = SUPPORTED
) -> str | None:
    """The language of ``languages`` the ``Accept-Language`` header ranks
    highest (``q`` values honoured, ``ko-KR`` matching ``ko``), or ``None``
    when it names none of them (a wildcard ``*`` names none).

    :param header: the header's value, or ``None`` when it was not sent.
    :param languages: the languages to choose from, best first on a tie.
    """
    if not header:
        return None
    # A wildcard says "anything will do", not which language: the default
    # decides then.
    named = [(v, q) for v, q in parse_accept_header(header, LanguageAccept) if v != "*"]
    return LanguageAccept(named).best_match(list(languages))


def choose_locale(
    accept_language: str | None,
    *,
    preferred: object = None,
    default: str = DEFAULT_LOCALE,
    languages: cabc.Sequence[str] = SUPPORTED,
) -> str:
    """The language to show a page in.

    :param accept_language: the request's ``Accept-Language`` header.
    :param preferred: the locale the app chose (Flask-Babel's
        ``get_locale()``), or ``None`` when it does not choose. When given,
        it wins over the header; a locale with no catalog here falls back to
        ``default``, not to the header, so the page follows the app's own
        choice as closely as it can.
    :param default: the language when nothing else decides; a language with
        no catalog counts as English.
    :param languages: the languages to choose from.
    """
    fallback = supported(default, languages) or DEFAULT_LOCALE
    if preferred is not None:
        return supported(preferred, languages) or fallback
    return best_accepted(accept_language, languages) or fallback


def environment_locale(environ: cabc.Mapping[str, str]) -> str | None:
    """The language of a command's output from the POSIX locale variables:
    the first set of ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` (``ko_KR.UTF-8``
    names ``"ko"``), or ``None`` when none is set or it is ``C``/``POSIX``.

    :param environ: the environment, such as :data:`os.environ`.
    """
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            tag = value.partition(".")[0].partition("@")[0]
            if tag in ("C", "POSIX"):
                return None
            return supported(tag)
    return None
