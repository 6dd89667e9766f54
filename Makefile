# araie: `make demo` and `make test` are all the set-up a fresh clone needs.
# Every target creates .venv when missing; override any variable: `make train RECIPE=train/arabertv02.yaml`.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
PY := $(VENV)/bin/python
ARAIE := $(VENV)/bin/araie
RECIPE ?= train/default.yaml
MODEL ?= model
DATA ?= annotations
CHECKPOINT ?= runs/train/default/best
CORPUS ?= ../shared/corpus/saudinewsnet.jsonl.gz
PRETRAIN_OUT ?= runs/pretrain/rel-4x256
ENCODER ?= encoders/rel-4x256
DEMO_TEXT ?= قال المرصد السوري لحقوق الإنسان إن قوات النظام وحلفاءها سيطرت على حي الشعار في شرق حلب يوم الثلاثاء، وإن 12 مدنياً قتلوا بقصف الطائرات الروسية على مدينة إدلب.

.PHONY: demo test lint validate stats pretrain promote-encoder train evaluate export bench clean

$(VENV)/.stamp: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

demo: $(VENV)/.stamp
	@echo "$(DEMO_TEXT)"
	@echo "$(DEMO_TEXT)" | $(ARAIE) predict --model $(MODEL) --format table

test: $(VENV)/.stamp
	$(PY) -m pytest -q

lint: $(VENV)/.stamp
	$(VENV)/bin/ruff check araie tests

validate: $(VENV)/.stamp
	$(ARAIE) validate $(DATA)

stats: $(VENV)/.stamp
	$(ARAIE) stats $(DATA)

# pretrain: the shipped encoder's recipe (50 min of training on a 2-core CPU with AVX512-BF16, after the tokenizer
# and the tokenised corpus are built; resumes from its last checkpoint when run again). It writes runs/ only;
# `make promote-encoder` then copies the result into $(ENCODER), the folder train/default.yaml fine-tunes from
# (do it when a model fine-tuned from the new encoder scores better on dev; git keeps the old one).
pretrain: $(VENV)/.stamp
	$(ARAIE) pretrain --corpus $(CORPUS) --out $(PRETRAIN_OUT) --vocab-size 24000 --layers 4 --hidden 256 \
		--heads 4 --intermediate 1024 --position relative_key --dropout 0 --steps 3600 --save-steps 200

promote-encoder: $(VENV)/.stamp
	$(ARAIE) promote-encoder $(PRETRAIN_OUT)/encoder $(ENCODER) --force \
		--eval-data $(DATA)/docs/seeds.jsonl $(DATA)/docs/authored.jsonl  # texts the corpus does not hold

train: $(VENV)/.stamp
	$(ARAIE) train $(RECIPE)

# evaluate: the shipped model on the held-out seed articles -> eval/seeds.{json,md,png}, and on the held-out
# real news -> eval/news.{json,md,png}
evaluate: $(VENV)/.stamp
	$(PY) -c "import matplotlib" 2>/dev/null || $(PY) -m pip install -q -e ".[plot]"
	$(ARAIE) evaluate --model $(MODEL) --data $(DATA)/docs --split test --out eval/seeds
	$(ARAIE) evaluate --model $(MODEL) --data $(DATA)/docs --split test_news --out eval/news

# export: the checkpoint -> model/, evaluated on both held-out splits, card written with the scores
export: $(VENV)/.stamp
	$(ARAIE) export $(CHECKPOINT) --out $(MODEL) --force
	$(MAKE) evaluate
	$(ARAIE) card $(MODEL) --metrics eval/seeds.json eval/news.json --notes train/default.card.md

# bench: throughput and peak memory (eval/bench.md, eval/bench.json); run it on a quiet machine.
bench: $(VENV)/.stamp
	$(PY) -c "import onnx, onnxruntime" 2>/dev/null || $(PY) -m pip install -q -e ".[onnx]"
	$(PY) -m araie.bench --out eval/bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
