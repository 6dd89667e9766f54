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


def test_pretrain_lowers_the_masked_lm_loss_and_resumes(tmp_path, news_corpus, capsys):
    out = tmp_path / "run"
    assert main(["pretrain", "--corpus", str(news_corpus), "--out", str(out), "--steps", "40",
                 "--position", "relative_key", *TINY]) == 0
    state, first = losses(out, 40)
    assert state["global_step"] == 40 and len(first) == 20  # logged every 2 steps
    assert sum(first[-5:]) / 5 < sum(first[:5]) / 5 - 0.3  # the loss falls (from ln(400) ~ 6)

    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(out / "encoder")
    assert (config.num_hidden_layers, config.hidden_size, config.architectures) == (2, 32, ["BertForMaskedLM"])
    assert config.position_embedding_type == "relative_key"
    tokenizer = AutoTokenizer.from_pretrained(out / "encoder")
    assert len(tokenizer) == config.vocab_size <= 400
    # trained on normalised text: no tatweel or tashkeel piece, digits unified to ASCII
    assert not [t for t in tokenizer.get_vocab() if any(ch in t for ch in "\u0640\u064b\u064e\u0660\u0665")]
    saved = json.loads((out / "pretrain.json").read_text(encoding="utf-8"))
    assert saved["steps"] == 40 and saved["normalize"]["split_clitics"] is True

    # resuming with another model than the checkpoints hold is refused, naming the field
    assert main(["pretrain", "--corpus", str(news_corpus), "--out", str(out), "--steps", "60", *TINY]) == 2
    assert "position was 'relative_key', this run says 'absolute'" in capsys.readouterr().err
    # run again with a longer schedule, without dropout: it continues from checkpoint-40, it does not start over
    assert main(["pretrain", "--corpus", str(news_corpus), "--out", str(out), "--steps", "60", "--dropout", "0",
                 "--position", "relative_key", *TINY]) == 0
    state, resumed = losses(out, 60)
    assert state["global_step"] == 60 and resumed[:20] == first and len(resumed) > 20
    trained = AutoConfig.from_pretrained(out / "checkpoints" / "checkpoint-60")
    assert trained.hidden_dropout_prob == trained.attention_probs_dropout_prob == 0.0
    # the saved encoder is for fine-tuning: it declares BERT's dropout, not the pretraining choice
    saved = AutoConfig.from_pretrained(out / "encoder")
    assert saved.hidden_dropout_prob == saved.attention_probs_dropout_prob == 0.1


def test_a_corrupt_corpus_line_is_named(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_text('{"title": "حلب", "content": "قصف"}\n{"title": "حمص"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"news\.jsonl:2: invalid JSON"):
        list(iter_corpus(path))


@pytest.fixture(scope="module")
def unigram_encoder(tmp_path_factory, seed_docs):
    """A masked-LM whose head ignores the context: logits are log-frequencies of the seed articles."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    from araie.pretrain import masked_lm_blocks
    from tests.conftest import build_tiny_encoder

    folder = build_tiny_encoder(tmp_path_factory.mktemp("unigram"), [d.text for d in seed_docs], vocab_size=600)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    blocks = masked_lm_blocks(tokenizer, [d.text for d in seed_docs], max_length=64)
    plain = ~torch.isin(blocks, torch.tensor(tokenizer.all_special_ids))
    counts = torch.bincount(blocks[plain], minlength=len(tokenizer)).float()
    model = BertForMaskedLM(BertConfig.from_pretrained(folder))
    with torch.no_grad():
        model.cls.predictions.decoder.weight.zero_()  # tied: the word embeddings are zero too
        model.cls.predictions.bias.copy_((counts + 1e-9).log())
    model.save_pretrained(folder)
    return folder, tokenizer, blocks


def test_whole_word_mask_takes_every_piece_of_a_word_and_no_special_token(unigram_encoder):
    from araie.pretrain import whole_word_mask

    _, tokenizer, blocks = unigram_encoder
    mask = whole_word_mask(blocks, tokenizer, probability=0.3, seed=7)
    assert mask.equal(whole_word_mask(blocks, tokenizer, probability=0.3, seed=7))
    assert not mask.equal(whole_word_mask(blocks, tokenizer, probability=0.3, seed=8))
    assert not mask[:, 0].any() and not mask[:, -1].any()
    words = []
    for row, row_mask in zip(blocks.tolist(), mask.tolist(), strict=True):
        pieces = tokenizer.convert_ids_to_tokens(row)
        for i, piece in enumerate(pieces[1:-1], start=1):
            if piece.startswith("##") and i > 1:  # a block may start inside a word: its tail is one unit
                words[-1].append(row_mask[i])
            else:
                words.append([row_mask[i]])
    split_words = [w for w in words if len(w) > 1]
    assert len(split_words) > 50  # a 600-piece vocabulary cuts many Arabic words into pieces
    assert all(len(set(w)) == 1 for w in words)  # a word is masked whole or not at all
    share = sum(w[0] for w in words) / len(words)
    assert 0.25 < share < 0.35


def test_mlm_eval_scores_a_context_free_head_at_the_reference(unigram_encoder, seed_docs, capsys):
    from araie.pretrain import masked_lm_score

    folder, _, blocks = unigram_encoder
    score = masked_lm_score(folder, [d.text for d in seed_docs], max_length=64)
    assert score["blocks"] == len(blocks) and score["masked"] > 200
    # the head predicts the texts' own subword frequencies whatever it sees: the unigram yardstick
    # exactly, and context buys it nothing
    assert score["loss"] == pytest.approx(score["unigram_loss"], abs=1e-4)
    assert score["blind_loss"] == pytest.approx(score["loss"], abs=1e-4)
    assert score["unigram_loss"] < score["vocab_loss"]
    assert main(["mlm-eval", str(folder), "--data", "annotations/docs/seeds.jsonl", "--max-length", "64"]) == 0
    line = capsys.readouterr().out
    assert f"{score['masked']} masked subwords in {len(blocks)} blocks: loss {score['loss']:.3f}" in line
    assert "(context gains 0.00 nats)" in line


def test_mlm_eval_blind_loss_hides_the_context(unigram_encoder, seed_docs, tmp_path):
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from araie.pretrain import masked_lm_score

    folder, tokenizer, _ = unigram_encoder
    torch.manual_seed(3)
    # large random weights: what the model outputs depends strongly on what it sees
    BertForMaskedLM(BertConfig.from_pretrained(folder, initializer_range=0.5)).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    texts = [d.text for d in seed_docs]
    score = masked_lm_score(tmp_path, texts, max_length=64)
    # a random encoder's guesses change with what it sees: blind and sighted losses differ
    assert abs(score["blind_loss"] - score["loss"]) > 0.01  # 1e-4 at BERT's 0.02 init, 0.09 here
    assert masked_lm_score(tmp_path, texts, max_length=64, seed=1)["masked"] != score["masked"]


def test_mlm_eval_names_a_missing_data_path(unigram_encoder, capsys):
    assert main(["mlm-eval", str(unigram_encoder[0]), "--data", "no-such.jsonl"]) == 2
    assert "araie mlm-eval: error: no-such.jsonl: no such file or folder" in capsys.readouterr().err


def test_promote_encoder_stores_fp16_that_fine_tuning_loads_in_fp32(tmp_path, news_corpus, capsys):
    import torch
    from safetensors import safe_open
    from transformers import AutoModel, AutoModelForMaskedLM

    run = tmp_path / "run"
    assert main(["pretrain", "--corpus", str(news_corpus), "--out", str(run), "--steps", "20", *TINY]) == 0
    dest = tmp_path / "encoders" / "tiny"
    seeds = "annotations/docs/seeds.jsonl"
    assert main(["promote-encoder", str(run / "encoder"), str(dest), "--eval-data", seeds]) == 0
    with safe_open(dest / "model.safetensors", "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    summary = json.loads((dest / "pretraining.json").read_text(encoding="utf-8"))
    assert summary["steps"] == 20 and summary["subwords_seen"] == 20 * 8 * 64
    assert summary["pretrain"]["layers"] == 2 and summary["stored_as"] == "float16"
    assert summary["training_loss"]["last"] < summary["training_loss"]["first"]
    assert summary["mlm_eval"]["masked"] > 100 and summary["train_runtime_s"] >= 0
    card = (dest / "README.md").read_text(encoding="utf-8")
    assert "CC BY-NC-SA 4.0" in card and "20 steps, 10,240 subwords seen" in card

    # fine-tuning loads the stored fp16 weights back in fp32, equal to the run's up to fp16 rounding
    promoted = AutoModel.from_pretrained(dest)
    original = AutoModel.from_pretrained(run / "encoder")
    assert promoted.dtype == torch.float32
    ids = torch.tensor([[2, 50, 60, 70, 3]])
    assert torch.allclose(promoted(ids).last_hidden_state, original(ids).last_hidden_state, atol=2e-2)
    _, info = AutoModelForMaskedLM.from_pretrained(dest, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []  # the masked-LM head came along
    from araie.recipe import load_recipe
    from araie.schema import Schema
    from araie.training import build_model

    model = build_model(load_recipe("train/default.yaml", [f"model.encoder={dest}"]), Schema.load())
    assert {p.dtype for p in model.parameters()} == {torch.float32}  # fp16 storage, fp32 training
    assert model(input_ids=ids).logits.dtype == torch.float32

    # nothing is overwritten without asking; a folder that is no encoder is named
    assert main(["promote-encoder", str(run / "encoder"), str(dest)]) == 2
    assert f"{dest} exists; pass --force" in capsys.readouterr().err
    assert main(["promote-encoder", str(run), str(tmp_path / "x")]) == 2
    assert "no encoder (config.json missing)" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
