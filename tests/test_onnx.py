"""ONNX export and the onnxruntime backend: one graph, same records as torch, int8 well-formed."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("onnx", reason="onnx is not installed (pip install -e '.[onnx]')")
pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install -e '.[onnx]')")

from araie.bench import TINY_SHAPE, build_random_checkpoint  # noqa: E402
from araie.cli import main  # noqa: E402
from araie.export import export  # noqa: E402
from araie.extractor import Extractor  # noqa: E402
from araie.onnx_backend import FP32_TOLERANCE, INPUT_NAMES, OUTPUT_NAMES  # noqa: E402
from araie.schema import Schema  # noqa: E402
from araie.training import build_tokenizer  # noqa: E402


@pytest.fixture(scope="module")
def texts(tiny_docs):
    """Fixture documents and, when present, the seed articles (several 64-token windows each)."""
    from araie.records import read_jsonl
    from tests.conftest import ANNOTATIONS

    seeds = ANNOTATIONS / "docs" / "seeds.jsonl"
    return [d.text for d in tiny_docs] + ([d.text for d in read_jsonl(seeds)][:2] if seeds.exists() else [])


@pytest.fixture(scope="module")
def onnx_folder(tmp_path_factory, tiny_encoder, texts):
    """A random tiny araie model (about 20 % of tokens tagged) exported with --onnx --int8."""
    tmp = tmp_path_factory.mktemp("onnx")
    tokenizer = build_tokenizer(str(tiny_encoder))
    shape = {**TINY_SHAPE, "vocab_size": len(tokenizer)}
    ckpt = build_random_checkpoint(tmp / "checkpoint", tokenizer, shape, 64, 8, 32, 16, texts=texts)
    return export(ckpt, tmp / "export", onnx=True, int8=True)


def spans(doc):
    return [(e.start, e.end, e.type) for e in doc.entities]


def test_export_writes_one_graph_with_dynamic_axes_and_both_outputs(onnx_folder):
    import onnx

    graph = onnx.load(str(onnx_folder / "onnx" / "model.onnx")).graph
    assert [i.name for i in graph.input] == list(INPUT_NAMES)
    assert [o.name for o in graph.output] == list(OUTPUT_NAMES)
    for value in [*graph.input, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param and dims[1].dim_param, f"{value.name}: batch and length must be dynamic"
    report = json.loads((onnx_folder / "onnx" / "export_report.json").read_text())
    assert report["fp32"]["max_abs_diff_logits"] <= FP32_TOLERANCE
    assert report["fp32"]["identical_records"] is True
    assert 0.0 <= report["int8"]["entity_f1_vs_torch"] <= 1.0
    assert report["texts"] == 64  # the corpus documents, not two sample sentences (issue 16)
    ops = {n.op_type for n in onnx.load(str(onnx_folder / "onnx" / "model.int8.onnx")).graph.node}
    assert "MatMulInteger" in ops and "DynamicQuantizeLinear" in ops


def test_onnx_fp32_predicts_exactly_what_torch_predicts(onnx_folder, texts):
    torch_ie = Extractor.from_pretrained(onnx_folder, device="cpu")
    onnx_ie = Extractor.from_pretrained(onnx_folder, backend="onnx")
    # threshold 0: every scored pair comes back, so the relation head on ORT's hidden states is compared too
    want = torch_ie(texts, batch_size=3, relation_threshold=0.0)
    got = onnx_ie(texts, batch_size=3, relation_threshold=0.0)
    assert sum(len(d.entities) for d in want) > 10 and sum(len(d.relations) for d in want) > 0
    for w, g in zip(want, got, strict=True):
        assert spans(g) == spans(w)
        assert [e.score for e in g.entities] == pytest.approx([e.score for e in w.entities], abs=1e-4)
        assert [(r.type, r.head, r.tail) for r in g.relations] == [(r.type, r.head, r.tail) for r in w.relations]
        assert [r.score for r in g.relations] == pytest.approx([r.score for r in w.relations], abs=1e-4)


def test_int8_runs_and_returns_well_formed_records(onnx_folder, texts):
    ie = Extractor.from_pretrained(onnx_folder, backend="onnx", onnx_file="model.int8.onnx")
    docs = ie(texts, batch_size=4, relation_threshold=0.0)
    types = set(Schema.load().entity_types)
    assert len(docs) == len(texts) and sum(len(d.entities) for d in docs) > 0
    for doc, text in zip(docs, texts, strict=True):
        assert doc.text == text
        ids = {e.id for e in doc.entities}
        for e in doc.entities:
            assert text[e.start:e.end] == e.text and e.type in types and 0.0 <= e.score <= 1.0
        assert all(r.head in ids and r.tail in ids and 0.0 <= r.score <= 1.0 for r in doc.relations)


def test_cli_predict_backend_onnx_matches_torch(onnx_folder, texts, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n"
                           for i, t in enumerate(texts)), encoding="utf-8")
    outputs = {}
    for backend in ("torch", "onnx"):
        out = tmp_path / f"{backend}.jsonl"
        assert main(["predict", "--model", str(onnx_folder), "--input", str(src), "--output", str(out),
                     "--backend", backend, "--device", "cpu"]) == 0
        outputs[backend] = [[(e["start"], e["end"], e["type"]) for e in json.loads(line)["entities"]]
                            for line in out.read_text(encoding="utf-8").splitlines()]
    assert outputs["onnx"] == outputs["torch"]


def test_cli_export_onnx_flag_and_clear_errors(onnx_folder, tmp_path):
    out = tmp_path / "fp32-only"
    assert main(["export", str(onnx_folder), "--out", str(out), "--onnx"]) == 0
    assert (out / "onnx" / "model.onnx").exists() and not (out / "onnx" / "model.int8.onnx").exists()
    with pytest.raises(FileNotFoundError, match="--int8"):
        Extractor.from_pretrained(out, backend="onnx", onnx_file="model.int8.onnx")
    with pytest.raises(ValueError, match="CPU in fp32"):
        Extractor.from_pretrained(out, backend="onnx", dtype="bf16")
    with pytest.raises(ValueError, match="choose 'torch' or 'onnx'"):
        Extractor.from_pretrained(out, backend="tensorrt")


def test_relative_position_encoder_exports_and_matches_torch(tmp_path, tiny_encoder, texts):
    """`araie pretrain --position relative_key` encoders (the shipped one) take the same ONNX path."""
    tokenizer = build_tokenizer(str(tiny_encoder))
    shape = {**TINY_SHAPE, "vocab_size": len(tokenizer), "position_embedding_type": "relative_key"}
    ckpt = build_random_checkpoint(tmp_path / "checkpoint", tokenizer, shape, 64, 8, 32, 16, texts=texts)
    folder = export(ckpt, tmp_path / "export", onnx=True)
    assert json.loads((folder / "config.json").read_text())["position_embedding_type"] == "relative_key"
    assert "relative positions in attention (`relative_key`)" in (folder / "README.md").read_text(encoding="utf-8")
    report = json.loads((folder / "onnx" / "export_report.json").read_text())
    assert report["fp32"]["max_abs_diff_logits"] <= FP32_TOLERANCE and report["fp32"]["identical_records"] is True
    want = Extractor.from_pretrained(folder, device="cpu")(texts, batch_size=3)
    got = Extractor.from_pretrained(folder, backend="onnx")(texts, batch_size=3)
    assert sum(len(d.entities) for d in want) > 10
    assert [spans(d) for d in got] == [spans(d) for d in want]
