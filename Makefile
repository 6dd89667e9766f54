# araie: `make demo` and `make test` are all the set-up a fresh clone needs.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
PY := $(VENV)/bin/python
ARAIE := $(VENV)/bin/araie
RECIPE ?= train/default.yaml
MODEL ?= model
DATA ?= annotations

.PHONY: demo test lint validate stats train evaluate bench export pretrain clean

$(VENV)/.stamp: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

demo: $(VENV)/.stamp
	$(ARAIE) validate $(DATA)
	$(ARAIE) stats $(DATA)

test: $(VENV)/.stamp
	$(PY) -m pytest -q

lint: $(VENV)/.stamp
	$(VENV)/bin/ruff check araie tests

validate: $(VENV)/.stamp
	$(ARAIE) validate $(DATA)

stats: $(VENV)/.stamp
	$(ARAIE) stats $(DATA)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
