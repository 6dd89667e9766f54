"""`araie pretrain`: tokenizer + compact BERT with whole-word masked-LM on a small Arabic corpus."""

from __future__ import annotations

import gzip
import json

import pytest

from araie.cli import main
from araie.pretrain import iter_corpus

TINY = ["--vocab-size", "400", "--layers", "2", "--hidden", "32", "--heads", "2", "--intermediate", "64",
        "--max-length", "64", "--batch-size", "8", "--learning-rate", "3e-3", "--save-steps", "20"]


@pytest.fixture(scope="module")
def news_corpus(tmp_path_factory, corpus_docs):
    """The annotated documents, written in SaudiNewsNet's layout (title, content) as `.jsonl.gz`."""
    path = tmp_path_factory.mktemp("corpus") / "news.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for d in corpus_docs:
            title, _, content = d.text.partition("\n")
            fh.write(json.dumps({"title": title, "content": content, "url": d.id}, ensure_ascii=False) + "\n")
    return path


def losses(run_dir, step):
    state = json.loads((run_dir / "checkpoints" / f"checkpoint-{step}" / "trainer_state.json").read_text())
    return state, [h["loss"] for h in state["log_history"] if "loss" in h]


def test_pretrain_lowers_the_masked_lm_loss_and_resumes(tmp_path, news_corpus):
    out = tmp_path / "run"
    assert main(["pretrain", "--corpus", str(news_corpus), "--out", str(out), "--steps", "40", *TINY]) == 0
    state, first = losses(out, 40)
    assert state["global_step"] == 40 and len(first) == 20  # logged every 2 steps
    assert sum(first[-5:]) / 5 < sum(first[:5]) / 5 - 0.3  # the loss falls (from ln(400) ~ 6)

    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(out / "encoder")
    assert (config.num_hidden_layers, config.hidden_size, config.architectures) == (2, 32, ["BertForMaskedLM"])
    tokenizer = AutoTokenizer.from_pretrained(out / "encoder")
    assert len(tokenizer) == config.vocab_size <= 400
    # trained on normalised text: no tatweel or tashkeel piece, digits unified to ASCII
    assert not [t for t in tokenizer.get_vocab() if any(ch in t for ch in "\u0640\u064b\u064e\u0660\u0665")]
    saved = json.loads((out / "pretrain.json").read_text(encoding="utf-8"))
    assert saved["steps"] == 40 and saved["normalize"]["split_clitics"] is True

    # run again with a longer schedule: it continues from checkpoint-40, it does not start over
    assert main(["pretrain", "--corpus", str(news_corpus), "--out", str(out), "--steps", "60", *TINY]) == 0
    state, resumed = losses(out, 60)
    assert state["global_step"] == 60 and resumed[:20] == first and len(resumed) > 20


def test_a_corrupt_corpus_line_is_named(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_text('{"title": "حلب", "content": "قصف"}\n{"title": "حمص"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"news\.jsonl:2: invalid JSON"):
        list(iter_corpus(path))
