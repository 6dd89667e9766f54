"""Issue 16: `araie predict` under hostile input. Nothing lost, nothing injected, no traceback.

The model is a tiny untrained one (random heads): it tags entities all over the text, which is what
offset checks want, and costs seconds to build.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from araie.cli import main
from araie.extractor import Extractor
from araie.predict import predict_stream, read_inputs
from araie.predict_output import write_predictions
from tests.test_html_escaping import tags_of

AR = ["قصفت الطائرات الروسية مواقع المعارضة في إدلب", "قال الجيش السوري إنه استعاد حي الشعار في حلب",
      "أفاد المرصد السوري لحقوق الإنسان بمقتل 12 مدنياً"]


@pytest.fixture(scope="module")
def extractor(random_model):
    return Extractor.from_pretrained(random_model, device="cpu")


def jsonl(path: Path, records: list, raw: bool = False) -> Path:
    lines = [r if raw else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def predict(model, *args) -> int:
    return main(["predict", "--model", str(model), *map(str, args)])


def assert_exact(record: dict, text: str | None = None) -> None:
    if text is not None:
        assert record["text"] == text
    for e in record["entities"]:
        assert record["text"][e["start"]:e["end"]] == e["text"]


# --- item 1: lone surrogates -------------------------------------------------------------------


def test_lone_surrogates_become_error_records_and_the_rest_is_predicted(random_model, tmp_path, capsys):
    src = jsonl(tmp_path / "in.jsonl", [
        json.dumps({"id": "a", "text": AR[0]}, ensure_ascii=False),
        '{"id": "b", "text": "قصفت \\ud83d حلب"}',        # half an emoji in the text
        '{"id": "\\ud800", "text": "حلب"}',                 # in the id
        '{"id": "d", "text": "حلب", "source": "\\udfff"}',  # in metadata
        json.dumps({"id": "e", "text": AR[1]}, ensure_ascii=False)], raw=True)
    out = tmp_path / "out.jsonl"
    assert predict(random_model, "--input", src, "--output", out) == 1
    got = records(out)
    assert [r["id"] for r in got] == ["a", "b", "3", "d", "e"]
    assert got[1]["error"].endswith("in.jsonl:2: field text: lone surrogate U+D83D at character 5 (half of a UTF-16 "
                                    "pair, not a character; the writer of this file split an emoji or other character)")
    assert "in.jsonl:3: field id" in got[2]["error"] and "in.jsonl:4: field source: lone surrogate" in got[3]["error"]
    assert_exact(got[0], AR[0])
    assert_exact(got[4], AR[1])
    assert "wrote 5 record(s); 3 of them error record(s)" in capsys.readouterr().err


def test_a_record_the_model_chokes_on_fails_alone(extractor):
    class Choking:
        def __call__(self, docs, **kwargs):
            if any("\ud83d" in d.text for d in docs):
                raise TypeError("TextEncodeInput must be Union[...]")
            return extractor(docs, **kwargs)

    from araie.records import Document

    docs = [Document(str(i), t) for i, t in enumerate([AR[0], "حلب \ud83d", AR[1]])]
    out = list(predict_stream(Choking(), docs))
    assert [d.id for d in out] == ["0", "1", "2"]
    assert "error" not in out[0].meta and "error" not in out[2].meta
    assert out[1].meta["error"].startswith("prediction failed: TypeError")


# --- item 2: conll and brat from predict --------------------------------------------------------


def test_predict_writes_conll_and_brat_and_checks_before_the_model_loads(random_model, tmp_path, monkeypatch):
    from araie.formats.brat import read_brat
    from araie.formats.conll import read_conll

    src = jsonl(tmp_path / "in.jsonl", [{"id": f"d{i}", "text": t} for i, t in enumerate(AR)])
    assert predict(random_model, "--input", src, "--output", tmp_path / "ref.jsonl") == 0
    ref = [(r["id"], [(e["start"], e["end"], e["type"]) for e in r["entities"]])
           for r in records(tmp_path / "ref.jsonl")]
    assert predict(random_model, "--input", src, "--output", tmp_path / "out.conll", "--format", "conll",
                   "--drop-relations") == 0
    assert predict(random_model, "--input", src, "--output", tmp_path / "brat", "--format", "brat") == 0
    for docs in (read_conll(tmp_path / "out.conll"), read_brat(tmp_path / "brat")):
        assert [(d.id, sorted((e.start, e.end, e.type) for e in d.entities)) for d in docs] == \
            [(i, sorted(s)) for i, s in ref]

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(Extractor, "from_pretrained", no_model)
    assert predict(random_model, "--input", src, "--output", tmp_path / "x.conll", "--format", "conll") == 2
    bad_ids = jsonl(tmp_path / "ids.jsonl", [{"id": "a/b", "text": AR[0]}, {"id": "c", "text": AR[1]}] * 2)
    assert predict(random_model, "--input", bad_ids, "--output", tmp_path / "b2", "--format", "brat") == 2
    assert not (tmp_path / "x.conll").exists() and not (tmp_path / "b2").exists()


# --- item 3 through predict: an untrusted model's label names ------------------------------------


def test_html_from_a_model_with_hostile_label_names_holds_no_injected_tag(random_model, tmp_path):
    folder = tmp_path / "hostile"
    shutil.copytree(random_model, folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    payload = '"><img src=x onerror=alert(1)>'
    config["id2label"] = {k: (v[:2] + payload if v != "O" else v) for k, v in config["id2label"].items()}
    config["label2id"] = {v: int(k) for k, v in config["id2label"].items()}
    config["relation_labels"] = ["NONE", *(payload for _ in config["relation_labels"][1:])]
    (folder / "config.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    src = tmp_path / "in.txt"
    src.write_text("\n".join(AR) + "\n", encoding="utf-8")
    page = tmp_path / "out.html"
    assert predict(folder, "--input", src, "--output", page, "--format", "html", "--relation-threshold", "0") == 0
    html = page.read_text(encoding="utf-8")
    parsed = tags_of(html)
    assert "img" not in parsed.tags and "onerror" not in parsed.attrs
    assert "mark" in parsed.tags and "&lt;img" in html


# --- item 4: a failed run leaves nothing that blocks the retry -----------------------------------


def test_a_missing_input_leaves_no_output_and_the_retry_runs(random_model, tmp_path, capsys):
    out = tmp_path / "x.jsonl"
    assert predict(random_model, "--input", tmp_path / "missing.jsonl", "--output", out) == 2
    assert "missing.jsonl: no such file or folder" in capsys.readouterr().err
    assert not out.exists()
    assert predict(random_model, "--input", jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": AR[0]}]),
                   "--output", out) == 0
    assert len(records(out)) == 1


# --- item 5: nothing silently empty or wrong -----------------------------------------------------


def test_a_folder_of_jsonl_and_txt_is_read_and_odd_entries_are_named(random_model, tmp_path, caplog):
    folder = tmp_path / "in"
    folder.mkdir()
    jsonl(folder / "a.jsonl", [{"id": "a1", "text": AR[0]}, {"id": "a2", "text": AR[1]}])
    (folder / "b.txt").write_text(AR[2], encoding="utf-8")
    (folder / "sub.txt").mkdir()  # item 9: a folder named like a text file
    (folder / "notes.md").write_text("x", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    with caplog.at_level(logging.WARNING):
        assert predict(random_model, "--input", folder, "--output", out) == 0
    assert [r["id"] for r in records(out)] == ["a1", "a2", "b"]
    assert "skipped 2 entries that are not .txt or .jsonl files: notes.md, sub.txt/" in caplog.text


def test_jsonl_on_stdin_or_in_a_txt_file_is_read_as_jsonl(random_model, tmp_path, monkeypatch):
    lines = [json.dumps({"id": "s1", "text": AR[0]}, ensure_ascii=False), json.dumps({"id": "s2", "text": AR[1]},
                                                                                    ensure_ascii=False)]
    data = ("\n".join(lines) + "\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert predict(random_model, "--input", "-", "--output", tmp_path / "a.jsonl") == 0
    (tmp_path / "in.txt").write_bytes(data)
    assert predict(random_model, "--input", tmp_path / "in.txt", "--output", tmp_path / "b.jsonl") == 0
    for name in ("a.jsonl", "b.jsonl"):
        got = records(tmp_path / name)
        assert [r["id"] for r in got] == ["s1", "s2"] and got[0]["text"] == AR[0]


def test_a_run_whose_records_all_failed_exits_non_zero_with_a_summary(random_model, tmp_path, capsys):
    src = jsonl(tmp_path / "in.jsonl", ["{broken", '{"id": "x"}'], raw=True)
    assert predict(random_model, "--input", src, "--output", tmp_path / "out.jsonl") == 1
    assert "wrote 2 record(s); 2 of them error record(s) (first: " in capsys.readouterr().err


# --- item 6: encodings ---------------------------------------------------------------------------


def test_a_utf8_bom_does_not_cost_the_first_record(random_model, tmp_path):
    for name, body in (("in.jsonl", json.dumps({"id": "a", "text": AR[0]}, ensure_ascii=False)), ("in.txt", AR[0])):
        src = tmp_path / name
        src.write_bytes(b"\xef\xbb\xbf" + body.encode() + b"\n")
        out = tmp_path / f"{name}.out.jsonl"
        assert predict(random_model, "--input", src, "--output", out) == 0
        got = records(out)
        assert len(got) == 1 and "error" not in got[0] and got[0]["text"] == AR[0]


def test_a_cp1256_file_is_named_once_with_the_conversion(random_model, tmp_path, caplog):
    src = tmp_path / "legacy.txt"
    src.write_bytes(("\n".join(AR) + "\n").encode("cp1256"))
    out = tmp_path / "out.jsonl"
    with caplog.at_level(logging.WARNING):
        assert predict(random_model, "--input", src, "--output", out) == 1
    assert caplog.text.count("is not UTF-8") == 1
    assert "iconv -f cp1256 -t utf-8" in caplog.text
    assert [("error" in r) for r in records(out)] == [True, True, True]


# --- item 7: Label Studio keeps error records ----------------------------------------------------


def test_labelstudio_output_shows_the_error_of_a_bad_line(random_model, tmp_path):
    src = jsonl(tmp_path / "in.jsonl", [json.dumps({"id": "a", "text": AR[0]}, ensure_ascii=False), "{broken"],
                raw=True)
    out = tmp_path / "out.json"
    assert predict(random_model, "--input", src, "--output", out, "--format", "labelstudio") == 1
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert [t["data"]["id"] for t in tasks] == ["a", "2"]
    assert "error" not in tasks[0]["data"]
    assert tasks[1]["data"]["error"].endswith("in.jsonl:2: invalid JSON: Expecting property name enclosed in double "
                                              "quotes at column 2")


# --- item 9 (predict's share) ----------------------------------------------------------------------


@pytest.mark.parametrize("flag", [["--batch-size", "0"], ["--entity-threshold", "2"], ["--relation-threshold", "-1"]])
def test_nonsense_numbers_are_refused_by_the_parser(random_model, flag, capsys):
    with pytest.raises(SystemExit) as exc:
        predict(random_model, *flag)
    assert exc.value.code == 2
    assert flag[0] in capsys.readouterr().err


def test_output_folder_is_refused_even_with_force(random_model, tmp_path, capsys):
    src = jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": AR[0]}])
    (tmp_path / "dir").mkdir()
    assert predict(random_model, "--input", src, "--output", tmp_path / "dir", "--force") == 2
    assert "is a folder; --format jsonl writes a file" in capsys.readouterr().err
    assert (tmp_path / "dir").is_dir()


def test_numeric_ids_come_back_as_numbers_and_duplicates_are_named(random_model, tmp_path, caplog):
    src = jsonl(tmp_path / "in.jsonl", [{"id": 7, "text": AR[0]}, {"id": 7, "text": AR[1]}, {"id": 1.5, "text": AR[2]}])
    out = tmp_path / "out.jsonl"
    with caplog.at_level(logging.WARNING):
        assert predict(random_model, "--input", src, "--output", out) == 1
    got = records(out)
    assert [r["id"] for r in got] == [7, 7, "3"]
    assert "field id: must be a string" in got[2]["error"]
    assert "in.jsonl:2: duplicate id '7' (first at " in caplog.text


def test_resume_refuses_an_output_of_another_input(random_model, tmp_path, capsys):
    first = jsonl(tmp_path / "a.jsonl", [{"id": f"a{i}", "text": t} for i, t in enumerate(AR)])
    other = jsonl(tmp_path / "b.jsonl", [{"id": f"b{i}", "text": t} for i, t in enumerate(AR)])
    out = tmp_path / "out.jsonl"
    assert predict(random_model, "--input", first, "--output", out) == 0
    before = out.read_bytes()
    out.write_bytes(b"\n".join(before.split(b"\n")[:2]) + b"\n")  # as if killed after two records
    assert predict(random_model, "--input", other, "--output", out, "--resume") == 2
    assert "out.jsonl:1: record 'a0' is not input record 1 ('b0')" in capsys.readouterr().err
    assert predict(random_model, "--input", first, "--output", out, "--resume") == 0
    assert out.read_bytes() == before


# --- the property: random Unicode through predict ------------------------------------------------

HOSTILE = st.sampled_from(["\ud83d", "\udc00", "\x00", "\x1b", "\u200d", "\u200c", "\u200f", "\u202e", "\u2066",
                           "\ufeff", "😀", "👨\u200d👩\u200d👧", "\ufe0f", "\u2028", "\x85", "\r", "\n", "\t", " ",
                           "ً", "ـ", "ﻻ", "٣"])
TEXTS = st.lists(st.one_of(st.sampled_from(AR), st.text(max_size=12), HOSTILE), max_size=8).map("".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXTS, min_size=1, max_size=6), as_text=st.booleans())
def test_random_unicode_gives_one_record_per_line_in_order_with_exact_offsets(extractor, texts, as_text):
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / ("in.txt" if as_text else "in.jsonl"), Path(tmp) / "out.jsonl"
        if as_text:  # one document per line; a lone surrogate becomes bytes that are not UTF-8
            texts = [t.replace("\n", " ").replace("\r", " ") for t in texts]
            src.write_bytes(b"".join(t.encode("utf-8", "surrogatepass") + b"\n" for t in texts))
        else:
            src.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
        written = write_predictions(predict_stream(extractor, read_inputs(str(src), "text" if as_text else "auto"),
                                                   batch_size=3), str(out), "jsonl")
        got = records(out)
    assert written.records == len(got) == len(texts)
    for i, (text, record) in enumerate(zip(texts, got, strict=True)):
        assert record["id"] == (str(i + 1) if as_text else f"d{i}")
        bad = any("\ud800" <= c <= "\udfff" for c in text)
        assert ("error" in record) == bad, record
        if not bad:
            assert_exact(record, text)
            assert all(e["text"] == e["text"].strip() and e["text"] for e in record["entities"])


@pytest.mark.parametrize("tail", ["\u200f", "\u200d", " 😀", "\u202c", "\x1b", "👍🏽", "❤️"])
def test_predicted_spans_lose_invisible_marks_and_emoji_at_their_edges(tail):
    from araie.extractor import to_document
    from araie.records import Document

    text = f"قصفت الطائرات حلب{tail} أمس"
    end, junk = text.index(" أمس"), 17 + tail.startswith(" ")
    result = {"entities": [{"id": "T1", "type": "GPE", "start": 14, "end": end, "score": 0.9},
                           {"id": "T2", "type": "GPE", "start": junk, "end": end, "score": 0.9}],
              "relations": [{"id": "R1", "type": "LOCATED_IN", "head": "T2", "tail": "T1", "score": 0.9}]}
    doc = to_document(Document("d", text), result)
    assert [(e.start, e.end, e.text) for e in doc.entities] == [(14, 17, "حلب")]  # T2 was junk alone: gone
    assert doc.relations == ()  # and so is the relation that named it
