"""Corpus statistics: documents, words, entities and relations per type and per split."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from araie.records import read_corpus
from araie.validate import load_splits


def corpus_stats(paths: Iterable[str | os.PathLike], splits: dict[str, str] | None = None) -> dict:
    """Count documents, whitespace words, entities and relations, overall and per split.

    `splits` maps document ids to split names; by default a `splits.json` found in a given folder.
    """
    paths = list(paths)
    if splits is None:
        found = [Path(p) / "splits.json" for p in paths if (Path(p) / "splits.json").exists()]
        splits = load_splits(found[0]) if found else {}
    table: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for doc in read_corpus(paths):
        for split in ("all", splits.get(doc.id, "unsplit")):
            row = table[split]
            row["size"]["documents"] += 1
            row["size"]["words"] += len(doc.text.split())
            row["size"]["entities"] += len(doc.entities)
            row["size"]["relations"] += len(doc.relations)
            row["entities"].update(e.type for e in doc.entities)
            row["relations"].update(r.type for r in doc.relations)
            row["source"][str(doc.meta.get("source", "unknown"))] += 1
            row["source_words"][str(doc.meta.get("source", "unknown"))] += len(doc.text.split())
    return {split: {k: dict(v) for k, v in row.items()} for split, row in table.items()}


def format_stats(stats: dict, entity_types: Iterable[str], relation_types: Iterable[str]) -> str:
    """A plain-text table, one column per split, one row per count."""
    splits = ["all", *sorted(s for s in stats if s != "all")]
    rows: list[tuple[str, list[int]]] = []
    for key in ("documents", "words", "entities", "relations"):
        rows.append((key, [stats[s]["size"].get(key, 0) for s in splits]))
    rows += [(f"  {t}", [stats[s]["entities"].get(t, 0) for s in splits]) for t in entity_types]
    rows += [(f"  {t}", [stats[s]["relations"].get(t, 0) for s in splits]) for t in relation_types]
    sources = sorted({src for s in splits for src in stats[s].get("source", {})})
    for src in sources:
        rows.append((f"source={src}", [stats[s].get("source", {}).get(src, 0) for s in splits]))
        rows.append(("  words", [stats[s].get("source_words", {}).get(src, 0) for s in splits]))
    width = max(len(r[0]) for r in rows) + 2
    lines = ["".ljust(width) + "".join(s.rjust(10) for s in splits)]
    lines += [name.ljust(width) + "".join(str(v).rjust(10) for v in values) for name, values in rows]
    return "\n".join(lines)
