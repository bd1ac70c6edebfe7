# PST helpdesk: one Makefile for the central plugin, the branch agent and the sync protocol.
# `make demo` runs the whole system; `make test` runs the whole suite. Both build .venv first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
MANAGE := $(PY) example_project/manage.py
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
CHROMIUM ?= /usr/bin/chromium
SEEDS ?= 10000
RUNS ?= 50
PYTEST_CENTRAL := $(PY) -m pytest tests --ds=tests.central_settings --ignore=tests/agent

.PHONY: install demo test test-central test-agent test-postgres lint format migrations-check \
        browser bench soak chaos clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[agent,postgres,test]"
	touch $@

# Browser tests drive Debian's chromium (never a downloaded browser).
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || { echo "Could not install chromium"; exit 1; }; \
	  else \
	    echo "The browser tests need Chromium at $(CHROMIUM): sudo apt-get install chromium"; exit 1; \
	  fi; }

test: install browser
	$(PYTEST_CENTRAL)

test-postgres: install
	PST_TEST_DATABASE_URL=$(PG_URL) $(PYTEST_CENTRAL) -m "not browser"

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

migrations-check: install
	$(MANAGE) makemigrations --check --dry-run

demo: install
	$(PY) example_project/run_demo.py

clean:
	rm -rf $(VENV) build dist *.egg-info .tox var

bench: install
	$(PY) -m bench.run
