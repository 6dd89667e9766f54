"""BRAT standoff: a folder holding `ID.txt` (the text) and `ID.ann` (its annotations) per document.

`.ann` lines are `T1<TAB>TYPE START END<TAB>surface` for entities and
`R1<TAB>TYPE Arg1:T1 Arg2:T2` for relations (head = Arg1). Offsets count characters of the `.txt`
read without newline translation, as BRAT's server reads it, so both files are written with
`newline=''` and a `\\r\\n` in the text stays two characters.

BRAT wants ids shaped `T<n>` / `R<n>`; other araie ids (inline-markup handles such as `army`) are
written as fresh `T<n>`/`R<n>` and the original ids go to an `ID.json` sidecar, together with the
record's metadata (its other top-level keys), so JSONL -> BRAT -> JSONL is lossless. The sidecar is
`{"meta": {...}, "ids": {"T3": "army"}}` and is written only when one of them is not empty.

Refused (FormatError): scores (unless `drop_scores=True`), discontinuous spans (`0 3;5 9`), spans
across a line break (BRAT would write them discontinuous), `.ann` text that does not match the
`.txt`, relations naming unknown entities, and record ids that are not safe file names. Other
`.ann` lines (notes, attributes, normalisations, events) have no araie counterpart: they are skipped
with a warning naming the file; a line that is none of these is refused. A `.txt` without its `.ann`
is refused too. Reading goes on past a problem, so the one FormatError names every problem, each
with file and line.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from araie.formats import FormatError, refuse
from araie.formats.registry import register
from araie.records import Document, Entity, Relation

logger = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"[\w][\w.\-]*")  # a file stem on every platform: no separators, no leading dot
_BRAT_ID = {"T": re.compile(r"T\d+"), "R": re.compile(r"R\d+")}
_OFFSETS = re.compile(r"(\S+) (\d+) (\d+)")
_SKIPPED = ("E", "A", "M", "N")  # events, attributes, modifications, normalisations: no araie counterpart


def _brat_ids(items: Iterable[str], prefix: str) -> dict[str, str]:
    """araie id -> BRAT id: ids already shaped `T<n>` stay, others get the next unused number."""
    items = list(items)
    used = {i for i in items if _BRAT_ID[prefix].fullmatch(i)}
    out, n = {}, 0
    for item in items:
        if item in used:
            out[item] = item
            continue
        n += 1
        while f"{prefix}{n}" in used:
            n += 1
        out[item] = f"{prefix}{n}"
    return out


def _format_ann(doc: Document) -> tuple[str, dict[str, str]]:
    """The `.ann` text of a document and the BRAT id -> araie id map of renamed ids."""
    where = f"record {doc.id}"
    ent_ids = _brat_ids((e.id for e in doc.entities), "T")
    rel_ids = _brat_ids((r.id for r in doc.relations), "R")
    lines = []
    for e in doc.entities:
        if not 0 <= e.start < e.end <= len(doc.text) or doc.text[e.start:e.end] != e.text:
            raise FormatError(f"{where}: entity {e.id} offsets {e.start}:{e.end} do not match its text {e.text!r}")
        if "\n" in e.text or "\r" in e.text:
            raise FormatError(f"{where}: entity {e.id} crosses a line break; BRAT would make it discontinuous")
        if not re.fullmatch(r"\S+", e.type):
            raise FormatError(f"{where}: entity {e.id} type {e.type!r} is empty or has whitespace")
        lines.append(f"{ent_ids[e.id]}\t{e.type} {e.start} {e.end}\t{e.text}")
    for r in doc.relations:
        for arg in (r.head, r.tail):
            if arg not in ent_ids:
                raise FormatError(f"{where}: relation {r.id} names unknown entity {arg!r}")
        if not re.fullmatch(r"\S+", r.type):
            raise FormatError(f"{where}: relation {r.id} type {r.type!r} is empty or has whitespace")
        lines.append(f"{rel_ids[r.id]}\t{r.type} Arg1:{ent_ids[r.head]} Arg2:{ent_ids[r.tail]}")
    renamed = {b: a for a, b in (*ent_ids.items(), *rel_ids.items()) if a != b}
    return "".join(line + "\n" for line in lines), renamed


def check_ids(docs: list[Document]) -> list[Document]:
    """Return `docs` if every id can name BRAT files (safe and unique); else FormatError listing each bad one."""
    problems, seen = [], set()
    for doc in docs:
        where = f"line {doc.meta['line']}, " if "line" in doc.meta else ""
        if not _SAFE_ID.fullmatch(doc.id):
            problems.append(f"{where}record {doc.id!r}: id is not a safe file name (letters, digits, _ . -)")
        elif doc.id in seen:
            problems.append(f"{where}record {doc.id!r}: duplicate id; BRAT names files after ids")
        seen.add(doc.id)
    if problems:
        raise FormatError("BRAT names files after record ids:\n" + "\n".join(problems))
    return docs


def write_brat(docs: Iterable[Document], path: str | os.PathLike, *, drop_scores: bool = False) -> int:
    """Write each document as `ID.txt` + `ID.ann` (+ `ID.json` when needed) in the folder `path`.

    Raises:
        FormatError: a record BRAT cannot carry; the message names the record and the annotation.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    for doc in docs:
        if not _SAFE_ID.fullmatch(doc.id):
            raise FormatError(f"record {doc.id}: id is not a safe file name (letters, digits, _ . -)")
        if doc.id in seen:
            raise FormatError(f"record {doc.id}: duplicate id; BRAT names files after ids")
        seen.add(doc.id)
        if any(x.score is not None for x in (*doc.entities, *doc.relations)):
            if not drop_scores:
                raise FormatError(f"BRAT cannot carry scores; record {doc.id} has scored entities or relations "
                                  "(pass drop_scores=True to drop them)")
            doc = replace(doc, entities=tuple(replace(e, score=None) for e in doc.entities),
                          relations=tuple(replace(r, score=None) for r in doc.relations))
        ann, renamed = _format_ann(doc)
        # newline='' writes the text byte for byte: BRAT offsets count a \r\n as two characters.
        (folder / f"{doc.id}.txt").write_text(doc.text, encoding="utf-8", newline="")
        (folder / f"{doc.id}.ann").write_text(ann, encoding="utf-8", newline="")
        sidecar: dict[str, Any] = {k: v for k, v in (("meta", doc.meta), ("ids", renamed)) if v}
        if sidecar:
            (folder / f"{doc.id}.json").write_text(json.dumps(sidecar, ensure_ascii=False, indent=1) + "\n",
                                                   encoding="utf-8")
    return len(seen)


def _parse_entity(ann: Path, number: int, ann_id: str, body: str, surface: str | None, text: str) -> Entity:
    where = f"{ann}:{number}"
    if ";" in body:
        raise FormatError(f"{where}: {ann_id} has a discontinuous span {body!r}; araie entities are contiguous")
    m = _OFFSETS.fullmatch(body)
    if m is None or surface is None:
        raise FormatError(f"{where}: malformed text-bound line; expected 'T1<TAB>TYPE START END<TAB>text'")
    etype, start, end = m.group(1), int(m.group(2)), int(m.group(3))
    if not start < end <= len(text):
        raise FormatError(f"{where}: {ann_id} offsets {start}:{end} are empty or outside the text ({len(text)})")
    if text[start:end] != surface:
        raise FormatError(f"{where}: {ann_id} text {surface!r} does not match the .txt at {start}:{end} "
                          f"({text[start:end]!r})")
    return Entity(ann_id, etype, start, end, surface)


def _parse_relation(ann: Path, number: int, ann_id: str, body: str) -> Relation:
    parts = body.split()
    args = dict(p.split(":", 1) for p in parts[1:] if ":" in p)
    if len(parts) != 3 or set(args) != {"Arg1", "Arg2"}:
        raise FormatError(f"{ann}:{number}: malformed relation line; expected 'R1<TAB>TYPE Arg1:T1 Arg2:T2'")
    return Relation(ann_id, parts[0], args["Arg1"], args["Arg2"])


def read_brat_document(ann: str | os.PathLike) -> Document:
    """Read one document from `ID.ann`, its `ID.txt` and its optional `ID.json` sidecar.

    Raises:
        FormatError: a malformed or mismatched `.ann` line, naming file and line.
    """
    ann = Path(ann)
    txt = ann.with_suffix(".txt")
    if not txt.exists():
        raise FormatError(f"{ann}: no {txt.name} beside it")
    with open(txt, encoding="utf-8", newline="") as fh:
        text = fh.read()
    entities: list[Entity] = []
    relations: list[tuple[int, Relation]] = []
    problems: list[str] = []
    skipped = 0
    with open(ann, encoding="utf-8", newline="") as fh:
        source = fh.read()
    for number, line in enumerate(source.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        ann_id, _, rest = line.partition("\t")
        body, _, surface = rest.partition("\t")
        try:
            if ann_id.startswith("T"):
                entities.append(_parse_entity(ann, number, ann_id, body, surface if "\t" in rest else None, text))
            elif ann_id.startswith("R"):
                relations.append((number, _parse_relation(ann, number, ann_id, body)))
            elif (ann_id[:1] in _SKIPPED and ann_id[1:].isdigit()) or ann_id.startswith("#"):
                skipped += 1
            else:
                problems.append(f"{ann}:{number}: field id: {ann_id!r} is not a BRAT annotation id "
                                "(T, R, E, A, M, N followed by a number, or # for a note)")
        except FormatError as exc:
            problems.extend(exc.problems)
    if skipped:
        logger.warning("%s: skipped %d note/attribute/event line(s) that araie records cannot carry", ann, skipped)
    known = {e.id for e in entities}
    for number, r in relations:
        for side, arg in (("Arg1", r.head), ("Arg2", r.tail)):
            if arg not in known:
                problems.append(f"{ann}:{number}: field {side}: relation {r.id} names {arg!r}, not an entity of "
                                "the file")
    refuse(problems)
    relations = [r for _, r in relations]
    meta: dict[str, Any] = {}
    sidecar = ann.with_suffix(".json")
    if sidecar.exists():
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise FormatError(f"{sidecar}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        meta, ids = data.get("meta", {}), data.get("ids", {})
        if not isinstance(meta, dict) or not isinstance(ids, dict):
            raise FormatError(f"{sidecar}: 'meta' and 'ids' must be JSON objects")
        entities = [replace(e, id=ids.get(e.id, e.id)) for e in entities]
        relations = [replace(r, id=ids.get(r.id, r.id), head=ids.get(r.head, r.head), tail=ids.get(r.tail, r.tail))
                     for r in relations]
    return Document(ann.stem, text, tuple(entities), tuple(relations), meta)


def read_brat(path: str | os.PathLike) -> Iterator[Document]:
    """Stream the documents of a BRAT folder (sorted by file name), or of one `.ann` file."""
    path = Path(path)
    if path.is_dir():
        problems = [f"{txt}: no {txt.stem}.ann beside it; add an empty one to convert it without annotations"
                    for txt in sorted(path.glob("*.txt")) if not txt.with_suffix(".ann").exists()]
        for ann in sorted(path.glob("*.ann")):
            try:
                yield read_brat_document(ann)
            except FormatError as exc:  # go on: every problem of the folder is named, then all are refused
                problems.extend(exc.problems)
        refuse(problems)
    elif path.suffix == ".ann":
        yield read_brat_document(path)
    else:
        raise FormatError(f"{path}: expected a BRAT folder or an .ann file")


register("brat", read_brat, write_brat)
