# The two set-up commands of the README. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
ROOT ?= .

.PHONY: lab test lint install-lab install-test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip

install-lab: $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet -e ".[lab]"

install-test: $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet -e ".[test]"

lab: install-lab
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(ROOT)"

lint: install-test
	$(VENV)/bin/ruff check lawless_jupyter tests benchmarks
	$(VENV)/bin/ruff format --check lawless_jupyter tests benchmarks

test: lint
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)
