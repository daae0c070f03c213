# make run   - set up and run the server on the embedded default (SQLite, demo data)
# make test  - set up and run every test (unit, integration on SQLite and PostgreSQL, end to end)
# make bench - the queue benchmark (see BENCHMARKS.md)
VENV ?= .venv
PY := $(VENV)/bin/python
export HALLQ_INSTANCE ?= $(CURDIR)/instance

.PHONY: run test unit bench venv i18n system-deps

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-nodeps.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	touch $@

# message catalogues (zh_CN), compiled at set-up
i18n: venv
	$(VENV)/bin/pybabel compile -d app/translations

venv: $(VENV)/.installed

run: venv i18n
	$(VENV)/bin/flask --app app db upgrade
	$(VENV)/bin/flask --app app demo
	@echo "== http://127.0.0.1:$${PORT:-5000}/  (Ctrl-C to stop)"
	SOCKETIO_MESSAGE_QUEUE= SCHEDULER_IN_WEB=1 $(VENV)/bin/gunicorn --config deploy/gunicorn/web.conf.py --bind 127.0.0.1:$${PORT:-5000} app.wsgi:app

system-deps:
	bash scripts/system-deps.sh

test: venv i18n system-deps
	$(PY) -m pytest

unit: venv
	$(PY) -m pytest tests/unit -q

bench: venv
	$(PY) bench/queue_bench.py
