# adunion — every target sets up what it needs (idempotently) on a fresh clone.
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
SYNCED := $(VENV)/.synced
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test lint bench setup check-migrations clean help

help:
	@echo "make run    - set up and start adunion on http://127.0.0.1:$${ADUNION_PORT:-8000} (SQLite)"
	@echo "make test   - set up and run the whole test suite"
	@echo "make lint   - ruff and mypy (strict) on src/"
	@echo "make bench  - run every benchmark in benchmarks/ (quick mode)"

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(SYNCED): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

setup: $(SYNCED)

# The demo network is created once (`adunion demo --reset` starts over); the server then runs with
# simulated visitors so the dashboards fill with live numbers. Simulated visitors come through
# 127.0.0.1 with X-Forwarded-For addresses, hence the trusted proxy.
run: setup
	$(BIN)/adunion demo
	ADUNION_TRUSTED_PROXIES=$${ADUNION_TRUSTED_PROXIES:-127.0.0.1} ADUNION_LOG_LEVEL=$${ADUNION_LOG_LEVEL:-WARNING} \
		$(BIN)/adunion serve --simulate $${ADUNION_SIMULATE_RATE:-5}

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

check-migrations: setup
	$(BIN)/python -m adunion.drift_check

# serving.py runs decision.py and serving_http.py itself. A benchmark that cannot run here (no
# wrk or hey: apt-get install -y wrk hey) says so and is skipped; one that fails does not stop the
# others, and `make bench` fails at the end naming it.
BENCHMARKS := ledger billing serving serving_pauses decision_asgi decision_pinned intake_cpu intake_drain reports revenue_quality

bench: setup
	@failed=""; for name in $(BENCHMARKS); do \
		echo "== benchmarks/$$name.py"; \
		$(BIN)/python benchmarks/$$name.py --quick || failed="$$failed $$name"; done; \
	if [ -n "$$failed" ]; then echo "== failed:$$failed"; exit 1; fi

clean:
	rm -rf .uv $(VENV) .mypy_cache .ruff_cache .pytest_cache
