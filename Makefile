# Two commands for a fresh machine:
#   make demo   sets up .venv and runs platform + detector on a demo clip (embedded SQLite)
#   make test   sets up .venv (and Chromium and Caddy for the browser and proxy tests) and runs lint, types and tests
# Dependencies come from requirements/ci.lock, every file checked against its sha256 (requirements/README.md).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements/ci.lock
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | sha256sum | cut -c1-12)

.PHONY: demo test lint setup browser clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/nitrosignal demo

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }
	@command -v caddy >/dev/null 2>&1 || { \
	  echo "installing Debian's caddy for the reverse-proxy tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	PYTHONPATH=.:platform $(BIN)/lint-imports

test: $(STAMP) browser lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
