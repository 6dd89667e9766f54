"""Per-type relation thresholds chosen on dev and stored in a model folder's `config.json`.

The model is run once on the dev documents with every candidate relation kept (threshold 0); for
each relation type the threshold that maximises strict F1 on dev is the score of the lowest
prediction kept; of equal F1s the higher threshold wins (fewer predictions for the same F1). A type
with no gold relation on dev, or none the model ever gets right there, keeps the global threshold.
Thresholds are chosen on dev only: a test split is refused, so test scores stay honest.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from araie.records import Document
from araie.schema import Schema


class TuningSplitError(ValueError):
    """Thresholds were asked to be tuned on a test split."""


@dataclass(frozen=True, slots=True)
class ThresholdChoice:
    """The threshold of one relation type, with its strict dev scores there and at the global threshold."""

    type: str
    threshold: float
    tuned: bool
    reason: str
    gold: int
    predicted: int
    tp: int
    f1: float
    f1_global: float

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 0.0


def refuse_test_split(split: str) -> None:
    """Raise unless `split` may be tuned on: names starting with `test` (test, test_news) are refused."""
    if split.lower().startswith("test"):
        raise TuningSplitError(f"split {split!r}: thresholds are chosen on dev only (the rule keeps test scores "
                             "honest); tune on --split dev")


def choose_thresholds(outcomes: list[tuple[str, float, bool]], n_gold: Counter, types: list[str],
                      global_threshold: float) -> list[ThresholdChoice]:
    """Per relation type, the threshold with the best strict F1 on the scored predictions `outcomes`.

    Args:
        outcomes: `(type, score, strictly right)` of every candidate prediction
            (`relation_diagnostics.relation_outcomes` of records predicted with threshold 0).
        n_gold: gold relations per type.
        types: the relation types to choose for, in schema order.
        global_threshold: kept by a type without dev support or without a right prediction.
    """
    out = []
    for rtype in types:
        scored = sorted(((s, r) for t, s, r in outcomes if t == rtype), key=lambda x: -x[0])
        gold = n_gold.get(rtype, 0)
        at_global = [r for s, r in scored if s >= global_threshold]
        f1_global = _f1(sum(at_global), len(at_global), gold)
        best = None  # (f1, threshold, predicted, tp)
        tp = 0
        for i, (score, right) in enumerate(scored):
            tp += right
            if i + 1 < len(scored) and scored[i + 1][0] == score:
                continue  # a threshold keeps every prediction of equal score
            f1 = _f1(tp, i + 1, gold)
            if best is None or f1 > best[0]:  # strictly better: of equal F1s the higher threshold stays
                best = (f1, score, i + 1, tp)
        if gold == 0 or best is None or best[3] == 0:
            reason = "no gold relation on dev" if gold == 0 else "no right prediction on dev"
            out.append(ThresholdChoice(rtype, global_threshold, False, reason, gold, len(at_global), sum(at_global),
                                       f1_global, f1_global))
            continue
        f1, threshold, predicted, tp_best = best
        out.append(ThresholdChoice(rtype, threshold, True, "best strict F1 on dev", gold, predicted, tp_best, f1,
                                   f1_global))
    return out


def _f1(tp: int, predicted: int, gold: int) -> float:
    return 2 * tp / (predicted + gold) if predicted + gold else 0.0


def tune_thresholds(model: str | os.PathLike, data: list[str], split: str = "dev", splits: str | None = None,
                    batch_size: int = 16) -> list[ThresholdChoice]:
    """Predict `split` of `data` once with every candidate relation kept and choose per-type thresholds."""
    from araie.evaluate import split_documents
    from araie.extractor import Extractor
    from araie.relation_diagnostics import relation_outcomes

    refuse_test_split(split)
    gold = split_documents(data, split, splits)
    extractor = Extractor.from_pretrained(model)
    config = extractor.config
    schema = Schema.from_dict(config.schema)
    preds = extractor([Document(d.id, d.text) for d in gold], batch_size=batch_size, relation_threshold=0.0)
    outcomes, n_gold = relation_outcomes(gold, preds, schema)
    return choose_thresholds(outcomes, n_gold, list(config.relation_labels[1:]), config.relation_threshold)


def write_thresholds(model: str | os.PathLike, choices: list[ThresholdChoice]) -> Path:
    """Store the tuned thresholds as `relation_thresholds` in the folder's `config.json` (others removed)."""
    from araie.hf.configuration_araie import AraieConfig

    path = Path(model) / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["relation_thresholds"] = {c.type: c.threshold for c in choices if c.tuned}
    if not config["relation_thresholds"]:
        del config["relation_thresholds"]
    # transformers' own layout of config.json (indent 2, sorted keys), so a diff shows the one key
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    AraieConfig.from_pretrained(path.parent)  # the written values load (type names and ranges checked)
    return path


def format_thresholds(choices: list[ThresholdChoice]) -> str:
    """A Markdown table: per type, the threshold, why, and strict dev P/R/F1 there and at the global one."""
    lines = ["| type | threshold | dev gold | predicted | P | R | F1 | F1 at global | why |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c in choices:
        lines.append(f"| {c.type} | {c.threshold:.4f} | {c.gold} | {c.predicted} | {c.precision:.3f} | "
                     f"{c.recall:.3f} | {c.f1:.3f} | {c.f1_global:.3f} | {c.reason} |")
    return "\n".join(lines)


def thresholds_json(choices: list[ThresholdChoice]) -> list[dict]:
    return [{**asdict(c), "precision": round(c.precision, 4), "recall": round(c.recall, 4)} for c in choices]
