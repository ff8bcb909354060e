# 营商通 Yingshang — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
ENTERPRISES ?= 20000

.PHONY: demo test venv serve clean messages bench

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/yingshang migrate --noinput -v0
	$(BIN)/yingshang seed --enterprises $(ENTERPRISES) --if-empty
	@echo "营商通 demo: http://$(HOST):$(PORT)/"
	@# the scheduler runs the periodic sweeps (overdue appeals, case deadlines) beside the server
	@trap 'kill 0' EXIT INT TERM; $(BIN)/yingshang scheduler --tick 60 >/dev/null & $(BIN)/yingshang runserver $(HOST):$(PORT)

test: $(STAMP)
	$(BIN)/python scripts/run_tests.py

bench: $(STAMP)
	$(BIN)/python bench/import.py --rows 100000

clean:
	rm -rf $(VENV) var
