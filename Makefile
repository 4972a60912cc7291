# summit-bot: `make run` sets up and starts the bot (or a terminal chat without a token);
# `make test` sets up and runs the linter and the whole test suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint setup index bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# CPU build of torch first, so sentence-transformers does not pull a CUDA build.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	@if [ -n "$$TELEGRAM_BOT_TOKEN" ] || grep -qs '^TELEGRAM_BOT_TOKEN=.' .env; then \
		$(BIN)/summit-bot run; \
	else \
		echo "TELEGRAM_BOT_TOKEN is not set: starting the terminal chat on the same engine."; \
		$(BIN)/summit-bot index build && $(BIN)/summit-bot chat; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

index: $(STAMP)
	$(BIN)/summit-bot index build

bench: $(STAMP)
	$(BIN)/python bench/engine_bench.py
	$(BIN)/python bench/bot_load.py
	$(BIN)/python bench/agenda_bench.py
	$(BIN)/python bench/reload.py

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
