"""Readers and writers of CoNLL, BRAT, Label Studio and doccano: lossless round trips and refusals."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from araie.formats import FormatError
from araie.formats.brat import read_brat, write_brat
from araie.formats.conll import format_conll, read_conll, write_conll
from araie.formats.labelstudio import read_labelstudio, write_labelstudio
from araie.formats.registry import READERS, WRITERS, convert, guess_format
from araie.records import Document, Entity, Relation, read_jsonl, write_jsonl

FORMATS = ["conll", "brat", "labelstudio", "doccano"]
CORPUS = Path(__file__).resolve().parent.parent / "annotations" / "docs"


def _doc(doc_id: str, text: str, spans: list[tuple[str, str, str]], relations=(), meta=None) -> Document:
    """Entities from `(id, type, surface)`, found left to right so repeated surfaces stay distinct."""
    entities, pos = [], 0
    for ent_id, etype, surface in spans:
        start = text.index(surface, pos)
        entities.append(Entity(ent_id, etype, start, start + len(surface), surface))
        pos = start + len(surface)
    rels = tuple(Relation(f"R{i}", t, h, tl) for i, (t, h, tl) in enumerate(relations, start=1))
    return Document(doc_id, text, tuple(entities), rels, meta or {})


ALEPPO = _doc(
    "000_aleppo",
    "قال المرصد السوري لحقوق الإنسان إن 324 مدنياً قتلوا بالقصف على شرق حلب منذ بدء الهجوم بالجيش السوري.",
    [("T1", "ORG", "المرصد السوري لحقوق الإنسان"), ("T2", "QUANTITY", "324 مدنياً"), ("T3", "LOC", "شرق حلب"),
     ("T4", "ORG", "الجيش السوري")],
    [("CASUALTIES_AT", "T2", "T3"), ("CASUALTIES_BY", "T2", "T4")],
    {"source": "seed", "split": "train"},
)
# Windows and Unix line ends, a Latin agency name, a glued word (حلبمن) and non-T ids.
NEWLINES = _doc(
    "001_lines",
    "موسكو (RT)\r\nأعلنت وزارة الدفاع الروسية أن قوات النظام سيطرت على حي الشعار\nفي حلبمن جديد.",
    [("rt", "ORG", "RT"), ("mod", "ORG", "وزارة الدفاع الروسية"), ("army", "ORG", "قوات النظام"),
     ("shaar", "LOC", "حي الشعار"), ("aleppo", "GPE", "حلب")],
    [("CONTROLS", "army", "shaar"), ("LOCATED_IN", "shaar", "aleppo")],
)
EMPTY = Document("002_empty", "لا كيانات في هذه الجملة.")
DOCS = [ALEPPO, NEWLINES, EMPTY]


def _without_relations(docs: list[Document]) -> list[Document]:
    return [replace(d, relations=()) for d in docs]


def _roundtrip(docs: list[Document], fmt: str, tmp_path: Path, **options) -> list[Document]:
    source, middle, back = tmp_path / "in.jsonl", tmp_path / f"mid.{fmt}", tmp_path / "back.jsonl"
    write_jsonl(docs, source)
    assert convert(source, middle, target=fmt, **options) == len(docs)
    assert convert(middle, back, source=fmt) == len(docs)
    return list(read_jsonl(back))


@pytest.mark.parametrize("fmt", FORMATS)
def test_registered(fmt):
    assert guess_format("out", fmt) == fmt  # loads the format modules the way the CLI does
    assert fmt in READERS and fmt in WRITERS


@pytest.mark.parametrize("fmt", ["brat", "labelstudio", "doccano"])
def test_roundtrip_is_lossless(fmt, tmp_path):
    assert _roundtrip(DOCS, fmt, tmp_path) == DOCS


def test_conll_roundtrip_without_relations(tmp_path):
    assert _roundtrip(DOCS, "conll", tmp_path, drop_relations=True) == _without_relations(DOCS)


def test_conll_splits_clitic_and_keeps_exact_text(tmp_path):
    block = format_conll(replace(ALEPPO, relations=()))
    pairs = set(zip(block.splitlines(), block.splitlines()[1:], strict=False))
    # بالجيش is two tokens, so the span starts after the proclitic; بالقصف (no entity) is cut the same way,
    # so the token stream does not give the labels away.
    assert ("ب\tO", "الجيش\tB-ORG") in pairs and ("الجيش\tB-ORG", "السوري\tI-ORG") in pairs
    assert ("ب\tO", "القصف\tO") in pairs
    assert ("حلب\tI-LOC", "منذ\tO") in pairs and ("السوري\tI-ORG", ".\tO") in pairs
    write_conll([replace(NEWLINES, relations=())], tmp_path / "x.conll")
    raw = (tmp_path / "x.conll").read_text(encoding="utf-8")
    assert "حلب\tB-GPE\nمن\tO" in raw  # a glued word is cut at the span edge
    assert '# entity_ids = ["rt", "mod", "army", "shaar", "aleppo"]' in raw
    (back,) = read_conll(tmp_path / "x.conll")
    assert "\r\n" in back.text and all(back.text[e.start:e.end] == e.text for e in back.entities)


def test_conll_refuses_relations(tmp_path):
    with pytest.raises(FormatError, match=r"CoNLL cannot carry relations; 2 relation\(s\) in record 000_aleppo"):
        write_conll([ALEPPO], tmp_path / "x.conll")


def test_conll_refuses_overlap_and_scores(tmp_path):
    nested = replace(EMPTY, entities=(Entity("T1", "LOC", 0, 9, "لا كيانات"), Entity("T2", "ORG", 3, 9, "كيانات")))
    with pytest.raises(FormatError, match="record 002_empty: entity T2 overlaps"):
        format_conll(nested)
    scored = replace(EMPTY, entities=(Entity("T1", "ORG", 3, 9, "كيانات", score=0.9),))
    with pytest.raises(FormatError, match="CoNLL cannot carry scores; record 002_empty"):
        format_conll(scored)
    assert "B-ORG" in format_conll(scored, drop_scores=True)


def test_conll_malformed_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("قال O\nالمرصد B-ORG extra\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"bad\.conll:2: malformed line"):
        list(read_conll(path))
    path.write_text("قال O\nالمرصد B_ORG\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"bad\.conll:2: malformed line"):
        list(read_conll(path))


def test_conll_token_not_in_text(tmp_path):
    path = tmp_path / "edited.conll"
    path.write_text('# id = d1\n# text = "قال المرصد"\nقال\tO\nالجيش\tB-ORG\n', encoding="utf-8")
    with pytest.raises(FormatError, match=r"edited\.conll:4: record d1: token 'الجيش' does not match"):
        list(read_conll(path))


ANERCORP = (
    "-DOCSTART- O\n\n"
    "قال O\nالرئيس O\nجورج B-PERS\nبوش I-PERS\nإن O\nالولايات B-LOC\nالمتحدة I-LOC\n. O\n\n"
    "وصل\tO\nإلى\tO\nدمشق\tI-LOC\nمن\tO\nبيروت\tI-LOC\nبيروت\tB-LOC\n\n"
    "-DOCSTART- O\n"
    "الأمم B-ORG\nالمتحدة I-ORG\n"
)


def test_anercorp_file_through_convert(tmp_path):
    source, out = tmp_path / "anercorp.conll", tmp_path / "anercorp.jsonl"
    source.write_text(ANERCORP, encoding="utf-8")
    assert convert(source, out, type_map={"PERS": "PER"}) == 2
    first, second = read_jsonl(out)
    assert first.id == "anercorp_1" and second.id == "anercorp_2"
    assert first.text == "قال الرئيس جورج بوش إن الولايات المتحدة .\nوصل إلى دمشق من بيروت بيروت"
    spans = [(e.type, e.start, e.end, e.text) for e in first.entities]
    # IOB1: I-LOC after O opens an entity; B-LOC right after I-LOC of the same type opens a second one.
    assert spans == [("PER", 11, 19, "جورج بوش"), ("LOC", 23, 39, "الولايات المتحدة"), ("LOC", 50, 54, "دمشق"),
                     ("LOC", 58, 63, "بيروت"), ("LOC", 64, 69, "بيروت")]
    assert [e.id for e in first.entities] == ["T1", "T2", "T3", "T4", "T5"]
    assert [(e.type, e.text) for e in second.entities] == [("ORG", "الأمم المتحدة")]
    assert all(d.text[e.start:e.end] == e.text for d in (first, second) for e in d.entities)


def test_brat_files_and_sidecar(tmp_path):
    write_brat(DOCS, tmp_path / "brat")
    ann = (tmp_path / "brat" / "001_lines.ann").read_text(encoding="utf-8")
    assert ann.splitlines()[0] == "T1\tORG 7 9\tRT" and "R1\tCONTROLS Arg1:T3 Arg2:T4" in ann
    with open(tmp_path / "brat" / "001_lines.txt", encoding="utf-8", newline="") as fh:
        assert fh.read() == NEWLINES.text  # \r\n kept: BRAT offsets count it as two characters
    sidecar = json.loads((tmp_path / "brat" / "001_lines.json").read_text(encoding="utf-8"))
    assert sidecar == {"ids": {"T1": "rt", "T2": "mod", "T3": "army", "T4": "shaar", "T5": "aleppo"}}
    assert (tmp_path / "brat" / "000_aleppo.json").exists() and not (tmp_path / "brat" / "002_empty.json").exists()


def test_brat_refuses_scores(tmp_path):
    scored = replace(ALEPPO, entities=(replace(ALEPPO.entities[0], score=0.87), *ALEPPO.entities[1:]))
    with pytest.raises(FormatError, match="BRAT cannot carry scores; record 000_aleppo"):
        write_brat([scored], tmp_path / "brat")


def _brat_pair(tmp_path: Path, ann: str) -> Path:
    (tmp_path / "d.txt").write_text("قال المرصد السوري إن حلب", encoding="utf-8")
    (tmp_path / "d.ann").write_text(ann, encoding="utf-8")
    return tmp_path / "d.ann"


def test_brat_refuses_discontinuous_span(tmp_path):
    path = _brat_pair(tmp_path, "T1\tORG 4 10;11 17\tالمرصد السوري\n")
    with pytest.raises(FormatError, match=r"d\.ann:1: T1 has a discontinuous span"):
        list(read_brat(path))


def test_brat_refuses_mismatched_text(tmp_path):
    _brat_pair(tmp_path, "T1\tORG 4 17\tالمرصد السوري\nT2\tGPE 20 24\tدمشق\n")
    with pytest.raises(FormatError, match=r"d\.ann:2: T2 text 'دمشق' does not match the \.txt at 20:24"):
        list(read_brat(tmp_path))


def test_brat_reads_plain_ann(tmp_path):
    _brat_pair(tmp_path, "T1\tORG 4 17\tالمرصد السوري\nT2\tGPE 21 24\tحلب\nR1\tLOCATED_IN Arg1:T1 Arg2:T2\t\n"
                         "#1\tAnnotatorNotes T1\tمنظمة\n")
    (doc,) = read_brat(tmp_path)
    assert [(e.id, e.text) for e in doc.entities] == [("T1", "المرصد السوري"), ("T2", "حلب")]
    assert doc.relations == (Relation("R1", "LOCATED_IN", "T1", "T2"),)


def test_labelstudio_layout_and_predictions(tmp_path):
    scored = replace(ALEPPO, entities=tuple(replace(e, score=0.5 + i / 10) for i, e in enumerate(ALEPPO.entities)),
                     relations=tuple(replace(r, score=0.75) for r in ALEPPO.relations))
    write_labelstudio([ALEPPO, scored], tmp_path / "ls.json")
    gold, pred = json.loads((tmp_path / "ls.json").read_text(encoding="utf-8"))
    first = gold["annotations"][0]["result"][0]
    assert first["value"] == {"start": 4, "end": 31, "text": "المرصد السوري لحقوق الإنسان", "labels": ["ORG"]}
    assert (first["from_name"], first["to_name"], first["type"]) == ("label", "text", "labels")
    assert gold["annotations"][0]["result"][-1]["direction"] == "right"
    assert "annotations" not in pred and pred["predictions"][0]["score"] == 0.5
    assert list(read_labelstudio(tmp_path / "ls.json")) == [ALEPPO, scored]


def test_labelstudio_reads_export(tmp_path):
    text = "سيطرت قوات النظام على حي الشعار"
    label = {"from_name": "label", "to_name": "text", "type": "labels"}
    tasks = [{"id": 7, "data": {"text": text},
              "annotations": [{"was_cancelled": True, "result": []},
                              {"result": [{**label, "id": "aB3", "value": {"start": 6, "end": 17, "labels": ["ORG"]}},
                                          {**label, "id": "x9Z", "value": {"start": 22, "end": 31, "labels": ["LOC"]}},
                                          {"type": "relation", "from_id": "x9Z", "to_id": "aB3", "direction": "left",
                                           "labels": ["CONTROLS"]}]}],
              "predictions": [{"result": []}]}]
    (tmp_path / "export.json").write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    (doc,) = read_labelstudio(tmp_path / "export.json")
    assert doc.id == "export_7" and [e.text for e in doc.entities] == ["قوات النظام", "حي الشعار"]
    assert doc.relations == (Relation("R1", "CONTROLS", "aB3", "x9Z"),)
    del tasks[0]["annotations"][1]["result"][2]["labels"]
    (tmp_path / "export.json").write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(FormatError, match="task 1 .*relation x9Z -> aB3 has no label"):
        list(read_labelstudio(tmp_path / "export.json"))


def test_doccano_layout_and_sequence_format(tmp_path):
    convert_out = tmp_path / "out.doccano"
    write_jsonl([ALEPPO], tmp_path / "in.jsonl")
    convert(tmp_path / "in.jsonl", convert_out, target="doccano")
    example = json.loads(convert_out.read_text(encoding="utf-8"))
    assert example["araie_id"] == "000_aleppo" and example["source"] == "seed"
    assert example["entities"][1] == {"id": 2, "label": "QUANTITY", "start_offset": 35, "end_offset": 45,
                                      "araie_id": "T2"}
    assert example["relations"][0] == {"id": 1, "from_id": 2, "to_id": 3, "type": "CASUALTIES_AT", "araie_id": "R1"}
    seq = tmp_path / "seq.jsonl"
    seq.write_text(json.dumps({"id": 3, "text": "قصف الطيران الروسي حلب", "label": [[4, 18, "ORG"], [19, 22, "GPE"]]},
                              ensure_ascii=False) + "\n", encoding="utf-8")
    (doc,) = READERS["doccano"](seq)
    assert doc.id == "seq_3" and [(e.id, e.text) for e in doc.entities] == [("T1", "الطيران الروسي"), ("T2", "حلب")]


def test_doccano_scores_survive(tmp_path):
    scored = replace(NEWLINES, entities=tuple(replace(e, score=0.9) for e in NEWLINES.entities))
    assert _roundtrip([scored], "doccano", tmp_path) == [scored]


@pytest.mark.skipif(not list(CORPUS.glob("*.jsonl")), reason="no annotated corpus in annotations/docs")
@pytest.mark.parametrize("fmt", FORMATS)
def test_corpus_roundtrip(fmt, tmp_path):
    docs = [d for path in sorted(CORPUS.glob("*.jsonl")) for d in read_jsonl(path)]
    back = _roundtrip(docs, fmt, tmp_path, **({"drop_relations": True} if fmt == "conll" else {}))
    expected = _without_relations(docs) if fmt == "conll" else docs
    by_id = {d.id: d for d in back}
    assert len(by_id) == len(docs)
    for doc in expected:
        got = by_id[doc.id]
        if fmt == "conll":  # CoNLL gives entities back in text order
            doc = replace(doc, entities=tuple(sorted(doc.entities, key=lambda e: e.start)))
        assert got == doc, doc.id


def test_a_refused_conversion_leaves_no_output_behind(tmp_path):
    from araie.formats import FormatError
    from araie.formats.registry import convert
    from araie.records import Document, Entity, Relation, write_jsonl

    text = "سيطر الجيش السوري على حي الشعار"
    doc = Document("d1", text, (Entity("T1", "ORG", 5, 17, "الجيش السوري"), Entity("T2", "LOC", 22, 31, "حي الشعار")),
                   (Relation("R1", "CONTROLS", "T1", "T2"),))
    src = tmp_path / "in.jsonl"
    write_jsonl([doc], src)
    with pytest.raises(FormatError, match="--drop-relations"):
        convert(src, tmp_path / "out.conll")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


ENTITY_ONLY = "".join(  # ANERcorp-style: PERS/LOC/ORG/MISC, no -DOCSTART-, six sentences
    f"قال O\nالرئيس O\nجورج B-PERS\nبوش I-PERS\nفي O\nمؤتمر B-MISC\nجنيف I-MISC\n{n} O\n\n"
    f"وصل O\nوفد O\nالأمم B-ORG\nالمتحدة I-ORG\nإلى O\nدمشق B-LOC\n{n} O\n\n" for n in range(3))


@pytest.mark.parametrize("how", [["--type-map", "PERS=PER", "LOC=GPE", "MISC="],
                                 ["--type-map", "PERS=PER", "LOC=GPE", "MISC=O"],
                                 ["--type-map", "PERS=PER", "LOC=GPE", "--drop-types", "MISC"]])
def test_convert_drops_a_type_and_says_how_many(tmp_path, capsys, how):
    from araie.cli import main

    source, out = tmp_path / "ner.conll", tmp_path / "ner.jsonl"
    source.write_text(ENTITY_ONLY, encoding="utf-8")
    assert main(["convert", str(source), str(out), "--from", "conll", *how]) == 0
    assert "dropped 3 MISC span(s)" in capsys.readouterr().err
    (doc,) = read_jsonl(out)
    assert {e.type for e in doc.entities} == {"PER", "ORG", "GPE"}


def test_convert_refuses_a_type_the_schema_lacks_and_leaves_nothing(tmp_path, capsys):
    from araie.cli import main

    source, out = tmp_path / "ner.conll", tmp_path / "ner.jsonl"
    source.write_text(ENTITY_ONLY, encoding="utf-8")
    assert main(["convert", str(source), str(out), "--type-map", "PERS=PERSON", "LOC=GPE", "MISC="]) == 2
    err = capsys.readouterr().err
    assert "record ner_1: entity T1 'جورج بوش' has type 'PERSON', which the schema lacks" in err
    assert not out.exists()
    assert main(["convert", str(source), str(out), "--type-map", "PERS=PER", "LOC=GPE"]) == 2
    assert "has type 'MISC'" in (err := capsys.readouterr().err) and "--drop-types MISC" in err


def test_doc_size_cuts_a_file_without_docstart_into_documents(tmp_path, caplog):
    source = tmp_path / "ner.conll"
    source.write_text(ENTITY_ONLY, encoding="utf-8")
    docs = list(read_conll(source, doc_size=4))
    assert [d.id for d in docs] == ["ner_1", "ner_2"]
    assert [d.text.count("\n") + 1 for d in docs] == [4, 2]
    assert docs[1].text.startswith("قال الرئيس جورج بوش") and docs[1].entities[0].text == "جورج بوش"
    assert all(d.text[e.start:e.end] == e.text for d in docs for e in d.entities)
    out = tmp_path / "ner.jsonl"
    assert convert(source, out, source="conll", doc_size=2) == 3
    with pytest.raises(FormatError, match="doc_size"):
        convert(out, tmp_path / "again.jsonl", doc_size=2)
    many = tmp_path / "long.conll"
    many.write_text("حلب B-LOC\n\n" * 201, encoding="utf-8")
    with caplog.at_level("WARNING"):
        assert len(list(read_conll(many))) == 1
    assert "holds 201 sentences" in caplog.text and "--doc-size" in caplog.text
