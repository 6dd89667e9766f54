"""What `araie predict` reads: JSONL, plain text, folders of both, stdin; one record per input line.

`read_inputs` checks its source when called (a missing file fails before any output exists or any
model loads) and then streams. A line that cannot be used becomes an error record in its place, so
output and input stay line for line: bytes that are not UTF-8, invalid JSON, a missing `text`, an
`id` that is neither string nor integer, a lone surrogate (`"\\ud83d"`, half an emoji) anywhere in
the record. A leading UTF-8 BOM is dropped. JSONL is recognised by the name `.jsonl` or, on stdin
and in other files, by a first line that is a JSON object with a `text`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import IO, Any

from araie.records import Document

log = logging.getLogger(__name__)
BOM = b"\xef\xbb\xbf"
_SURROGATE = re.compile("[\ud800-\udfff]")
_ARABIC = re.compile("[\u0621-\u064a]")


def read_inputs(source: str, input_format: str = "auto") -> Iterator[Document]:
    """Documents (or error documents) from a file, a folder of `.txt`/`.jsonl` files or `-` (stdin).

    Raises (now, not when iterated):
        FileNotFoundError: the source does not exist.
        ValueError: an unknown format, a source that is neither file nor folder, a folder with no inputs.
    """
    if input_format not in ("auto", "jsonl", "text"):
        raise ValueError(f"input format {input_format!r}: choose auto, jsonl or text")
    seen = _Seen()
    if source == "-":
        return seen.end(_read_stream(sys.stdin.buffer, "<stdin>", input_format, seen))
    path = Path(source)
    if path.is_dir():
        return seen.end(_read_folder(path, _folder_files(path), input_format, seen))
    if not path.exists():
        raise FileNotFoundError(f"{source}: no such file or folder")
    if not path.is_file():
        raise ValueError(f"{source}: not a regular file or folder")
    return seen.end(_read_stream(open(path, "rb"), source, input_format, seen))  # noqa: SIM115


def _folder_files(folder: Path) -> list[Path]:
    entries = sorted(folder.iterdir())
    files = [p for p in entries if p.is_file() and p.suffix in (".txt", ".jsonl")]
    skipped = [f"{p.name}/" if p.is_dir() else p.name for p in entries if p not in files]
    if skipped:
        log.warning("%s: skipped %d entr%s that %s not .txt or .jsonl files: %s", folder, len(skipped),
                    "y" if len(skipped) == 1 else "ies", "is" if len(skipped) == 1 else "are",
                    ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""))
    if not files:
        raise ValueError(f"{folder}: no .txt or .jsonl files to predict on")
    return files


def _read_folder(folder: Path, files: list[Path], input_format: str, seen: _Seen) -> Iterator[Document]:
    """A `.txt` file is one document (its stem the id); a `.jsonl` file holds one record per line."""
    for path in files:
        if path.suffix == ".jsonl":
            fmt = "jsonl" if input_format == "auto" else input_format
            yield from _read_stream(open(path, "rb"), str(path), fmt, seen)  # noqa: SIM115
            continue
        data = path.read_bytes().removeprefix(BOM)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            _warn_not_utf8(str(path), data)
            yield _error(path.stem, None, f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})")
            continue
        seen.check(path.stem, str(path))
        yield Document(path.stem, text, meta={"source_file": path.name})


def _read_stream(stream: IO[bytes], name: str, input_format: str, seen: _Seen) -> Iterator[Document]:
    lines = iter(stream)
    first = next(lines, None)  # read now: the format is decided before the model loads
    if first is None:
        stream.close()
        return iter(())
    first = first.removeprefix(BOM)
    if input_format == "auto":
        input_format = _sniff(first, name)
    return _parse_lines(stream, chain([first], lines), name, input_format, seen)


def _sniff(first: bytes, name: str) -> str:
    if name.endswith(".jsonl"):
        return "jsonl"
    try:
        obj = json.loads(first)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        return "text"
    if isinstance(obj, dict) and "text" in obj:
        log.info("%s: reading JSONL (the first line is a JSON record); --input-format text reads it as text", name)
        return "jsonl"
    return "text"


def _parse_lines(stream: IO[bytes], lines: Iterable[bytes], name: str, input_format: str,
                 seen: _Seen) -> Iterator[Document]:
    warned = False
    try:
        for number, raw in enumerate(lines, start=1):
            doc = parse_line(raw, number, input_format, name)
            if not warned and "not UTF-8" in doc.meta.get("error", ""):
                warned = _warn_not_utf8(name, raw)
            if not is_error(doc):
                seen.check(doc.id, f"{name}:{number}")
            yield doc
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _warn_not_utf8(name: str, sample: bytes) -> bool:
    """Say once per file what a legacy Arabic encoding looks like and how to convert it."""
    try:
        cp1256 = bool(_ARABIC.search(sample.decode("cp1256")))
    except UnicodeDecodeError:
        cp1256 = False
    hint = (f"it looks like Windows Arabic (cp1256); convert it: iconv -f cp1256 -t utf-8 {name} > utf8.txt"
            if cp1256 else "convert it to UTF-8 first (iconv -f ENCODING -t utf-8)")
    log.warning("%s is not UTF-8: each such line becomes an error record; %s", name, hint)
    return True


def parse_line(raw: bytes, number: int, input_format: str, source: str) -> Document:
    """One input line as a document, or as an error record naming `source:number` and the field."""
    where = f"{source}:{number}"
    try:
        line = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        return _error(str(number), number, f"{where}: not UTF-8 ({exc.reason} at byte {exc.start})")
    if input_format == "text":
        return Document(str(number), line)
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return _error(str(number), number, f"{where}: invalid JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(obj, dict):
        return _error(str(number), number, f"{where}: a JSONL record must be an object")
    raw_id = obj.get("id", number)
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or _SURROGATE.search(str(raw_id)):
        return _error(str(number), number, f"{where}: field id: must be a string (valid Unicode) or an integer")
    if not isinstance(obj.get("text"), str):
        return _error(str(raw_id), number, f"{where}: field text: missing or not a string")
    bad = _surrogate_field(obj)
    if bad:
        return _error(str(raw_id), number, f"{where}: field {bad}")
    meta = {k: v for k, v in obj.items() if k not in ("id", "text", "entities", "relations")}
    if not isinstance(raw_id, str):
        meta["id"] = raw_id  # an integer id is written back as it came (Document.to_json lets meta win)
    return Document(str(raw_id), obj["text"], meta=meta)


def _surrogate_field(obj: dict[str, Any]) -> str | None:
    """`"text: lone surrogate U+D83D at character 12 ..."` for the first field holding one, else None."""
    for key, value in obj.items():
        found = _SURROGATE.search(json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value)
        if found or _SURROGATE.search(key):
            at = f" at character {found.start()}" if found and isinstance(value, str) else ""
            char = found.group() if found else _SURROGATE.search(key).group()
            return (f"{key}: lone surrogate U+{ord(char):04X}{at} (half of a UTF-16 pair, not a character; "
                    "the writer of this file split an emoji or other character)")
    return None


def _error(doc_id: str, line: int | None, message: str) -> Document:
    meta: dict[str, Any] = {"error": message}
    if line is not None:
        meta["line"] = line
    return Document(doc_id, "", meta=meta)


def is_error(doc: Document) -> bool:
    return "error" in doc.meta


class _Seen:
    """Ids met so far, to warn when one repeats (outputs keyed by id, BRAT files, would merge them)."""

    def __init__(self, limit: int = 3):
        self.first: dict[str, str] = {}
        self.repeats, self.limit = 0, limit

    def check(self, doc_id: str, where: str) -> None:
        if doc_id not in self.first:
            self.first[doc_id] = where
            return
        self.repeats += 1
        if self.repeats <= self.limit:
            log.warning("%s: duplicate id %r (first at %s)", where, doc_id, self.first[doc_id])

    def end(self, docs: Iterator[Document]) -> Iterator[Document]:
        """`docs`, then a count of the repeats not shown."""
        yield from docs
        if self.repeats > self.limit:
            log.warning("%d duplicate id(s) in all", self.repeats)
