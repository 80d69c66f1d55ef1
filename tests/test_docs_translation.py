"""The Korean docs are complete for the pages translated in full: every text
Sphinx extracts from them (``sphinx-build -b gettext``, as ``make
docs-messages`` does) has a Korean translation in
``docs/locales/ko/LC_MESSAGES/<page>.po`` that is not empty, not fuzzy, and
keeps the English's code and cross-references. So an English sentence added
to one of these pages without its Korean fails the suite."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
KO = DOCS / "locales" / "ko" / "LC_MESSAGES"

#: The pages translated in full (docs/contributing.rst lists them too).
FULLY_TRANSLATED = [
    "index",
    "quickstart",
    "configuration",
    "errors",
    "i18n",
    "sandbox",
    "testing",
]

#: Inline code and cross-references, which the Korean must keep (a reference
#: may get a Korean title: ``:doc:`샌드박스 <sandbox>```).
MARKUP = re.compile(r"``.+?``|(:[a-z]+(?::[a-z]+)?:)`(?:[^`<]*<([^`>]+)>|([^`]+))`")


def markup(text: str) -> list[str]:
    """The code and reference targets of ``text``, such as ``:doc:sandbox``."""
    return [m[1] + (m[2] or m[3]) if m[1] else m[0] for m in MARKUP.finditer(text)]


def extract(docs: Path, out: Path) -> Path:
    """Run Sphinx's gettext builder on ``docs``: one .pot file per page."""
    subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "gettext", str(docs), str(out)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .pot files of the docs as they are now."""
    return extract(DOCS, tmp_path_factory.mktemp("gettext"))


def read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def without_korean(templates: Path, page: str) -> list[str]:
    """The texts of ``page`` that its Korean catalog lacks, has empty or fuzzy."""
    korean = read(KO / f"{page}.po")
    texts = [m.id for m in read(templates / f"{page}.pot") if isinstance(m.id, str)]
    return [
        text
        for text in texts
        if text
        and (text not in korean or not korean[text].string or korean[text].fuzzy)
    ]


@pytest.mark.parametrize("page", FULLY_TRANSLATED)
def test_every_text_of_the_page_has_korean(templates: Path, page: str) -> None:
    assert read(templates / f"{page}.pot"), f"no text extracted from docs/{page}.rst"
    missing = without_korean(templates, page)
    assert not missing, (
        f"docs/{page}.rst has texts with no Korean (missing, empty or fuzzy) in "
        f"docs/locales/ko/LC_MESSAGES/{page}.po: run `make docs-messages` and "
        f"translate them: {missing}"
    )


@pytest.mark.parametrize("page", FULLY_TRANSLATED)
def test_the_korean_keeps_code_and_references(page: str) -> None:
    broken = []
    for message in read(KO / f"{page}.po"):
        if not message.id or not message.string:
            continue
        assert isinstance(message.id, str)
        assert isinstance(message.string, str)
        kept = markup(message.string)
        lost = [m for m in markup(message.id) if m not in kept]
        if lost:
            broken.append((message.id[:60], lost))
    assert not broken, f"ko/{page}.po lost code or references: {broken}"


def test_a_new_english_sentence_is_caught(tmp_path: Path) -> None:
    """A paragraph added to a translated page, with no Korean, is reported."""
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs, ignore=shutil.ignore_patterns("_build", "locales"))
    page = docs / "quickstart.rst"
    sentence = "A new sentence that nobody has translated yet."
    page.write_text(page.read_text(encoding="utf-8") + f"\n{sentence}\n", "utf-8")
    assert without_korean(extract(docs, tmp_path / "gettext"), "quickstart") == [
        sentence
    ]
