# cartrial: two commands set up everything on a fresh machine (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: demo test nightly bench lint clean dist browser docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/cartrial demo

# the browser tests drive Debian's chromium (never a downloaded browser); installed with apt when missing
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver; \
	fi

test: $(STAMP_DEV) browser
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -n auto --maxprocesses=4

# the release files: sdist and wheel (the wheel built from the sdist), checked by twine
dist: $(STAMP_DEV)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .
	$(BIN)/python -m twine check --strict dist/*

# the documentation site: tutorials executed, warnings are errors; then its checks in a real browser
# (tests marked `docs`, which plain `make test` skips while no site is built); decisions D-20.2, D-20.3
docs: $(STAMP_DEV) browser
	rm -rf docs/_build/html docs/_build/jupyter_execute
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	CARTRIAL_REQUIRE_DOCS=1 $(BIN)/pytest -m docs tests/docs
	@echo "documentation built: open docs/_build/html/index.html (file://$(CURDIR)/docs/_build/html/index.html)"

# the long studies (marked nightly) that every `make test` skips
nightly: $(STAMP_DEV) browser
	CARTRIAL_NIGHTLY=1 $(BIN)/pytest -m nightly

bench: $(STAMP_DEV)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache build dist docs/_build docs/api/generated
