"""Format names, their readers and writers, and `convert` between any two of them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from araie.formats import FormatError, refuse
from araie.records import Document, RecordError, iter_json_lines, structural_problems, write_jsonl
from araie.schema import Schema

Reader = Callable[[str | os.PathLike], Iterator[Document]]
Writer = Callable[[Iterable[Document], str | os.PathLike], int]


def _inline_reader(path):
    from araie.formats.inline import read_inline
    return read_inline(path)


def _inline_writer(docs, path):
    from araie.formats.inline import write_inline
    return write_inline(docs, path)


def _jsonl_reader(path):
    """Documents of a JSONL file; every problem of every record is named (as validate does), then refused."""
    problems = []
    for number, obj in iter_json_lines(path):
        found = [obj] if isinstance(obj, RecordError) else structural_problems(obj, path=path, line=number)
        problems += map(str, found)
        if not found:
            yield Document.from_json(obj, path=path, line=number)
    refuse(problems)


READERS: dict[str, Reader] = {"jsonl": _jsonl_reader, "inline": _inline_reader}
WRITERS: dict[str, Writer] = {"jsonl": write_jsonl, "inline": _inline_writer}
_SUFFIXES = {".jsonl": "jsonl", ".inline": "inline", ".txt": "inline"}


def register(name: str, reader: Reader | None = None, writer: Writer | None = None, suffix: str | None = None):
    """Add a format; the format modules call this so the registry has no import cycle."""
    if reader:
        READERS[name] = reader
    if writer:
        WRITERS[name] = writer
    if suffix:
        _SUFFIXES[suffix] = name


def _load_builtin_formats() -> None:
    import importlib

    for module in ("conll", "brat", "labelstudio", "doccano", "html"):
        try:
            importlib.import_module(f"araie.formats.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"araie.formats.{module}":
                raise


def guess_format(path: str | os.PathLike, given: str | None) -> str:
    _load_builtin_formats()
    if given:
        if given not in READERS and given not in WRITERS:
            raise FormatError(f"unknown format {given!r} (known: {', '.join(sorted(set(READERS) | set(WRITERS)))})")
        return given
    fmt = _SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise FormatError(f"{path}: cannot tell the format from the name; pass --from/--to")
    return fmt


def convert(source_path: str | os.PathLike, target_path: str | os.PathLike, *, source: str | None = None,
            target: str | None = None, type_map: dict[str, str] | None = None, strip_clitics: bool = False,
            overwrite: bool = False, counter: dict | None = None, drop_relations: bool = False,
            drop_types: Iterable[str] = (), schema: Schema | None = None, doc_size: int | None = None) -> int:
    """Read `source_path` in one format and write `target_path` in another; return the document count.

    Refuses to overwrite an existing output unless `overwrite` is set. With `strip_clitics`, the
    number of entity spans changed is stored in `counter["changed"]`. `drop_relations` removes
    relations before writing, for targets that cannot carry them (CoNLL refuses them otherwise).

    `type_map` renames entity types (`{"PERS": "PER"}`); a type mapped to `""` or `"O"`, or named
    in `drop_types`, is dropped with the relations that hold it, counted per original type in
    `counter["dropped"]` (and `counter["dropped_relations"]`). With `schema`, a written entity
    type the schema lacks is refused, naming the record, before anything is left behind.
    `doc_size` (CoNLL input only) starts a new document every that many sentences.
    """
    src, dst = guess_format(source_path, source), guess_format(target_path, target)
    if src not in READERS:
        raise FormatError(f"format {src!r} cannot be read")
    if dst not in WRITERS:
        raise FormatError(f"format {dst!r} cannot be written")
    if doc_size is not None and src != "conll":
        raise FormatError(f"doc_size (--doc-size) cuts CoNLL sentences into documents; the input is {src}")
    if Path(target_path).exists() and not overwrite:
        raise FileExistsError(f"{target_path} exists; remove it or pass --force")
    counter = {} if counter is None else counter
    docs: Iterable[Document] = (READERS[src](source_path) if doc_size is None
                                else READERS[src](source_path, doc_size=doc_size))
    if type_map or drop_types:
        drop = set(drop_types) | {k for k, v in (type_map or {}).items() if v in ("", "O")}
        docs = (_retype(d, type_map or {}, drop, counter) for d in docs)
    if schema is not None:
        docs = (_known_types(d, schema, source_path) for d in docs)
    if strip_clitics:
        from araie.text.clitics import strip_clitic_spans
        docs = strip_clitic_spans(docs, counter=counter)
    if drop_relations:
        docs = (_drop_relations(d) for d in docs)
    return write_replacing(WRITERS[dst], docs, target_path)


def write_replacing(writer: Writer, docs: Iterable[Document], target_path: str | os.PathLike) -> int:
    """Write beside the target and move into place only on success: a refused record leaves nothing behind.

    An existing target (file or folder) is replaced; callers check first that replacing was allowed.
    """
    target = Path(target_path)
    partial = target.with_name(f".{target.name}.partial")
    _remove(partial)
    try:
        n = writer(docs, partial)
    except BaseException:
        _remove(partial)
        raise
    _remove(target)
    os.replace(partial, target)
    return n


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _drop_relations(doc: Document) -> Document:
    from dataclasses import replace

    return replace(doc, relations=())


def _retype(doc: Document, type_map: dict[str, str], drop: set[str], counter: dict) -> Document:
    """Rename entity types and drop those in `drop`, with any relation that holds a dropped entity."""
    from dataclasses import replace

    dropped: dict[str, int] = counter.setdefault("dropped", {})
    kept, gone = [], set()
    for e in doc.entities:
        if e.type in drop:
            dropped[e.type] = dropped.get(e.type, 0) + 1
            gone.add(e.id)
        else:
            kept.append(replace(e, type=type_map.get(e.type, e.type)))
    relations = tuple(r for r in doc.relations if r.head not in gone and r.tail not in gone)
    counter["dropped_relations"] = counter.get("dropped_relations", 0) + len(doc.relations) - len(relations)
    return replace(doc, entities=tuple(kept), relations=relations)


def _known_types(doc: Document, schema: Schema, source_path) -> Document:
    known = set(schema.entity_types)
    for e in doc.entities:
        if e.type not in known:
            raise FormatError(
                f"{source_path}: record {doc.id}: entity {e.id} {e.text!r} has type {e.type!r}, which the schema "
                f"lacks ({', '.join(schema.entity_types)}); map it (--type-map {e.type}=TYPE) or drop it "
                f"(--drop-types {e.type})")
    return doc
