"""The machine, FLOP accounting and the Markdown report of `make bench` (see `araie.bench`)."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

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


def flop_ceiling(n: int, seconds: float, dtype: str = "float32") -> dict:
    """GFLOP/s of repeated n x n torch matmuls (2 n^3 FLOPs each) in `dtype` on all torch threads."""
    import torch

    kind = getattr(torch, dtype)
    a, b, c = torch.randn(n, n, dtype=kind), torch.randn(n, n, dtype=kind), torch.empty(n, n, dtype=kind)
    torch.mm(a, b, out=c)
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b, out=c)
        reps += 1
    elapsed = time.perf_counter() - start
    short = {"float32": "fp32", "bfloat16": "bf16"}.get(dtype, dtype)
    return {"gflops": 2 * n**3 * reps / elapsed / 1e9, "matmul": f"{n}x{n} {short}, {reps} reps",
            "threads": torch.get_num_threads()}


def non_embedding_params(config) -> int:
    """Encoder layers (Q, K, V, O, two FFN matrices, biases, two LayerNorms) plus the token head."""
    d, i = config.hidden_size, config.intermediate_size
    layer = 4 * d * d + 4 * d + 2 * d * i + i + d + 4 * d
    return config.num_hidden_layers * layer + d * config.num_labels + config.num_labels


def workload_flops(config, tokenizer, texts: list[str]) -> dict:
    """FLOPs of araie's windows and of the stock pipeline's sentences for `texts` (see FLOP_FORMULA)."""
    from araie.hf.pipeline_araie import _prepare
    from araie.hf.windows_araie import sentence_spans

    n, d, layers = non_embedding_params(config), config.hidden_size, config.num_hidden_layers

    # relative-position encoders add a query x distance-embedding product per query-key pair (and a key one
    # for relative_key_query): 2*d*l^2 per layer for each
    terms = 4 + 2 * {"relative_key": 1, "relative_key_query": 2}.get(getattr(config, "position_embedding_type", ""), 0)

    def flops(length: int) -> int:
        return 2 * n * length + terms * layers * d * length**2

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
              f"**{c['gflops']:.1f} GFLOP/s**. {result['flop_formula']}.", ""]
    b16 = result.get("flop_ceiling_bf16")
    lines += [f"bf16 matmul ({b16['matmul']}): **{b16['gflops']:.1f} GFLOP/s**; the `araie_torch_bf16` rows are set "
              "against this ceiling, every other CPU row against the fp32 one." if b16 else
              result.get("cpu_bf16", ""), "", prov, ""]
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
                      "(strict F1; torch fp32 as the reference, and each backend or dtype against the gold "
                      "annotation): "
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
              f"({fl['peak_delta_mb']:+.0f} MB).", "", prov, ""]
    if "startup" in result:
        from araie.bench_startup import startup_markdown

        lines += [*startup_markdown(result["startup"]), prov, ""]
    lines += ["## GPU", "",
              result.get("gpu", "bf16 autocast, batch 64: the `araie_cuda_bf16` rows above."), ""]
    return "\n".join(lines)


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.1f}"
