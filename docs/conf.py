"""Sphinx configuration for flask-rocketpunch."""

import sys
from importlib.metadata import version as _version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "flask-rocketpunch"
author = "the flask-rocketpunch contributors"
copyright = f"2026, {author}"
release = _version("flask-rocketpunch")
version = ".".join(release.split(".")[:2])

extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode", "sequence"]
graphviz_output_format = "svg"
exclude_patterns = ["_build"]

html_theme = "furo"
nitpicky = False

autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_member_order = "bysource"

# Translations (Sphinx's i18n workflow): `make docs-messages` extracts the
# texts into docs/_build/gettext and updates docs/locales/<lang>/LC_MESSAGES/
# <page>.po; Sphinx compiles the .po files when it builds with -D language=ko.
locale_dirs = ["locales/"]
gettext_compact = False
