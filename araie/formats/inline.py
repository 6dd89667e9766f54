"""Inline markup: the quickest way for a person to write or fix annotations by hand.

A file holds one or more documents::

    @id 000_demo
    @source authored
    قال [[الجيش السوري|ORG|army]] إنه استعاد [[حي الشعار|LOC|shaar]] في [[حلب|GPE]].
    @relations
    CONTROLS army shaar

`[[surface|TYPE]]` or `[[surface|TYPE|handle]]` marks an entity; the handle becomes its id (an
unnamed entity gets `T<n>`). Lines after `@relations` are `TYPE head tail` or `ID TYPE head tail`.
Other `@key value` lines before the text become metadata. The text is every line between the
header and `@relations`, joined by newlines, with the markup removed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator

from araie.formats import FormatError
from araie.records import Document, Entity, Relation

_MARK = re.compile(r"\[\[([^\[\]|]+)\|([A-Z_]+)(?:\|([^\[\]|\s]+))?\]\]")


def parse_inline(source: str, path: str = "<inline>") -> Iterator[Document]:
    """Parse inline-markup text into documents, raising `FormatError` with file and line."""
    block: list[tuple[int, str]] = []
    for number, line in enumerate(source.split("\n"), start=1):
        if line.startswith("@id ") and block:
            yield _parse_block(block, path)
            block = []
        block.append((number, line))
    if any(line.strip() for _, line in block):
        yield _parse_block(block, path)


def _parse_block(block: list[tuple[int, str]], path: str) -> Document:
    first_line, first = block[0]
    if not first.startswith("@id "):
        raise FormatError(f"{path}:{first_line}: a document must start with '@id ID'")
    doc_id = first[4:].strip()
    meta: dict[str, str] = {}
    i = 1
    while i < len(block) and block[i][1].startswith("@") and block[i][1] != "@relations":
        key, _, value = block[i][1][1:].partition(" ")
        meta[key] = value.strip()
        i += 1
    text_lines = []
    while i < len(block) and block[i][1] != "@relations":
        text_lines.append(block[i])
        i += 1
    has_relations = i < len(block)
    while not has_relations and text_lines and not text_lines[-1][1].strip():
        text_lines.pop()  # without @relations, blank lines before the next document are layout
    text, entities = _strip_markup(text_lines, path, doc_id)
    relations = _parse_relations(block[i + 1:], path, doc_id) if has_relations else []
    return Document(doc_id, text, tuple(entities), tuple(relations), meta)


def _strip_markup(lines: list[tuple[int, str]], path: str, doc_id: str) -> tuple[str, list[Entity]]:
    pieces: list[str] = []
    entities: list[Entity] = []
    offset = 0
    for k, (number, line) in enumerate(lines):
        if k:
            pieces.append("\n")
            offset += 1
        pos = 0
        for m in _MARK.finditer(line):
            pieces.append(line[pos:m.start()])
            offset += m.start() - pos
            surface, etype, handle = m.group(1), m.group(2), m.group(3)
            if surface != surface.strip():
                raise FormatError(f"{path}:{number}: record {doc_id}: entity {surface!r} has spaces at its edge")
            ent_id = handle or f"T{len(entities) + 1}"
            entities.append(Entity(ent_id, etype, offset, offset + len(surface), surface))
            pieces.append(surface)
            offset += len(surface)
            pos = m.end()
        rest = line[pos:]
        if "[[" in rest or "]]" in rest:
            raise FormatError(f"{path}:{number}: record {doc_id}: unbalanced or malformed [[...]] markup")
        pieces.append(rest)
        offset += len(rest)
    return "".join(pieces), entities


def _parse_relations(lines: list[tuple[int, str]], path: str, doc_id: str) -> list[Relation]:
    relations = []
    for number, line in lines:
        parts = line.split()
        if not parts:
            continue
        if len(parts) == 3:
            rel_id, (rtype, head, tail) = f"R{len(relations) + 1}", parts
        elif len(parts) == 4:
            rel_id, rtype, head, tail = parts
        else:
            raise FormatError(f"{path}:{number}: record {doc_id}: relation line must be 'TYPE head tail'")
        relations.append(Relation(rel_id, rtype, head, tail))
    return relations


def format_inline(doc: Document) -> str:
    """Render a document as inline markup; refuse what the markup cannot carry."""
    where = f"record {doc.id}"
    for mark in ("[[", "]]", "\r"):
        if mark in doc.text:
            raise FormatError(f"{where}: text contains {mark!r}, which inline markup cannot carry")
    if any(line.startswith("@") for line in doc.text.split("\n")):
        raise FormatError(f"{where}: a text line starts with '@', which inline markup cannot carry")
    if any(e.score is not None for e in doc.entities) or any(r.score is not None for r in doc.relations):
        raise FormatError(f"{where}: inline markup cannot carry scores")
    out, pos = [], 0
    for e in sorted(doc.entities, key=lambda e: e.start):
        if e.start < pos:
            raise FormatError(f"{where}: entity {e.id} overlaps another; inline markup cannot nest")
        if "|" in e.text or "\n" in e.text or not re.fullmatch(r"[^\[\]|\s]+", e.id):
            raise FormatError(f"{where}: entity {e.id} has a '|' or newline in its text or id")
        out.append(doc.text[pos:e.start])
        out.append(f"[[{e.text}|{e.type}|{e.id}]]")
        pos = e.end
    out.append(doc.text[pos:])
    header = [f"@id {doc.id}"]
    for key, value in doc.meta.items():
        if not isinstance(value, str) or "\n" in value or " " in key:
            raise FormatError(f"{where}: metadata {key!r} is not a one-line string; inline markup cannot carry it")
        header.append(f"@{key} {value}")
    rels = ["@relations", *(f"{r.id} {r.type} {r.head} {r.tail}" for r in doc.relations)]
    return "\n".join([*header, "".join(out), *rels]) + "\n"


def read_inline(path: str | os.PathLike) -> Iterator[Document]:
    with open(path, encoding="utf-8") as fh:
        yield from parse_inline(fh.read(), str(path))


def write_inline(docs: Iterable[Document], path: str | os.PathLike) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for doc in docs:
            fh.write(("\n" if n else "") + format_inline(doc))
            n += 1
    return n


def renumber(doc: Document) -> Document:
    """Give entities ids `T1..` in text order and relations `R1..`, rewriting relation arguments."""
    ents = sorted(doc.entities, key=lambda e: (e.start, e.end))
    new_id = {e.id: f"T{i}" for i, e in enumerate(ents, start=1)}
    entities = tuple(Entity(new_id[e.id], e.type, e.start, e.end, e.text, e.score) for e in ents)
    relations = tuple(
        Relation(f"R{i}", r.type, new_id.get(r.head, r.head), new_id.get(r.tail, r.tail), r.score)
        for i, r in enumerate(doc.relations, start=1)
    )
    return Document(doc.id, doc.text, entities, relations, doc.meta)
