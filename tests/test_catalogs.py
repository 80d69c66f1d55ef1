"""The translations are complete: every text extracted from the code (as
``make messages`` does, with Babel and babel.cfg) has a Korean and an English
translation that is not empty, not fuzzy, with the same placeholders; and the
compiled catalogs the package reads say the same as the .po files."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from flask_rocketpunch.i18n import TRANSLATIONS_DIR, Translator
from flask_rocketpunch.locales import SUPPORTED

ROOT = Path(__file__).resolve().parent.parent

#: Each catalog: the folder it is extracted from, its translations, its domain.
CATALOGS = [
    pytest.param(
        "flask_rocketpunch",
        Path(TRANSLATIONS_DIR),
        "flask_rocketpunch",
        id="flask_rocketpunch",
    ),
    pytest.param(
        "example_app", ROOT / "example_app" / "translations", "messages", id="example"
    ),
]

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def extracted(source: str) -> set[str]:
    """The msgids Babel extracts from ``source`` with the project's babel.cfg."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    found: set[str] = set()
    for _, _, message, _, _ in extract_from_dir(ROOT / source, method_map, options_map):
        found.add(message if isinstance(message, str) else message[0])
    assert found, f"nothing extracted from {source}"
    return found


def catalog(translations: Path, domain: str, locale: str) -> Catalog:
    path = translations / locale / "LC_MESSAGES" / f"{domain}.po"
    assert path.exists(), f"{path} is missing: run make messages"
    with path.open("rb") as po:
        return read_po(po, locale=locale)


@pytest.mark.parametrize(("source", "translations", "domain"), CATALOGS)
@pytest.mark.parametrize("locale", SUPPORTED)
def test_every_text_in_the_code_is_translated(
    source: str, translations: Path, domain: str, locale: str
) -> None:
    po = catalog(translations, domain, locale)
    problems = []
    for msgid in sorted(extracted(source)):
        message = po.get(msgid)
        if message is None:
            problems.append(f"not in the catalog (run make messages): {msgid!r}")
        elif not message.string:
            problems.append(f"not translated: {msgid!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy (check it, then drop the flag): {msgid!r}")
        elif sorted(PLACEHOLDER.findall(msgid)) != sorted(
            PLACEHOLDER.findall(str(message.string))
        ):
            problems.append(f"placeholders differ: {msgid!r} -> {message.string!r}")
    assert not problems, f"{locale} catalog of {source}:\n" + "\n".join(problems)


@pytest.mark.parametrize(("source", "translations", "domain"), CATALOGS)
@pytest.mark.parametrize("locale", SUPPORTED)
def test_the_compiled_catalog_is_up_to_date(
    source: str, translations: Path, domain: str, locale: str
) -> None:
    mo = translations / locale / "LC_MESSAGES" / f"{domain}.mo"
    assert mo.exists(), f"{mo} is missing: run make translations"
    with mo.open("rb") as file:
        compiled = gettext.GNUTranslations(file)
    stale = [
        message.id
        for message in catalog(translations, domain, locale)
        if message.id
        and isinstance(message.id, str)
        and compiled.gettext(message.id) != message.string
    ]
    assert not stale, f"{mo} is older than its .po: run make translations ({stale})"


def test_korean_is_korean_and_english_is_the_code() -> None:
    korean, english = Translator("ko"), Translator("en")
    assert korean.gettext("Approve") == "허용"
    assert english.gettext("Approve") == "Approve"
    assert korean.gettext("Authorize %(app)s", app="<앱>") == "<앱> 권한 허용", (
        "values are filled in, not escaped, outside templates"
    )
    assert str(korean.template_gettext("Authorize %(app)s", app="<앱>")) == (
        "&lt;앱&gt; 권한 허용"
    )


def test_plural_forms_follow_each_language() -> None:
    korean, english = Translator("ko"), Translator("en")
    # Texts missing from the catalogs are shown as written in the code.
    assert english.ngettext("%(num)s login", "%(num)s logins", 1) == "1 login"
    assert english.ngettext("%(num)s login", "%(num)s logins", 2) == "2 logins"
    assert korean.ngettext("%(num)s login", "%(num)s logins", 2) == "2 logins"
    rendered = korean.template_ngettext("%(num)s <b>", "%(num)s <b>s", 3)
    assert str(rendered) == "3 &lt;b&gt;s"


def test_a_missing_compiled_catalog_shows_english_and_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from flask_rocketpunch import i18n

    monkeypatch.setattr(i18n, "TRANSLATIONS_DIR", str(tmp_path))
    missing = i18n.catalog.__wrapped__("ko")
    assert missing.gettext("Approve") == "Approve"
    assert "make translations" in caplog.text
    caplog.clear()
    assert i18n.catalog.__wrapped__("en").gettext("Approve") == "Approve"
    assert caplog.text == ""
