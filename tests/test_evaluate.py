"""The scorer on hand-made cases; every expected number is computed by hand in the comment."""

from __future__ import annotations

import json

import pytest
import torch

from araie.evaluate import format_markdown, score, whitespace_tags
from araie.records import Document, Entity, Relation
from araie.schema import Schema

TEXT = "قال الجيش السوري إنه استعاد حي الشعار بالتعاون مع حزب الله في حلب"


def ent(eid, etype, surface, nth=0):
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(surface, start + 1)
    return Entity(eid, etype, start, start + len(surface), surface)


ARMY = ent("T1", "ORG", "الجيش السوري")
SHAAR = ent("T2", "LOC", "حي الشعار")
HEZB = ent("T3", "ORG", "حزب الله")
ALEPPO = ent("T4", "GPE", "حلب")
GOLD = Document("d", TEXT, (ARMY, SHAAR, HEZB, ALEPPO), (
    Relation("R1", "CONTROLS", "T1", "T2"), Relation("R2", "ALLY_OF", "T1", "T3"),
    Relation("R3", "LOCATED_IN", "T2", "T4")))


def test_exact_match_is_perfect():
    report = score([GOLD], [GOLD], Schema.load())
    assert report.entities_strict.micro.f1 == 1.0 and report.relations_strict.micro.f1 == 1.0
    assert report.errors == []


def test_wrong_type_counts_in_strict_not_in_boundary():
    pred = Document("d", TEXT, (ARMY, SHAAR, HEZB, Entity("T4", "LOC", ALEPPO.start, ALEPPO.end, "حلب")))
    report = score([GOLD], [pred], Schema.load())
    # strict: 3 of 4 right -> P = R = F1 = 0.75; boundary: 4/4
    assert report.entities_strict.micro.f1 == pytest.approx(0.75)
    assert report.entities_boundary.micro.f1 == 1.0
    assert report.entities_strict.per_type["GPE"].recall == 0.0
    assert [e["kind"] for e in report.errors] == ["wrong type"]


def test_boundary_off_by_one_character():
    short = Entity("T2", "LOC", SHAAR.start, SHAAR.end - 1, SHAAR.text[:-1])
    pred = Document("d", TEXT, (ARMY, short, HEZB, ALEPPO), (Relation("R1", "CONTROLS", "T1", "T2"),))
    report = score([GOLD], [pred], Schema.load())
    assert report.entities_strict.micro.tp == 3 and report.entities_boundary.micro.tp == 3
    # relations: 0 right of 1 predicted and 3 gold -> P 0, R 0; the CONTROLS tail is off by one
    assert report.relations_strict.micro.tp == 0
    assert [e["kind"] for e in report.errors] == ["wrong boundary"]


def test_symmetric_relation_reversed_still_matches_but_directed_does_not():
    pred = Document("d", TEXT, GOLD.entities, (
        Relation("R1", "CONTROLS", "T2", "T1"), Relation("R2", "ALLY_OF", "T3", "T1"),
        Relation("R3", "LOCATED_IN", "T2", "T4")))
    report = score([GOLD], [pred], Schema.load())
    # ALLY_OF reversed matches, CONTROLS reversed does not: tp 2 of 3 and 3 -> F1 2/3
    assert report.relations_strict.micro.tp == 2
    assert report.relations_strict.micro.f1 == pytest.approx(2 / 3)
    assert report.relations_strict.per_type["ALLY_OF"].f1 == 1.0
    assert report.relations_strict.per_type["CONTROLS"].f1 == 0.0


def test_duplicate_predictions_are_false_positives():
    dup = Entity("T9", "ORG", ARMY.start, ARMY.end, ARMY.text)
    pred = Document("d", TEXT, (*GOLD.entities, dup), GOLD.relations)
    report = score([GOLD], [pred], Schema.load())
    # 4 tp, 5 predicted, 4 gold -> P 0.8, R 1.0, F1 = 8/9
    assert report.entities_strict.micro.precision == pytest.approx(0.8)
    assert report.entities_strict.micro.f1 == pytest.approx(8 / 9)


def test_missed_and_spurious_with_context():
    spurious = ent("T5", "ORG", "قال")
    pred = Document("d", TEXT, (ARMY, SHAAR, HEZB, spurious))
    report = score([GOLD], [pred], Schema.load())
    kinds = sorted(e["kind"] for e in report.errors)
    assert kinds == ["missed", "spurious"]
    missed = next(e for e in report.errors if e["kind"] == "missed")
    assert missed["context"].endswith("[حلب]")
    md = format_markdown(report, "t")
    assert "| d | missed | GPE ‏حلب‏ |" in md and 'dir="rtl"' in md


def test_seqeval_on_whitespace_tokens_is_strict():
    # بالتعاون is one whitespace token; a clitic-free span inside it still tags the whole token
    assert whitespace_tags("قاتل بالجيش", [Entity("T1", "ORG", 6, 11, "الجيش")]) == ["O", "B-ORG"]
    pred = Document("d", TEXT, (ARMY, SHAAR, HEZB, Entity("T4", "GPE", ALEPPO.start, ALEPPO.end, "حلب")))
    report = score([GOLD], [pred], Schema.load())
    assert report.seqeval["micro avg"]["f1-score"] == 1.0


def test_texts_must_agree():
    with pytest.raises(ValueError, match="record d: predicted text differs"):
        score([GOLD], [Document("d", TEXT + " ")])


def test_cross_validation_scores_every_document_with_a_model_that_never_saw_it(tmp_path, tiny_encoder, tiny_docs):
    from araie.evaluate import cross_validate
    from tests.test_model import tiny_recipe, write_splits

    recipe = tiny_recipe(tmp_path, tiny_encoder, write_splits(tmp_path, tiny_docs), epochs=1,
                         extra=["training.eval_strategy=no", "training.save_strategy=no",
                                "training.load_best_model_at_end=false"])
    report = cross_validate(recipe, ["tests/fixtures/tiny.jsonl"], folds=3, out_dir=str(tmp_path / "cv"))
    assert report.documents == 3
    assert report.entities_strict.micro.n_gold == sum(len(d.entities) for d in tiny_docs)
    for k, doc in enumerate(tiny_docs):
        splits = (tmp_path / "cv" / f"fold-{k}" / "splits.json").read_text()
        assert f'"{doc.id}": "test"' in splits


def scored(rid, rtype, head, tail, score_):
    return Relation(rid, rtype, head, tail, score_)


PRED = Document("d", TEXT, GOLD.entities, (
    scored("R1", "CONTROLS", "T1", "T2", 0.95),  # right
    scored("R2", "ALLY_OF", "T3", "T1", 0.85),  # right: symmetric, either order
    scored("R3", "LOCATED_IN", "T4", "T2", 0.55),  # wrong: reversed
    scored("R4", "ATTACKS", "T1", "T4", 0.92),  # wrong: no such relation
    scored("R5", "CONTROLS", "T1", "T2", 0.6),  # wrong: a duplicate, the higher-scored copy took the gold one
))


def test_reliability_bins_predictions_by_score_with_the_share_right():
    from araie.relation_diagnostics import relation_outcomes, reliability

    outcomes, n_gold = relation_outcomes([GOLD], [PRED], Schema.load())
    assert sorted(outcomes) == sorted([("CONTROLS", 0.95, True), ("ALLY_OF", 0.85, True), ("LOCATED_IN", 0.55, False),
                                       ("ATTACKS", 0.92, False), ("CONTROLS", 0.6, False)])
    assert n_gold == {"CONTROLS": 1, "ALLY_OF": 1, "LOCATED_IN": 1}
    table = reliability(outcomes)
    rows = [(r["low"], r["predicted"], r["correct"], r["accuracy"], r["mean_score"]) for r in table["all"]["bins"]]
    # 0.5-0.6: 0.55 wrong; 0.6-0.7: 0.6 wrong; 0.8-0.9: 0.85 right; 0.9-1.0: 0.95 right, 0.92 wrong
    assert rows == [(0.5, 1, 0, 0.0, 0.55), (0.6, 1, 0, 0.0, 0.6), (0.8, 1, 1, 1.0, 0.85), (0.9, 2, 1, 0.5, 0.935)]
    # ECE = (|0 - .55| + |0 - .6| + |1 - .85| + 2 * |.5 - .935|) / 5 = (.55 + .6 + .15 + .87) / 5
    assert table["all"]["ece"] == pytest.approx(0.434)
    assert [r["predicted"] for r in table["CONTROLS"]["bins"]] == [1, 1]
    assert reliability([("X", 1.0, True)])["X"]["bins"][0]["low"] == 0.9  # a score of 1 lies in the top bin


def test_report_carries_the_reliability_table_in_json_and_markdown():
    report = score([GOLD], [PRED], Schema.load())
    assert report.to_dict()["relation_calibration"]["all"]["predicted"] == 5
    assert "| all | 0.9–1.0 | 2 | 1 | 0.500 | 0.935 |" in format_markdown(report)


def test_candidate_pairs_of_records_per_sentence():
    from araie.relation_diagnostics import record_pair_stats

    # ORG army, LOC Shaar, ORG Hezbollah, GPE Aleppo in one sentence: of the 12 ordered pairs the schema
    # admits all but LOC->ORG twice (10); positives CONTROLS, LOCATED_IN and ALLY_OF in both orders (4)
    got = record_pair_stats([GOLD], [GOLD], Schema.load())
    assert (got["sentences"], got["pairs"], got["positives"], got["max"]) == (1, 10, 4, 10)
    # without Hezbollah: army->Shaar, army->Aleppo, Shaar->Aleppo, Aleppo->army, Aleppo->Shaar; 2 positives
    pred = Document("d", TEXT, (ARMY, SHAAR, ALEPPO))
    got = record_pair_stats([pred], [GOLD], Schema.load())
    assert (got["pairs"], got["positives"], got["negatives_per_positive"]) == (5, 2, 1.5)


def test_training_samples_fewer_pairs_than_inference_scores(tiny_encoder):
    from araie.relation_diagnostics import pair_stats
    from araie.training import build_tokenizer

    tokenizer = build_tokenizer(str(tiny_encoder))
    # negatives=0 keeps the 4 positives alone (at least 0 negatives); 1 per positive keeps 4 of the 6 negatives
    for negatives, pairs in ((0, 4), (1, 8), (8, 10)):
        got = pair_stats([GOLD], tokenizer, Schema.load(), negatives=negatives)
        assert (got["training"]["pairs"], got["training"]["positives"]) == (pairs, 4)
        assert (got["inference"]["pairs"], got["inference"]["positives"], got["inference"]["sentences"]) == (10, 4, 1)


class AlwaysControls(torch.nn.Module):
    """A relation head that calls every pair CONTROLS, surely."""

    def forward(self, hidden, span_starts, span_ends, span_types, pair_heads, pair_tails):
        logits = torch.zeros(*pair_heads.shape, 8)
        logits[..., 1] = 20.0  # relation_labels: NONE, CONTROLS, ...
        return logits


def test_oracle_entities_score_every_candidate_pair_of_the_gold_spans(random_model, tiny_docs, tmp_path):
    from araie.evaluate import evaluate_model
    from araie.extractor import Extractor
    from araie.hf.windows_araie import sentence_spans
    from araie.relation_diagnostics import oracle_predictions

    extractor = Extractor.from_pretrained(random_model, device="cpu")
    extractor.model.relation = AlwaysControls()
    docs, unaligned = oracle_predictions(extractor, tiny_docs)
    assert unaligned == 0
    schema = Schema.load()
    for gold, doc in zip(tiny_docs, docs, strict=True):
        assert doc.entities == gold.entities
        sentence = {e.id: next(i for i, (s, t) in enumerate(sentence_spans(gold.text)) if s <= e.start < t)
                    for e in gold.entities}
        expected = {(h.id, t.id) for h in gold.entities for t in gold.entities
                    if h is not t and sentence[h.id] == sentence[t.id] and schema.allows("CONTROLS", h.type, t.type)}
        assert expected and {(r.head, r.tail) for r in doc.relations} == expected
        assert {r.type for r in doc.relations} == {"CONTROLS"}
    report = evaluate_model(str(random_model), ["tests/fixtures/tiny.jsonl"], out=str(tmp_path / "r"),
                            oracle_entities=True)
    oracle = report.relations_oracle
    assert oracle.micro.n_gold == report.relations_strict.micro.n_gold == sum(len(d.relations) for d in tiny_docs)
    saved = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert saved["relations"]["strict_oracle_entities"]["micro"]["gold"] == oracle.micro.n_gold
    assert "on gold entities (oracle)" in (tmp_path / "r.md").read_text(encoding="utf-8")
