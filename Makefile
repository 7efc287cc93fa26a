# The two set-up commands of the README. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
ROOT ?= .
# jlpm (JupyterLab's pinned yarn) runs scripts that call jlpm and jupyter-builder again.
JLPM := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/jlpm

.PHONY: lab test lint install-lab install-test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip

install-lab: $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet -e ".[lab]"

install-test: $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet -e ".[test]"

lab: install-lab
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(ROOT)" $(if $(filter 0,$(shell id -u)),--allow-root)

# The JupyterLab extension's packages (the pip installs above build it with them too).
node_modules: package.json $(VENV)/bin/python
	$(JLPM) install
	touch node_modules

lint: install-test node_modules
	$(VENV)/bin/ruff check lawless_jupyter tests benchmarks deploy
	$(VENV)/bin/ruff format --check lawless_jupyter tests benchmarks deploy
	$(JLPM) lint:check

test: lint
	$(JLPM) test
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)
