# MLPayGrade Portal — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# `make run` is for a developer's machine: debug on unless the caller says otherwise.
export DEBUG ?= 1

.PHONY: help run test install install-dev test-tools browser model worker lint format clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@echo "==> Creating the virtualenv in $(VENV)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip==25.3

$(VENV)/.installed: requirements.txt $(BIN)/python
	@echo "==> Installing the requirements into $(VENV) (the first time takes a few minutes)"
	@$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed  ## Create .venv and install the runtime requirements

install-dev: $(VENV)/.installed-dev  ## Install the runtime and test requirements

.env:  ## A local settings file for development (manage.py commands read it too)
	@printf '%s\n' "# Written by make run for local development; environment variables override it." \
		"DEBUG=1" > $@
	@echo "Wrote .env (DEBUG=1) so that manage.py commands work as the README shows them."

model: install .env  ## Migrate and make sure an active model exists (trains one if not)
	@echo "==> Migrating the database"
	@$(BIN)/python manage.py migrate --noinput -v 0
	@echo "==> Making sure a model is active (the first time it imports the data and trains one: one to two minutes)"
	@PYTHONUNBUFFERED=1 $(BIN)/python manage.py ensure_active_model

run: model  ## Serve the portal at http://127.0.0.1:8000 (make run HOST=… PORT=… to change; plus a Celery worker when REDIS_URL is set)
	@if [ "$(DEBUG)" != "1" ]; then $(BIN)/python manage.py collectstatic --noinput -v 0; fi
	@HOST=$(HOST) PORT=$(PORT) scripts/serve

worker: install  ## Run a Celery worker with beat in the foreground (needs REDIS_URL)
	$(BIN)/celery -A portal worker --beat --loglevel=INFO

# Debian packages that tests drive: chromium (browser tests), nginx (`nginx -t` on
# docker/nginx.conf) and prometheus (its promtool checks docker/prometheus/). Installed when we
# are root with apt-get (CI); elsewhere the tests needing a missing one are skipped, with the reason.
test-tools:  ## Install Debian's chromium, nginx and prometheus (promtool) for the tests when we can (root + apt-get)
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's$$missing for the tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "Missing$$missing and cannot apt-get them: the tests that need them will be skipped."; fi

browser: test-tools  ## Same as test-tools (the browser tests' Chromium among them)

test: install-dev test-tools  ## Run the whole suite (tests needing absent services are skipped, with the reason)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev  ## ruff check + format check + architecture contracts (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: install-dev  ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:  ## Remove the virtualenv and local state (SQLite database, caches)
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
