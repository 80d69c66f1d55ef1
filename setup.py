"""Build hook: compile the gettext catalogs before the package is built.

The metadata is in setup.cfg. The ``.po`` sources are in the repository; the
``.mo`` files the package reads at runtime are compiled here (with Babel, a
build requirement in pyproject.toml) into the source tree, so that a wheel,
an sdist and an editable install all carry them.
"""

from __future__ import annotations

import pathlib

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = pathlib.Path(__file__).resolve().parent
CATALOGS = HERE / "flask_rocketpunch" / "translations"


def compile_catalogs(root: pathlib.Path) -> list[pathlib.Path]:
    """Compile every ``<lang>/LC_MESSAGES/*.po`` under ``root`` to ``.mo``
    (fuzzy entries left out, as msgfmt does); return the files written."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(root.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as target:
            write_mo(target, catalog, use_fuzzy=False)
        written.append(mo)
    return written


class BuildPyWithCatalogs(build_py):
    """``build_py`` that compiles the catalogs first."""

    def run(self) -> None:
        for mo in compile_catalogs(CATALOGS):
            print(f"compiled {mo.relative_to(HERE)}")
        super().run()


setup(cmdclass={"build_py": BuildPyWithCatalogs})
