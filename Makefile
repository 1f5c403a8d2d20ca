# mjweb. `make run` to try it, `make test` to check it. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: help install run serve test lint format bench soak clean

help:
	@echo "make run     start mjweb with demo data on http://127.0.0.1:$${MJWEB_PORT:-8000}"
	@echo "make serve   migrate and run web + workers with the environment as given"
	@echo "make test    install what the tests need and run the whole suite"
	@echo "make lint    ruff check, format check and the import layers"
	@echo "make bench   measure against DESIGN.md §6; writes bench/results.json"
	@echo "make soak    20 members for 5 minutes with upstream faults; writes bench/soak.json"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "mjweb needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

run: install
	bin/run

serve: install
	bin/serve

test: install
	bin/test

bench: install
	$(VENV)/bin/python bench/run.py

soak: install
	$(VENV)/bin/python bench/soak.py --members 20 --seconds $${SOAK_SECONDS:-300} --json bench/soak.json

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) staticfiles test-artifacts
