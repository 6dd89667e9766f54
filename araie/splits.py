"""Train/dev/test splits by document: `splits.json` for a corpus that has none (a converted CoNLL file)."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable
from pathlib import Path


def make_splits(doc_ids: Iterable[str], dev: float = 0.1, test: float = 0.0, seed: int = 0) -> dict[str, str]:
    """Assign each document to `train`, `dev` or `test`, shuffled by `seed`, in the given shares.

    Whole documents go to one split, so no sentence of a dev document is seen in training; each
    non-zero share gets at least one document.

    Example:
        >>> make_splits(["a", "b", "c", "d"], dev=0.25, seed=0)  # doctest: +SKIP
        {'a': 'train', 'b': 'dev', 'c': 'train', 'd': 'train'}
    """
    ids = list(dict.fromkeys(doc_ids))
    if not 0 <= dev < 1 or not 0 <= test < 1 or dev + test >= 1:
        raise ValueError(f"dev {dev} and test {test} must be shares in [0, 1) that leave documents for training")
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    n_dev = max(1, round(len(order) * dev)) if dev else 0
    n_test = max(1, round(len(order) * test)) if test else 0
    if n_dev + n_test >= len(order):
        raise ValueError(f"{len(order)} document(s) cannot give {n_dev} dev and {n_test} test and keep one for "
                         "training; cut the corpus into more documents (araie convert --doc-size)")
    split = {d: "dev" for d in order[:n_dev]} | {d: "test" for d in order[n_dev:n_dev + n_test]}
    return {d: split.get(d, "train") for d in ids}


def write_splits(splits: dict[str, str], path: str | os.PathLike, overwrite: bool = False) -> None:
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; remove it or pass --force")
    path.write_text(json.dumps(splits, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
