# attackmap developer entry points. `make demo` and `make test` bootstrap .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO_STAMP := $(VENV)/.demo-stamp
DEMO := examples/nim/nim-deploy-default.yaml

.PHONY: venv demo test lint pytest bench bench-peers fuzz docs clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo installs attackmap and its runtime dependencies only (no test or lint tools).
$(DEMO_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e .
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(VENV)/bin/attackmap attack info
	$(VENV)/bin/attackmap analyze $(DEMO)

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks
	$(PY) -m mypy

pytest: $(STAMP)
	$(PY) -m pytest -n 2 -q

test: lint pytest

bench: $(STAMP)
	$(PY) benchmarks/run.py

# The peer `make bench` compares with (benchmarks/bench_cli.py): checkov 3.3.30 pins
# networkx<2.7 and attackmap needs networkx>=3, so it gets an environment of its own.
PEERS := .venv-peers
$(PEERS)/bin/checkov:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet checkov==3.3.30

bench-peers: $(PEERS)/bin/checkov

# The documentation site (offline): installs the `docs` extra when missing. Not part of `make test`.
docs: $(STAMP)
	$(PY) -c "import mkdocs, material, mkdocstrings_handlers.python" 2>/dev/null || $(PY) -m pip install --quiet -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

fuzz: $(STAMP)
	$(PY) -m pytest tests/fuzz -q --hypothesis-profile=fuzz

clean:
	rm -rf $(VENV) $(PEERS) build dist .pytest_cache .mypy_cache .ruff_cache
