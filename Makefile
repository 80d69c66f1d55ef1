# Developer tasks for flask-rocketpunch. Everything runs from a local
# virtualenv (.venv), created on first use; nothing needs activating.
#
#   make demo            run the example app (built-in sandbox) on PORT (5000)
#   make test            lint, type-check, tests with coverage, docs
#   make services        start private Redis and PostgreSQL for the storage tests
#   make services-stop   stop them
#   make messages        extract the texts to translate and update the .po files
#   make translations    compile the .po files to .mo (make compile does too)
#   make docs-messages   extract the docs' texts and update docs/locales/ko/*.po
#   make lint | typecheck | docs | bench | clean | distclean

PYTHON ?= python3
PORT ?= 5000
HOST ?= 127.0.0.1

VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install; redone when the package metadata changes.
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
.PHONY: FORCE help venv demo test lint typecheck pytest docs bench clean distclean \
	services services-stop messages translations compile docs-messages

help:
	@echo "make demo       run the example app against the built-in sandbox on http://$(HOST):$(PORT)"
	@echo "                (make demo PORT=8000 to change the port)"
	@echo "make test       lint, type-check, run the tests with coverage, build the docs"
	@echo "                (tests that need Redis or PostgreSQL skip unless they run:"
	@echo "                see make services)"
	@echo "make services   start private Redis and PostgreSQL on 127.0.0.1 for the storage"
	@echo "                tests (installs them with apt-get if missing); prints REDIS_URL"
	@echo "                and DATABASE_URL to export"
	@echo "make services-stop  stop them"
	@echo "make lint       ruff check + ruff format --check"
	@echo "make typecheck  mypy (strict, settings in pyproject.toml)"
	@echo "make docs       build the HTML docs: English into docs/_build/html, Korean"
	@echo "                into docs/_build/html-ko"
	@echo "make docs-messages  extract the docs' texts and update the Korean .po files"
	@echo "                (docs/locales/ko/LC_MESSAGES); then translate the new entries"
	@echo "make messages   extract the texts to translate (Python and templates) and"
	@echo "                update the ko and en .po files; then translate the new"
	@echo "                entries of the ko files"
	@echo "make translations  compile the .po files to the .mo files read at runtime"
	@echo "                (also done when the package is built or installed)"
	@echo "make bench      run the benchmarks"
	@echo "make clean      remove caches and build output (keeps .venv)"
	@echo "make distclean  clean, and remove .venv too"

# The virtualenv, with the package installed editable and the dev tools.
# Reinstalled when setup.cfg or pyproject.toml change; made again when its
# Python no longer runs, or when it was moved or copied from elsewhere (its
# scripts then point at the old place).
VENV_OK = $(BIN)/python -c "" >/dev/null 2>&1 \
	&& grep -qsF "$(abspath $(BIN))/python" $(BIN)/pip
ifneq ($(shell $(VENV_OK) && echo yes),yes)
$(STAMP): FORCE
endif
FORCE:

$(STAMP): setup.cfg pyproject.toml
	@if ! { $(VENV_OK); }; then \
	  echo "Creating the virtualenv $(VENV) with $(PYTHON)"; \
	  rm -rf $(VENV); \
	  $(PYTHON) -m venv $(VENV) || { \
	    rm -rf $(VENV); \
	    echo "Could not create a virtualenv with '$(PYTHON) -m venv'. On Debian or" \
	         "Ubuntu, install the python3-venv package first." >&2; \
	    exit 1; }; \
	fi
	@echo "Installing flask-rocketpunch (editable) with its dev tools into $(VENV)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

venv: $(STAMP)

demo: $(STAMP) translations
	$(BIN)/flask --app example_app run --debug --host $(HOST) --port $(PORT)

test: $(STAMP) translations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@# coverage starts before pytest loads its plugins (ours among them), so
	@# module-level lines of flask_rocketpunch count; settings in pyproject.toml.
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage report --fail-under=95
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html
	$(BIN)/sphinx-build -W --keep-going -b html -D language=ko docs docs/_build/html-ko

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) translations
	$(BIN)/pytest

# Translations (gettext, with Babel's pybabel). Each catalog: its template
# (.pot) and one .po per language under <dir>/<lang>/LC_MESSAGES/<domain>.po.
# The library's domain is flask_rocketpunch; the example app's is Flask-Babel's
# default, messages. English is the language of the code: `make messages`
# fills new English entries with their msgid, so only Korean needs a person.
LANGUAGES := ko en
CATALOGS := flask_rocketpunch/translations:flask_rocketpunch:flask_rocketpunch \
	example_app/translations:messages:example_app
PYBABEL_EXTRACT := $(BIN)/pybabel extract -F babel.cfg --sort-by-file \
	--add-location=file --project=flask-rocketpunch \
	--copyright-holder="flask-rocketpunch contributors"

messages: $(STAMP)
	@set -e; for spec in $(CATALOGS); do \
	  dir=$${spec%%:*}; rest=$${spec#*:}; domain=$${rest%%:*}; src=$${rest#*:}; \
	  $(PYBABEL_EXTRACT) -o $$dir/$$domain.pot $$src; \
	  for lang in $(LANGUAGES); do \
	    po=$$dir/$$lang/LC_MESSAGES/$$domain.po; \
	    if [ -f $$po ]; then \
	      $(BIN)/pybabel update -i $$dir/$$domain.pot -d $$dir -D $$domain -l $$lang \
	        --no-fuzzy-matching --ignore-obsolete; \
	    else \
	      $(BIN)/pybabel init -i $$dir/$$domain.pot -d $$dir -D $$domain -l $$lang; \
	    fi; \
	  done; \
	  $(BIN)/python -c 'import sys; from babel.messages.pofile import read_po, write_po; \
	    f = sys.argv[1]; c = read_po(open(f, "rb"), locale="en"); \
	    [setattr(m, "string", m.id) for m in c if m.id and not m.string]; \
	    write_po(open(f, "wb"), c, sort_by_file=True, include_lineno=False)' \
	    $$dir/en/LC_MESSAGES/$$domain.po; \
	done
	@echo "Now translate the new (empty) entries of the ko .po files, then: make translations"

translations compile: $(STAMP)
	$(BIN)/pybabel compile -d flask_rocketpunch/translations -D flask_rocketpunch --statistics
	$(BIN)/pybabel compile -d example_app/translations -D messages --statistics

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html
	$(BIN)/sphinx-build -W --keep-going -b html -D language=ko docs docs/_build/html-ko
	@echo "Open docs/_build/html/index.html (Korean: docs/_build/html-ko/index.html)"

# The docs' translations (Sphinx i18n with sphinx-intl): the texts of every
# page go to docs/_build/gettext/<page>.pot, then into the .po files under
# docs/locales/<lang>/LC_MESSAGES/ (new entries empty, changed ones fuzzy).
# Sphinx compiles the .po files itself when it builds a language.
DOCS_LANGUAGES := ko

docs-messages: $(STAMP)
	$(BIN)/sphinx-build -q -b gettext docs docs/_build/gettext
	$(BIN)/sphinx-intl update -p docs/_build/gettext -d docs/locales \
	  $(foreach lang,$(DOCS_LANGUAGES),-l $(lang))
	@echo "Now translate the new (empty) and fuzzy entries of docs/locales/ko/LC_MESSAGES/*.po"

# The servers run until `make services-stop`; their URLs are also in the
# env file .ci/services prints (for `set -a; . FILE; set +a`).
services:
	.ci/services start

services-stop:
	.ci/services stop

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/herd.py

clean:
	rm -rf docs/_build build dist htmlcov test-artifacts .coverage .coverage.* \
	  flask_rocketpunch/translations/*/LC_MESSAGES/*.mo \
	  example_app/translations/*/LC_MESSAGES/*.mo \
	  .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
