# Entry points people type (README.md, docs/operations.md). GNU make.
#   make run     embedded demo on http://127.0.0.1:8000 (SQLite, eager tasks, file email)
#   make test    pytest in parallel processes; ARGS passes options through, e.g.
#                make test ARGS="-k portal -x"; TEST_PROCESSES=0 runs in one process.
#                Starts the inbound mail tests' IMAP server unless TEST_IMAP_URL names one
#                (it keeps running; scripts/imap-server stop ends it)
#   make serve / make worker / make beat   the app on local PostgreSQL and Redis
#   make screenshots   docs/screenshots/ of the back-office workspace

VENV ?= .venv
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
ARGS ?=
BIN := $(VENV)/bin
# Touched after `pip install`; reinstall only when pyproject.toml or constraints.txt is newer.
STAMP := $(VENV)/.installed

# `make run` is always the embedded mode, even on a machine whose environment points at a
# PostgreSQL, Redis or SMTP server: those variables are removed for its commands.
EMBEDDED := env -u DATABASE_URL -u REDIS_URL -u EMAIL_URL -u CELERY_TASK_ALWAYS_EAGER \
	-u CELERY_BROKER_URL -u CACHE_URL

.PHONY: run serve test lint format worker beat messages bench install api-fuzz screenshots

# WeasyPrint (PDF labels and reports) cannot work without Pango. libharfbuzz-subset0 only
# makes font subsetting 3-4x faster, and Chromium is only for the browser tests: a machine
# without them still runs the app and the other tests (scripts/system-packages warns).
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0
FAST_PDF_PACKAGES := libharfbuzz-subset0
# Dovecot's IMAP server for the inbound mail tests (scripts/imap-server): without it those
# tests are skipped.
IMAP_PACKAGES := dovecot-imapd
# Test processes (pytest-xdist): one per core, at most 4 (each needs a Redis database).
TEST_PROCESSES ?= auto

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@scripts/system-packages "make run" $(PDF_PACKAGES) -- $(FAST_PDF_PACKAGES)
	$(EMBEDDED) $(BIN)/python manage.py migrate --noinput
	$(EMBEDDED) $(BIN)/python manage.py seed_demo
	$(EMBEDDED) $(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(STAMP)
	@scripts/system-packages "make test" $(PDF_PACKAGES) -- $(FAST_PDF_PACKAGES) chromium $(IMAP_PACKAGES)
	@[ -n "$$TEST_IMAP_URL" ] || scripts/imap-server start --optional >/dev/null
	$(BIN)/pytest -n $(TEST_PROCESSES) --maxprocesses=4 --dist loadfile --durations=20 $(ARGS)

# docs/screenshots/: the back-office workspace at 1366 x 900 and 390 x 844 (scripts/screenshots.py),
# on a throw-away embedded database seeded with the demo.
screenshots: $(STAMP)
	@scripts/system-packages "make screenshots" $(PDF_PACKAGES) chromium
	$(EMBEDDED) $(BIN)/python scripts/screenshots.py

# The API's generated contract tests at full strength: 100 generated examples per operation,
# every phase for every role (make test runs a bounded, deterministic share). On the
# environment's PostgreSQL and Redis, like make test.
api-fuzz: $(STAMP)
	API_FUZZ_MAX_EXAMPLES=100 $(BIN)/pytest tests/api/test_fuzz_*.py $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix-only .
	$(BIN)/ruff format .

# Local development on PostgreSQL and Redis with a real worker and beat: `make serve`,
# `make worker` and `make beat` in three terminals. The environment's DATABASE_URL,
# REDIS_URL, DEBUG and SECRET_KEY win over these local defaults.
SERVICES := env -u CELERY_TASK_ALWAYS_EAGER -u CELERY_BROKER_URL -u CACHE_URL \
	DATABASE_URL=$(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/rma_portal) \
	REDIS_URL=$(or $(REDIS_URL),redis://127.0.0.1:6379/0) \
	DEBUG=$(or $(DEBUG),true) \
	SECRET_KEY=$(or $(SECRET_KEY),local-development-only-not-a-secret-0123456789)

serve: $(STAMP)
	@scripts/system-packages "make serve" $(PDF_PACKAGES) -- $(FAST_PDF_PACKAGES)
	$(SERVICES) $(BIN)/python scripts/ensure_database.py
	$(SERVICES) $(BIN)/python manage.py migrate --noinput
	$(SERVICES) $(BIN)/python manage.py seed_demo
	$(SERVICES) $(BIN)/python manage.py runserver 127.0.0.1:8000

worker: $(STAMP)
	$(SERVICES) $(BIN)/celery -A rma_portal worker -l info

beat: $(STAMP)
	$(SERVICES) $(BIN)/celery -A rma_portal beat -l info

messages: $(STAMP)
	$(BIN)/python manage.py makemessages --all --no-location --ignore=.venv --ignore=var --ignore=bench --ignore=tests
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=var

bench: $(STAMP)
	@set -e; for script in bench/*.py; do \
		[ -e "$$script" ] || { echo "no bench/*.py scripts"; break; }; \
		case "$$script" in bench/kpi_dataset.py) continue ;; esac; \
		echo "== $$script"; \
		$(BIN)/python "$$script"; \
	done
