"""`araie predict`: stream records in, one output record per input record, errors as records.

Inputs: JSONL (`id` and `text` per line), plain text (one document per line), a folder of `.txt`
files (one document each) or stdin. The stream is read in buffers; inside a buffer documents are
batched by length, and results are written in input order. A line that cannot be used (bad JSON,
no text, bytes that are not UTF-8) becomes a record with an `error` field and the run goes on.
`resume` counts the records already written and continues after them.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from araie.records import Document

log = logging.getLogger(__name__)
OUTPUT_FORMATS = ("jsonl", "table", "html", "conll", "brat", "labelstudio")


# Optional packages transformers imports eagerly when they are installed, for code paths predict never
# runs: scikit-learn (assisted generation's candidate scoring) and scipy (object-detection losses).
# They come with seqeval and the evaluation extras; together they were ~1.8 of the ~7 s before the
# first record on 2 cores (python -X importtime).
_UNUSED_BY_PREDICT = ("_sklearn_available", "_scipy_available")


def fast_start() -> None:
    """Cut `araie predict`'s start-up in this process; call before torch or transformers are imported.

    - Tells transformers that scikit-learn and scipy are absent, so it does not import them.
    - Lets idle OpenMP threads sleep instead of spinning (`OMP_WAIT_POLICY=PASSIVE`, unless set): on a
      machine whose cores are busy with other work, spinning threads made each small forward pass
      ~100x slower (0.55 s instead of 6 ms for one sentence here).
    Only the CLI calls this, in its own process: a Python user importing araie keeps transformers as is.
    """
    import sys

    if os.environ.get("ARAIE_NO_FAST_START"):  # how predict started before these cuts (make bench compares)
        return
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if "transformers.generation" in sys.modules:  # too late: the optional packages are already in
        return
    try:
        from transformers.utils import import_utils
    except ImportError:
        return
    for flag in _UNUSED_BY_PREDICT:
        if isinstance(getattr(import_utils, flag, None), bool):
            setattr(import_utils, flag, False)


def read_inputs(source: str, input_format: str = "auto") -> Iterator[Document]:
    """Documents (or error documents) from a path, a folder or `-` for stdin, streaming."""
    if source != "-" and Path(source).is_dir():
        for path in sorted(Path(source).glob("*.txt")):
            try:
                yield Document(path.stem, path.read_text(encoding="utf-8"), meta={"source_file": path.name})
            except UnicodeDecodeError as exc:
                yield _error(path.stem, None, f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})")
        return
    if input_format == "auto":
        input_format = "jsonl" if source.endswith(".jsonl") else "text"
    if input_format not in ("jsonl", "text"):
        raise ValueError(f"input format {input_format!r}: choose jsonl or text")
    stream = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115
    try:
        for number, raw in enumerate(stream, start=1):
            yield _parse_line(raw, number, input_format, source)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _parse_line(raw: bytes, number: int, input_format: str, source: str) -> Document:
    try:
        line = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        return _error(str(number), number, f"{source}:{number}: not UTF-8 ({exc.reason} at byte {exc.start})")
    if input_format == "text":
        return Document(str(number), line)
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return _error(str(number), number, f"{source}:{number}: invalid JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        doc_id = str(obj.get("id", number)) if isinstance(obj, dict) else str(number)
        return _error(doc_id, number, f"{source}:{number}: field text: missing or not a string")
    meta = {k: v for k, v in obj.items() if k not in ("id", "text", "entities", "relations")}
    return Document(str(obj.get("id", number)), obj["text"], meta=meta)


def _error(doc_id: str, line: int | None, message: str) -> Document:
    meta = {"error": message}
    if line is not None:
        meta["line"] = line
    return Document(doc_id, "", meta=meta)


def is_error(doc: Document) -> bool:
    return "error" in doc.meta


def predict_stream(extractor, docs: Iterable[Document], batch_size: int = 16, buffer_size: int | None = None,
                   **kwargs) -> Iterator[Document]:
    """Run the extractor over a stream; error records pass through in place, in input order."""
    buffer_size = buffer_size or 8 * batch_size
    chunk: list[Document] = []

    def flush() -> Iterator[Document]:
        good = [d for d in chunk if not is_error(d)]
        try:
            results = iter(extractor(good, batch_size=batch_size, **kwargs)) if good else iter(())
        except (RuntimeError, ValueError) as exc:  # a failing batch must not lose its records
            results = iter([_error(d.id, d.meta.get("line"), f"prediction failed: {exc}") for d in good])
        for d in chunk:
            yield d if is_error(d) else next(results)

    for doc in docs:
        chunk.append(doc)
        if len(chunk) >= buffer_size:
            yield from flush()
            chunk = []
    if chunk:
        yield from flush()


def count_written(path: str | os.PathLike, output_format: str) -> int:
    """Complete records already in an output file (for `--resume`); a torn last line is cut off."""
    if output_format != "jsonl":
        raise ValueError("--resume works with --format jsonl")
    path = Path(path)
    if not path.exists():
        return 0
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep != len(data):
        with open(path, "r+b") as fh:  # drop the half-written record of the killed run
            fh.truncate(keep)
    return data[:keep].count(b"\n")


def write_record(doc: Document, out: IO[str], output_format: str) -> None:
    if output_format == "jsonl":
        out.write(json.dumps(doc.to_json() if not is_error(doc) else {"id": doc.id, **doc.meta},
                             ensure_ascii=False) + "\n")
    elif output_format == "table":
        if is_error(doc):
            out.write(f"{doc.id}\tERROR\t\t\t{doc.meta['error']}\t\n")
            return
        for e in doc.entities:
            out.write(f"{doc.id}\t{e.type}\t{e.start}\t{e.end}\t{e.text}\t{e.score:.3f}\n")
        ents = {e.id: e for e in doc.entities}
        for r in doc.relations:
            out.write(f"{doc.id}\t{r.type}\t{r.head}\t{r.tail}\t{ents[r.head].text} → {ents[r.tail].text}"
                      f"\t{r.score:.3f}\n")
    else:
        raise ValueError(f"format {output_format!r} is written whole, not record by record")
    out.flush()


def predict_sharded(args, timeout: float = 24 * 3600) -> int | None:
    """One process of a multi-process run: predict records `rank, rank + world, ...`, then merge.

    Rank and world size come from the environment that `accelerate launch` and `torchrun` set
    (`RANK`, `WORLD_SIZE`, `LOCAL_RANK`). Each process writes its share to `OUTPUT.partR-of-W`
    (resumable like a whole run) and marks it done; the main process waits for every mark,
    interleaves the parts back into input order and removes them. A file barrier needs no process
    group, so the same code runs on CPUs and GPUs. Returns the merged count on rank 0, else None.
    """
    import time

    from araie.extractor import Extractor

    if args.output == "-" or args.format != "jsonl":
        raise ValueError("a multi-process run needs --output FILE and --format jsonl (parts are merged by line)")
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    parts = [f"{args.output}.part{r}-of-{world}" for r in range(world)]
    part, done = parts[rank], parts[rank] + ".done"
    if os.path.exists(done):
        os.remove(done)
    skip = count_written(part, "jsonl") if args.resume else 0
    device = args.device
    if device == "auto":
        import torch

        device = f"cuda:{local % torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu"
    extractor = Extractor.from_pretrained(args.model, device=device, dtype=args.dtype)
    shard = itertools.islice(read_inputs(args.input, args.input_format), rank, None, world)
    results = predict_stream(extractor, itertools.islice(shard, skip, None), batch_size=args.batch_size,
                             entity_threshold=args.entity_threshold, relation_threshold=args.relation_threshold)
    with open(part, "a" if skip else "w", encoding="utf-8") as out:
        for doc in results:
            write_record(doc, out, "jsonl")
    # the launch's identity, shared by its processes, tells this run's marks from a crashed run's
    launch = ":".join(os.environ.get(k, "") for k in ("MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RUN_ID"))
    with open(done, "w", encoding="utf-8") as fh:
        fh.write(launch)
    if rank != 0:
        return None
    deadline = time.time() + timeout
    while not all(_read(p + ".done") == launch for p in parts):
        if time.time() > deadline:
            raise TimeoutError(f"{args.output}: not every process finished its part within {timeout:.0f} s")
        time.sleep(0.2)
    n = merge_parts(parts, args.output)
    for p in parts:
        os.remove(p + ".done")
    return n


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def merge_parts(parts: list[str], output: str) -> int:
    """Interleave part files line by line (part r holds records r, r + W, ...) into `output`."""
    handles = [open(p, encoding="utf-8") for p in parts]  # noqa: SIM115
    n = 0
    try:
        with open(output, "w", encoding="utf-8") as out:
            for r in itertools.cycle(range(len(handles))):
                line = handles[r].readline()
                if not line:
                    break
                out.write(line)
                n += 1
    finally:
        for h in handles:
            h.close()
    for p in parts:
        os.remove(p)
    return n
