"""doccano JSONL: the relation-extraction export, and the sequence-labelling export for reading.

The writer emits doccano's relation format, one example per line::

    {"id": 1, "text": "...", "araie_id": "000_demo",
     "entities": [{"id": 1, "label": "ORG", "start_offset": 4, "end_offset": 16, "araie_id": "T1"}],
     "relations": [{"id": 1, "from_id": 1, "to_id": 2, "type": "CONTROLS", "araie_id": "R1"}]}

doccano wants integer ids, so araie's string ids ride along in `araie_id` keys and the reader puts
them back; record metadata goes to top-level keys, which doccano imports as the example's meta and
exports again. A score is kept as a `score` key on its entity or relation.

The reader also takes the sequence-labelling export, `{"text": ..., "label": [[start, end, "TYPE"]]}`
(`labels` in doccano before 1.6). Without `araie_id`, entities get `T<n>` and relations `R<n>` in
file order, and the document `<file stem>_<doccano id>` (or `_<line>`). The format has no suffix of
its own (`.jsonl` is araie's), so name it with `--from doccano` / `--to doccano`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from araie.formats import FormatError
from araie.formats.registry import register
from araie.records import Document, Entity, RecordError, Relation, iter_json_lines

# Top-level keys doccano gives a meaning to; a metadata key of the same name would be read wrongly.
_RESERVED = {"id", "text", "entities", "relations", "label", "labels", "araie_id", "Comments"}


def _scored(out: dict[str, Any], score: float | None) -> dict[str, Any]:
    if score is not None:
        out["score"] = round(score, 4)
    return out


def to_example(doc: Document, number: int) -> dict[str, Any]:
    """The doccano relation-extraction example of a document; `number` becomes doccano's `id`."""
    clash = _RESERVED & set(doc.meta)
    if clash:
        raise FormatError(f"record {doc.id}: metadata key(s) {sorted(clash)} clash with doccano's own keys")
    index = {e.id: k for k, e in enumerate(doc.entities, start=1)}
    entities = []
    for k, e in enumerate(doc.entities, start=1):
        if doc.text[e.start:e.end] != e.text:
            raise FormatError(f"record {doc.id}: entity {e.id} offsets {e.start}:{e.end} do not match {e.text!r}")
        entities.append(_scored({"id": k, "label": e.type, "start_offset": e.start, "end_offset": e.end,
                                 "araie_id": e.id}, e.score))
    relations = []
    for k, r in enumerate(doc.relations, start=1):
        for arg in (r.head, r.tail):
            if arg not in index:
                raise FormatError(f"record {doc.id}: relation {r.id} names unknown entity {arg!r}")
        relations.append(_scored({"id": k, "from_id": index[r.head], "to_id": index[r.tail], "type": r.type,
                                  "araie_id": r.id}, r.score))
    return {"id": number, "text": doc.text, **doc.meta, "araie_id": doc.id, "entities": entities,
            "relations": relations}


def write_doccano(docs: Iterable[Document], path: str | os.PathLike) -> int:
    """Write documents as doccano relation-extraction JSONL; return how many."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for doc in docs:
            n += 1
            fh.write(json.dumps(to_example(doc, n), ensure_ascii=False) + "\n")
    return n


def _span(text: str, start: Any, end: Any, where: str) -> tuple[int, int]:
    ok = all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end))
    if not ok or not 0 <= start < end <= len(text):
        raise FormatError(f"{where}: offsets {start}:{end} are not a span of the text ({len(text)} characters)")
    return start, end


def _number(x: dict[str, Any], where: str) -> float | None:
    score = x.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise FormatError(f"{where}: score {score!r} is not a number")
    return None if score is None else float(score)


def _relation_example(obj: dict[str, Any], text: str, where: str) -> tuple[list[Entity], list[Relation]]:
    entities, by_doccano_id = [], {}
    for k, e in enumerate(obj.get("entities") or [], start=1):
        w = f"{where}, entity {k}"
        if not isinstance(e, dict) or not isinstance(e.get("label"), str):
            raise FormatError(f"{w}: expected an object with a string 'label'")
        start, end = _span(text, e.get("start_offset"), e.get("end_offset"), w)
        ent = Entity(str(e.get("araie_id") or f"T{k}"), e["label"], start, end, text[start:end], _number(e, w))
        by_doccano_id[e.get("id")] = ent.id
        entities.append(ent)
    relations = []
    for k, r in enumerate(obj.get("relations") or [], start=1):
        w = f"{where}, relation {k}"
        if not isinstance(r, dict) or not isinstance(r.get("type"), str) or not r["type"]:
            raise FormatError(f"{w}: expected an object with a string 'type'")
        ends = [by_doccano_id.get(r.get(key)) for key in ("from_id", "to_id")]
        if None in ends:
            raise FormatError(f"{w}: from_id {r.get('from_id')!r} or to_id {r.get('to_id')!r} is not an entity id")
        relations.append(Relation(str(r.get("araie_id") or f"R{k}"), r["type"], ends[0], ends[1], _number(r, w)))
    return entities, relations


def _sequence_example(spans: Any, text: str, where: str) -> list[Entity]:
    if not isinstance(spans, list):
        raise FormatError(f"{where}: 'label' must be a list of [start, end, TYPE]")
    entities = []
    for k, item in enumerate(spans, start=1):
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[2], str)):
            raise FormatError(f"{where}, label {k}: expected [start, end, TYPE], got {item!r}")
        start, end = _span(text, item[0], item[1], f"{where}, label {k}")
        entities.append(Entity(f"T{k}", item[2], start, end, text[start:end]))
    return entities


def from_example(obj: Any, fallback_id: str, where: str) -> Document:
    """A document from one doccano example of either export format."""
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise FormatError(f"{where}: expected an object with a string 'text'")
    text = obj["text"]
    if "entities" in obj or "relations" in obj:
        entities, relations = _relation_example(obj, text, where)
    else:
        seq = obj.get("label", obj.get("labels", []))
        entities, relations = _sequence_example(seq, text, where), []
    doc_id = str(obj.get("araie_id") or fallback_id)
    meta = {k: v for k, v in obj.items() if k not in _RESERVED}
    return Document(doc_id, text, tuple(entities), tuple(relations), meta)


def read_doccano(path: str | os.PathLike) -> Iterator[Document]:
    """Stream documents from a doccano JSONL export (relation or sequence-labelling format).

    Raises:
        FormatError: a line araie cannot read, naming the file and line.
    """
    stem = Path(path).stem
    for number, obj in iter_json_lines(path):
        if isinstance(obj, RecordError):
            raise FormatError(str(obj))
        doccano_id = obj.get("id") if isinstance(obj, dict) else None
        fallback = f"{stem}_{doccano_id if doccano_id is not None else number}"
        yield from_example(obj, fallback, f"{path}:{number}")


register("doccano", read_doccano, write_doccano)
