"""Export a trained checkpoint as an ordinary Hugging Face folder that also serves `trust_remote_code`.

The folder holds safetensors weights, the tokenizer (with araie's normalisation inside), a
`config.json` that the stock token-classification classes load, `auto_map` and `custom_pipelines`
pointing at the flat files of `araie/hf/`, a model card, the recipe and the metrics. Export
reloads what it wrote and checks the predictions match the checkpoint's.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from araie.hf.modeling_araie import AraieForInformationExtraction

log = logging.getLogger(__name__)
HF_DIR = Path(__file__).resolve().parent / "hf"
HF_FILES = ("configuration_araie.py", "modeling_araie.py", "pipeline_araie.py", "text_araie.py",
            "windows_araie.py", "tokenization_araie.py")
SAMPLE_TEXTS = (
    "قال الجيش السوري إنه استعاد حي الشعار في حلب يوم الثلاثاء، "
    "فيما قال المرصد السوري لحقوق الإنسان إن 12 مدنياً قتلوا.",
    "وأفادت وكالة \"سانا\" الرسمية بأن القوات الحكومية سيطرت على كرم القاطرجي.\nالمصدر: RT + وكالات",
)
AUTO_MAP = {
    "AutoConfig": "configuration_araie.AraieConfig",
    "AutoModel": "modeling_araie.AraieForInformationExtraction",
    "AutoModelForTokenClassification": "modeling_araie.AraieForInformationExtraction",
}
CUSTOM_PIPELINES = {"arabic-ie": {"impl": "pipeline_araie.ArabicIEPipeline", "pt": ["AutoModel"], "tf": [],
                                  "type": "text"}}


class ExportError(RuntimeError):
    """The exported folder does not reproduce the checkpoint."""


def export(checkpoint: str | os.PathLike, out: str | os.PathLike, *, card: str | None = None,
           metrics: dict | None = None, overwrite: bool = False, onnx: bool = False, int8: bool = False) -> Path:
    """Write the export folder `out` from a training checkpoint and verify it reloads identically.

    `onnx` adds `out/onnx/model.onnx` (encoder + token head), `int8` also `out/onnx/model.int8.onnx`;
    both are checked against the torch model (see `araie.onnx_backend.export_onnx`).
    """
    from transformers import AutoTokenizer

    checkpoint, out = Path(checkpoint), Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty; pass --force to replace it")
    model = AraieForInformationExtraction.from_pretrained(checkpoint).eval()
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    model.config.auto_map = AUTO_MAP
    model.config.custom_pipelines = CUSTOM_PIPELINES
    model.config.architectures = ["AraieForInformationExtraction"]
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    _point_tokenizer_at_remote_class(out)
    for name in HF_FILES:
        shutil.copy2(HF_DIR / name, out / name)
    if (checkpoint / "recipe.yaml").exists():
        shutil.copy2(checkpoint / "recipe.yaml", out / "recipe.yaml")
    if metrics is not None:
        (out / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=1), encoding="utf-8")
    elif (checkpoint / "metrics.json").exists():  # re-exporting an exported folder keeps what it knew
        for path in (checkpoint / "metrics.json", *checkpoint.glob("metrics_*.json")):
            shutil.copy2(path, out / path.name)
    if card is None and (checkpoint / "README.md").exists() and (checkpoint / "config.json").exists():
        card = (checkpoint / "README.md").read_text(encoding="utf-8")  # the same weights: the full card stands
    if card is None:
        from araie.card import model_card

        card = model_card(out)
    (out / "README.md").write_text(card, encoding="utf-8")
    verify(model, tokenizer, out)
    # --- ONNX / int8 (araie.onnx_backend) ---
    if onnx or int8:  # int8 is quantised from the fp32 graph, so it implies it
        from araie.onnx_backend import export_onnx

        export_onnx(model, tokenizer, out / "onnx", int8=int8, texts=agreement_texts())
    # --- end ONNX / int8 ---
    _honour_umask(out)
    return out


def agreement_texts(limit: int = 64) -> list[str]:
    """Texts to measure ONNX (and int8) agreement on: the corpus documents of this checkout, else the samples.

    Two sample sentences say little about int8 (one flipped tag is half the score); the annotated
    documents beside the package are the texts the model is meant for.
    """
    docs = Path(__file__).resolve().parent.parent / "annotations" / "docs"
    texts: list[str] = []
    for path in sorted(docs.glob("*.jsonl")) if docs.is_dir() else []:
        with open(path, encoding="utf-8") as fh:
            texts += [json.loads(line)["text"] for line in fh if line.strip()]
    return texts[:limit] or list(SAMPLE_TEXTS)


def _honour_umask(folder: Path) -> None:
    """Give every written file the mode the user's umask asks for (safetensors writes weights 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [folder, *folder.rglob("*")]:
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _point_tokenizer_at_remote_class(folder: Path) -> None:
    """`trust_remote_code` users get `AraieTokenizerFast` (offsets keep diacritics); others the stock class."""
    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["auto_map"] = {"AutoTokenizer": [None, "tokenization_araie.AraieTokenizerFast"]}
    path.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")


def verify(model, tokenizer, folder: Path, texts=SAMPLE_TEXTS) -> None:
    """Reload `folder` and require exactly the predictions of the in-memory model."""
    from transformers import AutoTokenizer

    from araie.hf.pipeline_araie import extract_documents

    reloaded = AraieForInformationExtraction.from_pretrained(folder).eval()
    before = extract_documents(model, tokenizer, list(texts))
    after = extract_documents(reloaded, AutoTokenizer.from_pretrained(folder), list(texts))
    if before != after:
        raise ExportError(f"{folder}: reloaded model predicts differently from the checkpoint")
    log.info("verified %s: %d sample texts give identical predictions", folder, len(texts))
