# Precis: `make run` serves the samples on http://127.0.0.1:8000, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PIP    := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: run test lint bench bench-scaling bench-million loadtest install install-dev assets clean

run: install assets
	$(BIN)/precis ingest --if-empty samples
	$(BIN)/precis serve --host $(HOST) --port $(PORT)

test: install-dev assets
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check .

.PHONY: screenshots
screenshots: install-dev assets
	$(BIN)/python scripts/screenshots.py

# Search speed at 100,000 paragraphs beside SQLite FTS5 (about 15 minutes), then ingest,
# relevance and digest quality on the evaluation data in ../shared/data, then briefings and
# related articles (quality on the BBC set, speed on the same 100,000 paragraphs).
bench: install-dev assets
	$(BIN)/python bench/search.py --paragraphs 100000
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/relevance.py
	$(BIN)/python bench/known_items.py
	$(BIN)/python bench/digests.py
	$(BIN)/python bench/cleaning.py
	$(BIN)/python bench/duplicates.py --ingest
	$(BIN)/python bench/beyond.py

# Whoosh beside Typesense (one node and three) on the same 100,000 paragraphs: ingest,
# search in-process and over HTTP, memory (docs/scaling.md; about 40 minutes).
bench-scaling: install-dev assets
	$(BIN)/python bench/scaling.py --paragraphs 100000

# The same search benchmark at 1,000,000 paragraphs (an hour or more; 5 GB of disk in /tmp).
bench-million: install-dev assets
	$(BIN)/python bench/search.py --paragraphs 1000000 --seconds 10

# Serving under load (bench/loadtest.py, 5 minutes) and beside 120 slow connections.
loadtest: install-dev assets
	$(BIN)/python bench/loadtest.py
	$(BIN)/python bench/slowclients.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	touch $@

install-dev: $(VENV)/.installed-dev
$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[dev]'
	touch $(VENV)/.installed $@

assets: static/vendor/htmx.min.js
static/vendor/htmx.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache .ruff_cache
