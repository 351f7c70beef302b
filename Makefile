# The two commands: `make run` and `make test`. They need Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
EMBED := $(PY) infra/embedded.py
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test lint typecheck pytest bench messages install clean-local help

help:
	@echo "make run     serve the demo firm at http://demo.localhost:8000 with a Celery worker and beat"
	@echo "make test    ruff, mypy and the whole pytest suite on PostgreSQL"
	@echo "make bench   run benchmarks/ and write benchmarks/results/latest.json"

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet "uv==$(UV_VERSION)"
	@$(UV) sync --frozen --compile-bytecode --python $(PY) --quiet
	@touch $@

run: install
	@$(EMBED) run

test: install lint typecheck pytest

lint: install
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

typecheck: install
	@$(VENV)/bin/mypy

pytest: install
	@$(EMBED) exec -- $(PY) -m pytest $(PYTEST_ARGS)

bench: install
	@$(EMBED) exec -- $(PY) benchmarks/run.py

# Rebuild the translation catalogues (needs GNU gettext); the compiled .mo
# files are committed so that a fresh clone needs no gettext.
messages: install
	@$(PY) manage.py makemessages -l fr -l en --ignore='.venv/*' --ignore='.local/*' --no-obsolete
	@$(PY) manage.py compilemessages --ignore='.venv/*'

clean-local:
	rm -rf .local
