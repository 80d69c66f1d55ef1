"""Translations: the compiled gettext catalogs shipped in the package, read
with the standard library, and the language of the current request.

The catalogs live in ``flask_rocketpunch/translations/<lang>/LC_MESSAGES/``
(domain ``flask_rocketpunch``); the ``.po`` sources are in the repository and
the ``.mo`` files are compiled when the package is built (``make
translations`` in a checkout). Babel is only a development tool here.
"""

from __future__ import annotations

import functools
import gettext
import logging
import os
import typing as t

from markupsafe import Markup, escape

from .locales import DEFAULT_LOCALE, choose_locale

logger = logging.getLogger("flask_rocketpunch")

#: The gettext domain of flask-rocketpunch's own texts.
DOMAIN = "flask_rocketpunch"

#: Where the catalogs are: ``<lang>/LC_MESSAGES/flask_rocketpunch.mo``.
TRANSLATIONS_DIR = os.path.join(os.path.dirname(__file__), "translations")


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now; the
    tables of :mod:`flask_rocketpunch.messages` hold such strings and are
    translated when a page is rendered."""
    return message


def english(message: str, **values: t.Any) -> str:
    """``message`` as written (in English), formatted with ``values``: the
    default of functions that take a ``translate`` argument."""
    return message % values if values else message


@functools.lru_cache(maxsize=16)
def catalog(locale: str) -> gettext.NullTranslations:
    """The compiled catalog of ``locale``; English (the texts as written in
    the code) when there is none."""
    path = os.path.join(TRANSLATIONS_DIR, locale, "LC_MESSAGES", f"{DOMAIN}.mo")
    try:
        with open(path, "rb") as file:
            return gettext.GNUTranslations(file)
    except FileNotFoundError:
        if locale != DEFAULT_LOCALE:
            logger.warning(
                "No compiled %r catalog at %s: pages are shown in English. In a"
                " checkout, run `make translations`.",
                locale,
                path,
            )
        return gettext.NullTranslations()


class Translator:
    """Texts in one language.

    :param locale: a language flask-rocketpunch has a catalog for (``"ko"``,
        ``"en"``).
    """

    def __init__(self, locale: str) -> None:
        #: The language, as in the pages' ``lang`` attribute.
        self.locale = locale
        self._catalog = catalog(locale)

    def gettext(self, message: str, **values: t.Any) -> str:
        """``message`` translated, then formatted with ``values``
        (``%(name)s`` placeholders)."""
        text = self._catalog.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: t.Any) -> str:
        """The singular or plural form for ``n``, translated and formatted
        with ``values`` and ``num`` (``n``)."""
        text = self._catalog.ngettext(singular, plural, n)
        return text % {"num": n, **values}

    def template_gettext(self, message: str, **values: t.Any) -> Markup:
        """:meth:`gettext` for templates: the translation as markup and the
        values escaped, as Jinja's own i18n extension does. Called as
        ``{{ _("Hello %(name)s", name=user.name) }}``; works with templates
        compiled with ``{% trans %}`` in either gettext style."""
        text = escape(self._catalog.gettext(message))
        return text % values if values else text

    def template_ngettext(
        self, singular: str, plural: str, n: int, **values: t.Any
    ) -> Markup:
        """:meth:`ngettext` for templates."""
        text = escape(self._catalog.ngettext(singular, plural, n))
        return text % {"num": n, **values}

    def context(self) -> dict[str, t.Any]:
        """Template variables: ``_``, ``gettext`` and ``ngettext`` bound to
        this language, and ``lang`` for ``<html lang>``."""
        return {
            "_": self.template_gettext,
            "gettext": self.template_gettext,
            "ngettext": self.template_ngettext,
            "lang": self.locale,
        }


@functools.lru_cache(maxsize=16)
def translator(locale: str) -> Translator:
    """The :class:`Translator` of ``locale`` (one per language)."""
    return Translator(locale)


def app_locale() -> object:
    """The locale the current app chose with Flask-Babel, or ``None`` when
    the app does not use Flask-Babel."""
    from flask import current_app

    if "babel" not in current_app.extensions:
        return None
    try:
        from flask_babel import get_locale
    except ImportError:  # another extension under that name
        return None
    return get_locale()


def request_locale(default: str) -> str:
    """The language of the current request's pages: the app's Flask-Babel
    locale, else the best ``Accept-Language`` match, else ``default``. See
    :func:`flask_rocketpunch.locales.choose_locale`."""
    from flask import request

    return choose_locale(
        request.headers.get("Accept-Language"),
        preferred=app_locale(),
        default=default,
    )


def request_translator(default: str) -> Translator:
    """The :class:`Translator` of :func:`request_locale`."""
    return translator(request_locale(default))
