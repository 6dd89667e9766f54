"""Per-type relation thresholds: the choice on hand-made scored predictions, their precedence in the
pipeline, symmetric pairs decided once, the refusal of test splits, and the written config.json."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import pytest

from araie.cli import main
from araie.hf.configuration_araie import AraieConfig
from araie.hf.pipeline_araie import relation_thresholds, select_relations
from araie.schema import Schema, relation_labels
from araie.thresholds import TuningSplitError, choose_thresholds, refuse_test_split, tune_thresholds, write_thresholds

R, W = True, False  # a prediction strictly right or wrong


def test_the_threshold_of_best_strict_f1_is_picked_per_type():
    outcomes = [
        # A, gold 4: keeping down to 0.95 -> F1 2*1/(1+4) = 0.4; 0.9 -> 2/6; 0.8 -> 4/7; 0.7 -> 4/8; 0.6 -> 4/9;
        # 0.3 -> 6/10 = 0.6, the best
        ("A", 0.95, R), ("A", 0.9, W), ("A", 0.8, R), ("A", 0.7, W), ("A", 0.6, W), ("A", 0.3, R),
        # B, gold 2: 0.9 -> 2/3; 0.8 -> 2/4; 0.7 -> 2/5; 0.6 -> 4/6 = 2/3 again: the tie goes to the higher, 0.9
        ("B", 0.6, R), ("B", 0.9, R), ("B", 0.8, W), ("B", 0.7, W),
        # C, gold 1: equal scores are kept together: 0.8 keeps both (2/3), 0.5 keeps three (2/4)
        ("C", 0.8, W), ("C", 0.8, R), ("C", 0.5, W),
        ("D", 0.99, W),  # D: no gold relation on dev
        ("E", 0.7, W),  # E: gold 2, never right
    ]
    gold = Counter({"A": 4, "B": 2, "C": 1, "E": 2})
    got = {c.type: c for c in choose_thresholds(outcomes, gold, ["A", "B", "C", "D", "E", "F"], 0.5)}
    assert (got["A"].threshold, got["A"].predicted, got["A"].tp) == (0.3, 6, 3)
    assert got["A"].f1 == pytest.approx(0.6) and got["A"].f1_global == pytest.approx(4 / 9)  # 0.95..0.6 kept at 0.5
    assert (got["B"].threshold, got["B"].predicted, got["B"].f1) == (0.9, 1, pytest.approx(2 / 3))
    assert (got["C"].threshold, got["C"].predicted, got["C"].tp) == (0.8, 2, 1)
    for t, reason in (("D", "no gold relation on dev"), ("E", "no right prediction on dev"),
                      ("F", "no gold relation on dev")):
        assert (got[t].threshold, got[t].tuned, got[t].reason) == (0.5, False, reason)
    assert all(got[t].tuned for t in "ABC")


@pytest.mark.parametrize("split", ["test", "test_news", "TEST"])
def test_tuning_on_a_test_split_is_refused_before_anything_loads(split, tmp_path, capsys):
    with pytest.raises(TuningSplitError, match="thresholds are chosen on dev only"):
        refuse_test_split(split)
    with pytest.raises(TuningSplitError):
        tune_thresholds(tmp_path / "no-model", [str(tmp_path / "no-data")], split=split)
    assert main(["tune-thresholds", "--model", str(tmp_path / "no-model"), "--data", "x", "--split", split]) == 2
    assert "thresholds are chosen on dev only" in capsys.readouterr().err


def config(**kwargs) -> AraieConfig:
    schema = Schema.load()
    return AraieConfig(relation_labels=relation_labels(schema), schema=schema.to_dict(), **kwargs)


def test_override_beats_per_type_which_beats_global():
    cfg = config(relation_threshold=0.5, relation_thresholds={"CONTROLS": 0.9, "ATTACKS": 0.2})
    got = relation_thresholds(cfg)
    assert (got["CONTROLS"], got["ATTACKS"], got["ALLY_OF"]) == (0.9, 0.2, 0.5)
    assert set(relation_thresholds(cfg, 0.7).values()) == {0.7}
    assert set(relation_thresholds(config()).values()) == {0.5}  # no key: today's behaviour


ARMY, SHAAR, HEZB = (4, 16, "ORG"), (28, 37, "LOC"), (51, 59, "ORG")
INDEX = {ARMY: {"id": "T1", "type": "ORG"}, SHAAR: {"id": "T2", "type": "LOC"}, HEZB: {"id": "T3", "type": "ORG"}}


def test_select_relations_applies_each_types_threshold():
    scored = {(ARMY, SHAAR, "CONTROLS"): 0.8, (HEZB, SHAAR, "ATTACKS"): 0.3}
    cfg = config(relation_thresholds={"CONTROLS": 0.9, "ATTACKS": 0.25})
    kept = select_relations(scored, INDEX, cfg, relation_thresholds(cfg))
    assert [(r["type"], r["head"], r["tail"], r["id"]) for r in kept] == [("ATTACKS", "T3", "T2", "R1")]
    kept = select_relations(scored, INDEX, cfg, relation_thresholds(cfg, 0.5))
    assert [r["type"] for r in kept] == ["CONTROLS"]


@pytest.mark.parametrize(("threshold", "expected"),
                         [(0.6, [("T3", "T1", 0.7)]), (0.75, []), (0.3, [("T3", "T1", 0.7)])])
def test_symmetric_ally_of_is_decided_once_per_pair_on_its_higher_score(threshold, expected):
    scored = {(ARMY, HEZB, "ALLY_OF"): 0.4, (HEZB, ARMY, "ALLY_OF"): 0.7}
    cfg = config(relation_thresholds={"ALLY_OF": threshold})
    kept = select_relations(scored, INDEX, cfg, relation_thresholds(cfg))
    assert [(r["head"], r["tail"], r["score"]) for r in kept] == expected


def test_config_refuses_unknown_types_and_bad_values_naming_the_key():
    with pytest.raises(ValueError, match=r"relation_thresholds\.KILLS: not a relation type"):
        config(relation_thresholds={"KILLS": 0.5})
    with pytest.raises(ValueError, match=r"relation_thresholds\.CONTROLS: expected a number from 0 to 1"):
        config(relation_thresholds={"CONTROLS": 1.5})
    assert "relation_thresholds" not in config().to_dict()
    assert config(relation_thresholds={"CONTROLS": 0.25}).to_dict()["relation_thresholds"] == {"CONTROLS": 0.25}


def test_written_thresholds_drive_extractor_and_predict_and_the_override_wins(random_model, tmp_path, tiny_docs):
    from araie.export import export
    from araie.extractor import Extractor
    from araie.thresholds import ThresholdChoice

    folder = tmp_path / "tuned"
    shutil.copytree(random_model, folder)
    types = AraieConfig.from_pretrained(folder).relation_labels[1:]
    write_thresholds(folder, [ThresholdChoice(t, 0.0, True, "", 1, 1, 1, 1.0, 0.0) for t in types])
    assert json.loads((folder / "config.json").read_text())["relation_thresholds"] == dict.fromkeys(types, 0.0)
    texts = [d.text for d in tiny_docs]

    def relations(model, **kwargs):
        return [[(r.type, r.head, r.tail) for r in d.relations] for d in Extractor.from_pretrained(model, device="cpu")(
            texts, **kwargs)]

    everything = relations(random_model, relation_threshold=0.0)
    assert sum(map(len, everything)) > 0  # an untrained head: every candidate has some score
    assert relations(folder) == everything  # per-type 0 keeps what a global 0 keeps
    exported = export(folder, tmp_path / "exported")  # tuned on a checkpoint: export keeps them
    assert AraieConfig.from_pretrained(exported).relation_thresholds == dict.fromkeys(types, 0.0)
    assert relations(exported) == everything
    assert relations(folder, relation_threshold=0.5) == relations(random_model) != everything  # the override wins
    assert relations(random_model) == relations(random_model, relation_threshold=0.5)  # no key: the global one
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": d.id, "text": d.text}, ensure_ascii=False) + "\n" for d in tiny_docs))
    for extra, expected in (([], everything), (["--relation-threshold", "1"], [[] for _ in texts])):
        out = tmp_path / f"out{len(extra)}.jsonl"
        assert main(["predict", "--model", str(folder), "--input", str(src), "--output", str(out), *extra]) == 0
        got = [json.loads(line) for line in out.read_text().splitlines()]
        assert [[(r["type"], r["head"], r["tail"]) for r in d["relations"]] for d in got] == expected


def test_write_removes_the_key_when_nothing_was_tuned(random_model, tmp_path):
    from araie.thresholds import ThresholdChoice

    folder = tmp_path / "copy"
    shutil.copytree(random_model, folder)
    before = (folder / "config.json").read_text()
    write_thresholds(folder, [ThresholdChoice("CONTROLS", 0.5, False, "no gold relation on dev", 0, 0, 0, 0.0, 0.0)])
    assert "relation_thresholds" not in json.loads((folder / "config.json").read_text())
    assert json.loads(before) == json.loads((folder / "config.json").read_text())


def test_tuned_thresholds_reproduce_their_dev_scores_when_evaluated(tmp_path, tiny_docs):
    """Tuned on the fixture documents (as a dev split) with the shipped model, whose entities are mostly
    right; evaluated with the written thresholds, each tuned type scores exactly what the tuning reported."""
    from araie.evaluate import evaluate_model
    from tests.conftest import ROOT

    folder = tmp_path / "tuned"
    folder.mkdir()
    for f in (ROOT / "model").iterdir():  # the weights linked, config.json copied: only it is written
        if f.name == "config.json":
            (folder / f.name).write_bytes(f.read_bytes())
        else:
            (folder / f.name).symlink_to(f)
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps({d.id: "dev" for d in tiny_docs}))
    data = ["tests/fixtures/tiny.jsonl"]
    choices = tune_thresholds(folder, data, split="dev", splits=str(splits))
    assert sum(c.tuned for c in choices) >= 3
    write_thresholds(folder, choices)
    report = evaluate_model(str(folder), data, split="dev", splits=str(splits))
    for c in choices:
        got = report.relations_strict.per_type.get(c.type)
        if c.tuned:
            assert (got.tp, got.n_pred, got.n_gold) == (c.tp, c.predicted, c.gold), c.type
            assert got.f1 == pytest.approx(c.f1) and c.f1 >= c.f1_global
