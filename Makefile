# summit-bot: `make run` sets up and starts the bot (or a terminal chat without a token);
# `make test` sets up and runs the linter and the whole test suite.
#
# Python: the newest of python3.13, python3.12, python3.11 (then python3, if it is one of those) that
# runs here; name another with PYTHON=/path/to/python. VENV= chooses the virtual environment's
# directory (one per Python, e.g. `make test PYTHON=python3.12 VENV=.venv-3.12`).

ifeq ($(origin PYTHON), undefined)
PYTHON := $(shell for p in python3.13 python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' >/dev/null 2>&1 \
	&& { echo $$p; break; }; done)
endif
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# A CPU build of torch, if this machine offers one (a local wheel or a configured CPU index). The local
# version label makes pip refuse the CUDA build from PyPI instead of downloading gigabytes.
TORCH_CPU ?= torch==2.13.0+cpu

.PHONY: run test lint setup index bench clean python browser

python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "No Python 3.11, 3.12 or 3.13 found (tried python3.13, python3.12, python3.11, python3)."; \
		echo "Install one, or name it: make PYTHON=/path/to/python3.12 ..."; exit 1; fi
	@$(PYTHON) -c 'import sys' >/dev/null 2>&1 || { echo "$(PYTHON) cannot be run here."; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null || { \
		echo "$(PYTHON) is not Python 3.11, 3.12 or 3.13 ($$($(PYTHON) --version 2>&1))."; exit 1; }
	@echo "Python: $(PYTHON) ($$($(PYTHON) --version 2>&1)), environment $(VENV)"

$(BIN)/python:
	@$(MAKE) --no-print-directory python PYTHON="$(PYTHON)" VENV="$(VENV)"
	$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet uv >/dev/null 2>&1 \
		|| echo "uv could not be installed: pip installs the packages (slower)"

# Packages are installed with uv where it could be installed into the environment (it resolves and
# installs many times faster than pip), else with pip. uv reads no pip configuration: the directories of
# wheels pip is configured to look in (where a local CPU build of torch may lie) are handed to it.
# Modules are not byte-compiled at install time (that alone takes half the setup): each is compiled on its
# first import, and the tests ignore the warning a dependency's invalid escape sequences give then.
INSTALL = install() { \
	if [ -x $(BIN)/uv ]; then \
		links=""; for dir in $$($(BIN)/python -m pip config list 2>/dev/null \
			| sed -n "s/^.*find-links='\(.*\)'$$/\1/p" | head -1); do links="$$links --find-links $$dir"; done; \
		$(BIN)/uv pip install --quiet --python $(BIN)/python $$links "$$@"; \
	else $(BIN)/python -m pip install --quiet "$$@"; fi; \
	}; install

# What the bot needs to run: no torch (the default embedder runs on numpy).
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing summit-bot into $(VENV) ($$($(BIN)/python --version))"
	@$(INSTALL) -e .
	touch $(RUN_STAMP)

# Tests and linters; the sentence-transformers backend and its test model where a CPU torch is offered.
$(DEV_STAMP): $(RUN_STAMP)
	@$(INSTALL) -e ".[dev]"
	@if ($(INSTALL) "$(TORCH_CPU)") >/dev/null 2>&1; then \
		echo "$(TORCH_CPU) installed: adding the sentence-transformers backend and its test model"; \
		$(INSTALL) -e ".[dev,dev-sentence-transformers]" "$(TORCH_CPU)"; \
	else \
		echo "No CPU build of torch for $$($(BIN)/python --version) here ($(TORCH_CPU)):"; \
		echo "the sentence-transformers backend is not installed and its tests will be skipped."; \
	fi
	touch $(DEV_STAMP)

# Chromium from the system's packages, for the Mini App's browser tests (with Thai, Chinese and emoji fonts
# for their screenshots): installed with apt-get when it is missing and this runs as root; otherwise those
# tests are skipped and say why (the build goes on).
BROWSER_PACKAGES := chromium fonts-thai-tlwg fonts-wqy-microhei fonts-noto-color-emoji
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing $(BROWSER_PACKAGES) (Debian packages) for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES)) \
			>/dev/null 2>&1 \
		|| echo "chromium could not be installed: the browser tests will be skipped"; \
	fi

setup: $(DEV_STAMP) browser

run: $(RUN_STAMP)
	@if [ -n "$$TELEGRAM_BOT_TOKEN" ] || grep -qs '^TELEGRAM_BOT_TOKEN=.' .env; then \
		$(BIN)/summit-bot run; \
	else \
		echo "TELEGRAM_BOT_TOKEN is not set: starting the terminal chat on the same engine."; \
		$(BIN)/summit-bot index build && $(BIN)/summit-bot chat; \
	fi

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Three test processes (each builds the engines it needs once): many tests wait on a bot or command
# process of their own, so a third fills the time two would leave a core idle (on two cores the suite
# runs about a fifth faster than with two). A test module runs whole in one of them, the longest
# modules first (tests/conftest.py). The suite starts the bot and its commands in processes
# of their own dozens of times: Python writes the bytecode of each module it compiles (even where the
# environment says not to, PYTHONDONTWRITEBYTECODE), so that only the first process compiles it.
TEST_WORKERS ?= 3
test: lint browser
	PYTHONDONTWRITEBYTECODE= HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

index: $(RUN_STAMP)
	$(BIN)/summit-bot index build

bench: $(DEV_STAMP)
	$(BIN)/python bench/engine_bench.py
	$(BIN)/python bench/bot_load.py
	$(BIN)/python bench/agenda_bench.py
	$(BIN)/python bench/schedule_import.py
	$(BIN)/python bench/reload.py
	$(BIN)/python bench/broadcast.py --rate 200
	$(BIN)/python bench/webapp_bench.py

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
