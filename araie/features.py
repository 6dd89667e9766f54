"""Documents to model inputs and back: gold spans to subword IOB2 labels, windows, candidate pairs.

Offsets come straight from the fast tokenizer, which carries araie's normalisation
(`text.normalize.install_normalizer`), so token offsets are already raw offsets.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from araie.hf.windows_araie import (
    candidate_pairs,
    extend_over_marks,
    pack_windows,
    sentence_index,
    token_sentences,
    word_level,
    word_starts_of,
)
from araie.records import Document, Entity
from araie.schema import Schema, bio_labels, relation_labels

IGNORE = -100


@dataclass(frozen=True, slots=True)
class Misaligned:
    """A gold entity that no sequence of whole subword tokens reproduces."""

    doc_id: str
    entity: Entity
    reason: str

    def __str__(self) -> str:
        e = self.entity
        return f"{self.doc_id} {e.id} {e.type} {e.start}:{e.end} {e.text!r}: {self.reason}"


@dataclass(slots=True)
class Tokenized:
    doc: Document
    input_ids: list[int]
    offsets: list[tuple[int, int]]
    windows: list = field(default_factory=list)
    cut_sentences: int = 0
    sentence_of: list[int] = field(default_factory=list)
    word_starts: list[bool] = field(default_factory=list)


def tokenize_document(doc: Document, tokenizer, max_tokens: int, overlap: int) -> Tokenized:
    enc = tokenizer(doc.text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    offsets = [tuple(o) for o in enc["offset_mapping"]]
    sentences = token_sentences(doc.text, offsets)
    windows, cut = pack_windows(sentences, max_tokens, overlap)
    return Tokenized(doc, enc["input_ids"], offsets, windows, cut, sentence_index(sentences, len(offsets)),
                     word_starts_of(enc))


def align_entities(tok: Tokenized, lexicon=None) -> tuple[list[tuple[int, int, Entity]], list[Misaligned]]:
    """Token spans `(first, last + 1, entity)` of the gold entities, and those that cannot be aligned.

    Spans are decoded word by word (`word_level`), so an entity must start at the first subword of a
    pre-tokenised word and end at the last subword of one. An entity that starts right after a bare
    proclitic inside a word (`و` of `وتركيا`) is aligned to that word when the decoder will cut the
    clitic back off, i.e. when `bare_clitic_cut` with the model's `lexicon` recovers the gold start.
    """
    n = len(tok.offsets)
    text = tok.doc.text
    starts = {s: i for i, (s, _) in enumerate(tok.offsets) if tok.word_starts[i]}
    ends = {extend_over_marks(text, e): i for i, (_, e) in enumerate(tok.offsets)
            if i + 1 == n or tok.word_starts[i + 1]}
    aligned, bad = [], []
    for ent in tok.doc.entities:
        first, last = starts.get(ent.start), ends.get(ent.end)
        if first is None and lexicon:
            first = _absorbed_start(tok, ent, lexicon)
        if first is None or last is None or last < first:
            inside = [i for i, (s, e) in enumerate(tok.offsets) if s < ent.end and e > ent.start]
            pieces = " ".join(repr(text[tok.offsets[i][0]:tok.offsets[i][1]]) for i in inside)
            where = "starts" if first is None else "ends"
            bad.append(Misaligned(tok.doc.id, ent, f"{where} inside a word (subwords: {pieces or 'none'})"))
            continue
        aligned.append((first, last + 1, ent))
    return aligned, bad


def _absorbed_start(tok: Tokenized, ent: Entity, lexicon) -> int | None:
    from araie.hf.windows_araie import decode_entities

    word = None
    for i, (s, _) in enumerate(tok.offsets):
        if s >= ent.start:
            break
        if tok.word_starts[i]:
            word = i
    if word is None or tok.offsets[word][0] >= ent.start:
        return None
    probe = decode_entities(tok.doc.text, [(tok.offsets[word][0], ent.end)], [f"B-{ent.type}"], lexicon=lexicon)
    return word if probe and probe[0]["start"] == ent.start else None


def iob2_tags(n_tokens: int, spans: Iterable[tuple[int, int, Entity]]) -> list[str]:
    tags = ["O"] * n_tokens
    for first, end, ent in spans:
        tags[first] = f"B-{ent.type}"
        for i in range(first + 1, end):
            tags[i] = f"I-{ent.type}"
    return tags


def window_examples(doc: Document, tokenizer, schema: Schema, max_length: int, overlap: int,
                    negatives: int | None = None, rng: random.Random | None = None,
                    problems: list | None = None, lexicon=None) -> Iterator[dict]:
    """One training row per window: token ids, IOB2 label ids, gold spans and labelled candidate pairs.

    Misaligned gold entities are appended to `problems` and their tokens get the ignore label, so
    they teach nothing wrong; they are never dropped silently.
    """
    tok = tokenize_document(doc, tokenizer, max_length - 2, overlap)
    spans, bad = align_entities(tok, lexicon)
    if problems is not None:
        problems.extend(bad)
    label_id = {t: i for i, t in enumerate(bio_labels(schema))}
    rel_id = {t: i for i, t in enumerate(relation_labels(schema))}
    labels = [label_id[t] for t in iob2_tags(len(tok.input_ids), spans)]
    for m in bad:
        for i, (s, e) in enumerate(tok.offsets):
            if s < m.entity.end and e > m.entity.start:
                labels[i] = IGNORE
    gold = _gold_pairs(doc, schema)
    for w, inside, pairs in window_candidates(tok, spans, allowed_pairs(schema)):
        heads = [h for h, _ in pairs]
        tails = [t for _, t in pairs]
        pair_labels = [rel_id[gold.get((inside[h][2].id, inside[t][2].id), "NONE")] for h, t in pairs]
        if negatives is not None and rng is not None:
            keep = sample_pairs(pair_labels, negatives, rng)
            heads, tails, pair_labels = ([x[i] for i in keep] for x in (heads, tails, pair_labels))
        yield {
            "doc_id": doc.id,
            "input_ids": [tokenizer.cls_token_id, *tok.input_ids[w.start:w.end], tokenizer.sep_token_id],
            "labels": [IGNORE, *labels[w.start:w.end], IGNORE],
            # +1: position 0 is [CLS]
            "span_starts": [s + 1 for s, _, _ in inside],
            "span_ends": [e + 1 for _, e, _ in inside],
            "span_types": [schema.entity_types.index(ent.type) for _, _, ent in inside],
            "pair_heads": heads,
            "pair_tails": tails,
            "pair_labels": pair_labels,
        }


def window_candidates(tok: Tokenized, spans: list[tuple[int, int, Entity]], allowed: set[tuple[str, str]]
                      ) -> Iterator[tuple]:
    """For each window of `tok`: the window, its spans `(first, end, entity)` in window token indices, and
    every candidate pair of them (`candidate_pairs`: same sentence, a type pair the schema admits)."""
    for w in tok.windows:
        inside = [(f - w.start, e - w.start, ent) for f, e, ent in spans if f >= w.start and e <= w.end]
        pairs = candidate_pairs([ent.type for _, _, ent in inside],
                                [tok.sentence_of[s + w.start] for s, _, _ in inside], allowed)
        yield w, inside, pairs


def sample_pairs(pair_labels: list[int], negatives: int, rng: random.Random) -> list[int]:
    """Indices of the pairs a training window keeps: every positive (label > 0) and `negatives` sampled
    NONE pairs per positive, at least `negatives` per window (all of them when there are fewer)."""
    keep = [i for i, lab in enumerate(pair_labels) if lab != 0]
    neg = [i for i, lab in enumerate(pair_labels) if lab == 0]
    keep += rng.sample(neg, min(len(neg), max(negatives, negatives * len(keep))))
    return sorted(keep)


def allowed_pairs(schema: Schema) -> set[tuple[str, str]]:
    """Ordered entity-type pairs that some relation of the schema admits."""
    return {(h, t) for h in schema.entity_types for t in schema.entity_types if schema.pair_allowed(h, t)}


def _gold_pairs(doc: Document, schema: Schema) -> dict[tuple[str, str], str]:
    """Ordered (head id, tail id) -> relation type; a symmetric relation is gold in both orders."""
    out = {}
    for r in doc.relations:
        out[(r.head, r.tail)] = r.type
        rtype = schema.relation(r.type)
        if rtype is not None and rtype.symmetric:
            out[(r.tail, r.head)] = r.type
    return out


def round_trip_problems(docs, tokenizer, max_length: int = 256, overlap: int = 32,
                        lexicon=None) -> tuple[int, list[Misaligned]]:
    """Encode gold spans to subword IOB2 tags per window and decode them back; list what does not return.

    Returns the number of gold entities checked and the ones not reproduced exactly (offsets and
    type), each with the reason: a boundary inside a subword, or a tag sequence that decodes
    differently (adjacent entities of one type).
    """
    from araie.hf.windows_araie import decode_entities

    checked, bad = 0, []
    for doc in docs:
        tok = tokenize_document(doc, tokenizer, max_length - 2, overlap)
        spans, misaligned = align_entities(tok, lexicon)
        bad.extend(misaligned)
        tags = iob2_tags(len(tok.input_ids), spans)
        merged = ["O"] * len(tags)
        for w in tok.windows:  # decode through the windows, as prediction does
            for i in range(w.own_start, w.own_end):
                merged[i] = tags[i]
        decoded = {(e["start"], e["end"], e["type"]) for e in decode_entities(
            doc.text, tok.offsets, word_level(merged, tok.word_starts), lexicon=lexicon)}
        for _, _, ent in spans:
            if (ent.start, ent.end, ent.type) not in decoded:
                bad.append(Misaligned(doc.id, ent, "IOB2 tags decode to a different span"))
        checked += len(doc.entities)
    return checked, bad
