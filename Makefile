# make run   - set up and run the server on the embedded default (SQLite, demo data)
# make test  - set up and run every test (unit, integration on SQLite and PostgreSQL, end to end)
# make bench - the queue benchmark (see BENCHMARKS.md)
VENV ?= .venv
PY := $(VENV)/bin/python
export HALLQ_INSTANCE ?= $(CURDIR)/instance

.PHONY: run test unit bench venv system-deps

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

run: venv
	$(VENV)/bin/flask --app app db upgrade
	$(VENV)/bin/flask --app app demo
	@echo "== http://127.0.0.1:$${PORT:-5000}/  (Ctrl-C to stop)"
	$(VENV)/bin/gunicorn --worker-class gthread --threads 32 --bind 127.0.0.1:$${PORT:-5000} app.wsgi:app

system-deps:
	bash scripts/system-deps.sh

test: venv system-deps
	$(PY) -m pytest

unit: venv
	$(PY) -m pytest tests/unit -q

bench: venv
	$(PY) bench/queue_bench.py
