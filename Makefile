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
PYTEST_CENTRAL := $(PY) -m pytest tests --ds=tests.central_settings --ignore=tests/agent --ignore=tests/install -n 2
PYTEST_AGENT := $(PY) -m pytest tests/agent --ds=tests.agent_settings

.PHONY: install demo test test-central test-agent test-postgres lint format migrations-check \
        browser tools e2e day bench soak soak-shipped chaos messages messages-helpdesk clean agent-bundle test-install

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[central,agent,postgres,test]"
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

# GNU gettext: the locale tests compare the shipped catalogues with a fresh makemessages.
tools:
	@command -v msgfmt >/dev/null && command -v xgettext >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing GNU gettext"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null) \
	      || { echo "Could not install gettext"; exit 1; }; \
	  else \
	    echo "The locale tests need GNU gettext: sudo apt-get install gettext"; exit 1; \
	  fi; }

test: install browser tools
	$(PYTEST_CENTRAL)
	$(PYTEST_AGENT)

test-central: install browser tools
	$(PYTEST_CENTRAL)

test-agent: install browser tools
	$(PYTEST_AGENT)

# The install as an admin does it, each in a fresh venv (needs PyPI): the README's steps on a bare
# django-helpdesk site, the agent-only environment, the offline bundle on a PC with no network.
test-install: install
	$(PY) -m pytest tests/install --ds=tests.central_settings -p no:xdist -q

# Real processes: central site, sync server and branch agents on loopback (also part of make test).
e2e: install browser
	$(PY) -m pytest tests/e2e --ds=tests.central_settings -q

# The service day (DESIGN.md): central web, sync server and branch agents as processes, Chromium
# for every page, a busier office and more offices than the bounded run in `make test`.
DAY_WALKINS ?= 12
DAY_BRANCHES ?= 3
day: install browser
	PST_DAY_EXTRA_WALKINS=$(DAY_WALKINS) PST_DAY_OTHER_BRANCHES=$(DAY_BRANCHES) \
	  $(PY) -m pytest tests/e2e/test_service_day.py --ds=tests.central_settings -q -p no:xdist

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
	DJANGO_SETTINGS_MODULE=tests.agent_settings $(PY) -m django makemigrations branch_agent --check --dry-run

# Refresh the plugin's Indonesian catalogue after changing strings (then translate and compile).
# The shared sync modules with msgids (sync.MESSAGE_MODULES) are read from a temporary copy.
SYNC_MESSAGES = $(shell $(PY) -c 'import sync; print(" ".join("sync/" + m for m in sync.MESSAGE_MODULES))' 2>/dev/null)
messages: install tools
	rm -rf pst_helpdesk_ext/_sync_messages && mkdir pst_helpdesk_ext/_sync_messages && cp $(SYNC_MESSAGES) pst_helpdesk_ext/_sync_messages/
	cd pst_helpdesk_ext && PYTHONPATH=..:../example_project DJANGO_SETTINGS_MODULE=example_project.settings ../$(VENV)/bin/django-admin makemessages -l id --no-obsolete --add-location file; \
	  status=$$?; rm -rf _sync_messages; exit $$status
	cd pst_helpdesk_ext && PYTHONPATH=..:../example_project DJANGO_SETTINGS_MODULE=example_project.settings ../$(VENV)/bin/django-admin compilemessages -l id

# Refresh the msgids of the plugin's Indonesian catalogue of helpdesk's own staff strings
# (pst_helpdesk_ext/locale_helpdesk, in LOCALE_PATHS) from the installed helpdesk's daily
# templates and forms; then translate the new entries and compile.
HELPDESK_SRC = $(shell $(PY) -c 'import helpdesk, os; print(os.path.dirname(helpdesk.__file__))' 2>/dev/null)
HELPDESK_DAILY = templates/helpdesk/navigation-header.html templates/helpdesk/navigation-sidebar.html \
	templates/helpdesk/dashboard.html templates/helpdesk/ticket_list.html templates/helpdesk/ticket.html \
	templates/helpdesk/ticket_desc_table.html templates/helpdesk/kb_index.html \
	templates/helpdesk/kb_category_base.html templates/helpdesk/messages.html \
	templates/helpdesk/edit_ticket.html templates/helpdesk/create_ticket.html templates/helpdesk/base-head.html \
	templates/helpdesk/include templates/helpdesk/filters forms.py models.py
messages-helpdesk: install tools
	rm -rf var/helpdesk-messages && mkdir -p var/helpdesk-messages/locale
	cd $(HELPDESK_SRC) && cp -r --parents $(HELPDESK_DAILY) $(CURDIR)/var/helpdesk-messages/
	cd var/helpdesk-messages && PYTHONPATH=$(CURDIR):$(CURDIR)/example_project DJANGO_SETTINGS_MODULE=example_project.settings $(CURDIR)/$(VENV)/bin/django-admin makemessages -l id --add-location file
	msgmerge --quiet --update --backup=none --no-fuzzy-matching pst_helpdesk_ext/locale_helpdesk/id/LC_MESSAGES/django.po var/helpdesk-messages/locale/id/LC_MESSAGES/django.po
	msgfmt --check -o pst_helpdesk_ext/locale_helpdesk/id/LC_MESSAGES/django.mo pst_helpdesk_ext/locale_helpdesk/id/LC_MESSAGES/django.po

# The office PC's offline install: every wheel the agent needs (Linux x86_64, Windows amd64,
# Python 3.11 and 3.12), install.sh + systemd unit, install.ps1 + scheduled task, in
# dist/pst-branch-agent-<version>-offline.zip (needs PyPI here, none on the office PC).
agent-bundle: install
	$(PY) deploy/agent_bundle.py --out dist

demo: install
	$(PY) example_project/run_demo.py

clean:
	rm -rf $(VENV) build dist *.egg-info .tox var

bench: install
	$(PY) -m bench.run --database-url '$(PG_URL)'

# Chaos runs (docs/chaos.md): central, the sync server and 4 branch agents as real processes; a
# seeded nemesis SIGKILLs, cuts and stalls links, restores a branch from a backup; SQL checks after
# healing. Last line `N runs, L lost, D duplicated`. Central on PostgreSQL at PG_URL (throwaway
# databases) when it answers, else SQLite. About 45 s a run on 2 cores.
CHAOS_SEED ?= 1
CHAOS_SECONDS ?= 20
chaos: install
	$(PY) bench/chaos.py --runs $(RUNS) --seed $(CHAOS_SEED) --duration $(CHAOS_SECONDS) --database-url '$(PG_URL)'

# Deterministic simulation of the sync cores over many seeds; last line `N seeds, V violations`.
soak: install
	$(PY) bench/soak.py --seeds $(SEEDS)

# The same simulation with the shipped stores, each in its own process under its program's
# settings: the agent's SQLite store at every branch (tests/sync/shipped_stores.py), then
# central's Django store on SQLite (tests/sync/shipped_central.py); a bounded run of each is part
# of `make test`. About 8 s and 5 s of CPU a seed, so 50 seeds each unless SEEDS is given. Both
# always run; the target fails if either found a violation.
SHIPPED_SEEDS = $(if $(filter command line environment,$(origin SEEDS)),$(SEEDS),50)
soak-shipped: install
	@status=0; \
	DJANGO_SETTINGS_MODULE=tests.agent_settings $(PY) -m tests.sync.shipped_stores \
	  --seeds $(SHIPPED_SEEDS) || status=1; \
	DJANGO_SETTINGS_MODULE=tests.central_settings $(PY) -m tests.sync.shipped_central \
	  --seeds $(SHIPPED_SEEDS) || status=1; \
	exit $$status
