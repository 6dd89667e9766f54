"""Training on your own labels: an entity-only CoNLL file to an evaluated model, continuing from an
exported model, a clear error for a missing encoder, dev scores as `araie evaluate` gives them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from araie.cli import main
from araie.recipe import RecipeError, load_recipe
from araie.schema import Schema
from araie.training import build_model, build_tokenizer, train

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = ["جورج بوش", "بشار الأسد", "جون كيري", "فلاديمير بوتين"]
PLACES = ["دمشق", "حلب", "موسكو", "بيروت", "إدلب"]
GROUPS = ["الأمم المتحدة", "الجيش السوري", "المرصد السوري"]
EVENTS = ["مؤتمر جنيف", "اتفاق الهدنة"]


def _tagged(name: str, tag: str) -> list[str]:
    return [f"{word} {'B' if i == 0 else 'I'}-{tag}" for i, word in enumerate(name.split())]


def entity_only_conll(sentences: int = 24) -> str:
    """ANERcorp-style `token TAG` lines (PERS/LOC/ORG/MISC), no -DOCSTART-, a blank line per sentence."""
    out = []
    for n in range(sentences):
        per, loc, org, misc = PEOPLE[n % 4], PLACES[n % 5], GROUPS[n % 3], EVENTS[n % 2]
        if n % 2:
            lines = ["قال O", *_tagged(per, "PERS"), "في O", *_tagged(loc, "LOC"), "إن O", *_tagged(org, "ORG"),
                     "تدعم O", *_tagged(misc, "MISC"), ". O"]
        else:
            lines = ["وصل O", *_tagged(per, "PERS"), "إلى O", *_tagged(loc, "LOC"), "للقاء O", "وفد O",
                     *_tagged(org, "ORG"), ". O"]
        out.append("\n".join(lines) + "\n\n")
    return "".join(out)


def conll_recipe(tmp_path, encoder, corpus, splits, epochs=3, extra=()):
    return load_recipe(ROOT / "train/conll-ner.yaml", [
        f"model.encoder={encoder}", "model.max_length=64", "model.overlap=8", "model.relation_hidden=32",
        f"data.corpus=[{corpus}]", f"data.splits={splits}", f"training.output_dir={tmp_path / 'run'}",
        f"training.num_train_epochs={epochs}", "training.learning_rate=0.003", "model.encoder_learning_rate=0.002",
        "training.warmup_ratio=0.0", "training.per_device_train_batch_size=4", "training.save_total_limit=1",
        *extra])


@pytest.fixture(scope="module")
def conll_corpus(tmp_path_factory):
    """The README's first two commands on a generated entity-only CoNLL file."""
    tmp = tmp_path_factory.mktemp("conll")
    (tmp / "corpus.txt").write_text(entity_only_conll(), encoding="utf-8")
    assert main(["convert", str(tmp / "corpus.txt"), str(tmp / "ner.jsonl"), "--from", "conll", "--type-map",
                 "PERS=PER", "LOC=GPE", "--drop-types", "MISC", "--doc-size", "4"]) == 0
    assert main(["split", str(tmp / "ner.jsonl"), "--out", str(tmp / "splits.json"), "--dev", "0.34"]) == 0
    return tmp / "ner.jsonl", tmp / "splits.json"


@pytest.fixture(scope="module")
def conll_model(tmp_path_factory, tiny_encoder, conll_corpus):
    tmp = tmp_path_factory.mktemp("conll_run")
    records: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: records.append(record.getMessage())
    logger = logging.getLogger("araie")
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.INFO
    try:
        best = train(conll_recipe(tmp, tiny_encoder, *conll_corpus, epochs=3), resume=False)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    (tmp / "log.txt").write_text("\n".join(records), encoding="utf-8")
    return tmp, best


def test_entity_only_corpus_selects_on_entity_f1_as_evaluate_computes_it(conll_model, conll_corpus, capsys):
    tmp, best = conll_model
    splits = json.loads(conll_corpus[1].read_text())
    assert sorted(splits.values()).count("dev") == 2 and len(splits) == 6  # 24 sentences, 4 per document
    evals = [e for e in json.loads((tmp / "run" / "train_log.json").read_text()) if "eval_entity_f1" in e]
    assert len(evals) == 3
    assert all("eval_relation_f1" not in e and e["eval_score"] == e["eval_entity_f1"] for e in evals)
    capsys.readouterr()
    assert main(["evaluate", "--model", str(best), "--data", str(conll_corpus[0]), "--splits", str(conll_corpus[1]),
                 "--split", "dev"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["documents"] == 2
    assert report["entities_strict_f1"] == round(max(e["eval_entity_f1"] for e in evals), 4) > 0


def test_the_log_says_what_selects_the_best_checkpoint(conll_model):
    log = (conll_model[0] / "log.txt").read_text(encoding="utf-8")
    assert "best checkpoint selected on the dev entity F1 (the dev documents hold no relations)" in log
    assert "epoch 3: dev entity F1" in log and "relation F1" not in log


def test_training_continues_from_an_exported_model(tmp_path, conll_model, conll_corpus):
    from transformers import AutoTokenizer

    from araie.hf.modeling_araie import AraieForInformationExtraction

    exported = tmp_path / "exported"
    assert main(["export", str(conll_model[1]), "--out", str(exported)]) == 0
    source = AraieForInformationExtraction.from_pretrained(exported)
    # same labels: encoder and both heads come back as they were
    same = build_model(conll_recipe(tmp_path, exported, *conll_corpus), Schema.load())
    for name, tensor in source.state_dict().items():
        assert torch.equal(same.state_dict()[name], tensor), name
    # the tokenizer is the exported one, normaliser included (not installed twice)
    text = "قال بالجيش السوري إن 12 مدنياً قتلوا"
    ours, theirs = build_tokenizer(str(exported)), AutoTokenizer.from_pretrained(exported)
    assert ours(text, return_offsets_mapping=True).data == theirs(text, return_offsets_mapping=True).data
    # a new label set: rows of the shared labels kept, a new type and the relation head start fresh
    schema_path = tmp_path / "schema.json"
    schema_path.write_text(json.dumps({"entity_types": ["PER", "GPE", "ORG", "MISC"], "relation_types": []}))
    recipe = conll_recipe(tmp_path, exported, *conll_corpus, epochs=1, extra=[f"data.schema={schema_path}"])
    new = build_model(recipe, Schema.load(schema_path))
    old_row = {label: i for i, label in source.config.id2label.items()}
    kept = [label for row, label in new.config.id2label.items() if label in old_row
            and torch.equal(new.classifier.weight[row], source.classifier.weight[old_row[label]])]
    assert kept == ["O", "B-PER", "I-PER", "B-GPE", "I-GPE", "B-ORG", "I-ORG"]
    assert torch.equal(new.bert.embeddings.word_embeddings.weight, source.bert.embeddings.word_embeddings.weight)
    assert new.relation.mlp[-1].out_features == 1
    best = train(recipe, resume=False)
    assert json.loads((best / "config.json").read_text())["id2label"]["7"] == "B-MISC"


def test_conll_recipe_starts_from_the_shipped_model():
    if not (ROOT / "model" / "config.json").exists():
        pytest.skip("no shipped model")
    from araie.hf.modeling_araie import AraieForInformationExtraction

    recipe = load_recipe(ROOT / "train/conll-ner.yaml", [f"model.encoder={ROOT / 'model'}"])
    model = build_model(recipe, Schema.load())
    shipped = AraieForInformationExtraction.from_pretrained(ROOT / "model")
    assert torch.equal(model.classifier.weight, shipped.classifier.weight)
    assert torch.equal(model.relation.project.weight, shipped.relation.project.weight)
    assert model.config.clitic_lexicon == shipped.config.clitic_lexicon


@pytest.mark.parametrize("encoder", ["runs/pretrain/no-such-run/encoder", "tests/no-such-encoder", "./nowhere"])
def test_a_missing_encoder_folder_is_an_araie_error_naming_the_key(tmp_path, tiny_docs, encoder):
    recipe = load_recipe(ROOT / "train/default.yaml", [f"model.encoder={encoder}",
                                                       f"training.output_dir={tmp_path / 'run'}"])
    with pytest.raises(RecipeError, match=f"model.encoder: encoder folder {encoder} not found; run `make pretrain`"):
        train(recipe)


def test_from_encoder_accepts_an_araie_config():
    from araie.hf.configuration_araie import AraieConfig

    if not (ROOT / "model" / "config.json").exists():
        pytest.skip("no shipped model")
    source = AraieConfig.from_pretrained(ROOT / "model")
    config = AraieConfig.from_encoder(source, relation_labels=["NONE"], window_length=64)
    assert config.to_dict()["model_type"] == source.encoder_model_type == "bert"
    assert config.window_length == 64 and config.relation_labels == ["NONE"]
    assert config.hidden_size == source.hidden_size and "auto_map" not in config.to_dict()


def test_encoder_learning_rate_and_layer_decay_give_each_layer_its_rate(tiny_encoder):
    from araie.optim import parameter_groups

    recipe = load_recipe(ROOT / "train/default.yaml", [f"model.encoder={tiny_encoder}", "model.max_length=64",
                                                        "model.overlap=8", "model.relation_hidden=32"])
    model = build_model(recipe, Schema.load())
    named = dict(model.named_parameters())
    groups = parameter_groups(model, 1e-3, 1e-4, 0.5, 0.01, {n for n in named if not n.endswith("bias")})
    lr = {id(p): g["lr"] for g in groups for p in g["params"]}
    decay = {id(p): g["weight_decay"] for g in groups for p in g["params"]}
    assert len(lr) == len(named)
    assert lr[id(named["classifier.weight"])] == lr[id(named["relation.project.weight"])] == 1e-3
    assert lr[id(named["bert.encoder.layer.1.output.dense.weight"])] == 1e-4  # the top of two layers
    assert lr[id(named["bert.encoder.layer.0.output.dense.weight"])] == 5e-5
    assert lr[id(named["bert.embeddings.word_embeddings.weight"])] == 2.5e-5
    assert decay[id(named["classifier.weight"])] == 0.01 and decay[id(named["classifier.bias"])] == 0.0


def test_label_smoothing_reaches_the_token_loss(tiny_encoder, tiny_docs):
    from araie.training import Collator, to_dataset

    losses = []
    for smoothing in (0.0, 0.2):
        recipe = load_recipe(ROOT / "train/default.yaml", [
            f"model.encoder={tiny_encoder}", "model.max_length=64", "model.overlap=8", "model.relation_hidden=32",
            f"model.label_smoothing={smoothing}"])
        torch.manual_seed(0)
        model = build_model(recipe, Schema.load()).eval()
        tokenizer = build_tokenizer(str(tiny_encoder))
        rows = to_dataset(tiny_docs[:1], tokenizer, Schema.load(), recipe, sample=False)
        losses.append(model(**Collator(tokenizer.pad_token_id)([rows[0]])).ner_loss.item())
        assert model.config.label_smoothing == smoothing
    assert losses[0] != pytest.approx(losses[1])


@pytest.mark.parametrize("override, message", [
    ("model.encoder_learning_rate=fast", "model.encoder_learning_rate must be a number >= 0 or null"),
    ("model.layer_decay=0", r"model.layer_decay must be in \(0, 1\]"),
    ("model.label_smoothing=1.5", r"model.label_smoothing must be in \[0, 1\)"),
    ("training.label_smoothing_factor=0.1", "use model.label_smoothing"),
])
def test_bad_optimisation_knobs_fail_naming_the_key(override, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe(ROOT / "train/default.yaml", [override])


def test_exponent_form_encoder_learning_rate_in_yaml_is_a_number(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("model:\n  encoder_learning_rate: 3e-5\n", encoding="utf-8")
    assert load_recipe(path).model.encoder_learning_rate == 3e-5
