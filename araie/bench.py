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
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from araie.bench_report import flop_ceiling, machine_info, non_embedding_params, to_markdown, workload_flops
from araie.bench_startup import bench_startup
from araie.bench_worker import run_worker
from araie.extractor import Extractor, cpu_has_bf16

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
CPU_BF16_CONFIG = ("araie_torch_bf16", "araie predict, torch bf16 autocast on CPU (`--dtype bf16`; AVX512-BF16/AMX)")
BASE_SHAPE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
              "vocab_size": 64000}
COMPACT_SHAPE = {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024,
                 "vocab_size": 24000}  # the offline default's shape (`araie pretrain` defaults of the project)
TINY_SHAPE = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
              "vocab_size": 2000}
# Share of tokens a random model tags as entities (the seed annotations have 34 % of words inside entities).
ENTITY_RATE = 0.2
FLOP_FORMULA = ("FLOPs(window of l tokens) = 2*N*l + 4*n_layers*d*l^2, N = non-embedding parameters of encoder and "
                "token head (2 FLOPs per weight per token), 4*n_layers*d*l^2 = QK^T and attention*V (+2*n_layers*d*l^2 "
                "for the query-distance product of a relative_key encoder); summed over the windows (or sentences) a "
                "path runs, [CLS]/[SEP] and overlap included, padding excluded")


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
    matmul = (256, 0.2) if cfg.quick else (2048, 2.0)  # matrix size, seconds
    result["flop_ceiling"] = flop_ceiling(*matmul)
    configs = dict(CONFIGS)
    ceilings = {"float32": result["flop_ceiling"]["gflops"]}
    if cpu_has_bf16():
        configs[CPU_BF16_CONFIG[0]] = CPU_BF16_CONFIG[1]
        result["flop_ceiling_bf16"] = flop_ceiling(*matmul, "bfloat16")
        ceilings["bfloat16"] = result["flop_ceiling_bf16"]["gflops"]
    else:
        result["cpu_bf16"] = "skipped: this CPU has neither AVX512-BF16 nor AMX (bf16 would run slower than fp32)"
    if torch.cuda.is_available():
        configs[GPU_CONFIG[0]] = GPU_CONFIG[1]
    else:
        result["gpu"] = "skipped: torch.cuda.is_available() is False on this machine (bf16 runs need CUDA)"
    prepared = prepare_models(cfg, work, texts)
    for name, folder, note in prepared:
        if folder is None:
            result["models"][name] = {"skipped": note}
            continue
        result["models"][name] = bench_model(cfg, folder, texts, configs, work, ceilings)
        result["models"][name]["note"] = note
        result["models"][name]["agreement_on_seeds"] = seed_agreement(folder, cfg.quick)
        result["models"][name]["profile"] = torch_profile(folder, texts[:2 if cfg.quick else 8])
    result["memory_flatness"] = bench_flatness(cfg, work, texts)
    shipped = ROOT / "model"
    folder = shipped if (shipped / "config.json").exists() and not cfg.quick else next(f for _, f, _ in prepared if f)
    result["startup"] = bench_startup(folder, repeats=1 if cfg.quick else 5)
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    out.with_suffix(".md").write_text(to_markdown(result), encoding="utf-8")
    return out.with_suffix(".json")


def seed_agreement(folder: Path, quick: bool = False) -> dict:
    """Entity-level agreement of the ONNX backends and CPU bf16 with torch fp32 on the seed articles
    (strict F1, torch as reference), and each backend's strict entity F1 against the gold annotation."""
    from araie.evaluate import score
    from araie.records import Document, read_jsonl

    seeds = ROOT / "annotations" / "docs" / "seeds.jsonl"
    source = seeds if seeds.exists() and not quick else ROOT / "tests" / "fixtures" / "tiny.jsonl"
    gold = list(read_jsonl(source))
    bare = [Document(d.id, d.text) for d in gold]
    runs = {"torch": Extractor.from_pretrained(folder, device="cpu")(bare)}
    if cpu_has_bf16():
        runs["torch_bf16"] = Extractor.from_pretrained(folder, device="cpu", dtype="bf16")(bare)
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
    from torch.profiler import ProfilerActivity, profile

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
                ceilings: dict[str, float]) -> dict:
    """Every configuration on one model; rates and ratios against the first (baseline) configuration.

    `ceilings` maps a matmul dtype to this CPU's measured GFLOP/s; a bf16 row is set against the
    bf16 ceiling, every other CPU row against the fp32 one.
    """
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
        ceiling = ceilings.get("bfloat16" if name.endswith("bf16") else "float32")
        r["ceiling_share"] = None if "cuda" in name or not ceiling else r["gflops"] / ceiling  # CPU ceilings
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


if __name__ == "__main__":  # `python -m araie.bench ARGS` is `araie bench ARGS`
    from araie.cli import main

    sys.exit(main(["bench", *sys.argv[1:]]))
