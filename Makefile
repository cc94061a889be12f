# Two commands matter: `make run` (set up and serve on SQLite) and `make test` (set up and pass).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test check format migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

check: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/pyright

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: check
	$(BIN)/pytest --cov --cov-branch --cov-report=term $(PYTEST_ARGS)

migrate: install
	$(BIN)/finance-mcp migrate

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage
