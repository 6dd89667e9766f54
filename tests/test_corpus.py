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


# Reserved for an external check: none may be annotated, quoted or named anywhere in annotations/.
RESERVED_IDS = ("snn_01912", "snn_08638", "snn_11027", "snn_28640", "snn_25908",
                "snn_09896", "snn_17143", "snn_03048", "snn_16698", "snn_28826")


def test_reserved_corpus_ids_appear_nowhere_in_annotations():
    found = [(str(p.relative_to(ANNOTATIONS)), i) for p in ANNOTATIONS.rglob("*") if p.is_file()
             for i in RESERVED_IDS if i in p.read_text(encoding="utf-8", errors="replace")]
    assert found == []


def test_real_news_meets_its_targets(corpus_docs):
    import re

    news = [d for d in corpus_docs if d.meta.get("source") == "saudinewsnet"]
    schema = Schema.load()
    assert len(news) >= 120 and all(re.fullmatch(r"snn_\d{5}", d.id) for d in news)
    assert sum(len(d.text.split()) for d in news) >= 45_000
    assert all(d.meta.get("url", "").startswith("http") and d.meta.get("newspaper") for d in news)
    assert len({d.text for d in news}) == len(news)
    assert sum(e.type == "PER" for d in corpus_docs for e in d.entities) >= 600
    relations = Counter(r.type for d in news for r in d.relations)
    assert min(relations[t] for t in schema.relation_names) >= 60, relations


def test_news_splits_are_the_ones_drawn_before_training(corpus_docs):
    import json

    selection = json.loads((ANNOTATIONS / "news_selection.json").read_text(encoding="utf-8"))
    splits = json.loads((ANNOTATIONS / "splits.json").read_text(encoding="utf-8"))
    assert {d["id"]: d["split"] for d in selection["documents"]} == {
        d.id: splits[d.id] for d in corpus_docs if d.meta.get("source") == "saudinewsnet"}
    stats = corpus_stats([ANNOTATIONS])
    assert stats["test_news"]["source"] == {"saudinewsnet": stats["test_news"]["size"]["documents"]}
    assert stats["test_news"]["size"]["documents"] >= 30
    assert stats["dev"]["source"].get("saudinewsnet", 0) >= 10 and stats["test"]["source"] == {"seed": 5}
    kinds = Counter(d["kind"] for d in selection["documents"])
    assert kinds["conflict"] == 2 * kinds["general"]  # two thirds conflict news, one third general


def test_reported_agreement_on_real_news():
    import json

    from araie.evaluate import score
    from araie.records import Document

    passes = json.loads((ANNOTATIONS / "agreement_news.json").read_text(encoding="utf-8"))
    a = [Document.from_json(r) for r in passes["pass_a"]]
    b = [Document.from_json(r) for r in passes["pass_b"]]
    assert len(a) == len(b) == 12 and [d.id for d in a] == [d.id for d in b]
    report = score(a, b, Schema.load())
    assert round(report.entities_strict.micro.f1, 3) == NEWS_AGREEMENT[0]  # annotations/README.md
    assert round(report.relations_strict.micro.f1, 3) == NEWS_AGREEMENT[1]


NEWS_AGREEMENT = (0.962, 0.830)
