"""The joint model and its training: loss falls, both heads speak, save/load is exact, recipes work."""

from __future__ import annotations

import json

import pytest
import torch

from araie.recipe import RecipeError, load_recipe
from araie.schema import Schema, bio_labels, relation_labels
from araie.training import Collator, build_model, build_tokenizer, to_dataset, train


def write_splits(tmp_path, docs, dev=()):
    path = tmp_path / "splits.json"
    path.write_text(json.dumps({d.id: ("dev" if d.id in dev else "train") for d in docs}))
    return path


def tiny_recipe(tmp_path, encoder, splits, corpus="tests/fixtures/tiny.jsonl", epochs=3, extra=()):
    return load_recipe("train/default.yaml", [
        f"model.encoder={encoder}", "model.max_length=64", "model.overlap=8", "model.relation_hidden=32",
        f"data.corpus=[{corpus}]", f"data.splits={splits}", f"training.output_dir={tmp_path / 'run'}",
        f"training.num_train_epochs={epochs}", "training.learning_rate=0.003", "training.warmup_ratio=0.0",
        "training.per_device_train_batch_size=4", "training.save_total_limit=1", *extra])


def test_loss_falls_and_both_heads_are_well_formed(tmp_path, tiny_encoder, tiny_docs):
    recipe = tiny_recipe(tmp_path, tiny_encoder, write_splits(tmp_path, tiny_docs), epochs=1)
    schema = Schema.load()
    tokenizer = build_tokenizer(str(tiny_encoder))
    torch.manual_seed(0)
    model = build_model(recipe, schema)
    rows = to_dataset(tiny_docs, tokenizer, schema, recipe, sample=False)
    batch = Collator(tokenizer.pad_token_id)([rows[i] for i in range(len(rows))])
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        out = model(**batch)
        out.loss.backward()
        optimiser.step()
        optimiser.zero_grad()
        losses.append(out.loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert out.logits.shape == (*batch["input_ids"].shape, len(bio_labels(schema)))
    assert out.relation_logits.shape == (*batch["pair_heads"].shape, len(relation_labels(schema)))
    assert torch.isfinite(out.ner_loss) and torch.isfinite(out.relation_loss)


def test_train_prints_dev_scores_saves_best_and_reloads_identically(tmp_path, tiny_encoder, tiny_docs):
    from araie.extractor import Extractor

    splits = write_splits(tmp_path, tiny_docs, dev={"tiny_003"})
    best = train(tiny_recipe(tmp_path, tiny_encoder, splits, epochs=2), resume=False)
    log = json.loads((tmp_path / "run" / "train_log.json").read_text())
    evals = [e for e in log if "eval_entity_f1" in e]
    assert [e["epoch"] for e in evals] == [1.0, 2.0]
    assert all(0.0 <= e["eval_relation_f1"] <= 1.0 for e in evals)
    assert (best / "recipe.yaml").exists() and (best / "model.safetensors").exists()
    first = Extractor.from_pretrained(best, device="cpu")([d.text for d in tiny_docs])
    second = Extractor.from_pretrained(best, device="cpu")([d.text for d in tiny_docs])
    assert [d.to_json() for d in first] == [d.to_json() for d in second]


def test_training_resumes_from_its_checkpoint(tmp_path, tiny_encoder, tiny_docs):
    splits = write_splits(tmp_path, tiny_docs, dev={"tiny_003"})
    train(tiny_recipe(tmp_path, tiny_encoder, splits, epochs=1), resume=False)
    assert list((tmp_path / "run").glob("checkpoint-*"))
    train(tiny_recipe(tmp_path, tiny_encoder, splits, epochs=2), resume=True)
    log = json.loads((tmp_path / "run" / "train_log.json").read_text())
    assert [e["epoch"] for e in log if "eval_entity_f1" in e] == [1.0, 2.0]


def test_arabertv02_recipe_runs_the_same_path_with_a_stand_in_encoder(tmp_path, tiny_encoder, tiny_docs):
    recipe = load_recipe("train/arabertv02.yaml", [
        f"model.encoder={tiny_encoder}", "model.max_length=64", "model.overlap=8",
        "data.corpus=[tests/fixtures/tiny.jsonl]", f"data.splits={write_splits(tmp_path, tiny_docs)}",
        f"training.output_dir={tmp_path / 'arabert'}", "training.num_train_epochs=1"])
    assert load_recipe("train/arabertv02.yaml").model.encoder == "aubmindlab/bert-base-arabertv02"
    best = train(recipe, resume=False)
    config = json.loads((best / "config.json").read_text())
    assert config["relation_labels"][0] == "NONE" and config["window_length"] == 64


@pytest.mark.parametrize("override, message", [
    ("model.encdoer=x", "unknown key model.encdoer"),
    ("model.max_length=abc", "model.max_length must be int"),
    ("model.init=scratch", "model.init must be 'pretrained' or 'random'"),
    ("optimizer.lr=1", "unknown section 'optimizer'"),
    ("data.fraction=0", "data.fraction must be in (0, 1]"),
])
def test_bad_recipes_fail_before_training_naming_the_key(override, message):
    with pytest.raises(RecipeError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_recipe("train/default.yaml", [override])


def test_bad_corpus_fails_before_training_naming_the_record(tmp_path, tiny_encoder, tiny_docs):
    bad = tmp_path / "bad.jsonl"
    rec = tiny_docs[0].to_json()
    rec["entities"][0]["text"] = "خطأ"
    bad.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    recipe = tiny_recipe(tmp_path, tiny_encoder, write_splits(tmp_path, tiny_docs[:1]), corpus=str(bad))
    with pytest.raises(RecipeError, match="record tiny_001, field entities\\[0\\].text"):
        train(recipe)


def test_labels_come_from_the_schema_not_the_data(tmp_path, tiny_encoder, tiny_docs):
    recipe = tiny_recipe(tmp_path, tiny_encoder, write_splits(tmp_path, tiny_docs))
    model = build_model(recipe, Schema.load())
    assert model.config.id2label[0] == "O" and model.config.id2label[1] == "B-PER"
    assert model.config.id2label[20] == "I-QUANTITY"
    assert model.config.relation_labels == ["NONE", "CONTROLS", "ATTACKS", "ALLY_OF", "MEMBER_OF", "LOCATED_IN",
                                            "CASUALTIES_AT", "CASUALTIES_BY"]


def test_numbers_in_yaml_1_1_exponent_form_are_numbers(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("training:\n  learning_rate: 3e-4\n  eval_strategy: no\n", encoding="utf-8")
    recipe = load_recipe(path, ["training.weight_decay=1e-2"])
    assert recipe.training["learning_rate"] == 3e-4 and recipe.training["weight_decay"] == 0.01
    assert recipe.training["eval_strategy"] == "no"


def test_fraction_of_one_source_keeps_the_other_whole(tmp_path, corpus_docs):
    from araie.records import Document
    from araie.training import load_split_documents

    authored = [d for d in corpus_docs if d.meta.get("source") == "authored"][:20]
    docs = [Document(d.id, d.text, d.entities, d.relations, {"source": "wire" if i % 2 else "authored"})
            for i, d in enumerate(authored)]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(d.to_json(), ensure_ascii=False) + "\n" for d in docs),
                                      encoding="utf-8")
    splits = write_splits(tmp_path, docs)

    def train_ids(*overrides):
        recipe = load_recipe("train/default.yaml", [f"data.corpus=[{tmp_path / 'c.jsonl'}]", f"data.splits={splits}",
                                                    *overrides])
        return {d.id for d in load_split_documents(recipe, Schema.load())[0]}

    wire = {d.id for d in docs if d.meta["source"] == "wire"}
    quarter = train_ids("data.fraction=0.25", "data.fraction_source=wire")
    assert quarter - wire == {d.id for d in docs} - wire and len(quarter & wire) == round(len(wire) * 0.25)
    assert quarter <= train_ids("data.fraction=0.5", "data.fraction_source=wire")  # the curve's shares are nested
    with pytest.raises(RecipeError, match="data.fraction_source 'other': no training document has it"):
        train_ids("data.fraction=0.5", "data.fraction_source=other")
