"""The worker of `make bench`: one configuration timed in this process, with its peak memory."""

from __future__ import annotations

import json
import time
from pathlib import Path

from araie.extractor import Extractor

# --- the worker: one configuration in this process ------------------------------------------

def run_worker(spec: dict) -> dict:
    """Load and warm up, then time one pass over all texts; RSS peaks of loading and of predicting.

    Peaks are the kernel's high-water mark of this process (`VmHWM`), reset after loading through
    `/proc/self/clear_refs` so the predict peak is exact even in-process. Not `ru_maxrss`: Linux
    carries the parent's high-water mark into a child across fork and exec. Without `/proc` the
    RSS after the run stands in (a lower bound, flagged by `hwm: false`).
    """
    import psutil

    texts = json.loads(Path(spec["texts"]).read_text(encoding="utf-8"))
    start = time.perf_counter()
    run = _runner(spec["kind"], Path(spec["folder"]), spec["batch_size"], texts, spec.get("n_docs"))
    run(True)  # first calls allocate arenas, build ORT kernels and fill caches; not part of throughput
    load_seconds = time.perf_counter() - start
    loaded, load_peak = psutil.Process().memory_info().rss / 2**20, _vm_hwm()
    reset = _reset_hwm()
    start = time.perf_counter()
    entities = run(False)
    seconds = time.perf_counter() - start
    predict_peak = _vm_hwm() if reset else None
    return {"kind": spec["kind"], "seconds": seconds, "load_seconds": load_seconds, "entities": entities,
            "rss_loaded_mb": loaded, "load_peak_rss_mb": load_peak or loaded, "hwm": predict_peak is not None,
            "predict_peak_rss_mb": predict_peak or psutil.Process().memory_info().rss / 2**20}


def _vm_hwm() -> float | None:
    """This process's peak RSS in MiB since exec or the last reset (`VmHWM`), or None without /proc."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    return next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")), None)


def _reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # 5: reset the peak RSS to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def _runner(kind: str, folder: Path, batch_size: int, texts: list[str], n_docs: int | None):
    """A function `run(warm_up: bool) -> entities found` for one configuration."""
    from araie.records import Document

    if kind.startswith("hf_"):
        from transformers import pipeline

        from araie.hf.windows_araie import sentence_spans

        pipe = pipeline("token-classification", model=str(folder), aggregation_strategy="simple", device="cpu")
        sentences = [t[s:e].strip() for t in texts for s, e in sentence_spans(t) if t[s:e].strip()]
        limit = min(pipe.tokenizer.model_max_length, pipe.model.config.max_position_embeddings) - 2
        longest = max(len(pipe.tokenizer(s, add_special_tokens=False, verbose=False)["input_ids"]) for s in sentences)
        # only a sentence longer than the model's positions needs stride chunking (which costs time per call)
        kw = {"stride": 32} if longest > limit else {}
        if kind == "hf_sentence":
            return lambda warm: sum(len(pipe(s, **kw)) for s in sentences[:2 if warm else None])
        return lambda warm: sum(len(x) for x in pipe(sentences[:2 if warm else None], batch_size=batch_size, **kw))
    from araie.predict import predict_stream

    options = {"araie_torch": {"device": "cpu"}, "araie_torch_bf16": {"device": "cpu", "dtype": "bf16"},
               "stream": {"device": "cpu"}, "araie_onnx": {"backend": "onnx"},
               "araie_onnx_int8": {"backend": "onnx", "onnx_file": "model.int8.onnx"},
               "araie_cuda_bf16": {"device": "cuda", "dtype": "bf16"}}[kind]
    ie = Extractor.from_pretrained(folder, **options)
    batch_size = 64 if kind == "araie_cuda_bf16" else batch_size

    def docs(n: int):  # generated lazily: the input itself must not sit in memory
        return (Document(str(i), texts[i % len(texts)]) for i in range(n))

    if kind == "stream":
        return lambda warm: sum(len(d.entities) for d in ie.stream(docs(1 if warm else n_docs), batch_size))
    return lambda warm: sum(len(d.entities) for d in predict_stream(ie, docs(1 if warm else len(texts)), batch_size))
