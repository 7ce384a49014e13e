# The two commands of the README work on a fresh clone: each creates .venv and installs
# what it needs. A stamp file per extras set skips the install when setup.cfg is unchanged.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INBOX ?= samples/inbox
REQUESTS ?= samples/requests/*.x12
OUTBOX ?= var/outbox
REFERENCE ?= samples/reference

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-%: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[$*]"
	touch $@

$(VENV)/.installed-base: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The embedded defaults: SQLite in var/edi278.db, created and migrated on first use; the
# default policy (samples/policy.yaml). The sample requests go first, in name order: some
# refer to the certification number the first one gets.
run: $(VENV)/.installed-base
	$(BIN)/edi278 reference load $(REFERENCE)
	$(BIN)/edi278 process $(REQUESTS) $(INBOX) --outbox $(OUTBOX)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-lint
	$(BIN)/ruff check edi278 tests benchmarks
	$(BIN)/ruff format --check edi278 tests benchmarks

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/stream_memory.py
	$(BIN)/python benchmarks/guide_latency.py
	$(BIN)/python benchmarks/store_intake.py

clean:
	rm -rf $(VENV) var build *.egg-info
