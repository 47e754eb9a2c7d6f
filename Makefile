# Spotcheck — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(VENV)/bin/pip
FLASK   = $(VENV)/bin/flask --app server
HOST   ?= 127.0.0.1
PORT   ?= 5000
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
CHROMIUM ?= /usr/bin/chromium
## pytest-xdist workers (one per core by default; PYTEST_WORKERS=0 runs in one process)
PYTEST_WORKERS ?= auto

.PHONY: run test test-sqlite test-postgres install install-test translations migrate demo lint pwa bench clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: $(VENV)/bin/activate pyproject.toml
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed translations pwa

install-test: $(VENV)/.installed-test translations pwa

translations: $(VENV)/.installed
	$(VENV)/bin/pybabel compile -f -d server/translations

## make pwa: build the field app (pwa/dist, served at /app/) when its sources changed
PWA_SRC = pwa/index.html pwa/vite.config.js pwa/package.json $(wildcard pwa/src/*) $(wildcard pwa/public/icons/*)

pwa: pwa/dist/sw.js

pwa/node_modules/.installed: pwa/package.json pwa/package-lock.json
	cd pwa && npm ci --no-audit --no-fund --loglevel=error
	touch $@

pwa/dist/sw.js: pwa/node_modules/.installed $(PWA_SRC)
	cd pwa && npm run --silent build
	touch $@

migrate: install
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo load --if-empty

## make run: install, migrate, load demo data when the database is empty, serve on http://127.0.0.1:5000
run: demo
	SPOTCHECK_SECURE_COOKIES=$${SPOTCHECK_SECURE_COOKIES:-0} $(FLASK) run --host $(HOST) --port $(PORT)

## make test: install test dependencies and run the whole suite on SQLite, then on PostgreSQL
test: install-test lint test-sqlite test-postgres

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check server tests bench

test-sqlite: install-test
	SPOTCHECK_CHROMIUM=$(CHROMIUM) $(PY) -m pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile

test-postgres: install-test
	SPOTCHECK_CHROMIUM=$(CHROMIUM) SPOTCHECK_TEST_DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile -m "not browser"

bench: install-test
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
