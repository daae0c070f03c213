# make run   - set up and run the server on the embedded default (SQLite, demo data)
# make test  - set up and run every test (lint and types, unit, integration on SQLite and PostgreSQL, end to end)
# make bench - the queue benchmark (see BENCHMARKS.md)
VENV ?= .venv
PY := $(VENV)/bin/python
export HALLQ_INSTANCE ?= $(CURDIR)/instance

.PHONY: run test unit lint format bench venv i18n messages system-deps

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-nodeps.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	touch $@

# message catalogues (zh_CN), compiled at set-up
i18n: venv
	$(VENV)/bin/pybabel compile -d app/translations

# after changing texts: the code's messages into the catalogue (new ones untranslated, gone ones
# dropped); then translate them in app/translations/zh_Hans_CN/LC_MESSAGES/messages.po and `make i18n`
POT := app/translations/messages.pot
PO := app/translations/zh_Hans_CN/LC_MESSAGES/messages.po
messages: venv
	$(VENV)/bin/pybabel extract -F babel.cfg --no-location --sort-output -w 120 -o $(POT) .
	$(VENV)/bin/pybabel update -i $(POT) -d app/translations -l zh_Hans_CN --no-fuzzy-matching --ignore-obsolete -w 120
	@$(PY) -c 'from babel.messages.pofile import read_po; left = [m.id for m in read_po(open("$(PO)", "rb")) if m.id and not m.string]; print(f"== {len(left)} to translate in $(PO)", *left, sep="\n   ")'

venv: $(VENV)/.installed

run: venv i18n
	$(VENV)/bin/flask --app app db upgrade
	$(VENV)/bin/flask --app app demo
	@echo "== http://127.0.0.1:$${PORT:-5000}/  (Ctrl-C to stop)"
	SOCKETIO_MESSAGE_QUEUE= SCHEDULER_IN_WEB=1 $(VENV)/bin/gunicorn --config deploy/gunicorn/web.conf.py --bind 127.0.0.1:$${PORT:-5000} app.wsgi:app

system-deps:
	bash scripts/system-deps.sh

test: venv i18n system-deps lint
	$(PY) -m pytest

# lint, format and types of the pure core, the use cases and the forecaster (ruff.toml, mypy.ini);
# `make format` rewrites them in the formatter's style
LINTED := app/domain app/services app/storage forecasting
lint: venv
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy

format: venv
	$(VENV)/bin/ruff format $(LINTED)

unit: venv
	$(PY) -m pytest tests/unit -q

bench: venv
	$(PY) bench/queue_bench.py
