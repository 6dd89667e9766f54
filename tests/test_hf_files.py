"""The files shipped into exported folders import only torch, transformers, the standard library and each other."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

HF = Path(__file__).resolve().parent.parent / "araie" / "hf"
ALLOWED = {"torch", "transformers", "numpy", "__future__"}


@pytest.mark.parametrize("path", sorted(HF.glob("*.py")), ids=lambda p: p.name)
def test_hf_file_is_self_contained(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: a sibling file that must exist
                assert (HF / f"{node.module}.py").exists(), (path.name, node.module)
                continue
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top != "araie", f"{path.name} imports {name}: exported folders have no araie"
            assert top in ALLOWED or top in sys.stdlib_module_names, f"{path.name} imports {name}"


def test_export_copies_every_hf_file():
    from araie.export import HF_FILES

    assert sorted(HF_FILES) == sorted(p.name for p in HF.glob("*.py") if p.name != "__init__.py")
