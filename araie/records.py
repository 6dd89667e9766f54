"""The one record type of araie: a document with its entity and relation spans.

Annotations, training examples, predictions and evaluation all use `Document`, serialised as one
JSON object per line. Offsets are Python `str` indices into the original text, `end` exclusive.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any


class RecordError(ValueError):
    """A record that cannot be read, with the place it came from."""

    def __init__(self, message: str, path: str | os.PathLike | None = None, line: int | None = None,
                 doc_id: str | None = None, field: str | None = None):
        self.message, self.path, self.line, self.doc_id, self.field = message, path, line, doc_id, field
        where = ":".join(str(p) for p in (path, line) if p is not None)
        parts = [where, f"record {doc_id}" if doc_id else "", f"field {field}" if field else ""]
        prefix = ", ".join(p for p in parts if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)


@dataclass(frozen=True, slots=True)
class Entity:
    """A typed span of the original text; `score` is set only on predictions."""

    id: str
    type: str
    start: int
    end: int
    text: str
    score: float | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "type": self.type, "start": self.start, "end": self.end, "text": self.text}
        if self.score is not None:
            out["score"] = round(self.score, 4)
        return out


@dataclass(frozen=True, slots=True)
class Relation:
    """A typed link from the entity `head` to the entity `tail` (both entity ids)."""

    id: str
    type: str
    head: str
    tail: str
    score: float | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "type": self.type, "head": self.head, "tail": self.tail}
        if self.score is not None:
            out["score"] = round(self.score, 4)
        return out


@dataclass(frozen=True, slots=True)
class Document:
    """A text with its entities and relations; `meta` keeps every other top-level key."""

    id: str
    text: str
    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "text": self.text}
        out.update(self.meta)
        out["entities"] = [e.to_json() for e in self.entities]
        out["relations"] = [r.to_json() for r in self.relations]
        return out

    @classmethod
    def from_json(cls, obj: Any, *, path: str | os.PathLike | None = None, line: int | None = None) -> Document:
        """Build a document from a parsed JSON object; raise `RecordError` naming the bad field."""
        if not isinstance(obj, dict):
            raise RecordError("record is not a JSON object", path, line)
        doc_id = obj.get("id")
        err = _field_error_factory(path, line, doc_id if isinstance(doc_id, str) else None)
        if not isinstance(doc_id, str) or not doc_id:
            raise err("missing or empty string", "id")
        text = obj.get("text")
        if not isinstance(text, str):
            raise err("missing or not a string", "text")
        entities = []
        for i, e in enumerate(_list(obj, "entities", err)):
            f = f"entities[{i}]"
            entities.append(Entity(
                id=_get(e, "id", str, err, f), type=_get(e, "type", str, err, f),
                start=_get(e, "start", int, err, f), end=_get(e, "end", int, err, f),
                text=_get(e, "text", str, err, f), score=_score(e, err, f)))
        relations = []
        for i, r in enumerate(_list(obj, "relations", err)):
            f = f"relations[{i}]"
            relations.append(Relation(
                id=_get(r, "id", str, err, f), type=_get(r, "type", str, err, f),
                head=_get(r, "head", str, err, f), tail=_get(r, "tail", str, err, f), score=_score(r, err, f)))
        meta = {k: v for k, v in obj.items() if k not in ("id", "text", "entities", "relations")}
        return cls(doc_id, text, tuple(entities), tuple(relations), meta)


def structural_problems(obj: Any, *, path: str | os.PathLike | None = None,
                        line: int | None = None) -> list[RecordError]:
    """Every structural problem of a parsed record (where `Document.from_json` stops at the first)."""
    if not isinstance(obj, dict):
        return [RecordError("record is not a JSON object", path, line)]
    doc_id = obj.get("id")
    err = _field_error_factory(path, line, doc_id if isinstance(doc_id, str) else None)
    out = []
    if not isinstance(doc_id, str) or not doc_id:
        out.append(err("missing or empty string", "id"))
    if not isinstance(obj.get("text"), str):
        out.append(err("missing or not a string", "text"))
    fields = {"entities": (("id", str), ("type", str), ("start", int), ("end", int), ("text", str)),
              "relations": (("id", str), ("type", str), ("head", str), ("tail", str))}
    for key, wanted in fields.items():
        try:
            items = _list(obj, key, err)
        except RecordError as exc:
            out.append(exc)
            continue
        for i, item in enumerate(items):
            where = f"{key}[{i}]"
            if not isinstance(item, dict):
                out.append(err("must be an object", where))
                continue
            for name, kind in wanted:
                out.extend(_caught(_get, item, name, kind, err, where))
            out.extend(_caught(_score, item, err, where))
    return out


def _caught(check, *args) -> list[RecordError]:
    try:
        check(*args)
    except RecordError as exc:
        return [exc]
    return []


def _field_error_factory(path, line, doc_id):
    def err(message: str, field: str) -> RecordError:
        return RecordError(message, path, line, doc_id, field)
    return err


def _list(obj: dict, key: str, err) -> list:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise err("must be a list", key)
    return value


def _get(obj: Any, key: str, kind: type, err, where: str):
    if not isinstance(obj, dict):
        raise err("must be an object", where)
    value = obj.get(key)
    # bool is an int subclass; an offset of `true` is a bug in the writer, not a 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise err(f"missing or not {kind.__name__}", f"{where}.{key}")
    return value


def _score(obj: dict, err, where: str) -> float | None:
    value = obj.get("score")
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise err("not a number", f"{where}.score")
    return float(value)


def iter_json_lines(path: str | os.PathLike) -> Iterator[tuple[int, Any | RecordError]]:
    """Yield `(line_number, parsed_object_or_error)` for each non-blank line, streaming."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, RecordError(f"not UTF-8 ({exc.reason} at byte {exc.start})", path, number)
                continue
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, RecordError(f"invalid JSON: {exc.msg} at column {exc.colno}", path, number)


def read_jsonl(path: str | os.PathLike) -> Iterator[Document]:
    """Stream documents from a JSONL file; the first bad record raises `RecordError`.

    Use `araie.validate` to list every problem of a file instead of stopping at the first.
    """
    for number, obj in iter_json_lines(path):
        if isinstance(obj, RecordError):
            raise obj
        yield Document.from_json(obj, path=path, line=number)


def corpus_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files and folders to the sorted list of `.jsonl` files they hold."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.rglob("*.jsonl")))
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return out


def read_corpus(paths: Iterable[str | os.PathLike]) -> Iterator[Document]:
    """Stream the documents of several JSONL files or folders of them, in path order."""
    for path in corpus_files(paths):
        yield from read_jsonl(path)


_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}


def json_line(obj: Any) -> str:
    """One JSON line (no newline) with Arabic kept readable.

    The line breaks JSON leaves raw (U+2028, U+2029, NEL) are escaped, so readers that split on
    every Unicode line break (`str.splitlines`, JavaScript) still see one record per line.
    """
    line = json.dumps(obj, ensure_ascii=False)
    for char, escaped in _LINE_BREAKS.items():
        line = line.replace(char, escaped)  # outside strings JSON has no such characters
    return line


def dumps(doc: Document) -> str:
    """One JSON line (no newline) of a document, see `json_line`."""
    return json_line(doc.to_json())


def write_jsonl(docs: Iterable[Document], out: str | os.PathLike | IO[str]) -> int:
    """Write documents one per line to a path or an open text stream; return how many."""
    if isinstance(out, (str, os.PathLike)):
        with open(out, "w", encoding="utf-8") as fh:
            return write_jsonl(docs, fh)
    n = 0
    for doc in docs:
        out.write(dumps(doc) + "\n")
        n += 1
    return n
