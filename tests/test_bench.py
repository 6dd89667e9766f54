"""`araie bench --quick`: the report's keys and numbers, the subprocess worker, the FLOP count."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install -e '.[onnx]')")
pytest.importorskip("psutil", reason="psutil is not installed")

from araie.bench import CONFIGS, CPU_BF16_CONFIG, non_embedding_params, run_config  # noqa: E402
from araie.cli import main  # noqa: E402
from araie.extractor import cpu_has_bf16  # noqa: E402

RATES = ("docs_per_s", "words_per_s", "tokens_per_s", "peak_rss_mb", "predict_peak_rss_mb", "rss_loaded_mb", "seconds",
         "gflops")


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    assert main(["bench", "--quick", "--in-process", "--out", str(tmp / "bench"), "--work", str(tmp / "work")]) == 0
    return tmp


def test_quick_bench_writes_json_and_markdown_with_positive_numbers(quick_bench):
    report = json.loads((quick_bench / "bench.json").read_text(encoding="utf-8"))
    assert {"date", "machine", "config", "flop_ceiling", "flop_formula", "models", "memory_flatness"} <= set(report)
    assert report["machine"]["logical_cores"] > 0 and report["machine"]["torch"] and report["machine"]["cpu"]
    assert report["flop_ceiling"]["gflops"] > 0
    model = report["models"]["tiny"]
    bf16 = [CPU_BF16_CONFIG[0]] if cpu_has_bf16() else []
    assert list(model["configs"]) == [*CONFIGS, *bf16]
    if bf16:  # the bf16 row is set against its own (bf16) matmul ceiling, and agreement with fp32 is reported
        share = model["configs"][bf16[0]]["gflops"] / report["flop_ceiling_bf16"]["gflops"]
        assert model["configs"][bf16[0]]["ceiling_share"] == pytest.approx(share)
        assert 0 <= model["agreement_on_seeds"]["torch_bf16_vs_torch_entity_f1"] <= 1
    else:
        assert "neither AVX512-BF16 nor AMX" in report["cpu_bf16"]
    for name, r in model["configs"].items():
        assert all(r[key] > 0 for key in RATES), (name, r)
        assert r["entities"] > 0
    assert model["configs"]["hf_sentence"]["speedup_vs_baseline"] == pytest.approx(1.0)
    flat = report["memory_flatness"]
    assert flat["peak_ratio"] > 0 and len(flat["runs"]) == 2
    md = (quick_bench / "bench.md").read_text(encoding="utf-8")
    assert report["config"]["command"] in md and report["date"] in md and report["machine"]["cpu"] in md
    assert all(f"`{name}`" in md for name in CONFIGS)
    startup = report["startup"]["rows"]
    assert list(startup) == ["import torch, transformers", "araie predict, cuts off", "araie predict"]
    assert all(r["median_s"] > 0 for r in startup.values()) and "## Start-up of predict" in md


def test_worker_in_a_subprocess_reports_its_own_peak_rss(quick_bench):
    work = quick_bench / "work"
    r = run_config({"kind": "araie_onnx", "folder": str(work / "tiny"), "texts": str(work / "texts.json"),
                    "batch_size": 4}, in_process=False)
    assert "fresh subprocess" in r["rss_method"]
    assert r["peak_rss_mb"] >= r["predict_peak_rss_mb"] > 0 and r["seconds"] > 0 and r["entities"] > 0
    assert r["load_peak_rss_mb"] >= r["rss_loaded_mb"] * 0.99  # the mark includes loading


def test_non_embedding_parameters_match_a_real_bert():
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=100, hidden_size=48, num_hidden_layers=3, num_attention_heads=4,
                        intermediate_size=96, num_labels=7)
    bert = BertModel(config, add_pooling_layer=False)
    counted = sum(p.numel() for n, p in bert.named_parameters() if not n.startswith("embeddings."))
    head = torch.nn.Linear(config.hidden_size, config.num_labels)
    assert non_embedding_params(config) == counted + sum(p.numel() for p in head.parameters())


def test_relative_position_attention_is_counted(tmp_path, tiny_encoder, tiny_docs):
    from araie.bench import TINY_SHAPE, build_random_checkpoint
    from araie.bench_report import workload_flops
    from araie.hf.configuration_araie import AraieConfig
    from araie.training import build_tokenizer

    tokenizer = build_tokenizer(str(tiny_encoder))
    texts = [d.text for d in tiny_docs]
    counts = {}
    for kind in ("absolute", "relative_key"):
        shape = {**TINY_SHAPE, "vocab_size": len(tokenizer), "position_embedding_type": kind}
        config = AraieConfig.from_pretrained(build_random_checkpoint(tmp_path / kind, tokenizer, shape, 64, 8, 32, 16))
        counts[kind] = workload_flops(config, tokenizer, texts)
    absolute, relative = counts["absolute"], counts["relative_key"]
    tokens = round(absolute["n_windows"] * absolute["mean_window_tokens"])
    attention = absolute["windows"] - 2 * non_embedding_params(config) * tokens  # 4 * layers * d * sum(l^2)
    assert attention > 0 and relative["n_windows"] == absolute["n_windows"]
    assert 2 * (relative["windows"] - absolute["windows"]) == attention  # + 2 * layers * d * sum(l^2)
