# Two commands matter: `make demo` and `make test`. Everything else is a step they use.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
export MLFLOW_DISABLE_TELEMETRY := true

.PHONY: demo test bootstrap lint bench clean

# A private copy of uv, pinned, so a bare machine needs only Python and make.
$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The project environment, exactly as the lock file says, with every module compiled to
# bytecode once here: otherwise each command compiles what it imports (seconds for MLflow,
# pandas, scipy) on its first run, and on every run where PYTHONDONTWRITEBYTECODE is set.
.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet --compile-bytecode
	touch $@

bootstrap: .venv/.synced

demo: bootstrap
	$(UV) run --frozen --no-sync installment demo

test: bootstrap
	bash scripts/test-setup.sh
	$(UV) run --frozen --no-sync pytest

lint: bootstrap
	$(UV) run --frozen --no-sync ruff check .

bench: bootstrap
	$(UV) run --frozen --no-sync installment bench

clean:
	rm -rf .venv $(TOOLS) var test-artifacts
