"""The shipped corpus: valid, complete enough to train on, and free of copied sentences."""

from __future__ import annotations

from collections import Counter

from araie.cli import main
from araie.hf.windows_araie import sentence_spans
from araie.schema import Schema
from araie.stats import corpus_stats
from tests.conftest import ANNOTATIONS


def test_corpus_validates(capsys):
    assert main(["validate", str(ANNOTATIONS)]) == 0
    assert "0 error(s)" in capsys.readouterr().err


def test_seed_annotations_cover_every_type(seed_docs):
    schema = Schema.load()
    assert sorted(d.id for d in seed_docs) == ["000_13b6b9659e060c4f", "001_7db0d509dabf6755",
                                               "002_c61c90c4b29bbaca", "003_ac1b9e49189827d1",
                                               "004_0187b1131e6ff58a"]
    assert {e.type for d in seed_docs for e in d.entities} == set(schema.entity_types)
    assert {r.type for d in seed_docs for r in d.relations} == set(schema.relation_names)


def test_authored_corpus_meets_its_targets(corpus_docs):
    authored = [d for d in corpus_docs if d.meta.get("source") == "authored"]
    schema = Schema.load()
    assert len(authored) >= 80
    assert sum(len(d.text.split()) for d in authored) >= 25_000
    entities = Counter(e.type for d in authored for e in d.entities)
    relations = Counter(r.type for d in authored for r in d.relations)
    assert min(entities[t] for t in schema.entity_types) >= 100, entities
    assert min(relations[t] for t in schema.relation_names) >= 150, relations


def test_splits_hold_the_seeds_out(corpus_docs):
    stats = corpus_stats([ANNOTATIONS])
    assert stats["test"]["source"] == {"seed": 5}
    assert "seed" not in stats["train"]["source"] and "seed" not in stats.get("dev", {}).get("source", {})


def test_no_sentence_is_shared_between_documents(corpus_docs):
    """No authored sentence copies another document; real news may repeat wire copy, but not across splits."""
    import json

    splits = json.loads((ANNOTATIONS / "splits.json").read_text(encoding="utf-8"))
    source = {d.id: d.meta.get("source") for d in corpus_docs}
    seen: dict[str, str] = {}
    repeats = []
    for doc in corpus_docs:
        for s, e in sentence_spans(doc.text):
            sentence = doc.text[s:e].strip()
            if len(sentence.split()) < 5:  # bylines and agency tags repeat by nature
                continue
            other = seen.setdefault(sentence, doc.id)
            both_news = source[other] == source[doc.id] == "saudinewsnet"
            if other != doc.id and not (both_news and splits[other] == splits[doc.id]):
                repeats.append((other, doc.id, sentence[:50]))
    assert repeats == []


def test_reported_agreement_between_the_two_seed_passes():
    import json

    from araie.evaluate import score
    from araie.records import Document

    passes = json.loads((ANNOTATIONS / "agreement.json").read_text(encoding="utf-8"))
    a = [Document.from_json(r) for r in passes["pass_a"]]
    b = [Document.from_json(r) for r in passes["pass_b"]]
    report = score(a, b, Schema.load())
    assert round(report.entities_strict.micro.f1, 3) == 1.000  # annotations/README.md
    assert round(report.relations_strict.micro.f1, 3) == 0.990


def test_no_file_of_the_project_names_a_corpus_article():
    """Corpus text and ids stay in ../shared: the real-news annotations are stand-off, keyed by a text digest."""
    import re

    pattern = re.compile(r"snn_\d{5}")
    root = ANNOTATIONS.parent
    named = [str(p.relative_to(root)) for folder in ("annotations", "araie", "tests", "train", "eval", "model")
             for p in (root / folder).rglob("*") if p.is_file() and p.suffix != ".safetensors"
             and pattern.search(p.read_text(encoding="utf-8", errors="replace"))]
    named += [n for n in ("README.md", "Makefile") if pattern.search((root / n).read_text(encoding="utf-8"))]
    assert named == []


def test_real_news_stand_off_holds_offsets_and_no_text():
    import json

    rows = json.loads((ANNOTATIONS / "news_standoff.json").read_text(encoding="utf-8"))
    assert len(rows) >= 120 and len({r["sha256"] for r in rows}) == len(rows)
    assert {r["split"] for r in rows} == {"train", "dev", "test_news"}
    assert sum(r["split"] == "test_news" for r in rows) >= 30
    assert all(len(e) == 4 and isinstance(e[2], int) for r in rows for e in r["entities"])
    assert sum(e[1] == "PER" for r in rows for e in r["entities"]) >= 600
    relations = Counter(x[1] for r in rows for x in r["relations"])
    assert min(relations[t] for t in Schema.load().relation_names) >= 60, relations
