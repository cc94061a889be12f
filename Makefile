# Two commands matter: `make run` (set up and serve on SQLite) and `make test` (set up and pass).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install node-tools run test check format migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

NODE_TOOLS := node/node_modules/.installed-stamp

$(NODE_TOOLS): node/package.json node/package-lock.json
	cd node && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_TOOLS)

install: $(STAMP)

node-tools: $(NODE_TOOLS)

check: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/pyright

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: check node-tools
	$(BIN)/pytest --cov --cov-branch --cov-report=term $(PYTEST_ARGS)

run: install
	$(BIN)/python -m finance_mcp.cli.dev
	$(BIN)/finance-mcp serve

migrate: install
	$(BIN)/finance-mcp migrate

clean:
	rm -rf $(VENV) .venv-3.* .pytest_cache .ruff_cache .coverage node/node_modules build dist

# Performance matrix (docs/PERFORMANCE.md): SQLite and PostgreSQL, 1-2 workers, STATELESS_HTTP on/off.
# The load generator runs on core 0; it pins the servers itself. Writes bench/results/latest.{json,md}.
.PHONY: bench
bench: install
	taskset -c 0 $(BIN)/python -m bench.run $(BENCH_ARGS)

# Analytics latency (docs/ANALYTICS.md): 1,000,000 transactions on the local PostgreSQL (127.0.0.1:5432, user
# postgres) in a database of its own, dropped at the end; the real server on loopback; bounded by --timeout.
.PHONY: bench-analytics
bench-analytics: install
	$(BIN)/python bench/analytics.py $(BENCH_ANALYTICS_ARGS)

# Reliability soak (docs/RELIABILITY.md): 32 concurrent MCP clients for 60 s, mixed reads and writes, against
# PostgreSQL with 2 server workers; loopback only, stops by itself, audits every balance, prints its figures.
.PHONY: soak
soak: install
	$(BIN)/python -m tests.reliability.soak $(SOAK_ARGS)

# The other Pythons the package declares (pyproject.toml's classifiers; `make test` runs everything on the
# venv's own, 3.11): for each, a venv of its own (.venv-3.12, .venv-3.13) with the project and its dev extras,
# then PYTHON_TESTS: every service test on both databases, the unit tests, the wheel built and installed on
# that Python and served from an empty directory, and the real server walking the contract. The deploy,
# abuse and reliability suites (process and cluster orchestration, a third of `make test`'s time) run on 3.11
# only, so CI stays well inside its time limit; `make test-pythons PYTHON_TESTS=tests` runs everything.
# Interpreters: pyenv's builds, as on CI's machine; override with PYTHONS="...".
PYTHONS ?= /root/.pyenv/versions/3.12.1/bin/python3.12 /root/.pyenv/versions/3.13.0/bin/python3.13
PYTHON_TESTS ?= tests/services tests/repositories tests/db tests/server tests/cli tests/packaging $(wildcard tests/test_*.py) tests/e2e/test_smoke_e2e.py
.PHONY: test-pythons
test-pythons: node-tools
	set -e; for py in $(PYTHONS); do \
	  venv=.venv-$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  echo "== $$venv ($$py)"; \
	  [ -x $$venv/bin/python ] || $$py -m venv $$venv; \
	  $$venv/bin/python -m pip install --quiet --upgrade pip; \
	  $$venv/bin/python -m pip install --quiet -e '.[dev]'; \
	  $$venv/bin/pytest -p no:cacheprovider $(PYTHON_TESTS) $(PYTEST_ARGS); \
	done

# Past one database (docs/DEPLOYMENT.md): 4 workers through PgBouncer against direct, and analytics from a
# synchronous hot standby while writes run on the primary; throw-away clusters on loopback; about 5 minutes.
# import_transactions with 100,000 CSV rows (dry run, real) beside 100 batches of 1,000; SQLite and PostgreSQL.
.PHONY: bench-import
bench-import: install
	$(BIN)/python -m bench.imports $(BENCH_IMPORT_ARGS)

# Separate from `make bench`, which already takes ~8.5 of its 10 minutes. Writes bench/results/scale.{json,md}.
.PHONY: bench-scale
bench-scale: install
	$(BIN)/python -m bench.scale $(BENCH_SCALE_ARGS)
