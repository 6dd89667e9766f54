"""`make bench`: throughput and peak memory of araie's predict paths against the stock pipeline.

In one run, on the same Arabic documents and weights, each configuration of `CONFIGS` is timed as a
ratio against the stock `transformers` token-classification pipeline fed one sentence at a time.
Each runs in a fresh subprocess whose peak RSS is its own kernel high-water mark, read once after
loading and once, after a reset, after predicting. Models: the shipped `model/` (when present) and
a random-weight AraBERT-base-shaped BERT, so the compute is real. A fp32 matmul gives the machine's
FLOP ceiling; N vs 100 N documents through `Extractor.stream` show predict's memory stays flat.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import logging
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger("araie.bench")  # not __name__: that is __main__ under `python -m`
ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {  # name -> what it measures; the first is the baseline
    "hf_sentence": "transformers token-classification pipeline, one sentence per call (baseline)",
    "hf_batched": "transformers token-classification pipeline, sentences, batch_size=16",
    "araie_torch": "araie predict, torch fp32 (sentence-packed windows, length-sorted batches)",
    "araie_onnx": "araie predict, onnxruntime fp32 (onnx/model.onnx)",
    "araie_onnx_int8": "araie predict, onnxruntime dynamic int8 (onnx/model.int8.onnx)",
}
GPU_CONFIG = ("araie_cuda_bf16", "araie predict, CUDA bf16 autocast, batch_size=64")
BASE_SHAPE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
              "vocab_size": 64000}
COMPACT_SHAPE = {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024,
                 "vocab_size": 24000}  # the offline default's shape (`araie pretrain` defaults of the project)
TINY_SHAPE = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
              "vocab_size": 2000}
# Share of tokens a random model tags as entities (the seed annotations have 34 % of words inside entities).
ENTITY_RATE = 0.2
FLOP_FORMULA = ("FLOPs(window of l tokens) = 2*N*l + 4*n_layers*d*l^2, N = non-embedding parameters of encoder and "
                "token head (2 FLOPs per weight per token), 4*n_layers*d*l^2 = QK^T and attention*V; summed over "
                "the windows (or sentences) a path runs, [CLS]/[SEP] and overlap included, padding excluded")


@dataclass
class BenchConfig:
    """One benchmark run's settings (saved in bench.json)."""

    out: str = "eval/bench"
    work: str = "runs/bench"
    quick: bool = False
    docs: int = 40
    batch_size: int = 16
    flat_docs: int = 16
    flat_factor: int = 100
    in_process: bool = False
    command: str = ""  # the exact invocation
    make_target: str | None = None  # "make bench" when make ran it


def add_bench_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `araie bench` / `python -m araie.bench`."""
    p.add_argument("--out", default="eval/bench", help="writes OUT.json and OUT.md")
    p.add_argument("--work", default="runs/bench", help="scratch folder for the exported models")
    p.add_argument("--quick", action="store_true", help="tiny model, few documents (tests)")
    p.add_argument("--docs", type=int, help="documents per configuration (seed documents repeated; default 40)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--flat-docs", type=int, help="N of the memory-flatness runs (default: the batch size)")
    p.add_argument("--flat-factor", type=int, help="the larger flatness run has N x this documents (default 100)")
    p.add_argument("--in-process", action="store_true", help="no subprocesses (fast; for tests)")
    p.add_argument("--worker", help=argparse.SUPPRESS)


def bench_from_args(args: argparse.Namespace) -> Path | None:
    """Run the benchmark from parsed arguments; returns the path of the JSON report (None for a worker)."""
    if args.worker:
        # the worker protocol: one JSON line on stdout, read by `run_config` in the parent
        sys.stdout.write(json.dumps(run_worker(json.loads(args.worker))) + "\n")
        return None
    # the invocation, rebuilt from the parsed options so it is exact however bench was called
    prefix = [os.path.relpath(sys.executable), "-m", "araie.bench"] if sys.argv[0].endswith("bench.py") else [
        "araie", "bench"]  # `python -m araie.bench` (`.venv/bin/python` under make) or the console script
    options = [x for k in ("out", "work", "docs", "batch_size", "flat_docs", "flat_factor") if getattr(args, k)
               is not None for x in (f"--{k.replace('_', '-')}", str(getattr(args, k)))]
    flags = [f"--{k.replace('_', '-')}" for k in ("quick", "in_process") if getattr(args, k)]
    command = shlex.join([*prefix, *options, *flags])
    quick = args.quick
    cfg = BenchConfig(out=args.out, work=args.work, quick=quick, docs=args.docs or (6 if quick else 40),
                      batch_size=args.batch_size, flat_docs=args.flat_docs or (2 if quick else args.batch_size),
                      flat_factor=args.flat_factor or (10 if quick else 100), in_process=args.in_process,
                      command=command,
                      make_target="make bench" if "MAKELEVEL" in os.environ else None)
    return run_bench(cfg)


# --- the parent: models, texts, configurations, report --------------------------------------

def run_bench(cfg: BenchConfig) -> Path:
    """Prepare the models, run every configuration, write `cfg.out`.json and .md; return the JSON path."""
    import torch

    work = Path(cfg.work).resolve()  # absolute: workers run with the repository as working directory
    work.mkdir(parents=True, exist_ok=True)
    texts = bench_texts(cfg.docs, cfg.quick)
    (work / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    result: dict = {"config": asdict(cfg), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds"), "machine": machine_info(), "flop_formula": FLOP_FORMULA, "models": {}}
    result["flop_ceiling"] = flop_ceiling(256 if cfg.quick else 2048, 0.2 if cfg.quick else 2.0)
    configs = dict(CONFIGS)
    if torch.cuda.is_available():
        configs[GPU_CONFIG[0]] = GPU_CONFIG[1]
    else:
        result["gpu"] = "skipped: torch.cuda.is_available() is False on this machine (bf16 runs need CUDA)"
    for name, folder, note in prepare_models(cfg, work, texts):
        if folder is None:
            result["models"][name] = {"skipped": note}
            continue
        result["models"][name] = bench_model(cfg, folder, texts, configs, work, result["flop_ceiling"]["gflops"])
        result["models"][name]["note"] = note
        result["models"][name]["agreement_on_seeds"] = seed_agreement(folder, cfg.quick)
        result["models"][name]["profile"] = torch_profile(folder, texts[:2 if cfg.quick else 8])
    result["memory_flatness"] = bench_flatness(cfg, work, texts)
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    out.with_suffix(".md").write_text(to_markdown(result), encoding="utf-8")
    return out.with_suffix(".json")


def seed_agreement(folder: Path, quick: bool = False) -> dict:
    """Entity-level agreement of the ONNX backends with torch fp32 on the seed articles (strict F1,
    torch as reference), and each backend's strict entity F1 against the gold annotation."""
    from araie.evaluate import score
    from araie.extractor import Extractor
    from araie.records import Document, read_jsonl

    seeds = ROOT / "annotations" / "docs" / "seeds.jsonl"
    source = seeds if seeds.exists() and not quick else ROOT / "tests" / "fixtures" / "tiny.jsonl"
    gold = list(read_jsonl(source))
    bare = [Document(d.id, d.text) for d in gold]
    runs = {"torch": Extractor.from_pretrained(folder, device="cpu")(bare)}
    for name, file in (("onnx", "model.onnx"), ("onnx_int8", "model.int8.onnx")):
        if (folder / "onnx" / file).exists():
            runs[name] = Extractor.from_pretrained(folder, backend="onnx", onnx_file=file)(bare)
    out = {"documents": len(gold), "source": source.name}
    for name, preds in runs.items():
        out[f"{name}_vs_gold_entity_f1"] = round(score(gold, preds).entities_strict.micro.f1, 4)
        if name != "torch":
            out[f"{name}_vs_torch_entity_f1"] = round(score(runs["torch"], preds).entities_strict.micro.f1, 4)
    return out


def torch_profile(folder: Path, texts: list[str], top: int = 8) -> dict:
    """Where the torch fp32 path spends its time: the operators with the most self CPU time.

    Shows whether a missed speed target is compute (matrix multiplies) or overhead (tokenising,
    decoding, Python) on this machine.
    """
    import time

    from torch.profiler import ProfilerActivity, profile

    from araie.extractor import Extractor

    extractor = Extractor.from_pretrained(folder, device="cpu")
    extractor(texts[:1])  # warm-up
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        extractor(texts)
    wall = time.perf_counter() - start
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    torch_seconds = sum(e.self_cpu_time_total for e in events) / 1e6
    ops = [{"op": e.key, "self_seconds": round(e.self_cpu_time_total / 1e6, 3),
            "share_of_wall": round(e.self_cpu_time_total / 1e6 / wall, 3), "calls": e.count} for e in events[:top]]
    return {"documents": len(texts), "wall_seconds": round(wall, 3), "torch_ops_seconds": round(torch_seconds, 3),
            "outside_torch_share": round(max(0.0, 1 - torch_seconds / wall), 3), "top_ops": ops}


def bench_texts(n: int, quick: bool = False) -> list[str]:
    """`n` documents: the seed articles (else, or with `quick`, the short test fixtures), repeated in order."""
    from araie.records import read_jsonl

    seeds = ROOT / "annotations" / "docs" / "seeds.jsonl"
    source = seeds if seeds.exists() and not quick else ROOT / "tests" / "fixtures" / "tiny.jsonl"
    base = [d.text for d in read_jsonl(source)]
    return list(itertools.islice(itertools.cycle(base), n))


def prepare_models(cfg: BenchConfig, work: Path, texts: list[str]) -> list[tuple[str, Path | None, str]]:
    """(name, exported folder with onnx/, note) per model; a folder of None means skipped (note says why)."""
    from araie.export import export

    shipped, out = ROOT / "model", []
    # random models take the sizes of train/arabertv02.yaml: 256-token windows, overlap 32, relation head 512
    specs = [("tiny", TINY_SHAPE, (64, 8, 32, 16))] if cfg.quick else [("arabert_base_shaped", BASE_SHAPE,
                                                                        (256, 32, 512, 64))]
    if not cfg.quick and (shipped / "config.json").exists():
        folder = export(shipped, work / "shipped", overwrite=True, onnx=True, int8=True)
        out.append(("shipped", folder, f"{shipped} re-exported with --onnx --int8"))
    elif not cfg.quick:
        out.append(("shipped", None, f"skipped: {shipped}/config.json does not exist (no shipped model yet)"))
    for name, shape, sizes in specs:
        tokenizer, tok_note = project_tokenizer(work / "tokenizer", texts)
        ckpt = build_random_checkpoint(work / f"{name}-checkpoint", tokenizer, shape, *sizes, texts=texts)
        out.append((name, export(ckpt, work / name, overwrite=True, onnx=True, int8=True),
                    f"random weights, BertConfig {json.dumps(shape)}; {tok_note}; O-label bias set so that "
                    f"~{ENTITY_RATE:.0%} of tokens are tagged"))
    return out


def project_tokenizer(folder: Path, texts: list[str]):
    """The shipped model's tokenizer, else a WordPiece tokenizer trained in-process on the bench texts."""
    from transformers import AutoTokenizer

    from araie.pretrain import train_tokenizer
    from araie.text.normalize import install_normalizer, normalize

    if (ROOT / "model" / "tokenizer.json").exists():
        return AutoTokenizer.from_pretrained(ROOT / "model"), "tokenizer of the shipped model/"
    train_tokenizer(iter([normalize(t).text for t in texts]), 64000, folder, min_frequency=1)
    tokenizer = install_normalizer(AutoTokenizer.from_pretrained(folder))
    return tokenizer, (f"WordPiece tokenizer trained in-process on the bench texts ({len(tokenizer)} pieces; "
                       "no shipped model/ to take it from), with araie's normaliser")


def build_random_checkpoint(folder: Path, tokenizer, shape: dict, window_length: int, overlap: int,
                            relation_hidden: int = 64, type_size: int = 32, seed: int = 0,
                            texts: list[str] | None = None, entity_rate: float = ENTITY_RATE) -> Path:
    """Save an `AraieForInformationExtraction` with random weights, the project schema and `tokenizer`.

    With `texts`, the bias of the `O` label is raised until about `entity_rate` of their tokens get
    an entity tag: a random head tags nearly every token, which would give relation scoring (pairs
    per sentence grow quadratically with entities) far more work than a trained model's output.
    """
    import torch
    from transformers import BertConfig

    from araie.hf.configuration_araie import AraieConfig
    from araie.hf.modeling_araie import AraieForInformationExtraction
    from araie.schema import Schema, bio_labels, relation_labels
    from araie.text.normalize import NormalizeConfig

    schema = Schema.load()
    labels = bio_labels(schema)
    bert = BertConfig(**{**shape, "vocab_size": max(shape["vocab_size"], len(tokenizer))},
                      max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id)
    config = AraieConfig.from_encoder(
        bert, relation_labels=relation_labels(schema), schema=schema.to_dict(), normalize=NormalizeConfig().to_dict(),
        window_length=window_length, overlap=overlap, relation_hidden=relation_hidden, type_embedding_size=type_size,
        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
    torch.manual_seed(seed)
    model = AraieForInformationExtraction(config).eval()
    if texts:
        enc = tokenizer(texts[:8], truncation=True, max_length=window_length, padding=True, return_tensors="pt")
        with torch.inference_mode():
            logits = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
        logits = logits[enc["attention_mask"].bool()]
        margin = logits[:, 1:].max(-1).values - logits[:, 0]  # how far the best entity tag beats O
        with torch.no_grad():
            model.classifier.bias[0] += torch.quantile(margin, 1 - entity_rate)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def bench_model(cfg: BenchConfig, folder: Path, texts: list[str], configs: dict[str, str], work: Path,
                ceiling: float) -> dict:
    """Every configuration on one model; rates and ratios against the first (baseline) configuration."""
    from transformers import AutoTokenizer

    from araie.hf.configuration_araie import AraieConfig

    tokenizer, config = AutoTokenizer.from_pretrained(folder), AraieConfig.from_pretrained(folder)
    words = sum(len(t.split()) for t in texts)
    tokens = sum(len(tokenizer(t, add_special_tokens=False, verbose=False)["input_ids"]) for t in texts)
    flops = workload_flops(config, tokenizer, texts)
    out = {"folder": str(folder), "documents": len(texts), "words": words, "subword_tokens": tokens,
           "non_embedding_params": non_embedding_params(config), "flops": flops, "configs": {}}
    for name, what in configs.items():
        log.info("bench %s: %s", folder.name, name)
        r = run_config({"kind": name, "folder": str(folder), "texts": str(work / "texts.json"),
                        "batch_size": cfg.batch_size}, cfg.in_process)
        work_flops = flops["sentences" if name.startswith("hf_") else "windows"]
        r.update(what=what, docs_per_s=len(texts) / r["seconds"], words_per_s=words / r["seconds"],
                 tokens_per_s=tokens / r["seconds"], gflops=work_flops / r["seconds"] / 1e9)
        r["ceiling_share"] = None if "cuda" in name else r["gflops"] / ceiling  # the ceiling is the CPU's
        out["configs"][name] = r
    base = out["configs"][next(iter(configs))]
    for r in out["configs"].values():
        r["speedup_vs_baseline"] = r["docs_per_s"] / base["docs_per_s"]
        r["peak_rss_vs_baseline"] = r["peak_rss_mb"] / base["peak_rss_mb"]
    return out


def bench_flatness(cfg: BenchConfig, work: Path, texts: list[str]) -> dict:
    """Peak RSS of `Extractor.stream` over N and factor x N documents (same model, same batch size)."""
    shipped = ROOT / "model"
    if cfg.quick:
        folder = work / "tiny"
    elif (shipped / "config.json").exists():
        folder = shipped
    else:  # flatness is about buffering, not compute: the compact shape keeps 100 N documents affordable
        tokenizer, _ = project_tokenizer(work / "tokenizer", texts)
        folder = build_random_checkpoint(work / "compact-checkpoint", tokenizer, COMPACT_SHAPE, 256, 32, 256, 32,
                                         texts=texts)
    runs = {}
    for n in (cfg.flat_docs, cfg.flat_docs * cfg.flat_factor):
        runs[str(n)] = run_config({"kind": "stream", "folder": str(folder), "texts": str(work / "texts.json"),
                                   "batch_size": cfg.batch_size, "n_docs": n}, cfg.in_process)
    small, large = runs[str(cfg.flat_docs)], runs[str(cfg.flat_docs * cfg.flat_factor)]
    return {"folder": str(folder), "batch_size": cfg.batch_size, "buffer_docs": 8 * cfg.batch_size,
            "n": cfg.flat_docs, "factor": cfg.flat_factor, "runs": runs,
            "peak_ratio": large["predict_peak_rss_mb"] / small["predict_peak_rss_mb"],
            "peak_delta_mb": large["predict_peak_rss_mb"] - small["predict_peak_rss_mb"]}


def run_config(spec: dict, in_process: bool) -> dict:
    """One configuration, in a fresh subprocess (its peak RSS is its own) unless `in_process`."""
    if in_process:  # the process has loaded other configurations before: only the predict peak is this one's
        r = run_worker(spec)
        return {**r, "peak_rss_mb": r["predict_peak_rss_mb"], "rss_method": _method(r, "while predicting, in-process")}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run([sys.executable, "-m", "araie.bench", "--worker", json.dumps(spec)], capture_output=True,
                          text=True, env=env, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"bench worker {spec['kind']} failed:\n{proc.stderr[-3000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**r, "peak_rss_mb": max(r["load_peak_rss_mb"], r["predict_peak_rss_mb"]),
            "rss_method": _method(r, "of a fresh subprocess per configuration, imports and loading included")}


def _method(r: dict, scope: str) -> str:
    return f"{'kernel high-water mark (VmHWM)' if r['hwm'] else 'RSS after the run (no /proc)'} {scope}"


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

        from araie.hf.text_araie import sentence_spans

        pipe = pipeline("token-classification", model=str(folder), aggregation_strategy="simple", device="cpu")
        sentences = [t[s:e].strip() for t in texts for s, e in sentence_spans(t) if t[s:e].strip()]
        limit = min(pipe.tokenizer.model_max_length, pipe.model.config.max_position_embeddings) - 2
        longest = max(len(pipe.tokenizer(s, add_special_tokens=False, verbose=False)["input_ids"]) for s in sentences)
        # only a sentence longer than the model's positions needs stride chunking (which costs time per call)
        kw = {"stride": 32} if longest > limit else {}
        if kind == "hf_sentence":
            return lambda warm: sum(len(pipe(s, **kw)) for s in sentences[:2 if warm else None])
        return lambda warm: sum(len(x) for x in pipe(sentences[:2 if warm else None], batch_size=batch_size, **kw))
    from araie.extractor import Extractor
    from araie.predict import predict_stream

    options = {"araie_torch": {"device": "cpu"}, "stream": {"device": "cpu"}, "araie_onnx": {"backend": "onnx"},
               "araie_onnx_int8": {"backend": "onnx", "onnx_file": "model.int8.onnx"},
               "araie_cuda_bf16": {"device": "cuda", "dtype": "bf16"}}[kind]
    ie = Extractor.from_pretrained(folder, **options)
    batch_size = 64 if kind == "araie_cuda_bf16" else batch_size

    def docs(n: int):  # generated lazily: the input itself must not sit in memory
        return (Document(str(i), texts[i % len(texts)]) for i in range(n))

    if kind == "stream":
        return lambda warm: sum(len(d.entities) for d in ie.stream(docs(1 if warm else n_docs), batch_size))
    return lambda warm: sum(len(d.entities) for d in predict_stream(ie, docs(1 if warm else len(texts)), batch_size))


# --- machine, FLOPs ------------------------------------------------------------------------------

def machine_info() -> dict:
    """CPU model, cores, memory and library versions, and the load average (other jobs skew timings)."""
    import onnxruntime
    import psutil
    import torch
    import transformers

    cpu = platform.processor() or "unknown"
    if Path("/proc/cpuinfo").exists():
        names = [ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                 if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    return {"cpu": cpu, "logical_cores": os.cpu_count(), "physical_cores": psutil.cpu_count(logical=False),
            "memory_gb": psutil.virtual_memory().total / 1e9, "platform": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "transformers": transformers.__version__, "onnxruntime": onnxruntime.__version__,
            "onnxruntime_threads": os.cpu_count(), "cuda": torch.cuda.is_available(),
            "loadavg_start": list(os.getloadavg())}


def flop_ceiling(n: int, seconds: float) -> dict:
    """fp32 GFLOP/s of repeated n x n torch matmuls (2 n^3 FLOPs each) on all torch threads."""
    import torch

    a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
    torch.mm(a, b, out=c)
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b, out=c)
        reps += 1
    elapsed = time.perf_counter() - start
    return {"gflops": 2 * n**3 * reps / elapsed / 1e9, "matmul": f"{n}x{n} fp32, {reps} reps",
            "threads": torch.get_num_threads()}


def non_embedding_params(config) -> int:
    """Encoder layers (Q, K, V, O, two FFN matrices, biases, two LayerNorms) plus the token head."""
    d, i = config.hidden_size, config.intermediate_size
    layer = 4 * d * d + 4 * d + 2 * d * i + i + d + 4 * d
    return config.num_hidden_layers * layer + d * config.num_labels + config.num_labels


def workload_flops(config, tokenizer, texts: list[str]) -> dict:
    """FLOPs of araie's windows and of the stock pipeline's sentences for `texts` (see FLOP_FORMULA)."""
    from araie.hf.pipeline_araie import _prepare
    from araie.hf.text_araie import sentence_spans

    n, d, layers = non_embedding_params(config), config.hidden_size, config.num_hidden_layers

    def flops(length: int) -> int:
        return 2 * n * length + 4 * layers * d * length**2

    windows = []
    for t in texts:  # the same windowing call as extract_documents
        windows += [w.end - w.start + 2 for w in _prepare(t, tokenizer, config.window_length - 2,
                                                         min(config.overlap, config.window_length // 4))[1]]
    sentences = [len(tokenizer(t[s:e].strip(), verbose=False)["input_ids"])
                 for t in texts for s, e in sentence_spans(t) if t[s:e].strip()]
    return {"windows": sum(map(flops, windows)), "sentences": sum(map(flops, sentences)),
            "n_windows": len(windows), "mean_window_tokens": sum(windows) / max(len(windows), 1),
            "n_sentences": len(sentences), "mean_sentence_tokens": sum(sentences) / max(len(sentences), 1)}


# --- report --------------------------------------------------------------------------------------

def to_markdown(result: dict) -> str:
    """bench.md: every table followed by the command, machine and date that produced it."""
    m, cfg = result["machine"], result["config"]
    made = f"`{cfg['make_target']}` → " if cfg["make_target"] else ""
    prov = (f"<sub>{made}`{cfg['command']}` · {m['cpu']}, {m['logical_cores']} cores · torch {m['torch']} · "
            f"{result['date']}</sub>")
    busy = max(m["loadavg_start"][0], m["loadavg_end"][0]) > 0.5 * m["logical_cores"]
    lines = ["# araie benchmark", "",
             f"Command: {made}`{cfg['command']}`",
             f"Date: {result['date']}",
             f"Machine: {m['cpu']}, {m['logical_cores']} logical / {m['physical_cores']} physical cores, "
             f"{m['memory_gb']:.0f} GB; {m['platform']}; Python {m['python']}, torch {m['torch']} "
             f"({m['torch_threads']} threads), transformers {m['transformers']}, onnxruntime {m['onnxruntime']} "
             f"({m['onnxruntime_threads']} intra-op threads)",
             f"Load average (1 min) at start / end: {m['loadavg_start'][0]:.2f} / {m['loadavg_end'][0]:.2f}"
             + (" — **the machine was busy: timings are skewed**" if busy else ""), ""]
    if cfg["quick"]:
        lines += ["**Quick run (`--quick`): tiny model and few documents; not a measurement.**", ""]
    c = result["flop_ceiling"]
    lines += ["## FLOP ceiling", "", f"fp32 matmul ({c['matmul']}, {c['threads']} torch threads): "
              f"**{c['gflops']:.1f} GFLOP/s**. {result['flop_formula']}.", "", prov, ""]
    for name, model in result["models"].items():
        lines += [f"## Model: {name}", ""]
        if "skipped" in model:
            lines += [model["skipped"], ""]
            continue
        f = model["flops"]
        lines += [f"{model['note']}. {model['documents']} documents, {model['words']} words, "
                  f"{model['subword_tokens']} subword tokens; {model['non_embedding_params'] / 1e6:.1f} M "
                  f"non-embedding parameters; araie runs {f['n_windows']} windows (mean {f['mean_window_tokens']:.0f}"
                  f" tokens), the stock pipeline {f['n_sentences']} sentences (mean "
                  f"{f['mean_sentence_tokens']:.0f} tokens).", "",
                  "| configuration | docs/s | words/s | subword tokens/s | speed × baseline | peak RSS MB "
                  "| RSS × baseline | peak RSS predicting MB | GFLOP/s | % of ceiling |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for key, r in model["configs"].items():
            lines.append(f"| `{key}` | {r['docs_per_s']:.2f} | {r['words_per_s']:.0f} | {r['tokens_per_s']:.0f} | "
                         f"{r['speedup_vs_baseline']:.2f} | {r['peak_rss_mb']:.0f} | {r['peak_rss_vs_baseline']:.2f}"
                         f" | {r['predict_peak_rss_mb']:.0f} | {r['gflops']:.1f} | "
                         f"{_percent(r['ceiling_share'])} |")
        base = model["configs"].get("hf_sentence")
        ceiling = result["flop_ceiling"]["gflops"]
        if base and base.get("gflops"):
            bound = ceiling / base["gflops"]
            lines += ["", f"An fp32 path running at the measured ceiling would be at most {bound:.2f}x "
                      f"the baseline here (ceiling {ceiling:.0f} GFLOP/s / baseline {base['gflops']:.1f} GFLOP/s, the "
                      "same FLOPs per token assumed): the ratio a path can reach depends on how well the baseline "
                      "already uses this machine. The ceiling is torch's own fp32 matmul rate; onnxruntime's GEMM "
                      "can exceed it, hence shares above 100 % for the ONNX rows."]
        lines += [""] + [f"- `{k}`: {r['what']}" for k, r in model["configs"].items()]
        lines += [f"- peak RSS: {next(iter(model['configs'].values()))['rss_method']}; peak RSS predicting: the "
                  "same mark, reset after loading and warm-up", ""]
        agree = model.get("agreement_on_seeds")
        if agree:
            lines += [f"Entity-level agreement on the {agree['documents']} documents of `{agree['source']}` "
                      "(strict F1; torch fp32 as the reference, and each backend against the gold annotation): "
                      + ", ".join(
                          f"{k.replace('_entity_f1', '')} {v:.3f}" for k, v in agree.items() if k.endswith("_f1")),
                      ""]
        prof = model.get("profile")
        if prof:
            lines += [f"Profile of the torch fp32 path (`torch.profiler`, {prof['documents']} documents, "
                      f"{prof['wall_seconds']:.2f} s wall; {100 * prof['outside_torch_share']:.0f} % of the wall time "
                      "outside torch operators: tokenising, windowing, decoding):", "",
                      "| operator | self seconds | share of wall | calls |", "|---|---:|---:|---:|"]
            lines += [f"| `{o['op']}` | {o['self_seconds']:.3f} | {100 * o['share_of_wall']:.1f} % | {o['calls']} |"
                      for o in prof["top_ops"]]
            lines.append("")
        lines += [prov, ""]
    fl = result["memory_flatness"]
    lines += ["## Memory flatness of predict", "",
              f"`Extractor.stream` (batch {fl['batch_size']}, buffer {fl['buffer_docs']} documents) over N and "
              f"{fl['factor']} N documents with `{fl['folder']}`:", "",
              "| documents | seconds | RSS after load MB | peak RSS predicting MB | process peak RSS MB |",
              "|---:|---:|---:|---:|---:|"]
    lines += [f"| {n} | {r['seconds']:.1f} | {r['rss_loaded_mb']:.0f} | {r['predict_peak_rss_mb']:.0f} | "
              f"{r['peak_rss_mb']:.0f} |" for n, r in fl["runs"].items()]
    lines += ["", f"Peak RSS while predicting, {fl['factor']} N / N: **{fl['peak_ratio']:.3f}** "
              f"({fl['peak_delta_mb']:+.0f} MB).", "", prov, "", "## GPU", "",
              result.get("gpu", "bf16 autocast, batch 64: the `araie_cuda_bf16` rows above."), ""]
    return "\n".join(lines)


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.1f}"


if __name__ == "__main__":  # `python -m araie.bench ARGS` is `araie bench ARGS`
    from araie.cli import main

    sys.exit(main(["bench", *sys.argv[1:]]))
