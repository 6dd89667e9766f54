"""The Python API: `Extractor.from_pretrained(DIR)(texts)` -> records with raw offsets and scores."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from araie.records import Document, Entity, Relation
from araie.text.edges import trim_span

log = logging.getLogger(__name__)
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "model"
DTYPES = {"auto": None, "fp32": None, "float32": None, "bf16": "bfloat16", "bfloat16": "bfloat16",
          "fp16": "float16", "float16": "float16"}


def resolve_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available here")
    return device


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices natively (AVX512-BF16 or AMX), so `--dtype bf16` pays on CPU."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


class Extractor:
    """Entities and relations of Arabic texts, batched over documents, windowed, never truncated.

    Example:
        >>> ie = Extractor.from_pretrained("model")                      # doctest: +SKIP
        >>> doc = ie("قال المرصد السوري إن 12 مدنياً قتلوا في حلب")          # doctest: +SKIP
        >>> [(e.type, e.text) for e in doc.entities]                     # doctest: +SKIP
        [('ORG', 'المرصد السوري'), ('QUANTITY', '12 مدنياً'), ('GPE', 'حلب')]
    """

    def __init__(self, model, tokenizer, dtype: str | None = None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.dtype = dtype

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike = DEFAULT_MODEL, device: str = "auto", dtype: str = "auto",
                        backend: str = "torch", onnx_file: str = "model.onnx") -> Extractor:
        """Load an exported folder (or a training checkpoint) onto `device` (`auto`, `cpu`, `cuda`, `cuda:1`).

        `dtype` `bf16` runs the model under bf16 autocast, on CUDA (the default there) or on a CPU
        with bf16 instructions (AVX512-BF16 or AMX: several times the fp32 matmul rate; opt-in, as
        CPUs without them run bf16 slower than fp32, see `cpu_has_bf16`); `fp16` is CUDA only.
        `backend="onnx"` runs the encoder and token head of `DIR/onnx/<onnx_file>` (`model.onnx` or
        `model.int8.onnx`, written by `araie export --onnx [--int8]`) in onnxruntime on CPU.
        """
        from transformers import AutoTokenizer

        from araie.hf.modeling_araie import AraieForInformationExtraction

        # --- onnx backend (araie.onnx_backend) ---
        if backend == "onnx":
            from araie.onnx_backend import load_onnx_model

            if device not in ("auto", "cpu") or dtype not in ("auto", "fp32", "float32"):
                raise ValueError("backend 'onnx' runs on CPU in fp32 (int8: onnx_file='model.int8.onnx')")
            if not (Path(path) / "config.json").exists():
                raise FileNotFoundError(f"{path}: no config.json; pass a folder written by `araie export --onnx`")
            return cls(load_onnx_model(path, onnx_file), AutoTokenizer.from_pretrained(path), None)
        # --- end onnx backend ---
        if backend != "torch":
            raise ValueError(f"backend {backend!r}: choose 'torch' or 'onnx'")
        if dtype not in DTYPES:
            raise ValueError(f"dtype {dtype!r}: choose from {', '.join(DTYPES)}")
        path = Path(path)
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"{path}: no config.json; pass a folder written by `araie export` or `araie train`")
        device = resolve_device(device)
        if device.startswith("cuda") and dtype == "auto":
            dtype = "bf16"
        if device == "cpu" and DTYPES[dtype] == "float16":
            raise ValueError("dtype 'fp16' needs CUDA; on CPU use 'bf16' (fast with AVX512-BF16 or AMX) or 'fp32'")
        model = AraieForInformationExtraction.from_pretrained(path).to(device)  # SDPA attention by default
        return cls(model, AutoTokenizer.from_pretrained(path), DTYPES[dtype])

    @property
    def config(self):
        return self.model.config

    def __call__(self, texts: str | Document | Iterable[str | Document], batch_size: int = 16,
                 max_length: int | None = None, entity_threshold: float | None = None,
                 relation_threshold: float | None = None) -> Document | list[Document]:
        """Extract from one text (returns one `Document`) or many (returns a list, in input order)."""
        single = isinstance(texts, (str, Document))
        docs = [_as_document(t, i) for i, t in enumerate([texts] if single else texts)]
        out = self._extract(docs, batch_size, max_length, entity_threshold, relation_threshold)
        return out[0] if single else out

    def stream(self, docs: Iterable[Document], batch_size: int = 16, buffer_size: int | None = None,
               **kwargs) -> Iterator[Document]:
        """Extract from a stream, holding at most `buffer_size` documents; yields in input order."""
        buffer_size = buffer_size or 8 * batch_size
        chunk: list[Document] = []
        for doc in docs:
            chunk.append(doc)
            if len(chunk) >= buffer_size:
                yield from self._extract(chunk, batch_size, **kwargs)
                chunk = []
        if chunk:
            yield from self._extract(chunk, batch_size, **kwargs)

    def _extract(self, docs: list[Document], batch_size: int, max_length: int | None = None,
                 entity_threshold: float | None = None, relation_threshold: float | None = None) -> list[Document]:
        import torch

        from araie.hf.pipeline_araie import extract_documents

        dtype = getattr(torch, self.dtype) if self.dtype else None
        results = extract_documents(self.model, self.tokenizer, [d.text for d in docs], batch_size=batch_size,
                                    max_length=max_length, entity_threshold=entity_threshold,
                                    relation_threshold=relation_threshold, dtype=dtype)
        return [to_document(d, r) for d, r in zip(docs, results, strict=True)]


def _as_document(item: str | Document, index: int) -> Document:
    if isinstance(item, Document):
        return item
    if not isinstance(item, str):
        raise TypeError(f"item {index}: expected str or Document, got {type(item).__name__}")
    return Document(str(index), item)


def to_document(doc: Document, result: dict) -> Document:
    """The input record with the entities and relations of one `extract_documents` result (raw offsets)."""
    entities = []
    for e in result["entities"]:
        # a bidi mark, ZWJ or emoji glued to a name is not part of it (araie.text.edges)
        start, end = trim_span(doc.text, e["start"], e["end"])
        if start < end:
            entities.append(Entity(e["id"], e["type"], start, end, doc.text[start:end], e["score"]))
    for e in entities:  # the record invariant, checked before anything is written
        assert doc.text[e.start:e.end] == e.text, (doc.id, e)
    kept = {e.id for e in entities}
    relations = tuple(Relation(r["id"], r["type"], r["head"], r["tail"], r["score"]) for r in result["relations"]
                      if r["head"] in kept and r["tail"] in kept)
    meta = {k: v for k, v in doc.meta.items() if k != "error"}
    return Document(doc.id, doc.text, tuple(entities), relations, meta)
