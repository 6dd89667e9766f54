"""The scorer on hand-made cases; every expected number is computed by hand in the comment."""

from __future__ import annotations

import pytest

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
