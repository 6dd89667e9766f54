"""Issue 16 item 9: what `araie export` writes: modes the umask asks for, nothing of a re-export lost."""

from __future__ import annotations

import json
import os
import stat

from araie.export import export


def test_export_files_follow_the_umask(random_model, tmp_path):
    old = os.umask(0o022)
    try:
        out = export(random_model, tmp_path / "export")
    finally:
        os.umask(old)
    assert stat.S_IMODE((out / "model.safetensors").stat().st_mode) == 0o644
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o644}


def test_re_export_keeps_metrics_and_the_full_card(random_model, tmp_path):
    first = export(random_model, tmp_path / "first", card="# نموذج\n\nNotes on how it was made.\n",
                   metrics={"entities_strict_f1": 0.5})
    second = export(first, tmp_path / "second")
    assert json.loads((second / "metrics.json").read_text()) == {"entities_strict_f1": 0.5}
    assert (second / "README.md").read_text(encoding="utf-8") == (first / "README.md").read_text(encoding="utf-8")
