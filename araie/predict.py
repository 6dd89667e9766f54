"""`araie predict`: stream records in, one output record per input record, errors as records.

Inputs (`araie.predict_input`): JSONL (`id` and `text` per line), plain text (one document per
line), a folder of `.txt` and `.jsonl` files, or stdin. The stream is read in buffers; inside a
buffer documents are batched by length, and results are written in input order. A line that cannot
be used, or that the model fails on, becomes a record with an `error` field and the run goes on.
`resume` counts the records already written, checks they came from this input, and continues
after them. Output checks and writers: `araie.predict_output`.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from araie.predict_input import is_error, read_inputs
from araie.records import Document, json_line

__all__ = ["is_error", "read_inputs", "predict_stream", "count_written", "write_record", "predict_sharded"]
log = logging.getLogger(__name__)


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


def predict_stream(extractor, docs: Iterable[Document], batch_size: int = 16, buffer_size: int | None = None,
                   **kwargs) -> Iterator[Document]:
    """Run the extractor over a stream; error records pass through in place, in input order."""
    buffer_size = buffer_size or 8 * batch_size
    chunk: list[Document] = []

    def flush() -> Iterator[Document]:
        good = [d for d in chunk if not is_error(d)]
        try:
            results = iter(extractor(good, batch_size=batch_size, **kwargs)) if good else iter(())
        except Exception:  # noqa: BLE001 - whatever one record does, the others of its buffer must come out
            results = iter([_predict_one(extractor, d, batch_size, kwargs) for d in good])
        for d in chunk:
            yield d if is_error(d) else next(results)

    for doc in docs:
        chunk.append(doc)
        if len(chunk) >= buffer_size:
            yield from flush()
            chunk = []
    if chunk:
        yield from flush()


def _predict_one(extractor, doc: Document, batch_size: int, kwargs: dict) -> Document:
    """The record of one document alone, or an error record saying why it failed."""
    try:
        return extractor([doc], batch_size=batch_size, **kwargs)[0]
    except Exception as exc:  # noqa: BLE001 - reported in the record, in its place
        log.debug("prediction of %s failed", doc.id, exc_info=True)
        message = f"prediction failed: {type(exc).__name__}: {exc}"
        meta = {"error": message.encode("utf-8", "backslashreplace").decode("utf-8")}
        if "line" in doc.meta:
            meta["line"] = doc.meta["line"]
        return Document(doc.id, "", meta={**({"id": doc.meta["id"]} if "id" in doc.meta else {}), **meta})


def count_written(path: str | os.PathLike, output_format: str) -> int:
    """Complete records already in an output file (for `--resume`); a torn last line does not count."""
    if output_format != "jsonl":
        raise ValueError("--resume works with --format jsonl")
    path = Path(path)
    if not path.exists():
        return 0
    data = path.read_bytes()
    return data[:data.rfind(b"\n") + 1].count(b"\n")


def cut_torn_line(path: str | os.PathLike) -> None:
    """Drop the half-written last record a killed run left (call once the output is known to be ours)."""
    path = Path(path)
    if not path.exists():
        return
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        data = fh.read()
        keep = data.rfind(b"\n") + 1
        if keep != size:
            fh.truncate(keep)


def record_json(doc: Document) -> dict:
    """The JSON object written for a document: the full record, or `{"id", "line", "error"}`."""
    return doc.to_json() if not is_error(doc) else {"id": doc.id, **doc.meta}


def write_record(doc: Document, out: IO[str], output_format: str) -> None:
    if output_format == "jsonl":
        out.write(json_line(record_json(doc)) + "\n")
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


def skip_written(output: str | os.PathLike, docs: Iterator[Document], skip: int) -> Iterator[Document]:
    """The inputs after the `skip` records already in `output`, once those are shown to be theirs.

    The written records are the fingerprint of the input they came from: each must carry the id
    (and, unless it is an error record, the text) of the input record in its place. A mismatch
    means `--resume` was given another input (or an edited one) and is refused.
    """
    n = 0
    with open(output, encoding="utf-8") as fh:
        for n, (line, doc) in enumerate(zip(itertools.islice(fh, skip), docs, strict=False), start=1):
            try:
                written = json.loads(line)
            except ValueError:
                raise ValueError(f"{output}:{n}: not a JSON record; not an araie output? --force starts over") from None
            expected = record_json(doc)
            if written.get("id") != expected["id"] or written.get("text") != expected.get("text"):
                raise ValueError(f"{output}:{n}: record {written.get('id')!r} is not input record {n} "
                                 f"({expected['id']!r}): the output belongs to another input; --force starts over")
    if n < skip:
        raise ValueError(f"{output}: holds {skip} record(s), the input only {n}; --force starts over")
    return docs


def predict_sharded(args, timeout: float = 24 * 3600) -> tuple[int, int] | None:
    """One process of a multi-process run: predict records `rank, rank + world, ...`, then merge.

    Rank and world size come from the environment that `accelerate launch` and `torchrun` set
    (`RANK`, `WORLD_SIZE`, `LOCAL_RANK`). Each process writes its share to `OUTPUT.partR-of-W`
    (resumable like a whole run) and marks it done; the main process waits for every mark,
    interleaves the parts back into input order and removes them. A file barrier needs no process
    group, so the same code runs on CPUs and GPUs. Returns `(records, error records)` merged on rank 0, else None.
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
    shard = itertools.islice(read_inputs(args.input, args.input_format), rank, None, world)
    skip = count_written(part, "jsonl") if args.resume else 0
    if skip:
        shard = skip_written(part, shard, skip)
        cut_torn_line(part)
    device = args.device
    if device == "auto":
        import torch

        device = f"cuda:{local % torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu"
    extractor = Extractor.from_pretrained(args.model, device=device, dtype=args.dtype)
    results = predict_stream(extractor, shard, batch_size=args.batch_size,
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
    n, errors = merge_parts(parts, args.output)
    for p in parts:
        os.remove(p + ".done")
    return n, errors


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def merge_parts(parts: list[str], output: str) -> tuple[int, int]:
    """Interleave part files line by line (part r holds records r, r + W, ...) into `output`.

    Returns the number of records and how many of them are error records.
    """
    handles = [open(p, encoding="utf-8") for p in parts]  # noqa: SIM115
    n = errors = 0
    try:
        with open(output, "w", encoding="utf-8") as out:
            for r in itertools.cycle(range(len(handles))):
                line = handles[r].readline()
                if not line:
                    break
                out.write(line)
                n += 1
                errors += "error" in json.loads(line)
    finally:
        for h in handles:
            h.close()
    for p in parts:
        os.remove(p)
    return n, errors
