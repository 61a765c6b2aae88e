# Two commands: `make book` builds the site, `make test` checks everything.
# Both create the virtual environment in .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Python kept to the site's code width (79 characters, pyproject.toml) by `make format`.
FORMATTED := klcourse book/_ext book/*.ipynb
# Jupyter Book caches executed notebooks by their code alone; when the package changes, the
# cached outputs may be stale, so a change to klcourse/ empties the cache.
PACKAGE_STAMP := _build/.klcourse-stamp
PACKAGE_SOURCES := $(shell find klcourse -name '*.py')

.PHONY: book pdf test lint checks unit notebooks site chromium format bench bench-rl bench-busy clean

# The site, then the PDF of the whole book that every page links to (_build/html/klcourse.pdf).
book: $(STAMP) $(PACKAGE_STAMP) chromium
	$(BIN)/jupyter-book build . -W -n --keep-going
	$(BIN)/python book/_ext/print_pdf.py

# The PDF is printed from the single-page build with Debian's Chromium (book/_ext/print_pdf.py);
# the site's build comes first so that no notebook is executed twice.
pdf: book

UNIT_TESTS := $(BIN)/pytest tests klcourse --doctest-modules -m "not site"
NBVAL := $(BIN)/pytest --nbval-lax book

# Lint first (fast failures), then two lanes side by side, one per core: nbval and then the
# unit tests, beside the site build, the PDF and the browser test. nbval and the site build
# each execute every notebook on one core (klcourse runs torch single-threaded), and the
# unit tests fill the first lane while the second finishes the site, so on two cores
# `make test` takes about the time of the longer lane rather than the sum of the three.
test: lint
	$(MAKE) -j2 --output-sync=target checks site

lint: $(STAMP)
	$(BIN)/ruff format --check $(FORMATTED)
	$(BIN)/ruff check klcourse tests benchmarks
	$(BIN)/mypy

checks: $(STAMP)
	$(NBVAL)
	$(UNIT_TESTS)

unit: lint
	$(UNIT_TESTS)

notebooks: $(STAMP)
	$(NBVAL)

# Two sessions, in this order: the first builds the site and prints the PDF (tests/test_site.py,
# tests/test_pdf.py); the second finds the PDF in place when the browser test follows the
# site's link to it. Its build of the site only checks that nothing changed.
site: $(STAMP) chromium $(PACKAGE_STAMP)
	$(BIN)/pytest -m site tests/test_site.py tests/test_pdf.py
	$(BIN)/pytest -m site tests --ignore=tests/test_site.py --ignore=tests/test_pdf.py

# The browser test drives Debian's Chromium. As root (as in CI) this installs it when missing;
# otherwise it says how, and the browser test skips (or fails, under CI=true).
chromium:
	@if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the browser test..."; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "Could not install chromium with apt-get."; \
	  else \
	    echo "Chromium is missing; the browser test needs it: sudo apt-get install chromium"; \
	  fi; \
	fi

# Reflow the package's and the notebooks' code to the width the site shows (79 characters,
# pyproject.toml); `make test` checks it.
format: $(STAMP)
	$(BIN)/ruff format $(FORMATTED)

bench: $(STAMP)
	$(BIN)/pip install -q -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/estimators.py

bench-rl: $(STAMP)
	$(BIN)/python benchmarks/rl_cartpole.py

bench-busy: $(STAMP)
	$(BIN)/python benchmarks/busy_machine.py

$(PACKAGE_STAMP): $(PACKAGE_SOURCES)
	rm -rf _build/.jupyter_cache
	mkdir -p _build
	touch $@

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $(STAMP)

clean:
	rm -rf _build .pytest_cache .hypothesis
