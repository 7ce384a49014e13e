# The two commands of the README work on a fresh clone: each creates .venv and installs
# what it needs. A stamp file per extras set skips the install when setup.cfg is unchanged.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INBOX ?= samples/inbox
REQUESTS ?= samples/requests/*.x12
OUTBOX ?= var/outbox
REFERENCE ?= samples/reference
# When the demo's files count as received: the samples' service dates lie ahead of it, so
# the demo answers the same in any year (samples/requests/README.md).
RECEIVED_AT ?= 2026-11-20T10:00:00-05:00

.PHONY: run test lint bench fuzz soak clean debian-packages

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
	$(BIN)/edi278 process $(REQUESTS) $(INBOX) --outbox $(OUTBOX) --received-at $(RECEIVED_AT)

test: $(VENV)/.installed-test debian-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# What the tests need from Debian: a real Chromium for the HTML pages and letters, and
# faketime for the runs on a clock moved years ahead. Installed when missing and this
# is a Debian machine we may install on; otherwise named, and the tests that need them
# say so when they fail.
DEBIAN_PACKAGES := chromium chromium-driver faketime
debian-packages:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing $$missing (Debian)"; \
	    apt-get install -y -qq $$missing >/dev/null || \
	      { apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; }; \
	  else echo "missing Debian packages: $$missing (sudo apt-get install $$missing)" >&2; fi; \
	fi

lint: $(VENV)/.installed-lint
	$(BIN)/ruff check edi278 tests benchmarks fuzz
	$(BIN)/ruff format --check edi278 tests benchmarks fuzz
	$(BIN)/mypy

# The suite of benchmarks/suite.py (its docstring says what it measures), recorded in
# benchmarks/RESULTS.md: the full run takes hours. BENCH_QUICK=1 is a smoke run of a few
# minutes; BENCH_ARGS passes options (e.g. BENCH_ARGS="--sizes 100000 --no-record").
bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/suite.py $(BENCH_ARGS)

# Coverage-guided fuzzing of the whole answering path (fuzz/answer_target.py, atheris).
# CI runs FUZZ_RUNS inputs; FUZZ_RUNS=0 FUZZ_TIME=600 fuzzes for ten minutes. A crash is
# written to var/fuzz/crash-*: copy it into tests/fuzz_regressions/ to keep it fixed.
FUZZ_RUNS ?= 2000
FUZZ_TIME ?= 0
FUZZ_SEED ?= 278
fuzz: $(VENV)/.installed-test $(VENV)/.installed-fuzz
	mkdir -p var/fuzz
	cd var/fuzz && ../../$(BIN)/python ../../fuzz/answer_target.py -runs=$(FUZZ_RUNS) \
		-max_total_time=$(FUZZ_TIME) -rss_limit_mb=4096 -seed=$(FUZZ_SEED) -print_final_stats=1

# The long versions of the soak tests: a watcher over 1,000 files killed 200 times, a
# watcher killed 20 times inside one interchange of 20,000 sets, a watcher over 10,000
# files whose memory stays flat, a worker over 200 queued files killed 30 times (on the
# PostgreSQL of EDI278_TEST_POSTGRES_URL), and the API at twice the benchmark rate for
# 60 s (CI runs 100 files and 15 kills, 2,000 sets and 5 kills, 3,000 files, 100 files
# and 15 kills, 15 s).
soak: $(VENV)/.installed-test
	EDI278_SOAK_FILES=1000 EDI278_SOAK_KILLS=200 EDI278_SOAK_API_SECONDS=60 \
		EDI278_SOAK_SETS=20000 EDI278_SOAK_BIG_KILLS=20 EDI278_SOAK_INBOX_FILES=10000 \
		EDI278_SOAK_WORKER_FILES=200 EDI278_SOAK_WORKER_KILLS=30 \
		$(BIN)/python -m pytest -s tests/test_soak.py \
		tests/test_worker.py::test_a_worker_killed_again_and_again_still_answers_every_queued_file_exactly_once \
		tests/test_api_load.py::test_at_twice_the_benchmark_rate_the_api_sheds_and_loses_nothing

clean:
	rm -rf $(VENV) var build *.egg-info
