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

# bench: throughput and peak memory (eval/bench.md, eval/bench.json); run it on a quiet machine.
bench: $(VENV)/.stamp
	$(PY) -c "import onnx, onnxruntime" 2>/dev/null || $(PY) -m pip install -q -e ".[onnx]"
	$(PY) -m araie.bench --out eval/bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
