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

NODE_TOOLS := tools/node_modules/.installed-stamp

$(NODE_TOOLS): tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund --loglevel=error
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
	$(BIN)/python -m finance_mcp.devsetup
	$(BIN)/finance-mcp serve

migrate: install
	$(BIN)/finance-mcp migrate

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage tools/node_modules
