"""`araie validate`: one test per problem kind, on real Arabic, each naming file, line, record and field."""

from __future__ import annotations

import json

import pytest

from araie.cli import main
from araie.schema import Schema
from araie.validate import validate_paths

TEXT = "قال الجيش السوري إنه استعاد حي الشعار في حلب بالتعاون مع حزب الله اللبناني."
ARMY = {"id": "T1", "type": "ORG", "start": 4, "end": 16, "text": "الجيش السوري"}
SHAAR = {"id": "T2", "type": "LOC", "start": 28, "end": 37, "text": "حي الشعار"}
ALEPPO = {"id": "T3", "type": "GPE", "start": 41, "end": 44, "text": "حلب"}


def record(**changes):
    rec = {"id": "doc1", "text": TEXT, "entities": [ARMY, SHAAR, ALEPPO],
           "relations": [{"id": "R1", "type": "CONTROLS", "head": "T1", "tail": "T2"}]}
    rec.update(changes)
    return rec


def problems_of(tmp_path, *records, raw_lines=()):
    path = tmp_path / "corpus.jsonl"
    lines = [json.dumps(r, ensure_ascii=False) for r in records] + list(raw_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [str(p) for p in validate_paths([path], Schema.load()) if p.severity == "error"]


def test_valid_record_has_no_problem(tmp_path):
    assert problems_of(tmp_path, record()) == []


def test_bad_json_names_line(tmp_path):
    out = problems_of(tmp_path, record(), raw_lines=['{"id": "doc2", "text": "حلب"'])
    assert len(out) == 1 and "corpus.jsonl:2" in out[0] and "invalid JSON" in out[0]


def test_missing_field(tmp_path):
    rec = record()
    del rec["text"]
    out = problems_of(tmp_path, rec)
    assert out == [f"{tmp_path / 'corpus.jsonl'}:1, record doc1, field text: error: missing or not a string"]


def test_offsets_out_of_range(tmp_path):
    out = problems_of(tmp_path, record(entities=[ARMY, {**ALEPPO, "start": 200, "end": 203}], relations=[]))
    assert len(out) == 1 and "field entities[1].start" in out[0] and "out of range" in out[0]


def test_span_text_mismatch(tmp_path):
    out = problems_of(tmp_path, record(entities=[{**ARMY, "text": "الجيش الحر"}], relations=[]))
    assert out == [f"{tmp_path / 'corpus.jsonl'}:1, record doc1, field entities[0].text: error: "
                   "text[4:16] is 'الجيش السوري', not 'الجيش الحر'"]


def test_whitespace_at_span_edge(tmp_path):
    out = problems_of(tmp_path, record(entities=[{**ARMY, "end": 17, "text": "الجيش السوري "}], relations=[]))
    assert len(out) == 1 and "whitespace at its edge" in out[0]


def test_duplicate_ids(tmp_path):
    out = problems_of(tmp_path, record(entities=[ARMY, {**SHAAR, "id": "T1"}], relations=[]), record())
    assert any("duplicate entity id 'T1'" in p for p in out)
    assert any("corpus.jsonl:2, record doc1, field id: error: duplicate document id" in p for p in out)


def test_unknown_types(tmp_path):
    out = problems_of(tmp_path, record(entities=[{**ARMY, "type": "MILITARY"}, SHAAR],
                                       relations=[{"id": "R1", "type": "BESIEGES", "head": "T1", "tail": "T2"}]))
    assert any("unknown entity type 'MILITARY'" in p for p in out)
    assert any("unknown relation type 'BESIEGES'" in p for p in out)


def test_crossing_and_nested_spans(tmp_path):
    crossing = {"id": "T5", "type": "ORG", "start": 10, "end": 20, "text": TEXT[10:20]}
    nested = {"id": "T6", "type": "NORP", "start": 10, "end": 16, "text": "السوري"}
    out = problems_of(tmp_path, record(entities=[ARMY, crossing], relations=[]))
    assert len(out) == 1 and "entity T5 (10:20) crosses entity T1 (4:16)" in out[0]
    out = problems_of(tmp_path, record(entities=[ARMY, nested], relations=[]))
    assert len(out) == 1 and "entity T6 (10:16) is nested in entity T1 (4:16)" in out[0]


def test_relation_argument_missing(tmp_path):
    out = problems_of(tmp_path, record(relations=[{"id": "R1", "type": "CONTROLS", "head": "T1", "tail": "T9"}]))
    assert out == [f"{tmp_path / 'corpus.jsonl'}:1, record doc1, field relations[0].tail: error: "
                   "tail 'T9' is not an entity of this record"]


def test_relation_argument_types_forbidden(tmp_path):
    out = problems_of(tmp_path, record(relations=[{"id": "R1", "type": "CONTROLS", "head": "T2", "tail": "T1"}]))
    assert len(out) == 1 and "CONTROLS does not admit LOC -> ORG" in out[0]


def test_relation_points_at_itself(tmp_path):
    out = problems_of(tmp_path, record(relations=[{"id": "R1", "type": "LOCATED_IN", "head": "T2", "tail": "T2"}]))
    assert any("relation R1 points at itself (T2)" in p for p in out)


def test_repeated_relations_symmetric_included(tmp_path):
    army2 = {"id": "T4", "type": "ORG", "start": 57, "end": 65, "text": TEXT[57:65]}
    rels = [{"id": "R1", "type": "ALLY_OF", "head": "T1", "tail": "T4"},
            {"id": "R2", "type": "ALLY_OF", "head": "T4", "tail": "T1"},
            {"id": "R3", "type": "CONTROLS", "head": "T1", "tail": "T2"},
            {"id": "R4", "type": "CONTROLS", "head": "T1", "tail": "T2"}]
    out = problems_of(tmp_path, record(entities=[ARMY, SHAAR, ALEPPO, army2], relations=rels))
    assert len(out) == 2
    assert "relation R2 repeats R1" in out[0] and "relation R4 repeats R3" in out[1]


def test_proclitic_inside_span_is_a_warning_only(tmp_path, capsys):
    text = "وقاتل بالجيش السوري"
    rec = {"id": "doc1", "text": text, "entities": [{"id": "T1", "type": "ORG", "start": 6, "end": 19,
                                                     "text": "بالجيش السوري"}], "relations": []}
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr()
    assert "warning: span 'بالجيش السوري' starts with a proclitic" in out.out
    assert "0 error(s), 1 warning(s)" in out.err


def test_cli_exit_status_and_every_problem_listed(tmp_path, capsys):
    bad = record(entities=[{**ARMY, "type": "MILITARY"}, {**SHAAR, "text": "حي"}], relations=[])
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(bad, ensure_ascii=False) + "\n{oops\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr()
    assert out.out.count("error:") == 3
    assert "3 error(s)" in out.err


@pytest.mark.parametrize("splits, message", [({"doc1": "test"}, None), ({}, "document has no split"),
                                              ({"doc1": "test", "ghost": "train"}, "not in the corpus")])
def test_splits_are_checked(tmp_path, splits, message):
    (tmp_path / "docs.jsonl").write_text(json.dumps(record(), ensure_ascii=False) + "\n", encoding="utf-8")
    (tmp_path / "splits.json").write_text(json.dumps(splits), encoding="utf-8")
    out = [str(p) for p in validate_paths([tmp_path], Schema.load())]
    assert (out == []) if message is None else (len(out) == 1 and message in out[0])


def test_every_structural_problem_of_a_record_is_listed(tmp_path):
    # issue 16 item 9: a record with several broken fields gets one problem per field, not the first alone
    rec = record(entities=[ARMY, {**SHAAR, "start": "28"}, "T3"],
                 relations=[{"id": "R1", "type": "CONTROLS", "head": 1, "tail": "T2", "score": "high"}])
    del rec["text"]
    fields = [p.split("field ")[1].split(":")[0] for p in problems_of(tmp_path, rec)]
    assert fields == ["text", "entities[1].start", "entities[2]", "relations[0].head", "relations[0].score"]


@pytest.mark.parametrize("edge, name", [("\u200f", "U+200F RIGHT-TO-LEFT MARK"), ("\u200d", "U+200D ZERO WIDTH JOINER"),
                                        ("😀", "U+1F600 GRINNING FACE")])
def test_invisible_marks_and_emoji_at_a_span_edge_are_errors(tmp_path, edge, name):
    text = f"قصفت الطائرات حلب{edge} أمس"
    rec = {"id": "doc1", "text": text, "entities": [{"id": "T1", "type": "GPE", "start": 14, "end": 18,
                                                     "text": text[14:18]}]}
    out = problems_of(tmp_path, rec)
    assert len(out) == 1 and "field entities[0].start" in out[0] and f"ends with {name}" in out[0]
