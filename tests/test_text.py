"""Arabic text pipeline: offset map, clitics, sentences, windows, and the tokenizer's normaliser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from araie.hf.windows_araie import (
    bio_to_spans,
    decode_entities,
    extend_over_marks,
    pack_windows,
    sentence_spans,
    token_sentences,
)
from araie.records import Document, Entity
from araie.text.clitics import strip_clitic_spans
from araie.text.normalize import install_normalizer, normalize
from tests.conftest import build_tiny_encoder

ALPHABET = (
    "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإؤئةى"  # letters
    "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0640"  # tashkeel and tatweel
    "٠١٢٣٤٥٦٧٨٩0123456789RTAPrsx"  # both digit forms, Latin
    " \n\r\u00a0\u200c\u200d.,،؛؟!:/()«»\"-%"  # spaces, ZWNJ/ZWJ, punctuation
    "\ufefb\ufdf2"  # presentation forms: lam-alef ligature, Allah ligature
)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=60), st.data())
def test_offset_map_round_trips_every_span(raw, data):
    norm = normalize(raw)
    m = norm.offsets
    assert len(m.starts) == len(norm.text)
    if norm.text:
        i = data.draw(st.integers(0, len(norm.text) - 1))
        j = data.draw(st.integers(i + 1, len(norm.text)))
        rs, re_ = m.to_raw(i, j)
        assert 0 <= rs <= re_ <= len(raw)
        # a raw span never ends between a letter and its diacritics
        assert extend_over_marks(raw, re_) == re_ or raw[re_] == "\r"
    # gold spans: any raw span between word-ish boundaries maps forward and back to itself
    words = [(k, k + len(w)) for k, w in _words(raw)]
    for s, e in words:
        e = extend_over_marks(raw, e)
        ns, ne = m.to_norm(s, e)
        if ns < ne:
            assert m.to_raw(ns, ne) == (s, e), (raw, s, e)


def _words(raw):
    import re

    for match in re.finditer(r"[^\s\u0640\u064b-\u0652\u200c\u200d\r]+", raw):
        if match.group()[0] not in "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652":
            yield match.start(), match.group()


@pytest.mark.parametrize("raw, expected", [
    ("الأممالمتحدة", "الأممالمتحدة"),
    ("حلبمن", "حلبمن"),
    ("لـRT", "ل RT"),
    ("تمامًا", "تماما"),
    ("«جيش حلب»", "« جيش حلب »"),
    ("7 ديسمبر/كانون الأول", "7 ديسمبر / كانون الأول"),
    ("(فاستقم)", "( فاستقم )"),
    ("https://telegram.me/buratha", "https :// telegram . me / buratha"),
    ("بالجيش السوري وللمعارضة والي", "ب الجيش السوري ول لمعارضة والي"),
    ("٣٢٤ مدنياً\r\n", "324 مدنيا \n"),
    ("\ufefb\u00a0\u200cحلب", "لا حلب"),
])
def test_hard_strings_of_the_seeds(raw, expected):
    assert normalize(raw).text == expected


def test_offsets_of_hard_strings():
    raw = "قال مصدر لـRT إن الجيش سيطر تمامًا على حلب"
    norm = normalize(raw)
    i = norm.text.index("RT")
    assert norm.offsets.to_raw(i, i + 2) == (11, 13)
    i = norm.text.index("تماما")
    assert raw[slice(*norm.offsets.to_raw(i, i + 5))] == "تمامًا"


def test_sentences_cover_the_text_and_split_where_expected():
    raw = "قال «جيش حلب». وانسحب 3.5 كم!\nالمصدر: telegram.me/x"
    spans = sentence_spans(raw)
    assert "".join(raw[s:e] for s, e in spans) == raw
    assert [raw[s:e] for s, e in spans] == ["قال «جيش حلب». ", "وانسحب 3.5 كم!\n", "المصدر: telegram.me/x"]


def test_windows_cover_a_long_document_exactly_once():
    sentences, pos = [], 0
    for k in range(400):
        length = 3 + (k * 7) % 40
        sentences.append((pos, pos + length))
        pos += length
    sentences.append((pos, pos + 130))  # a sentence longer than a window is cut, and counted
    n = pos + 130
    windows, cut = pack_windows(sentences, 62, 16)
    assert cut == 1
    owners = [0] * n
    for w in windows:
        assert w.end - w.start <= 62 and w.start <= w.own_start <= w.own_end <= w.end
        for i in range(w.own_start, w.own_end):
            owners[i] += 1
    assert owners == [1] * n
    assert sum(w.end - w.start for w in windows) > n  # they overlap


def test_decoding_across_window_edges_loses_no_span():
    # 10x the window: each token tagged by its owning window only must give back every span
    tags = []
    for k in range(300):
        tags += ["B-GPE", "I-GPE", "O"] if k % 2 else ["B-ORG", "O"]
    sentences = [(i, i + 5) for i in range(0, len(tags), 5)]
    windows, _ = pack_windows(sentences, 48, 12)
    assert len(tags) >= 10 * 48
    merged = ["?"] * len(tags)
    for w in windows:
        local = tags[w.start:w.end]  # what a perfect model says inside this window
        for i in range(w.own_start, w.own_end):
            merged[i] = local[i - w.start]
    assert bio_to_spans(merged) == bio_to_spans(tags)
    assert len(bio_to_spans(merged)) == 300


def _entity(text: str, surface: str, etype: str, nth: int = 0) -> Entity:
    start = -1
    for _ in range(nth + 1):
        start = text.index(surface, start + 1)
    return Entity(f"T{start}", etype, start, start + len(surface), surface)


def test_strip_clitics_moves_prefixes_out_and_counts():
    text = "وصل وفد إلى بكردستان ثم إلى كردستان، وقاتل بالجيش مع بغداد وبغداد"
    doc = Document("d", text, (
        _entity(text, "بكردستان", "GPE"), _entity(text, "كردستان", "GPE", 1), _entity(text, "بالجيش", "ORG"),
        _entity(text, "بغداد", "GPE"), _entity(text, "وبغداد", "GPE")))
    counter = {}
    out = next(strip_clitic_spans([doc], counter=counter))
    # بكردستان and بالجيش lose their clitic; بغداد is a name that begins with ب and stays whole,
    # وبغداد becomes بغداد because بغداد is known as a whole entity
    assert [e.text for e in out.entities] == ["كردستان", "كردستان", "الجيش", "بغداد", "بغداد"]
    assert all(text[e.start:e.end] == e.text for e in out.entities)
    assert counter["changed"] == 3


@pytest.fixture(scope="module")
def seed_tokenizer(tmp_path_factory, tiny_docs):
    from transformers import AutoTokenizer

    folder = build_tiny_encoder(tmp_path_factory.mktemp("tok"), [d.text for d in tiny_docs] * 3, vocab_size=600)
    return folder, AutoTokenizer.from_pretrained(folder)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=80))
def test_tokenizer_normaliser_matches_the_reference(seed_tokenizer_cache, raw):
    plain, installed = seed_tokenizer_cache
    norm = normalize(raw)
    a = installed(raw, add_special_tokens=False, return_offsets_mapping=True)
    b = plain(norm.text, add_special_tokens=False, return_offsets_mapping=True)
    assert a["input_ids"] == b["input_ids"]
    mapped = [norm.offsets.to_raw(s, e) for s, e in b["offset_mapping"]]
    assert [(s, extend_over_marks(raw, e)) for s, e in a["offset_mapping"]] == \
        [(s, extend_over_marks(raw, e)) for s, e in mapped]


@pytest.fixture(scope="module")
def seed_tokenizer_cache(seed_tokenizer):
    from transformers import AutoTokenizer

    folder, _ = seed_tokenizer
    return AutoTokenizer.from_pretrained(folder), install_normalizer(AutoTokenizer.from_pretrained(folder))


def test_decode_entities_keeps_diacritics_with_their_letter():
    raw = "قتل 12 مدنياً"
    offsets = [(0, 3), (4, 6), (7, 12)]
    out = decode_entities(raw, offsets, ["O", "B-QUANTITY", "I-QUANTITY"], [1.0, 0.9, 0.7])
    assert out == [{"type": "QUANTITY", "start": 4, "end": 13, "text": "12 مدنياً", "score": pytest.approx(0.8)}]


def test_token_sentences_assigns_every_token():
    raw = "سيطر الجيش. وانسحب المسلحون."
    offsets = [(0, 4), (5, 10), (10, 11), (12, 18), (19, 27), (27, 28)]
    assert token_sentences(raw, offsets) == [(0, 3), (3, 6)]


def test_word_level_tags_let_the_first_subword_decide():
    from araie.hf.windows_araie import word_level

    # جيش | العز ##ة : a weak model tags ##ة O; the span must still cover the whole word
    tags = ["B-ORG", "I-ORG", "O", "O", "B-GPE"]
    starts = [True, True, False, True, True]
    assert word_level(tags, starts) == ["B-ORG", "I-ORG", "I-ORG", "O", "B-GPE"]
    # a B on a continuation subword cannot open a span inside a word
    assert word_level(["O", "B-LOC"], [True, False]) == ["O", "O"]


def test_alignment_names_an_entity_that_ends_inside_a_glued_word(seed_tokenizer_cache):
    from araie.features import align_entities, tokenize_document

    _, tokenizer = seed_tokenizer_cache
    text = "خرج المدنيون من حلبمن الشرق"
    doc = Document("d", text, (Entity("T1", "GPE", 16, 19, "حلب"),))
    spans, bad = align_entities(tokenize_document(doc, tokenizer, 62, 8))
    assert spans == [] and len(bad) == 1
    assert "inside a word" in bad[0].reason and "'حلب'" in str(bad[0])
