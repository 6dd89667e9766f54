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


def test_card_reports_every_held_out_split_and_re_export_keeps_them(random_model, tmp_path):
    from araie.cli import main
    from araie.evaluate import score
    from araie.records import Document, Entity
    from araie.schema import Schema

    text = "قال الجيش السوري إنه استعاد حي الشعار"
    gold = [Document("d", text, (Entity("T1", "ORG", 4, 16, "الجيش السوري"), Entity("T2", "LOC", 28, 37, "حي الشعار")))]
    half = [Document("d", text, (Entity("T1", "ORG", 4, 16, "الجيش السوري", 0.9),))]
    reports = []
    for split, pred in (("test", gold), ("test_news", half)):
        path = tmp_path / f"{split}.json"
        path.write_text(json.dumps({"split": split, "command": f"araie evaluate --split {split}",
                                    **score(gold, pred, Schema.load()).to_dict()}), encoding="utf-8")
        reports.append(str(path))
    folder = export(random_model, tmp_path / "model")
    assert main(["card", str(folder), "--metrics", *reports]) == 0
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "| test | entities, strict | 1.000 | 1.000 | 1.000 |" in card
    assert "| test_news | entities, strict | 1.000 | 0.500 | 0.667 |" in card
    assert "| LOC | 1.00 / 1.00 / 1.00 (1) | 0.00 / 0.00 / 0.00 (1) |" in card
    assert "araie evaluate --split test_news" in card and "CC BY-NC-SA 4.0" in card
    assert json.loads((folder / "metrics_test_news.json").read_text())["split"] == "test_news"
    again = export(folder, tmp_path / "again")
    assert (again / "metrics_test_news.json").read_bytes() == (folder / "metrics_test_news.json").read_bytes()
