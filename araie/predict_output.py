"""Where `araie predict` writes: checks that run before the model loads, and the writers.

Everything about the output that can fail is checked first (`check_output`): a folder where a
file is wanted, an existing output without `--resume`/`--force`, a missing parent folder, CoNLL
for a model that predicts relations without `--drop-relations`. A file output is created only once
the first record is ready, so a run that fails early leaves nothing behind; formats written whole
(CoNLL, BRAT, Label Studio) go beside the target and are moved into place when complete.
"""

from __future__ import annotations

import itertools
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from araie.predict import is_error, write_record
from araie.records import Document

log = logging.getLogger(__name__)
STREAMED_FORMATS = ("jsonl", "table", "html")
WHOLE_FORMATS = ("conll", "brat", "labelstudio")
OUTPUT_FORMATS = STREAMED_FORMATS + WHOLE_FORMATS


@dataclass(frozen=True, slots=True)
class Written:
    """What a run wrote: records in all, how many are error records, and the first error."""

    records: int
    errors: int = 0
    first_error: str | None = None

    def summary(self, skipped: int = 0) -> str:
        line = f"wrote {self.records} record(s){f' after {skipped} already there' if skipped else ''}"
        if self.errors:
            line += f"; {self.errors} of them error record(s) (first: {self.first_error})"
        return line


def check_output(output: str, fmt: str, *, resume: bool = False, force: bool = False, drop_relations: bool = False,
                 model: str | None = None) -> None:
    """Raise now (ValueError, OSError) for any output problem that would otherwise surface after the model ran."""
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"--format {fmt!r}: choose from {', '.join(OUTPUT_FORMATS)}")
    if resume and fmt != "jsonl":
        raise ValueError("--resume works with --format jsonl")
    if fmt == "conll" and not drop_relations and model is not None and _predicts_relations(model):
        raise ValueError("CoNLL cannot carry relations and this model predicts them; pass --drop-relations to "
                         "write the entities alone, or choose --format jsonl")
    if output == "-":
        if fmt in WHOLE_FORMATS:
            raise ValueError(f"--format {fmt} writes files; give --output")
        return
    path = Path(output)
    if fmt == "brat" and path.exists() and not path.is_dir():
        raise ValueError(f"{output} is a file; --format brat writes a folder")
    if fmt != "brat" and path.is_dir():
        raise ValueError(f"{output} is a folder; --format {fmt} writes a file (name one inside it)")
    if not path.absolute().parent.is_dir():
        raise FileNotFoundError(f"{path.absolute().parent}: no such folder for --output")
    if path.exists() and not (resume or force):
        raise FileExistsError(f"{output} exists; pass --resume to continue it or --force to replace it")


def resume_point(docs: Iterable[Document], output: str, fmt: str, resume: bool) -> tuple[Iterator[Document], int]:
    """The inputs still to predict, and how many records `output` already holds (checked to be theirs).

    Also refuses, before the model runs, ids that BRAT (file names) or CoNLL (`# id` lines) cannot carry.
    """
    from araie.predict import count_written, cut_torn_line, skip_written

    docs = iter(docs)
    if fmt == "brat":
        from araie.formats.brat import check_ids

        docs = iter(check_ids(list(docs)))
    elif fmt == "conll":
        docs = iter(_check_conll_ids(list(docs)))
    skip = count_written(output, fmt) if resume and output != "-" else 0
    if skip:
        docs = skip_written(output, docs, skip)
        cut_torn_line(output)
    return docs, skip


def _check_conll_ids(docs: list[Document]) -> list[Document]:
    bad = [doc.id for doc in docs if doc.id != doc.id.strip() or len(doc.id.splitlines()) != 1]
    if bad:
        raise ValueError(f"CoNLL writes each id on a '# id' line; these have line breaks or edge spaces: {bad[:5]}")
    return docs


def _predicts_relations(model: str) -> bool:
    try:
        with open(Path(model) / "config.json", encoding="utf-8") as fh:
            return len(json.load(fh).get("relation_labels", ["NONE"])) > 1
    except (OSError, ValueError):
        return False  # the model load names a missing or broken config.json


def write_predictions(results: Iterable[Document], output: str, fmt: str, append: bool = False,
                      drop_relations: bool = False) -> Written:
    """Write `results` to `output` (`-` for stdout) in `fmt`; see the module docstring for when files appear."""
    counted = _Counter(results)
    if fmt in WHOLE_FORMATS:
        _write_whole(list(counted), output, fmt, drop_relations)
    else:
        _write_streamed(counted, output, fmt, append)
    return Written(counted.records, counted.errors, counted.first_error)


class _Counter:
    def __init__(self, docs: Iterable[Document]):
        self.docs, self.records, self.errors, self.first_error = docs, 0, 0, None

    def __iter__(self):
        for doc in self.docs:
            self.records += 1
            if is_error(doc):
                self.errors += 1
                self.first_error = self.first_error or doc.meta["error"]
            yield doc


def _write_streamed(docs: Iterable[Document], output: str, fmt: str, append: bool) -> None:
    from araie.formats.html import render_document, write_html_footer, write_html_header

    docs = iter(docs)
    first = next(docs, None)  # input and model failures surface before the output file exists
    out = sys.stdout if output == "-" else open(output, "a" if append else "w", encoding="utf-8")  # noqa: SIM115
    try:
        if fmt == "html":
            write_html_header(out)
        for doc in itertools.chain([first] if first is not None else [], docs):
            if fmt == "html":
                out.write(render_document(doc))
            else:
                write_record(doc, out, fmt)
        if fmt == "html":
            write_html_footer(out)
    finally:
        if out is not sys.stdout:
            out.close()


def _write_whole(docs: list[Document], output: str, fmt: str, drop_relations: bool) -> None:
    from araie.formats.registry import WRITERS, guess_format, write_replacing

    guess_format(output, fmt)  # loads the format modules
    writer = WRITERS[fmt]
    if fmt in ("conll", "brat"):
        log.info("%s carries no scores: they are not written (--format jsonl keeps them)", fmt)
        writer = partial(writer, drop_scores=True, **({"drop_relations": drop_relations} if fmt == "conll" else {}))
    write_replacing(writer, docs, output)
