"""Batched extraction over whole documents, and the `arabic-ie` pipeline built on it.

`extract_documents` is the one inference routine: araie's `Extractor` and the pipeline both call it.
Documents are tokenised with raw offsets (the tokenizer carries araie's normalisation), packed into
windows of whole sentences with overlap, and all windows of a call are sorted by length and batched
together. One forward pass per window feeds both heads: entity tags are taken from the window that
owns each token; relations are scored on the same hidden states for span pairs inside a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers import Pipeline

# Imported for transformers' copy of remote code: see the note in tokenization_araie.py.
from .text_araie import is_arabic_letter  # noqa: F401
from .windows_araie import (
    bio_to_spans,
    candidate_pairs,
    decode_entities,
    pack_windows,
    sentence_index,
    token_sentences,
    word_level,
    word_starts_of,
)


@dataclass
class _Doc:
    text: str
    ids: list[int]
    offsets: list[tuple[int, int]]
    sentence_of: list[int]
    word_starts: list[bool] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    relations: dict = field(default_factory=dict)


def _prepare(text: str, tokenizer, max_tokens: int, overlap: int) -> tuple[_Doc, list]:
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    offsets = [tuple(o) for o in enc["offset_mapping"]]
    sentences = token_sentences(text, offsets)
    windows, _ = pack_windows(sentences, max_tokens, overlap)
    n = len(offsets)
    doc = _Doc(text, enc["input_ids"], offsets, sentence_index(sentences, n), word_starts_of(enc), ["O"] * n,
               [1.0] * n)
    return doc, windows


@torch.inference_mode()
def extract_documents(model, tokenizer, texts: list[str], batch_size: int = 16, max_length: int | None = None,
                      entity_threshold: float | None = None, relation_threshold: float | None = None,
                      dtype: torch.dtype | None = None) -> list[dict]:
    """Entities and relations of each text, as `{"entities": [...], "relations": [...]}` with raw offsets.

    Args:
        model: an `AraieForInformationExtraction` in eval mode, on its device.
        tokenizer: the fast tokenizer saved with it.
        texts: raw documents of any length (windowed, never truncated).
        batch_size: windows per forward pass; windows of all texts are sorted by length first.
        max_length: subwords per window (default: the config's `window_length`).
        entity_threshold: minimum entity score (default: the config's).
        relation_threshold: one minimum relation score for every type; None (default) uses the
            config's `relation_thresholds` per type (chosen on dev by `araie tune-thresholds`), and
            its `relation_threshold` for a type without one.
        dtype: autocast dtype (`torch.bfloat16` on CUDA or on a CPU with bf16 instructions,
            `torch.float16` on CUDA), or None for fp32.
    """
    config = model.config
    max_length = max_length or config.window_length
    entity_threshold = config.entity_threshold if entity_threshold is None else entity_threshold
    thresholds = relation_thresholds(config, relation_threshold)
    id2label = {int(k): v for k, v in config.id2label.items()}
    docs, jobs = [], []
    for d, text in enumerate(texts):
        doc, windows = _prepare(text, tokenizer, max_length - 2, min(config.overlap, max_length // 4))
        docs.append(doc)
        jobs.extend((d, w) for w in windows)
    jobs.sort(key=lambda job: job[1].end - job[1].start, reverse=True)
    device = next(model.parameters()).device
    trans = _bio_transitions(id2label) if getattr(config, "bio_decoding", "viterbi") == "viterbi" else None
    for b in range(0, len(jobs), batch_size):
        _run_batch(model, tokenizer, docs, jobs[b:b + batch_size], id2label, device, dtype, trans)
    return [_finish(doc, config, entity_threshold, thresholds) for doc in docs]


def _run_batch(model, tokenizer, docs, jobs, id2label, device, dtype, trans) -> None:
    """Tag one batch of windows into `docs` (`trans`: IOB2 transitions for Viterbi, None for argmax)."""
    width = max(w.end - w.start for _, w in jobs) + 2
    input_ids = torch.full((len(jobs), width), tokenizer.pad_token_id, dtype=torch.long)
    for row, (d, w) in enumerate(jobs):
        ids = [tokenizer.cls_token_id, *docs[d].ids[w.start:w.end], tokenizer.sep_token_id]
        input_ids[row, :len(ids)] = torch.tensor(ids)
    attention = (input_ids != tokenizer.pad_token_id).long()
    attention[:, 0] = 1
    input_ids, attention = input_ids.to(device), attention.to(device)
    autocast = torch.autocast(device.type, dtype=dtype) if dtype is not None else None
    with autocast or _null():
        out = model(input_ids=input_ids, attention_mask=attention, return_hidden=True)
    logp = out.logits.float().log_softmax(-1).cpu()
    if trans is not None:
        best, probs = _viterbi(logp, [docs[d].word_starts[w.start:w.end] for d, w in jobs], trans)
    else:
        top, arg = logp.max(-1)
        best, probs = arg.tolist(), top.exp().tolist()
    window_spans = []
    for row, (d, w) in enumerate(jobs):
        doc = docs[d]
        for i in range(w.own_start, w.own_end):
            doc.tags[i] = id2label[best[row][i - w.start + 1]]
            doc.scores[i] = probs[row][i - w.start + 1]
        tags = [id2label[t] for t in best[row][1:w.end - w.start + 1]]
        window_spans.append(bio_to_spans(word_level(tags, doc.word_starts[w.start:w.end])))
    _score_relations(model, out.last_hidden_state, docs, jobs, window_spans, autocast)


def _bio_transitions(id2label: dict[int, str]) -> torch.Tensor:
    """(n, n) additive scores: 0 where IOB2 allows label j after label i, -inf where it does not
    (`I-X` only after `B-X` or `I-X`); row n is the start of a window, where no `I-` may open."""
    n = len(id2label)
    trans = torch.zeros(n + 1, n)
    for j in range(n):
        prefix, _, etype = id2label[j].partition("-")
        if prefix == "I":
            for i in range(n + 1):
                if i == n or id2label[i] not in (f"B-{etype}", f"I-{etype}"):
                    trans[i, j] = float("-inf")
    return trans


def _viterbi(logp: torch.Tensor, word_starts: list[list[bool]], trans: torch.Tensor
             ) -> tuple[list[list[int]], list[list[float]]]:
    """The best IOB2-valid labels of each window row ([CLS] at 0), decided on the first subword of
    each word as `word_level` decodes, all rows of the batch at once.

    Returns (labels, probabilities) for every position of every row; positions that are not the
    first subword of a word keep their argmax (word_level overrides them).
    """
    best, probs = logp.argmax(-1), logp.max(-1).values.exp()
    positions = [[k + 1 for k, start in enumerate(row) if start] for row in word_starts]
    steps = max(map(len, positions), default=0)
    if steps == 0:
        return best.tolist(), probs.tolist()
    rows, n = len(positions), logp.shape[-1]
    index = torch.tensor([p + [0] * (steps - len(p)) for p in positions])
    valid = torch.tensor([[t < len(p) for t in range(steps)] for p in positions])
    emit = logp.gather(1, index[..., None].expand(rows, steps, n))
    score, back = emit[:, 0] + trans[-1], []
    keep = torch.arange(n).expand(rows, n)  # a padded step passes its label straight back
    for t in range(1, steps):
        top, arg = (score[:, :, None] + trans[:-1]).max(1)
        step = valid[:, t, None]
        score = torch.where(step, top + emit[:, t], score)
        back.append(torch.where(step, arg, keep))
    path = [score.argmax(-1)]
    for arg in reversed(back):
        path.append(arg.gather(1, path[-1][:, None])[:, 0])
    path = torch.stack(path[::-1], 1)  # (rows, steps)
    chosen = emit.gather(2, path[..., None])[..., 0].exp()
    best.scatter_(1, index, torch.where(valid, path, best.gather(1, index)))
    probs.scatter_(1, index, torch.where(valid, chosen, probs.gather(1, index)))
    return best.tolist(), probs.tolist()


def _score_relations(model, hidden, docs, jobs, window_spans, autocast) -> None:
    config = model.config
    allowed = config.allowed_pairs()
    types = config.entity_types
    rows = []
    for row, ((d, w), spans) in enumerate(zip(jobs, window_spans, strict=True)):
        sentence_of = docs[d].sentence_of
        pairs = candidate_pairs([t for _, _, t in spans], [sentence_of[s + w.start] for s, _, _ in spans], allowed)
        if pairs:
            rows.append((row, d, w, spans, pairs))
    if not rows:
        return
    n_spans = max(len(r[3]) for r in rows)
    n_pairs = max(len(r[4]) for r in rows)
    type_id = {t: i for i, t in enumerate(types)}

    def padded(values: list[list[int]], width: int) -> torch.Tensor:  # one tensor from lists, not per element
        return torch.tensor([v + [0] * (width - len(v)) for v in values], dtype=torch.long)

    starts = padded([[s + 1 for s, _, _ in r[3]] for r in rows], n_spans)
    ends = padded([[e + 1 for _, e, _ in r[3]] for r in rows], n_spans)
    kinds = padded([[type_id.get(t, 0) for _, _, t in r[3]] for r in rows], n_spans)
    heads = padded([[h for h, _ in r[4]] for r in rows], n_pairs)
    tails = padded([[t for _, t in r[4]] for r in rows], n_pairs)
    device = hidden.device
    picked = hidden[torch.tensor([r[0] for r in rows], device=device)]
    with autocast or _null():
        logits = model.relation(picked, starts.to(device), ends.to(device), kinds.to(device), heads.to(device),
                                tails.to(device))
    probs = logits.float().softmax(-1).cpu()
    labels = config.relation_labels
    lexicon = set(getattr(config, "clitic_lexicon", None) or ())
    if len(labels) < 2:
        return
    best_p, best_label = (x.tolist() for x in probs[:, :, 1:].max(-1))
    for k, (_, d, w, spans, pairs) in enumerate(rows):
        doc = docs[d]
        raw = [_raw(doc, w, span, lexicon) for span in spans]
        for j, (h, t) in enumerate(pairs):
            key = (raw[h], raw[t], labels[best_label[k][j] + 1])
            doc.relations[key] = max(doc.relations.get(key, 0.0), best_p[k][j])


def _raw(doc: _Doc, w, span, lexicon) -> tuple[int, int, str]:
    s, e, t = span
    found = decode_entities(doc.text, [doc.offsets[s + w.start], doc.offsets[e - 1 + w.start]], [f"B-{t}", f"I-{t}"],
                            lexicon=lexicon)[0]
    return found["start"], found["end"], t


def relation_thresholds(config, override: float | None = None) -> dict[str, float]:
    """The minimum score of each relation type: `override` for all types when given, else the config's
    per-type `relation_thresholds`, falling back to its global `relation_threshold`."""
    per_type = {} if override is not None else dict(getattr(config, "relation_thresholds", None) or {})
    default = config.relation_threshold if override is None else override
    return {label: per_type.get(label, default) for label in config.relation_labels[1:]}


def _finish(doc: _Doc, config, entity_threshold: float, thresholds: dict[str, float]) -> dict:
    lexicon = set(getattr(config, "clitic_lexicon", None) or ())
    tags = word_level(doc.tags, doc.word_starts)
    entities = [e for e in decode_entities(doc.text, doc.offsets, tags, doc.scores, lexicon=lexicon)
                if e["score"] >= entity_threshold]
    index = {}
    for i, e in enumerate(entities, start=1):
        e["id"] = f"T{i}"
        index[(e["start"], e["end"], e["type"])] = e
    return {"entities": entities, "relations": select_relations(doc.relations, index, config, thresholds)}


def select_relations(scored: dict, index: dict, config, thresholds: dict[str, float]) -> list[dict]:
    """Relations `{id, type, head, tail, score}` from scored candidates `{(head key, tail key, type): score}`.

    A candidate counts only if both spans are entities in `index` (key -> entity with an `id`) and
    the schema admits their types. A symmetric type is decided once per unordered pair: both orders
    merge into one candidate with the higher score, and that score meets the type's threshold or not.
    """
    symmetric = config.symmetric_relations()
    candidates: dict = {}
    for (head, tail, label), score in scored.items():
        h, t = index.get(head), index.get(tail)
        if not label or h is None or t is None or not config.relation_allows(label, h["type"], t["type"]):
            continue
        key = (label, *sorted((h["id"], t["id"]))) if label in symmetric else (label, h["id"], t["id"])
        if key not in candidates or candidates[key]["score"] < score:
            candidates[key] = {"type": label, "head": h["id"], "tail": t["id"], "score": score}
    kept = [r for r in candidates.values() if r["score"] >= thresholds.get(r["type"], 1.0)]
    rels = sorted(kept, key=lambda r: (_number(r["head"]), _number(r["tail"]), r["type"]))
    for i, r in enumerate(rels, start=1):
        r["id"] = f"R{i}"
    return rels


def _number(entity_id: str) -> tuple:
    digits = entity_id.lstrip("T")
    return (0, int(digits), "") if digits.isdigit() else (1, 0, entity_id)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class ArabicIEPipeline(Pipeline):
    """`pipeline("arabic-ie", model=DIR, trust_remote_code=True)`: entities and relations per text.

    Returns, for each input string, `{"text", "entities": [...], "relations": [...]}` with raw
    character offsets; `entity_threshold`, `relation_threshold` and `max_length` are call arguments.
    """

    def _sanitize_parameters(self, entity_threshold=None, relation_threshold=None, max_length=None, **kwargs):
        forward = {k: v for k, v in (("entity_threshold", entity_threshold),
                                     ("relation_threshold", relation_threshold),
                                     ("max_length", max_length)) if v is not None}
        return {}, forward, {}

    def preprocess(self, text: str):
        if not isinstance(text, str):
            raise TypeError(f"arabic-ie expects a string, got {type(text).__name__}")
        return {"text": text}

    def _forward(self, inputs, **kwargs):
        texts = inputs["text"] if isinstance(inputs["text"], list) else [inputs["text"]]
        return {"text": texts[0], **extract_documents(self.model, self.tokenizer, texts, **kwargs)[0]}

    def postprocess(self, outputs):
        return outputs
