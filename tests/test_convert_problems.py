"""Issue 16 item 8: `convert` names every problem, each with file:line (or task) and field, then refuses.

Nothing vanishes: a `.txt` without `.ann`, a second annotator, a relation to a missing entity, a
garbage `.ann` line are problems, not skips.
"""

from __future__ import annotations

import json

from araie.cli import main

TEXT = "قال الجيش السوري إنه استعاد حي الشعار"


def convert(capsys, *args) -> tuple[int, str]:
    code = main(["convert", *map(str, args)])
    return code, capsys.readouterr().err


def test_brat_folder_problems_are_all_named_and_nothing_is_written(tmp_path, capsys):
    src = tmp_path / "brat"
    src.mkdir()
    (src / "a.txt").write_text(TEXT, encoding="utf-8")
    ann = "T1\tORG 4 16\tالجيش السوري\nT2\tLOC 28 37\tحي الشعارر\nX9 garbage\n#1\tAnnotatorNotes T1\tok\n"
    (src / "a.ann").write_text(ann, encoding="utf-8")
    (src / "b.txt").write_text(TEXT, encoding="utf-8")  # no b.ann
    (src / "c.txt").write_text(TEXT, encoding="utf-8")
    (src / "c.ann").write_text("T1\tORG 4 16\tالجيش السوري\nR1\tCONTROLS Arg1:T1 Arg2:T7\n", encoding="utf-8")
    code, err = convert(capsys, src, tmp_path / "out.jsonl", "--from", "brat")
    assert code == 2
    assert "4 problems" in err
    assert f"{src / 'a.ann'}:2: T2 text 'حي الشعارر' does not match" in err
    assert f"{src / 'a.ann'}:3: field id: 'X9 garbage' is not a BRAT annotation id" in err
    assert f"{src / 'b.txt'}: no b.ann beside it" in err
    assert f"{src / 'c.ann'}:2: field Arg2: relation R1 names 'T7', not an entity of the file" in err
    assert not (tmp_path / "out.jsonl").exists()


def _task(n, text, annotations):
    return {"id": n, "data": {"text": text, "id": f"doc{n}"}, "annotations": annotations}


def _label(rid, start, end, label):
    return {"id": rid, "from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": TEXT[start:end], "labels": [label]}}


def test_labelstudio_second_annotator_and_dangling_relation_are_named(tmp_path, capsys):
    relation = {"from_id": "a", "to_id": "zz", "type": "relation", "direction": "right", "labels": ["CONTROLS"]}
    tasks = [_task(1, TEXT, [{"id": 11, "result": [_label("a", 4, 16, "ORG")]},
                             {"id": 12, "result": [_label("a", 4, 16, "ORG"), _label("b", 28, 37, "LOC")]}]),
             _task(2, TEXT, [{"id": 21, "result": [_label("a", 4, 16, "ORG"), relation]}]),
             _task(3, TEXT, [{"id": 31, "result": [_label("a", 4, 16, "ORG")]}])]
    src = tmp_path / "tasks.json"
    src.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    code, err = convert(capsys, src, tmp_path / "out.jsonl")
    assert code == 2
    assert "task 1 (record doc1): field annotations: 2 annotations (ids 11, 12)" in err
    assert "task 2 (record doc2): field to_id: relation R1 names 'zz', not a labels result of the task" in err
    assert not (tmp_path / "out.jsonl").exists()


def test_jsonl_source_problems_are_all_named_with_line_and_field(tmp_path, capsys):
    good = {"id": "d1", "text": TEXT, "entities": [{"id": "T1", "type": "ORG", "start": 4, "end": 16,
                                                    "text": "الجيش السوري"}]}
    bad = {"id": "d2", "text": TEXT, "entities": [{"id": "T1", "type": "ORG", "start": "4", "end": 16}]}
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([json.dumps(good, ensure_ascii=False), json.dumps(bad, ensure_ascii=False), "{oops"])
                   + "\n", encoding="utf-8")
    code, err = convert(capsys, src, tmp_path / "out.json", "--to", "labelstudio")
    assert code == 2
    assert f"{src}:2, record d2, field entities[0].start: missing or not int" in err
    assert f"{src}:2, record d2, field entities[0].text: missing or not str" in err
    assert f"{src}:3: invalid JSON" in err
    assert not (tmp_path / "out.json").exists()
