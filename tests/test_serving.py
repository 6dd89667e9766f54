"""Overfit -> export -> reload, across the Extractor, both pipelines (without araie) and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from araie.cli import main
from araie.export import export
from araie.extractor import Extractor
from araie.hf.windows_araie import extend_over_marks
from tests.test_model import tiny_recipe, write_splits

ROOT = Path(__file__).resolve().parent.parent


def spans(doc):
    return sorted((e.start, e.end, e.type) for e in doc.entities)


@pytest.fixture(scope="module")
def overfit_export(tmp_path_factory, tiny_encoder, tiny_docs):
    """A tiny model trained until it reproduces the first fixture document, exported."""
    from araie.training import train

    tmp = tmp_path_factory.mktemp("overfit")
    doc = tiny_docs[0]
    splits = write_splits(tmp, [doc])
    recipe = tiny_recipe(tmp, tiny_encoder, splits, epochs=150, extra=[
        "training.eval_strategy=no", "training.save_strategy=no", "training.load_best_model_at_end=false",
        "training.per_device_train_batch_size=1", "data.negatives=50", "training.logging_strategy=no"])
    recipe.data.corpus = [str(tmp / "one.jsonl")]
    (tmp / "one.jsonl").write_text(json.dumps(doc.to_json(), ensure_ascii=False) + "\n", encoding="utf-8")
    best = train(recipe, resume=False)
    return export(best, tmp / "export"), doc


def test_overfit_export_reload_extractor(overfit_export):
    folder, doc = overfit_export
    out = Extractor.from_pretrained(folder, device="cpu")(doc.text)
    assert spans(out) == spans(doc)
    assert all(doc.text[e.start:e.end] == e.text for e in out.entities)
    gold_rel = {(r.type, r.head, r.tail) for r in doc.relations}
    ids = {e.id: (e.start, e.end) for e in out.entities}
    gold_ids = {e.id: (e.start, e.end) for e in doc.entities}
    pred_rel = {(r.type, ids[r.head], ids[r.tail]) for r in out.relations}
    assert pred_rel == {(t, gold_ids[h], gold_ids[tl]) for t, h, tl in gold_rel}


PIPELINES = """
import json, sys
sys.modules["araie"] = None  # araie must not be importable: the folder alone has to be enough
from transformers import pipeline
folder, text = sys.argv[1], sys.argv[2]
tc = pipeline("token-classification", model=folder, aggregation_strategy="simple", trust_remote_code=True)
ie = pipeline("arabic-ie", model=folder, trust_remote_code=True)
out = {"tc": [(e["start"], e["end"], e["entity_group"]) for e in tc(text)], "ie": ie(text)}
print(json.dumps(out, ensure_ascii=False))
"""


def test_both_pipelines_load_the_folder_without_araie(overfit_export):
    folder, doc = overfit_export
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    proc = subprocess.run([sys.executable, "-c", PIPELINES, str(folder), doc.text], capture_output=True,
                          text=True, cwd="/", env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sorted(tuple(x) for x in out["tc"]) == spans(doc)
    assert sorted((e["start"], e["end"], e["type"]) for e in out["ie"]["entities"]) == spans(doc)
    assert len(out["ie"]["relations"]) == len(doc.relations)


def test_pipelines_without_remote_code_when_araie_is_installed(overfit_export):
    from transformers import pipeline

    import araie

    folder, doc = overfit_export
    tc = pipeline("token-classification", model=str(folder), aggregation_strategy="simple")
    # The stock tokenizer class ends a span before trailing diacritics (`12 مدنيا` of `12 مدنياً`);
    # AraieTokenizerFast, loaded with trust_remote_code, and araie's own decoder keep them.
    stock = sorted((e["start"], extend_over_marks(doc.text, e["end"]), e["entity_group"]) for e in tc(doc.text))
    assert stock == spans(doc)
    assert any(e["end"] < extend_over_marks(doc.text, e["end"]) for e in tc(doc.text))
    ie = araie.ie_pipeline(str(folder))
    assert sorted((e["start"], e["end"], e["type"]) for e in ie(doc.text)["entities"]) == spans(doc)


def test_cli_predict_corrupt_line_becomes_an_error_record_in_place(overfit_export, tmp_path, capsys):
    folder, doc = overfit_export
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": "a", "text": doc.text}, ensure_ascii=False), '{"id": "b", "text": ',
             json.dumps({"id": "c"}), json.dumps({"id": "d", "text": "قصفت الطائرات حلب"}, ensure_ascii=False)]
    src.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe broken\n")
    out = tmp_path / "out.jsonl"
    # exit 1: the run finished, and some records are errors
    assert main(["predict", "--model", str(folder), "--input", str(src), "--output", str(out)]) == 1
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["a", "2", "c", "d", "5"]
    assert "error" not in records[0] and "error" not in records[3]
    assert records[1]["error"].endswith("in.jsonl:2: invalid JSON: Expecting value at column 21")
    assert records[2]["error"].endswith("in.jsonl:3: field text: missing or not a string")
    assert "not UTF-8" in records[4]["error"] and records[4]["line"] == 5
    assert sorted((e["start"], e["end"], e["type"]) for e in records[0]["entities"]) == spans(doc)
    # nothing is overwritten without asking
    assert main(["predict", "--model", str(folder), "--input", str(src), "--output", str(out)]) == 2
    assert "exists; pass --resume" in capsys.readouterr().err


def test_resume_after_a_killed_run_matches_an_uninterrupted_one(overfit_export, tmp_path):
    folder, doc = overfit_export
    src = tmp_path / "in.txt"
    texts = [f"{doc.text.splitlines()[0]} {i}" for i in range(120)]
    src.write_text("\n".join(texts) + "\n", encoding="utf-8")
    full, part = tmp_path / "full.jsonl", tmp_path / "part.jsonl"
    cmd = [sys.executable, "-m", "araie", "predict", "--model", str(folder), "--input", str(src),
           "--batch-size", "2"]
    subprocess.run([*cmd, "--output", str(full)], check=True, capture_output=True, cwd=ROOT, timeout=600)
    proc = subprocess.Popen([*cmd, "--output", str(part)], cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and (not part.exists() or part.read_bytes().count(b"\n") < 20):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = part.read_bytes().count(b"\n")
    assert 0 < written < 120
    with open(part, "ab") as fh:
        fh.write(b'{"id": "torn')  # a record cut in half by the kill
    subprocess.run([*cmd, "--output", str(part), "--resume"], check=True, capture_output=True, cwd=ROOT, timeout=600)
    assert part.read_text(encoding="utf-8") == full.read_text(encoding="utf-8")


class _Marks(HTMLParser):
    def __init__(self):
        super().__init__()
        self.marks, self.dir, self._in_mark, self._text = [], None, False, ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "sub":
            self._in_mark = False
        if tag == "html":
            self.dir = attrs.get("dir")
        if tag == "mark":
            self._in_mark, self._text = True, ""
            self.marks.append([attrs["data-type"], ""])

    def handle_data(self, data):
        if self._in_mark and self.marks:
            self.marks[-1][1] += data


def _predict_html(overfit_export, tmp_path: Path) -> Path:
    """`araie predict --format html` on the overfit document (as one line); the page's path."""
    folder, doc = overfit_export
    src, page = tmp_path / "in.txt", tmp_path / "out.html"
    src.write_text(doc.text.replace("\n", " ") + "\n", encoding="utf-8")
    assert main(["predict", "--model", str(folder), "--input", str(src), "--output", str(page),
                 "--format", "html"]) == 0
    return page


def test_html_output_renders_right_to_left_with_every_entity(overfit_export, tmp_path):
    _, doc = overfit_export
    out = _predict_html(overfit_export, tmp_path)
    parser = _Marks()
    parser.feed(out.read_text(encoding="utf-8"))
    assert parser.dir == "rtl"
    assert [(t, s) for t, s in parser.marks] == [(e.type, e.text) for e in sorted(doc.entities, key=lambda e: e.start)]


def test_multi_process_predict_shards_and_merges_in_input_order(overfit_export, tmp_path):
    folder, doc = overfit_export
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": f"d{i}", "text": f"{doc.text.splitlines()[0]} {i}"}, ensure_ascii=False)
             for i in range(7)]
    lines.insert(3, "{broken")
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    single, multi = tmp_path / "single.jsonl", tmp_path / "multi.jsonl"
    assert main(["predict", "--model", str(folder), "--input", str(src), "--output", str(single)]) == 1
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "araie",
                           "predict", "--model", str(folder), "--input", str(src), "--output", str(multi),
                           "--device", "cpu"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 1, proc.stderr[-2000:]  # the broken line is an error record
    assert "merged 8 record(s)" in proc.stderr and "1 of them error record(s)" in proc.stderr
    assert multi.read_text(encoding="utf-8") == single.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir() if "part" in p.name) == []


def test_cpu_bf16_autocast_gives_the_fp32_entities_and_relations(overfit_export):
    # bf16 on CPU is opt-in (`--dtype bf16`): it runs anywhere, and fast where AVX512-BF16 or AMX exist
    folder, doc = overfit_export
    fp32 = Extractor.from_pretrained(folder, device="cpu")(doc.text)
    bf16 = Extractor.from_pretrained(folder, device="cpu", dtype="bf16")
    assert bf16.dtype == "bfloat16"
    out = bf16(doc.text)
    assert spans(out) == spans(fp32) == spans(doc)
    assert [(r.type, r.head, r.tail) for r in out.relations] == [(r.type, r.head, r.tail) for r in fp32.relations]


def test_fp16_on_cpu_is_refused_with_the_alternative(overfit_export):
    folder, _ = overfit_export
    with pytest.raises(ValueError, match="'fp16' needs CUDA; on CPU use 'bf16'"):
        Extractor.from_pretrained(folder, device="cpu", dtype="fp16")


@pytest.mark.gpu
def test_gpu_bf16_gives_the_cpu_entities(overfit_export):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    folder, doc = overfit_export
    cpu = Extractor.from_pretrained(folder, device="cpu")(doc.text)
    gpu = Extractor.from_pretrained(folder, device="cuda", dtype="bf16")(doc.text)
    assert spans(gpu) == spans(cpu)


CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
                 if os.path.exists(p)), None)


def _screenshot(page: Path, png: Path, tmp_path: Path) -> tuple[int, int]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=900,700"]
    subprocess.run([CHROMIUM, *flags, page.as_uri()], capture_output=True, timeout=120)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_html_output_renders_in_a_real_headless_browser(overfit_export, tmp_path):
    page = _predict_html(overfit_export, tmp_path)
    blank = tmp_path / "blank.html"
    blank.write_text('<!DOCTYPE html><html dir="rtl"><body></body></html>', encoding="utf-8")
    assert _screenshot(page, tmp_path / "page.png", tmp_path) == (900, 700)
    _screenshot(blank, tmp_path / "blank.png", tmp_path)
    # the rendered Arabic text, coloured marks and table make a far larger image than an empty page
    assert (tmp_path / "page.png").stat().st_size > 5 * (tmp_path / "blank.png").stat().st_size


def test_predict_starts_without_packages_it_never_uses(tmp_path):
    """Start-up dominated small jobs: scikit-learn, scipy, datasets, seqeval, onnx must stay out of predict."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    if not (root / "model" / "config.json").exists():
        pytest.skip("no shipped model")
    unused = {"sklearn", "scipy", "datasets", "seqeval", "onnx", "onnxruntime", "pandas", "pyarrow"}
    code = ("import sys; from araie.cli import main; main(['predict', '--model', 'model', '--format', 'table']); "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {unused!r}))")
    out = subprocess.run([sys.executable, "-c", code], input="قال المرصد السوري إن 12 مدنياً قتلوا في حلب\n",
                         capture_output=True, text=True, cwd=root, check=True, timeout=300).stdout
    assert "المرصد السوري" in out and out.strip().splitlines()[-1] == "[]"
