"""Why relation scores are what they are: calibration, candidate pairs, and relations on gold entities.

- `relation_outcomes` / `reliability`: each predicted relation with its score and whether it is
  strictly right; per type, the share right in each score bin (what a 0.9 means, measured).
- `pair_stats`: candidate pairs per sentence at training (positives + sampled negatives, as
  `data.negatives` draws them) and at inference (every typed pair the schema admits in a sentence).
- `oracle_predictions`: the model scores every candidate pair of the *gold* entities, so relation
  error can be told apart from entity error (`araie evaluate --oracle-entities`).
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from araie.evaluate import relation_key
from araie.records import Document, Relation
from araie.schema import Schema


def relation_outcomes(gold_docs: Iterable[Document], pred_docs: Iterable[Document], schema: Schema | None = None
                      ) -> tuple[list[tuple[str, float, bool]], Counter]:
    """Every predicted relation as `(type, score, strictly right)`, and the gold count per type.

    Matching is that of the strict relation score: a gold relation is claimed by at most one
    prediction, the highest-scored first, so the outcomes of the predictions at or above any
    threshold give exactly the strict scores at that threshold.
    """
    preds = {d.id: d for d in pred_docs}
    outcomes: list[tuple[str, float, bool]] = []
    n_gold: Counter = Counter()
    for gold in gold_docs:
        left = Counter(k for r in gold.relations if (k := relation_key(gold, r, schema)) is not None)
        n_gold.update(k[0] for k in left.elements())
        pred = preds.get(gold.id, Document(gold.id, gold.text))
        scored = [(r.score if r.score is not None else 1.0, k) for r in pred.relations
                  if (k := relation_key(pred, r, schema)) is not None]
        for score, key in sorted(scored, key=lambda item: -item[0]):
            right = left[key] > 0
            left[key] -= right
            outcomes.append((key[0], score, right))
    return outcomes, n_gold


def reliability(outcomes: list[tuple[str, float, bool]], bins: int = 10) -> dict:
    """Per relation type (and `all`): equal-width score bins with predictions, share right and mean score.

    Returns `{type: {"bins": [{"low", "high", "predicted", "correct", "accuracy", "mean_score"}],
    "ece": ...}}` where only bins holding predictions are listed and `ece` is the expected
    calibration error (the prediction-weighted mean of |accuracy - mean score| over the bins).
    """
    groups: dict[str, list[tuple[float, bool]]] = {"all": []}
    for rtype, score, right in outcomes:
        groups.setdefault(rtype, []).append((score, right))
        groups["all"].append((score, right))
    out = {}
    for rtype, items in sorted(groups.items(), key=lambda kv: (kv[0] != "all", kv[0])):
        cells: dict[int, list[tuple[float, bool]]] = {}
        for score, right in items:
            cells.setdefault(min(int(score * bins), bins - 1), []).append((score, right))
        rows = []
        for b in sorted(cells):
            scores = [s for s, _ in cells[b]]
            correct = sum(r for _, r in cells[b])
            rows.append({"low": round(b / bins, 4), "high": round((b + 1) / bins, 4), "predicted": len(scores),
                         "correct": correct, "accuracy": round(correct / len(scores), 4),
                         "mean_score": round(sum(scores) / len(scores), 4)})
        ece = sum(r["predicted"] * abs(r["accuracy"] - r["mean_score"]) for r in rows) / len(items) if items else 0.0
        out[rtype] = {"predicted": len(items), "bins": rows, "ece": round(ece, 4)}
    return out


def format_reliability(table: dict) -> list[str]:
    """Markdown lines of a `reliability` table: one row per type and score bin."""
    lines = ["| type | score bin | predicted | correct | share correct | mean score |", "|---|---|---:|---:|---:|---:|"]
    for rtype, entry in table.items():
        for r in entry["bins"]:
            lines.append(f"| {rtype} | {r['low']:.1f}–{r['high']:.1f} | {r['predicted']} | {r['correct']} | "
                         f"{r['accuracy']:.3f} | {r['mean_score']:.3f} |")
    lines += ["", "Expected calibration error: " + ", ".join(
        f"{t} {e['ece']:.3f} ({e['predicted']})" for t, e in table.items()) + " (predictions in brackets)."]
    return lines


# --- candidate pairs -------------------------------------------------------------------------

@dataclass
class PairStats:
    """Candidate pairs per sentence (sentences that hold at least one candidate pair)."""

    per_sentence: list[int]
    positives: int

    def to_dict(self) -> dict:
        counts = sorted(self.per_sentence)
        total = sum(counts)
        negatives = total - self.positives
        return {"sentences": len(counts), "pairs": total, "positives": self.positives, "negatives": negatives,
                "negatives_per_positive": round(negatives / self.positives, 2) if self.positives else None,
                "mean": round(total / len(counts), 2) if counts else 0.0,
                "median": statistics.median(counts) if counts else 0,
                "p90": counts[int(0.9 * (len(counts) - 1))] if counts else 0, "max": counts[-1] if counts else 0}


def pair_stats(docs: Iterable[Document], tokenizer, schema: Schema, max_length: int = 256, overlap: int = 32,
               negatives: int = 8, seed: int = 13, lexicon=None) -> dict[str, dict]:
    """Candidate pairs per sentence of gold entities, as training samples them and as inference scores them.

    `training`: the positives and the `negatives` sampled NONE pairs per positive of each window
    (`features.sample_pairs`, the rows `araie train` builds); `inference`: every candidate pair. A
    sentence is counted once per window that holds it.
    """
    from araie.features import align_entities, allowed_pairs, sample_pairs, tokenize_document, window_candidates

    rng = random.Random(seed)
    allowed = allowed_pairs(schema)
    train, infer = PairStats([], 0), PairStats([], 0)
    for doc in docs:
        gold = {(r.head, r.tail) for r in doc.relations}
        gold |= {(r.tail, r.head) for r in doc.relations if (t := schema.relation(r.type)) and t.symmetric}
        tok = tokenize_document(doc, tokenizer, max_length - 2, overlap)
        spans, _ = align_entities(tok, lexicon)
        for w, inside, pairs in window_candidates(tok, spans, allowed):
            labels = [int((inside[h][2].id, inside[t][2].id) in gold) for h, t in pairs]
            kept = set(sample_pairs(labels, negatives, rng))
            for stats, chosen in ((infer, range(len(pairs))), (train, sorted(kept))):
                by_sentence = Counter(tok.sentence_of[w.start + inside[pairs[i][0]][0]] for i in chosen)
                stats.per_sentence.extend(by_sentence.values())
                stats.positives += sum(labels[i] for i in chosen)
    return {"training": train.to_dict(), "inference": infer.to_dict()}


def record_pair_stats(docs: Iterable[Document], gold_docs: Iterable[Document], schema: Schema) -> dict:
    """Candidate pairs per sentence among the entities of records (e.g. predictions), as inference forms
    them: every ordered pair in one sentence whose types the schema admits; a positive is a pair that
    holds a gold relation, strictly (offsets and types of both arguments)."""
    from araie.hf.windows_araie import sentence_spans

    gold_pairs = {d.id: _gold_pair_keys(d, schema) for d in gold_docs}
    stats = PairStats([], 0)
    for doc in docs:
        sentences = sentence_spans(doc.text)
        which = [next(i for i, (s, e) in enumerate(sentences) if s <= ent.start < e) for ent in doc.entities]
        per_sentence: Counter = Counter()
        for i, h in enumerate(doc.entities):
            for j, t in enumerate(doc.entities):
                if i != j and which[i] == which[j] and schema.pair_allowed(h.type, t.type):
                    per_sentence[which[i]] += 1
                    stats.positives += (_key(h), _key(t)) in gold_pairs.get(doc.id, ())
        stats.per_sentence.extend(per_sentence.values())
    return stats.to_dict()


def _gold_pair_keys(doc: Document, schema: Schema) -> set[tuple]:
    """Ordered argument pairs `((start, end, type), (start, end, type))` of the gold relations; both
    orders for a symmetric type, as training labels them."""
    ents = {e.id: _key(e) for e in doc.entities}
    out = set()
    for r in doc.relations:
        if r.head in ents and r.tail in ents:
            out.add((ents[r.head], ents[r.tail]))
            if (rtype := schema.relation(r.type)) is not None and rtype.symmetric:
                out.add((ents[r.tail], ents[r.head]))
    return out


def format_pair_stats(stats: dict[str, dict]) -> list[str]:
    """Markdown lines: one row per setting of `pair_stats`."""
    lines = ["| candidate pairs | sentences | pairs | positives | negatives per positive | mean per sentence "
             "| median | p90 | max |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in stats.items():
        ratio = "–" if s["negatives_per_positive"] is None else f"{s['negatives_per_positive']:.1f}"
        lines.append(f"| {name} | {s['sentences']} | {s['pairs']} | {s['positives']} | {ratio} | {s['mean']:.1f} "
                     f"| {s['median']} | {s['p90']} | {s['max']} |")
    lines += ["", "A sentence counts once per window that holds it; a positive is an ordered pair holding a gold "
              "relation (a symmetric one in both orders, as training labels it)."]
    return lines


# --- relations on gold entities --------------------------------------------------------------

def oracle_predictions(extractor, gold_docs: list[Document], batch_size: int = 16,
                       relation_threshold: float | None = None) -> tuple[list[Document], int]:
    """Records holding the gold entities and the relations the model predicts between them.

    Each document is windowed as at inference and the relation head scores every candidate pair of
    the gold entities that whole subwords can represent; relations are decided as the pipeline does
    (`select_relations`: per-type thresholds, symmetric types once per pair). Returns the records
    and the number of gold entities that could not be aligned to subwords (their relations count
    as missed).
    """
    from araie.features import align_entities, allowed_pairs, tokenize_document, window_candidates
    from araie.hf.pipeline_araie import relation_thresholds, select_relations

    tokenizer, config = extractor.tokenizer, extractor.config
    schema = Schema.from_dict(config.schema)
    length = config.window_length
    overlap = min(config.overlap, length // 4)
    jobs, unaligned = [], 0
    for d, doc in enumerate(gold_docs):
        tok = tokenize_document(doc, tokenizer, length - 2, overlap)
        spans, bad = align_entities(tok, set(config.clitic_lexicon))
        unaligned += len(bad)
        jobs += [(d, tok, w, inside, pairs) for w, inside, pairs in window_candidates(tok, spans, allowed_pairs(schema))
                 if pairs]
    scored: list[dict] = [{} for _ in gold_docs]
    for b in range(0, len(jobs), batch_size):
        _score_gold_pairs(extractor, schema, jobs[b:b + batch_size], scored)
    thresholds = relation_thresholds(config, relation_threshold)
    out = []
    for doc, candidates in zip(gold_docs, scored, strict=True):
        index = {_key(e): {"id": e.id, "type": e.type} for e in doc.entities}
        rels = select_relations(candidates, index, config, thresholds)
        out.append(Document(doc.id, doc.text, doc.entities,
                            tuple(Relation(r["id"], r["type"], r["head"], r["tail"], r["score"]) for r in rels)))
    return out, unaligned


def _score_gold_pairs(extractor, schema: Schema, batch: list[tuple], scored: list[dict]) -> None:
    """Run one batch of windows; record each pair's best relation label and its probability in `scored`
    (the higher one where overlapping windows score the same pair), as the pipeline does."""
    import torch

    from araie.training import Collator

    model, tokenizer, labels = extractor.model, extractor.tokenizer, extractor.config.relation_labels
    rows = [{"input_ids": [tokenizer.cls_token_id, *tok.input_ids[w.start:w.end], tokenizer.sep_token_id],
             "span_starts": [s + 1 for s, _, _ in inside], "span_ends": [e + 1 for _, e, _ in inside],
             "span_types": [schema.entity_types.index(ent.type) for _, _, ent in inside],
             "pair_heads": [h for h, _ in pairs], "pair_tails": [t for _, t in pairs], "pair_labels": []}
            for _, tok, w, inside, pairs in batch]
    device = next(model.parameters()).device
    inputs = {k: v.to(device) for k, v in Collator(tokenizer.pad_token_id)(rows).items() if k != "pair_labels"}
    with torch.inference_mode():
        probs = model(**inputs).relation_logits.float().softmax(-1)[:, :, 1:].cpu()
    best_p, best_label = (x.tolist() for x in probs.max(-1))
    for k, (d, _, _, inside, pairs) in enumerate(batch):
        for j, (h, t) in enumerate(pairs):
            key = (_key(inside[h][2]), _key(inside[t][2]), labels[best_label[k][j] + 1])
            scored[d][key] = max(scored[d].get(key, 0.0), best_p[k][j])


def _key(entity) -> tuple[int, int, str]:
    return entity.start, entity.end, entity.type
