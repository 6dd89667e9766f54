"""A fresh machine: the shipped folder loads through every remote-code entry point on an empty cache.

transformers copies a remote-code file into its modules cache together with the siblings that file
imports itself, and no further; a sibling reached through another sibling is never copied. A warm
cache from an older layout once hid that. These tests load the shipped `model/` in a subprocess with
an empty modules cache and araie not importable, and hold every shipped file to importing, directly,
each sibling it needs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

HF = ROOT / "araie" / "hf"
MODEL = ROOT / "model"


def siblings_not_imported_directly(folder: Path) -> dict[str, list[str]]:
    """For each .py file in `folder`: the siblings it needs (through any chain) but does not import itself."""
    from transformers.dynamic_module_utils import get_relative_import_files, get_relative_imports

    missing = {}
    for path in sorted(folder.glob("*.py")):
        direct = set(get_relative_imports(path))
        needed = {Path(f).stem for f in get_relative_import_files(path)}
        if needed - direct:
            missing[path.name] = sorted(needed - direct)
    return missing


def test_every_shipped_file_imports_each_sibling_it_needs():
    assert siblings_not_imported_directly(HF) == {}


def test_a_sibling_reached_only_through_another_is_caught(tmp_path):
    for path in HF.glob("*.py"):
        shutil.copy(path, tmp_path / path.name)
    pipeline = tmp_path / "pipeline_araie.py"
    source = pipeline.read_text(encoding="utf-8")
    pipeline.write_text(source.replace("from .text_araie import", "from .windows_araie import"), encoding="utf-8")
    assert siblings_not_imported_directly(tmp_path) == {"pipeline_araie.py": ["text_araie"]}


LOAD = """
import json, sys
sys.modules["araie"] = None  # the folder alone has to be enough
from transformers import AutoConfig, AutoModel, AutoTokenizer, pipeline
from transformers.dynamic_module_utils import get_class_from_dynamic_module
folder, entry, text = sys.argv[1:]
if entry == "config":
    print(type(AutoConfig.from_pretrained(folder, trust_remote_code=True)).__name__)
elif entry == "model":
    print(type(AutoModel.from_pretrained(folder, trust_remote_code=True)).__name__)
elif entry == "tokenizer":
    print(type(AutoTokenizer.from_pretrained(folder, trust_remote_code=True)).__name__)
elif entry == "pipeline":
    print(get_class_from_dynamic_module("pipeline_araie.ArabicIEPipeline", folder).__name__)
else:
    tc = pipeline("token-classification", model=folder, aggregation_strategy="simple", trust_remote_code=True)
    ie = pipeline("arabic-ie", model=folder, trust_remote_code=True)
    print(json.dumps({"tc": [[e["start"], e["end"], e["entity_group"]] for e in tc(text)], "ie": ie(text)},
                     ensure_ascii=False))
"""
TEXT = "قال الجيش السوري إنه استعاد حي الشعار في حلب يوم الثلاثاء"


def load_on_empty_cache(tmp_path: Path, name: str, entry: str) -> tuple[str, Path]:
    """Run one load of the shipped model, linked as folder `name`, in a subprocess with an empty cache."""
    folder = tmp_path / name
    folder.mkdir()
    for path in MODEL.iterdir():
        (folder / path.name).symlink_to(path)
    cache = tmp_path / "hf"
    env = {**os.environ, "HF_HOME": str(cache), "HF_MODULES_CACHE": str(cache / "modules"), "PYTHONPATH": "",
           "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", LOAD, str(folder), entry, TEXT], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "not the same type" not in proc.stderr
    return proc.stdout.strip().splitlines()[-1], cache / "modules" / "transformers_modules"


@pytest.mark.parametrize(("entry", "cls"), [("config", "AraieConfig"), ("model", "AraieForInformationExtraction"),
                                            ("tokenizer", "AraieTokenizerFast"), ("pipeline", "ArabicIEPipeline")])
def test_each_remote_code_entry_point_loads_first_on_an_empty_cache(tmp_path, entry, cls):
    out, _ = load_on_empty_cache(tmp_path, "model", entry)
    assert out == cls


@pytest.mark.parametrize("name", ["araie-news.v2", "نموذج"])
def test_both_pipelines_load_the_shipped_folder_on_an_empty_cache(tmp_path, name):
    from araie.export import HF_FILES

    line, modules = load_on_empty_cache(tmp_path, name, "pipelines")
    out = json.loads(line)
    spans = [(e["start"], e["end"], e["type"], e["text"]) for e in out["ie"]["entities"]]
    assert (4, 16, "ORG", "الجيش السوري") in spans and (28, 37, "LOC", "حي الشعار") in spans
    assert [4, 16, "ORG"] in out["tc"]
    assert {"type": "CONTROLS", "head": "الجيش السوري", "tail": "حي الشعار"} in [
        {"type": r["type"], "head": TEXT[_span(out, r["head"])], "tail": TEXT[_span(out, r["tail"])]}
        for r in out["ie"]["relations"]]
    assert {p.name for p in modules.rglob("*_araie.py")} == set(HF_FILES)


def _span(out: dict, entity_id: str) -> slice:
    entity = next(e for e in out["ie"]["entities"] if e["id"] == entity_id)
    return slice(entity["start"], entity["end"])


def test_makefile_targets_parse_without_warnings():
    # `make -n` prints each target's commands without running them; a doubled target name only warns
    targets = ["demo", "test", "pretrain", "promote-encoder", "train", "evaluate", "export", "bench"]
    proc = subprocess.run(["make", "-n", "-W", "pyproject.toml", *targets], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "warning" not in proc.stderr.lower(), proc.stderr
    assert "araie pretrain --corpus" in proc.stdout and "araie promote-encoder runs/pretrain/" in proc.stdout


def test_the_default_recipe_fine_tunes_an_encoder_in_the_checkout():
    from transformers import AutoConfig, AutoTokenizer

    from araie.recipe import load_recipe

    encoder = ROOT / load_recipe(ROOT / "train" / "default.yaml", []).model.encoder
    assert encoder.is_relative_to(ROOT / "encoders") and (encoder / "model.safetensors").exists()
    config = AutoConfig.from_pretrained(encoder)
    assert len(AutoTokenizer.from_pretrained(encoder)) == config.vocab_size
    summary = json.loads((encoder / "pretraining.json").read_text(encoding="utf-8"))
    assert summary["steps"] == summary["pretrain"]["steps"] and summary["stored_as"] == "float16"
    assert (encoder / "model.safetensors").stat().st_size < 30 * 1024 * 1024
    assert "CC BY-NC-SA 4.0" in (encoder / "README.md").read_text(encoding="utf-8")
