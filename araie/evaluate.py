"""Scoring predicted records against gold: strict and boundary-only entity and relation P/R/F1.

Strict entity: same character offsets and type. Boundary: same offsets, any type. Strict relation:
same relation type and both arguments strict (symmetric relations in either order); boundary
relation: same type and both arguments' offsets. Every prediction counts, so a duplicate is a
false positive. `seqeval` on whitespace tokens is reported too, truly strict (`mode="strict"`,
IOB2), for comparison with published Arabic NER numbers.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from araie.records import Document, Entity
from araie.schema import Schema

log = logging.getLogger(__name__)


@dataclass
class PRF:
    tp: int = 0
    n_pred: int = 0
    n_gold: int = 0

    @property
    def precision(self) -> float:
        return self.tp / self.n_pred if self.n_pred else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.n_gold if self.n_gold else 0.0

    @property
    def f1(self) -> float:
        return 2 * self.tp / (self.n_pred + self.n_gold) if self.n_pred + self.n_gold else 0.0

    def add(self, gold: Counter, pred: Counter) -> None:
        self.tp += sum((gold & pred).values())
        self.n_pred += sum(pred.values())
        self.n_gold += sum(gold.values())

    def to_dict(self) -> dict:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4),
                "tp": self.tp, "predicted": self.n_pred, "gold": self.n_gold}


@dataclass
class Scores:
    """Micro and per-type scores of one matching criterion."""

    micro: PRF = field(default_factory=PRF)
    per_type: dict[str, PRF] = field(default_factory=dict)

    def add(self, gold: Iterable[tuple], pred: Iterable[tuple]) -> None:
        """Items are tuples whose first element is the type."""
        gold, pred = Counter(gold), Counter(pred)
        self.micro.add(gold, pred)
        for t in {k[0] for k in gold} | {k[0] for k in pred}:
            self.per_type.setdefault(t, PRF()).add(Counter({k: v for k, v in gold.items() if k[0] == t}),
                                                   Counter({k: v for k, v in pred.items() if k[0] == t}))

    def to_dict(self) -> dict:
        return {"micro": self.micro.to_dict(), "per_type": {t: s.to_dict() for t, s in sorted(self.per_type.items())}}


@dataclass
class Report:
    entities_strict: Scores = field(default_factory=Scores)
    entities_boundary: Scores = field(default_factory=Scores)
    relations_strict: Scores = field(default_factory=Scores)
    relations_boundary: Scores = field(default_factory=Scores)
    seqeval: dict = field(default_factory=dict)
    confusion: Counter = field(default_factory=Counter)
    errors: list[dict] = field(default_factory=list)
    documents: int = 0
    calibration: dict = field(default_factory=dict)  # relation_diagnostics.reliability of the predictions
    relations_oracle: Scores | None = None  # strict relation scores on gold entities (--oracle-entities)
    oracle_unaligned: int = 0
    candidate_pairs: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        relations = {"strict": self.relations_strict.to_dict(), "boundary": self.relations_boundary.to_dict()}
        if self.relations_oracle is not None:
            relations["strict_oracle_entities"] = {**self.relations_oracle.to_dict(),
                                                   "unaligned_gold_entities": self.oracle_unaligned}
        return {
            "documents": self.documents,
            "entities": {"strict": self.entities_strict.to_dict(), "boundary": self.entities_boundary.to_dict()},
            "relations": relations,
            "relation_calibration": self.calibration,
            "candidate_pairs": self.candidate_pairs,
            "seqeval_whitespace_tokens": self.seqeval,
            "confusion": [{"gold": g, "predicted": p, "count": n} for (g, p), n in sorted(self.confusion.items())],
            "errors": self.errors,
        }


def relation_key(doc: Document, relation, schema: Schema | None, strict: bool = True) -> tuple | None:
    """What a relation is matched by: its type and both arguments' offsets (and types, when `strict`),
    the arguments in order for a symmetric type; None when an argument is missing from `doc`."""
    ents = {e.id: e for e in doc.entities}
    h, t = ents.get(relation.head), ents.get(relation.tail)
    if h is None or t is None:
        return None
    args = [(h.start, h.end, h.type if strict else ""), (t.start, t.end, t.type if strict else "")]
    rtype = schema.relation(relation.type) if schema else None
    if rtype is not None and rtype.symmetric:
        args.sort()
    return (relation.type, *args)


def _relation_keys(doc: Document, schema: Schema | None, strict: bool) -> list[tuple]:
    return [k for r in doc.relations if (k := relation_key(doc, r, schema, strict)) is not None]


def score(gold_docs: Iterable[Document], pred_docs: Iterable[Document], schema: Schema | None = None,
          context: int = 30) -> Report:
    """Score predictions against gold, document by document (matched by id)."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    from araie.relation_diagnostics import relation_outcomes, reliability

    gold_docs, pred_docs = list(gold_docs), list(pred_docs)
    preds = {d.id: d for d in pred_docs}
    report = Report(calibration=reliability(relation_outcomes(gold_docs, pred_docs, schema)[0]))
    y_true, y_pred = [], []
    for gold in gold_docs:
        pred = preds.get(gold.id, Document(gold.id, gold.text))
        if pred.text != gold.text:
            raise ValueError(f"record {gold.id}: predicted text differs from gold text; offsets cannot be compared")
        report.documents += 1
        report.entities_strict.add(((e.type, e.start, e.end) for e in gold.entities),
                                   ((e.type, e.start, e.end) for e in pred.entities))
        report.entities_boundary.add((("SPAN", e.start, e.end) for e in gold.entities),
                                     (("SPAN", e.start, e.end) for e in pred.entities))
        report.relations_strict.add(_relation_keys(gold, schema, True), _relation_keys(pred, schema, True))
        report.relations_boundary.add(_relation_keys(gold, schema, False), _relation_keys(pred, schema, False))
        _confusion_and_errors(gold, pred, report, context)
        y_true.append(whitespace_tags(gold.text, gold.entities))
        y_pred.append(whitespace_tags(pred.text, pred.entities))
    if any(t != "O" for row in y_true for t in row):
        rep = classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
        report.seqeval = {k: {m: round(float(v), 4) for m, v in vals.items()} for k, vals in rep.items()}
    return report


def whitespace_tags(text: str, entities: Iterable[Entity]) -> list[str]:
    """IOB2 tags of whitespace tokens; a token takes the type of the entity that overlaps it."""
    import re

    tokens = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    tags = ["O"] * len(tokens)
    for e in sorted(entities, key=lambda e: e.start):
        inside = [i for i, (s, t) in enumerate(tokens) if s < e.end and t > e.start]
        for k, i in enumerate(inside):
            if tags[i] == "O":
                tags[i] = ("B-" if k == 0 else "I-") + e.type
    return tags


def _confusion_and_errors(gold: Document, pred: Document, report: Report, context: int) -> None:
    gold_by_span = {(e.start, e.end): e for e in gold.entities}
    pred_by_span = {(e.start, e.end): e for e in pred.entities}

    def snippet(s: int, e: int) -> str:
        return f"{gold.text[max(0, s - context):s]}[{gold.text[s:e]}]{gold.text[e:e + context]}".replace("\n", " ")

    for span, g in gold_by_span.items():
        p = pred_by_span.get(span)
        report.confusion[(g.type, p.type if p else "O")] += 1
        if p is None:
            overlap = [q for q in pred.entities if q.start < g.end and q.end > g.start]
            kind = "wrong boundary" if any(q.type == g.type for q in overlap) else "missed"
            found = overlap[0] if overlap else None
            report.errors.append({"doc": gold.id, "kind": kind, "gold": g.to_json(),
                                  "predicted": found.to_json() if found else None, "context": snippet(g.start, g.end)})
        elif p.type != g.type:
            report.errors.append({"doc": gold.id, "kind": "wrong type", "gold": g.to_json(), "predicted": p.to_json(),
                                  "context": snippet(g.start, g.end)})
    for span, p in pred_by_span.items():
        if span not in gold_by_span:
            report.confusion[("O", p.type)] += 1
            if not any(g.start < p.end and g.end > p.start for g in gold.entities):
                report.errors.append({"doc": gold.id, "kind": "spurious", "gold": None, "predicted": p.to_json(),
                                      "context": snippet(p.start, p.end)})


def format_markdown(report: Report, title: str = "Evaluation", command: str | None = None) -> str:
    """A Markdown report: micro and per-type tables, then the error listing (RTL-safe)."""
    lines = [f"# {title}", ""]
    if command:
        lines += ["Produced by:", "", "```", command, "```", ""]
    lines += [f"Documents: {report.documents}", ""]
    for name, scores in (("Entities, strict (offsets + type)", report.entities_strict),
                         ("Entities, boundary only", report.entities_boundary),
                         ("Relations, strict (type + both arguments with types)", report.relations_strict),
                         ("Relations, boundary only", report.relations_boundary)):
        lines += [f"## {name}", "", "| type | P | R | F1 | gold | predicted |", "|---|---:|---:|---:|---:|---:|"]
        for t, s in [("**micro**", scores.micro), *sorted(scores.per_type.items())]:
            lines.append(f"| {t} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | {s.n_gold} | {s.n_pred} |")
        lines.append("")
    lines += _relation_diagnostics_markdown(report)
    if report.seqeval:
        micro = report.seqeval.get("micro avg", {})
        lines += ["## seqeval on whitespace tokens (mode=strict, IOB2)", "",
                  f"micro P {micro.get('precision', 0):.3f} R {micro.get('recall', 0):.3f} "
                  f"F1 {micro.get('f1-score', 0):.3f}", ""]
    lines += ["## Errors", "", "| doc | kind | gold | predicted | context |", "|---|---|---|---|---|"]
    for err in report.errors:
        g = f"{err['gold']['type']} ‏{err['gold']['text']}‏" if err["gold"] else ""
        p = f"{err['predicted']['type']} ‏{err['predicted']['text']}‏" if err["predicted"] else ""
        ctx = err["context"].replace("|", "\\|")
        lines.append(f"| {err['doc']} | {err['kind']} | {g} | {p} | <span dir=\"rtl\">{ctx}</span> |")
    return "\n".join(lines) + "\n"


def _relation_diagnostics_markdown(report: Report) -> list[str]:
    from araie.relation_diagnostics import format_pair_stats, format_reliability

    lines = []
    if report.relations_oracle is not None:
        e2e, oracle = report.relations_strict, report.relations_oracle
        lines += ["## Relations, strict: end to end vs on gold entities (oracle)", "",
                  f"On gold entities the model scores every candidate pair of the gold spans; "
                  f"{report.oracle_unaligned} gold entities no subword sequence reproduces are left out "
                  "(their relations count as missed).", "",
                  "| type | gold | P | R | F1 | P oracle | R oracle | F1 oracle |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for t in ["**micro**", *sorted(set(e2e.per_type) | set(oracle.per_type))]:
            a = e2e.micro if t == "**micro**" else e2e.per_type.get(t, PRF())
            b = oracle.micro if t == "**micro**" else oracle.per_type.get(t, PRF())
            lines.append(f"| {t} | {max(a.n_gold, b.n_gold)} | {a.precision:.3f} | {a.recall:.3f} | {a.f1:.3f} "
                         f"| {b.precision:.3f} | {b.recall:.3f} | {b.f1:.3f} |")
        lines.append("")
    if report.candidate_pairs:
        lines += ["## Candidate relation pairs per sentence (inference)", "",
                  *format_pair_stats(report.candidate_pairs), ""]
    if report.calibration:
        lines += ["## Relation scores: reliability (strict)", "",
                  "Predicted relations binned by score; the share of each bin that is strictly right.", "",
                  *format_reliability(report.calibration), ""]
    return lines


def plot_confusion(report: Report, path) -> bool:
    """Write the entity-type confusion matrix as a PNG; return False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    types = sorted({g for g, _ in report.confusion} | {p for _, p in report.confusion}, key=lambda t: (t == "O", t))
    grid = [[report.confusion.get((g, p), 0) for p in types] for g in types]
    fig, ax = plt.subplots(figsize=(1 + 0.6 * len(types), 1 + 0.6 * len(types)))
    ax.imshow(grid, cmap="Blues")
    ax.set_xticks(range(len(types)), types, rotation=60)
    ax.set_yticks(range(len(types)), types)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for i, row in enumerate(grid):
        for j, n in enumerate(row):
            if n:
                ax.text(j, i, str(n), ha="center", va="center", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def split_documents(data: list[str], split: str | None = None, splits: str | None = None) -> list[Document]:
    """The gold documents of `data`, only those of `split` (per `splits`, a splits.json) when given."""
    from araie.records import read_corpus
    from araie.validate import load_splits

    gold = list(read_corpus(data))
    if split:
        assigned = load_splits(splits or "annotations/splits.json")
        gold = [d for d in gold if assigned.get(d.id) == split]
        if not gold:
            raise ValueError(f"no document of split {split!r} in {', '.join(map(str, data))}")
    return gold


def evaluate_model(model: str, data: list[str], split: str | None = None, splits: str | None = None,
                   out: str | None = None, batch_size: int = 16, command: str | None = None,
                   oracle_entities: bool = False, relation_threshold: float | None = None) -> Report:
    """Predict with the model on gold documents (optionally one split) and score; write reports to `out`.

    `oracle_entities` also scores the model's relations between the gold entities
    (`relation_diagnostics.oracle_predictions`); `relation_threshold` overrides the model's
    thresholds for every relation type (0 keeps every candidate, for a full reliability table).
    """
    from araie.extractor import Extractor
    from araie.relation_diagnostics import oracle_predictions, record_pair_stats

    gold = split_documents(data, split, splits)
    extractor = Extractor.from_pretrained(model)
    schema = Schema.from_dict(extractor.config.schema)
    preds = extractor([Document(d.id, d.text) for d in gold], batch_size=batch_size,
                      relation_threshold=relation_threshold)
    report = score(gold, preds, schema)
    report.candidate_pairs = {"gold entities": record_pair_stats(gold, gold, schema),
                              "predicted entities": record_pair_stats(preds, gold, schema)}
    if oracle_entities:
        oracle, report.oracle_unaligned = oracle_predictions(extractor, gold, batch_size, relation_threshold)
        report.relations_oracle = Scores()
        for g, o in zip(gold, oracle, strict=True):
            report.relations_oracle.add(_relation_keys(g, schema, True), _relation_keys(o, schema, True))
    if out:
        _write_reports(report, out, {"model": str(model), "data": list(map(str, data)), "split": split,
                                     "relation_threshold": relation_threshold, "command": command},
                       f"Evaluation of {model} on {', '.join(map(str, data))}" + (f" (split {split})" if split else ""))
    return report


def _write_reports(report: Report, out: str, header: dict, title: str) -> None:
    import json
    from pathlib import Path

    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**header, **report.to_dict()}
    out_path.with_suffix(".json").write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    out_path.with_suffix(".md").write_text(format_markdown(report, title, header.get("command")), encoding="utf-8")
    if not plot_confusion(report, out_path.with_suffix(".png")):
        log.warning("no %s: matplotlib is not installed (pip install 'araie[plot]', or `make evaluate`)",
                    out_path.with_suffix(".png"))


def cross_validate(recipe, data: list[str], folds: int, out_dir: str = "runs/cv", split: str | None = None,
                   splits: str | None = None) -> Report:
    """K-fold (leave-one-document-out when `folds` equals the document count) over a small corpus.

    Each fold trains the recipe on its training documents plus the other folds, then predicts the
    held-out fold; the report scores all held-out predictions together, so every document is scored
    by a model that never saw it.
    """
    import copy
    import json
    from pathlib import Path

    from araie.extractor import Extractor
    from araie.records import read_corpus
    from araie.training import train
    from araie.validate import load_splits

    docs = list(read_corpus(data))
    if split:
        assigned = load_splits(splits or recipe.data.splits)
        docs = [d for d in docs if assigned.get(d.id) == split]
    if not 2 <= folds <= len(docs):
        raise ValueError(f"--folds must be between 2 and the {len(docs)} documents to split")
    base = load_splits(recipe.data.splits)
    predictions: list[Document] = []
    for k in range(folds):
        held = docs[k::folds]
        held_ids = {d.id for d in held}
        fold_dir = Path(out_dir) / f"fold-{k}"
        fold_dir.mkdir(parents=True, exist_ok=True)
        fold_splits = {i: s for i, s in base.items() if i not in {d.id for d in docs}}
        fold_splits.update({d.id: ("test" if d.id in held_ids else recipe.data.train_split) for d in docs})
        (fold_dir / "splits.json").write_text(json.dumps(fold_splits, ensure_ascii=False), encoding="utf-8")
        fold_recipe = copy.deepcopy(recipe)
        fold_recipe.data.splits = str(fold_dir / "splits.json")
        fold_recipe.data.corpus = list(dict.fromkeys([*recipe.data.corpus, *map(str, data)]))
        fold_recipe.training["output_dir"] = str(fold_dir / "run")
        best = train(fold_recipe, resume=False)
        extractor = Extractor.from_pretrained(best, device="cpu")
        predictions += extractor([Document(d.id, d.text) for d in held])
    schema = Schema.load(recipe.data.schema)
    return score(docs, predictions, schema)
