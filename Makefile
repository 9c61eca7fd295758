# ccaas-baseline: every entry point a newcomer or CI needs. `make help` lists them.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
CCSEC  := $(VENV)/bin/ccsec

.PHONY: help setup system-deps test lint demo bench clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml testbeds/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' -e testbeds
	touch $@

setup: $(VENV)/.installed  ## create .venv and install the project with dev tools

system-deps:  ## install the Debian packages the lab and backup tests need (root, idempotent)
	scripts/system-deps.sh

# Two runs: the fast suites in parallel (2 workers), then the suites that boot VMs or start Swift serially,
# so the lab's session-scoped fixtures boot each role once per run (xdist would boot them once per worker).
FAST_TESTS := tests/unit tests/policies tests/dist
SLOW_TESTS := tests/backup tests/lab

test: setup system-deps  ## install everything, then run the whole test suite
	$(PY) -m pytest -n 2 $(FAST_TESTS)
	$(PY) -m pytest --durations=20 $(SLOW_TESTS)

lint: setup  ## ruff lint + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

demo: setup system-deps  ## the main job end to end on the local lab (see README)
	scripts/demo.sh

bench: setup  ## print performance figures (never asserted)
	$(PY) bench/plan.py

clean:  ## remove the venv and caches (keeps the cached lab image)
	rm -rf $(VENV) .pytest_cache .ruff_cache
