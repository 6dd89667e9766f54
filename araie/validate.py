"""Corpus checks: every problem of every record, each naming file, line, record and field.

Nothing stops at the first problem; structural errors in one record never hide the others.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from araie.hf.text_araie import clitic_split_point
from araie.records import Document, RecordError, corpus_files, iter_json_lines, structural_problems
from araie.schema import Schema
from araie.text.edges import edge_character

_ARABIC_LETTER = re.compile(r"[\u0621-\u064A\u0671-\u06D3]")


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of the validator; `severity` is `error` or `warning`."""

    severity: str
    message: str
    path: str | None = None
    line: int | None = None
    doc_id: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.path, self.line) if p is not None)
        parts = [where, f"record {self.doc_id}" if self.doc_id else "", f"field {self.field}" if self.field else ""]
        return f"{', '.join(p for p in parts if p)}: {self.severity}: {self.message}"


def check_document(doc: Document, schema: Schema, path: str | None = None, line: int | None = None) -> list[Problem]:
    """All problems of one parsed document against the schema."""
    out: list[Problem] = []

    def add(message: str, field: str, severity: str = "error") -> None:
        out.append(Problem(severity, message, path, line, doc.id, field))

    types = set(schema.entity_types)
    seen: set[str] = set()
    for i, e in enumerate(doc.entities):
        f = f"entities[{i}]"
        if e.id in seen:
            add(f"duplicate entity id {e.id!r}", f"{f}.id")
        seen.add(e.id)
        if e.type not in types:
            add(f"unknown entity type {e.type!r} (schema has {', '.join(schema.entity_types)})", f"{f}.type")
        if not 0 <= e.start < e.end <= len(doc.text):
            add(f"offsets {e.start}:{e.end} out of range for a text of {len(doc.text)} characters", f"{f}.start")
            continue
        actual = doc.text[e.start:e.end]
        if actual != e.text:
            add(f"text[{e.start}:{e.end}] is {actual!r}, not {e.text!r}", f"{f}.text")
        if actual != actual.strip():
            add(f"span {actual!r} has whitespace at its edge", f"{f}.start")
        elif edge_character(actual):  # invisible marks and emoji are not part of a name (araie.text.edges)
            add(f"span {actual!r} {edge_character(actual)}; move the edge inside it", f"{f}.start")
        # the guidelines put a proclitic glued to the article outside the span (بالجيش -> الجيش)
        if actual.split() and clitic_split_point(actual.split()[0]):
            add(f"span {actual!r} starts with a proclitic; the guidelines leave it outside", f"{f}.start", "warning")
        if e.end < len(doc.text) and _ARABIC_LETTER.match(doc.text[e.end]) and _ARABIC_LETTER.match(actual[-1]):
            add(f"span {actual!r} ends inside the word {doc.text[e.start:e.end + 8].split()[0]!r}",
                f"{f}.end", "warning")
    out.extend(_overlaps(doc, add))
    out.extend(_relation_problems(doc, schema, add))
    return out


def _overlaps(doc: Document, add) -> list[Problem]:
    spans = sorted(((e.start, -e.end, i, e.id) for i, e in enumerate(doc.entities) if e.start < e.end))
    outer: tuple[int, int, str] | None = None  # the span reaching furthest right so far
    for start, neg_end, i, ent_id in spans:
        end = -neg_end
        if outer is not None and start < outer[1]:
            kind = "is nested in" if end <= outer[1] else "crosses"
            add(f"entity {ent_id} ({start}:{end}) {kind} entity {outer[2]} ({outer[0]}:{outer[1]}); "
                "spans must not overlap", f"entities[{i}]")
        if outer is None or end > outer[1]:
            outer = (start, end, ent_id)
    return []


def _relation_problems(doc: Document, schema: Schema, add) -> list[Problem]:
    by_id = {e.id: e for e in doc.entities}
    seen_ids: set[str] = set()
    seen_keys: dict[tuple, str] = {}
    for i, r in enumerate(doc.relations):
        f = f"relations[{i}]"
        if r.id in seen_ids:
            add(f"duplicate relation id {r.id!r}", f"{f}.id")
        seen_ids.add(r.id)
        rtype = schema.relation(r.type)
        if rtype is None:
            known = ", ".join(schema.relation_names) or "none"
            add(f"unknown relation type {r.type!r} (schema has {known})", f"{f}.type")
        missing = [side for side in ("head", "tail") if getattr(r, side) not in by_id]
        for side in missing:
            add(f"{side} {getattr(r, side)!r} is not an entity of this record", f"{f}.{side}")
        if r.head == r.tail:
            add(f"relation {r.id} points at itself ({r.head})", f"{f}.tail")
        if rtype is not None and not missing:
            h, t = by_id[r.head].type, by_id[r.tail].type
            if not schema.allows(r.type, h, t):
                add(f"{r.type} does not admit {h} -> {t} (schema: {'/'.join(rtype.head)} -> {'/'.join(rtype.tail)})",
                    f"{f}.type")
        key = (r.type, *(sorted((r.head, r.tail)) if rtype and rtype.symmetric else (r.head, r.tail)))
        if key in seen_keys:
            add(f"relation {r.id} repeats {seen_keys[key]} ({r.type} {r.head} {r.tail})", f"{f}")
        seen_keys.setdefault(key, r.id)
    return []


def validate_paths(paths: Iterable[str | os.PathLike], schema: Schema) -> list[Problem]:
    """Check every record of the JSONL files (folders are searched) and any `splits.json` beside them."""
    problems: list[Problem] = []
    doc_ids: dict[str, str] = {}
    paths = list(paths)
    for path in corpus_files(paths):
        for number, obj in iter_json_lines(path):
            if isinstance(obj, RecordError):
                problems.append(Problem("error", obj.message, str(path), number))
                continue
            try:
                doc = Document.from_json(obj, path=path, line=number)
            except RecordError:  # list every structural problem of the record, not the first alone
                problems.extend(Problem("error", exc.message, str(path), number, exc.doc_id, exc.field)
                                for exc in structural_problems(obj, path=path, line=number))
                continue
            if doc.id in doc_ids:
                problems.append(Problem("error", f"duplicate document id (first in {doc_ids[doc.id]})",
                                        str(path), number, doc.id, "id"))
            doc_ids.setdefault(doc.id, f"{path}:{number}")
            problems.extend(check_document(doc, schema, str(path), number))
    for folder in (Path(p) for p in paths if Path(p).is_dir()):
        splits = folder / "splits.json"
        if splits.exists():
            problems.extend(check_splits(splits, set(doc_ids)))
    return problems


def check_splits(path: Path, doc_ids: set[str]) -> list[Problem]:
    """`splits.json` maps every document id to one split name, and names no unknown document."""
    try:
        splits = load_splits(path)
    except ValueError as exc:
        return [Problem("error", str(exc), str(path))]
    out = [Problem("error", "document has no split", str(path), None, d, "splits")
           for d in sorted(doc_ids - set(splits))]
    out += [Problem("error", "split names a document that is not in the corpus", str(path), None, d)
            for d in sorted(set(splits) - doc_ids)]
    return out


def load_splits(path: str | os.PathLike) -> dict[str, str]:
    """Read `splits.json` (`{"doc_id": "train" | "dev" | "test"}`)."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{path}: must map each document id to a split name")
    return data


def summarise(problems: list[Problem]) -> Counter:
    return Counter(p.severity for p in problems)
