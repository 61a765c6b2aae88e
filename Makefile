# Two commands: `make book` builds the site, `make test` checks everything.
# Both create the virtual environment in .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: book test unit notebooks site bench bench-rl clean

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

test: unit notebooks site

unit: $(STAMP)
	$(BIN)/mypy
	$(BIN)/pytest tests klcourse --doctest-modules -m "not site"

notebooks: $(STAMP)
	$(BIN)/pytest --nbval-lax book

site: $(STAMP)
	$(BIN)/pytest tests -m site

bench: $(STAMP)
	$(BIN)/pip install -q -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/estimators.py

bench-rl: $(STAMP)
	$(BIN)/python benchmarks/rl_cartpole.py

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $(STAMP)

clean:
	rm -rf _build .pytest_cache .hypothesis
