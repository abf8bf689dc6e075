# Entry points people type (README.md, docs/operations.md). GNU make.
#   make run     embedded demo on http://127.0.0.1:8000 (SQLite, eager tasks, file email)
#   make test    pytest; ARGS passes options through, e.g. make test ARGS="-k portal -x"

VENV ?= .venv
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
ARGS ?=
BIN := $(VENV)/bin
# Touched after `pip install`; reinstall only when pyproject.toml is newer.
STAMP := $(VENV)/.installed

# `make run` is always the embedded mode, even on a machine whose environment points at a
# PostgreSQL, Redis or SMTP server: those variables are removed for its commands.
EMBEDDED := env -u DATABASE_URL -u REDIS_URL -u EMAIL_URL -u CELERY_TASK_ALWAYS_EAGER

.PHONY: run test lint format worker beat messages bench install system-packages

# WeasyPrint (PDF labels) needs Pango; libharfbuzz-subset0 makes font subsetting 3-4x faster.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0

system-packages:
	@missing=""; for package in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$package"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "Install these system packages for PDF labels:$$missing"; exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ]; then apt-get update -q && apt-get install -y -q$$missing; \
	else echo "Missing system packages (PDF labels will be slow or fail):$$missing"; \
		echo "Install them with: sudo apt-get install$$missing"; fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP) system-packages
	$(EMBEDDED) $(BIN)/python manage.py migrate --noinput
	$(EMBEDDED) $(BIN)/python manage.py seed_demo
	$(EMBEDDED) $(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(STAMP) system-packages
	$(BIN)/pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix-only .
	$(BIN)/ruff format .

worker: $(STAMP)
	$(BIN)/celery -A rma_portal worker -l info

beat: $(STAMP)
	$(BIN)/celery -A rma_portal beat -l info

messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l pl --no-location --ignore=.venv --ignore=var --ignore=bench --ignore=tests
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=var

bench: $(STAMP)
	@set -e; for script in bench/*.py; do \
		[ -e "$$script" ] || { echo "no bench/*.py scripts"; break; }; \
		case "$$script" in bench/kpi_dataset.py) continue ;; esac; \
		echo "== $$script"; \
		$(BIN)/python "$$script"; \
	done
