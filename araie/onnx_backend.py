"""ONNX export and an onnxruntime backend for `extract_documents`.

One graph, `onnx/model.onnx`, holds the encoder and the IOB2 token head: inputs `input_ids` and
`attention_mask` (int64, dynamic batch and length), outputs `logits` (batch, length, labels) and
`last_hidden_state` (batch, length, hidden). The relation head stays in torch and runs on the
hidden states the graph returns, because it is under 1 % of the compute, its inputs (gathered
span boundaries, `bucketize`d distances, a pair count that changes per batch) are awkward for the
exporter, and keeping it in torch means `extract_documents` runs unchanged for both backends.

`OnnxAraieModel` duck-types `AraieForInformationExtraction` as `extract_documents` uses it
(`config`, `parameters()`, `__call__(...)` returning `logits` and `last_hidden_state`, `relation`),
so no inference code is duplicated.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from araie.hf.configuration_araie import AraieConfig
from araie.hf.modeling_araie import AraieOutput, RelationHead

log = logging.getLogger(__name__)
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAMES = ("logits", "last_hidden_state")
OPSET = 17  # LayerNormalization is a native op from 17 on, which onnxruntime fuses
FP32_TOLERANCE = 1e-3  # max |onnx - torch| over real (unpadded) positions, logits and hidden states
ONNX_FILES = ("model.onnx", "model.int8.onnx")


class OnnxExportError(RuntimeError):
    """The ONNX graph does not reproduce the torch model within the tolerance."""


class _EncoderAndTokenHead(nn.Module):
    """The part of the araie model that the graph holds; a tuple output names the graph outputs."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, return_hidden=True)
        return out.logits, out.last_hidden_state


def export_onnx(model: nn.Module, tokenizer, out_dir: str | os.PathLike, int8: bool = False,
                texts: Sequence[str] | None = None) -> dict:
    """Write `out_dir/model.onnx` (and `model.int8.onnx`), verify them and write `export_report.json`.

    Args:
        model: an `AraieForInformationExtraction` (moved to CPU and eval mode here).
        tokenizer: its fast tokenizer.
        out_dir: the folder for the graphs, normally `EXPORT_DIR/onnx`.
        int8: also write a dynamically quantised copy (QInt8 weights of every MatMul).
        texts: sample texts for verification (default: `araie.export.SAMPLE_TEXTS`).

    Returns:
        The verification report: max abs differences against torch, and entity agreement.

    Raises:
        OnnxExportError: the fp32 graph differs from torch by more than `FP32_TOLERANCE`.
    """
    from araie.export import SAMPLE_TEXTS

    texts = list(texts or SAMPLE_TEXTS)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = model.to("cpu").eval()
    fp32 = out / "model.onnx"
    # Dummy shapes differ from those of verification, so a shape baked in by tracing would show up there;
    # one padded row keeps any "mask is all ones, skip it" shortcut of the encoder out of the trace.
    mask = torch.ones((2, 9), dtype=torch.long)
    mask[1, 5:] = 0
    dummy = torch.full((2, 9), tokenizer.cls_token_id, dtype=torch.long), mask
    dynamic = {name: {0: "batch", 1: "length"} for name in (*INPUT_NAMES, *OUTPUT_NAMES)}
    # dynamo=False: the TorchScript exporter needs no onnxscript, and BERT traces cleanly; its deprecation
    # notice and the tracer's note on the mask's constant 1.0 (a true constant) are expected, so muted.
    # The wrapper must be in eval mode: the exporter restores the wrapper's mode afterwards, recursively,
    # and a fresh module is in training mode (dropout on) -- which would leak into the caller's model.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(_EncoderAndTokenHead(model).eval(), dummy, str(fp32), input_names=list(INPUT_NAMES),
                          output_names=list(OUTPUT_NAMES), dynamic_axes=dynamic, opset_version=OPSET,
                          do_constant_folding=True, dynamo=False)
    model.eval()
    report = {"fp32": verify_onnx(model, tokenizer, fp32, texts), "tolerance": FP32_TOLERANCE,
              "outputs": list(OUTPUT_NAMES), "opset": OPSET, "texts": len(texts)}
    worst = max(report["fp32"]["max_abs_diff_logits"], report["fp32"]["max_abs_diff_hidden"])
    if worst > FP32_TOLERANCE:
        raise OnnxExportError(f"{fp32}: max abs diff {worst:.2e} against torch exceeds {FP32_TOLERANCE:g}")
    if not report["fp32"]["identical_records"]:  # within tolerance, so only a near-tie can flip a tag
        log.warning("%s: records differ from torch on the sample texts (a near-tie within %g)", fp32, FP32_TOLERANCE)
    if int8:
        quantize_int8(fp32, out / "model.int8.onnx")
        report["int8"] = verify_onnx(model, tokenizer, out / "model.int8.onnx", texts)
    (out / "export_report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    for kind in ("fp32", "int8"):
        if kind in report:
            log.info("%s ONNX: max abs diff logits %.2e, entity agreement F1 %.3f", kind,
                     report[kind]["max_abs_diff_logits"], report[kind]["entity_f1_vs_torch"])
    return report


def quantize_int8(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Dynamic quantisation: QInt8 weights for MatMul, activations quantised per batch at run time."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Only MatMul: the linear layers hold nearly all FLOPs; Gather (embeddings) would save memory but
    # costs accuracy on a 64k vocabulary for no speed.
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))  # the quantiser logs every tensor at INFO on the root logger
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                         per_channel=False, reduce_range=False)
    finally:
        root.setLevel(level)
    return Path(dst)


def verify_onnx(model: nn.Module, tokenizer, path: str | os.PathLike, texts: Sequence[str]) -> dict:
    """Raw-output differences and entity-level agreement of an ONNX graph against the torch model."""
    from araie.hf.pipeline_araie import extract_documents

    onnx_model = OnnxAraieModel(make_session(path), model.config, model.relation)
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=model.config.window_length,
                    return_tensors="pt")
    real = enc["attention_mask"].bool()
    with torch.inference_mode():
        want = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], return_hidden=True)
        got = onnx_model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
    diff_logits = (want.logits - got.logits).abs()[real].max().item()
    diff_hidden = (want.last_hidden_state - got.last_hidden_state).abs()[real].max().item()
    torch_records = extract_documents(model, tokenizer, list(texts))
    onnx_records = extract_documents(onnx_model, tokenizer, list(texts))
    return {"file": Path(path).name, "bytes": Path(path).stat().st_size, "max_abs_diff_logits": diff_logits,
            "max_abs_diff_hidden": diff_hidden, "shape": list(enc["input_ids"].shape),
            "entity_f1_vs_torch": entity_agreement(torch_records, onnx_records),
            "identical_records": _strip_scores(torch_records) == _strip_scores(onnx_records)}


def entity_agreement(reference: list[dict], other: list[dict]) -> float:
    """Micro F1 of `other`'s entities against `reference`'s, matching (document, start, end, type)."""
    def keys(records: list[dict]) -> set[tuple[int, int, int, str]]:
        return {(i, e["start"], e["end"], e["type"]) for i, r in enumerate(records) for e in r["entities"]}

    a, b = keys(reference), keys(other)
    if not a and not b:
        return 1.0
    return 2 * len(a & b) / (len(a) + len(b))


def _strip_scores(records: list[dict]) -> list:
    return [([(e["start"], e["end"], e["type"]) for e in r["entities"]],
             [(x["type"], x["head"], x["tail"]) for x in r["relations"]]) for r in records]


def make_session(path: str | os.PathLike, threads: int | None = None):
    """An onnxruntime CPU session using every core for intra-op parallelism (one op at a time)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1  # a BERT graph is a chain: parallel ops would only contend
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


class OnnxAraieModel(nn.Module):
    """The araie model with its encoder and token head in an onnxruntime session.

    Only the relation head's few weights live in torch; `extract_documents` treats this object as
    it treats `AraieForInformationExtraction`, so windows, batching and decoding are shared.
    """

    def __init__(self, session, config: AraieConfig, relation: RelationHead):
        super().__init__()
        self.session = session
        self.config = config
        self.relation = relation.eval()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, return_hidden: bool = True,
                **kwargs) -> AraieOutput:
        """Run the graph; `return_hidden` is accepted for signature parity (hidden states always come back)."""
        feeds = {"input_ids": input_ids.cpu().numpy(), "attention_mask": attention_mask.cpu().numpy()}
        logits, hidden = self.session.run(list(OUTPUT_NAMES), feeds)
        return AraieOutput(logits=torch.from_numpy(logits), last_hidden_state=torch.from_numpy(hidden))


def load_onnx_model(folder: str | os.PathLike, onnx_file: str = "model.onnx",
                    threads: int | None = None) -> OnnxAraieModel:
    """The ONNX backend of an exported folder: `folder/onnx/<onnx_file>` plus the relation head weights.

    Args:
        folder: a folder written by `araie export --onnx`.
        onnx_file: `model.onnx` (fp32) or `model.int8.onnx`; an absolute path is used as is.
        threads: intra-op threads (default: all cores).
    """
    from safetensors import safe_open

    folder = Path(folder)
    path = Path(onnx_file) if Path(onnx_file).is_absolute() else folder / "onnx" / onnx_file
    if not path.exists():
        raise FileNotFoundError(f"{path}: no ONNX graph; write it with `araie export CHECKPOINT --out DIR --onnx"
                                f"{' --int8' if 'int8' in path.name else ''}`")
    config = AraieConfig.from_pretrained(folder)
    relation = RelationHead(config.hidden_size, len(config.entity_types), len(config.relation_labels),
                            config.relation_hidden, config.type_embedding_size, 0.0)
    # Read only the relation tensors: the encoder's weights are in the graph already.
    with safe_open(str(folder / "model.safetensors"), framework="pt") as fh:
        state = {k.removeprefix("relation."): fh.get_tensor(k) for k in fh.keys() if k.startswith("relation.")}
    relation.load_state_dict(state)
    return OnnxAraieModel(make_session(path, threads), config, relation)
