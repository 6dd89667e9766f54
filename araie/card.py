"""The model card (`README.md`) of an exported folder, written from its recipe, metrics and notes."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

LICENCE_NOTE = (
    "The encoder of this model was pretrained on SaudiNewsNet (M. Alhagri, 2015; "
    "github.com/parallelfold/SaudiNewsNet), licensed CC BY-NC-SA 4.0: these "
    "weights carry the same terms (non-commercial use, share-alike, attribution)."
)


def model_card(folder: str | Path, notes: str | None = None, licence: str | None = None) -> str:
    """Markdown card: what the model does, how it was trained, its held-out scores, how to use it."""
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    recipe = yaml.safe_load((folder / "recipe.yaml").read_text(encoding="utf-8")) if (
        folder / "recipe.yaml").exists() else None
    metrics = [json.loads(p.read_text(encoding="utf-8")) for p in metric_files(folder)]
    entity_types = [t["name"] if isinstance(t, dict) else t for t in config["schema"]["entity_types"]]
    lines = [
        "---", "language: ar", "library_name: transformers", "pipeline_tag: token-classification",
        f"license: {licence or 'cc-by-nc-sa-4.0'}", "tags: [arabic, ner, relation-extraction, araie]", "---", "",
        "# araie: Arabic entities and relations in conflict news", "",
        "Finds entities (" + ", ".join(f"`{t}`" for t in entity_types) + ") and relations (" +
        ", ".join(f"`{r}`" for r in config["relation_labels"][1:]) + ") in Arabic news, as exact "
        "character offsets into the original text.", "",
        f"Encoder: {config.get('encoder_model_type')} with {config.get('num_hidden_layers')} layers, hidden size "
        f"{config.get('hidden_size')}, vocabulary {config.get('vocab_size')}"
        f"{_positions(config.get('position_embedding_type'))}; windows of {config.get('window_length')} "
        f"subwords with {config.get('overlap')} of overlap.", "",
        "## Use", "", "```python",
        "from transformers import pipeline",
        f'ie = pipeline("arabic-ie", model="{folder.name}", trust_remote_code=True)',
        'ie("قال الجيش السوري إنه استعاد حي الشعار في حلب")',
        f'ner = pipeline("token-classification", model="{folder.name}", aggregation_strategy="simple", '
        "trust_remote_code=True)",
        "```", "", "or with araie: `araie predict --model " + folder.name + " --input news.jsonl`.", "",
    ]
    if metrics:
        lines += _score_tables(metrics)
    if notes:
        lines += [notes.strip(), ""]
    if recipe:
        lines += ["## Recipe", "", "```yaml", yaml.safe_dump(recipe, allow_unicode=True, sort_keys=False).strip(),
                  "```", ""]
    lines += ["## Licence", "", licence_text(licence), ""]
    return "\n".join(lines)


def metric_files(folder: Path) -> list[Path]:
    """`metrics.json` (the first evaluation, the seeds), then `metrics_<split>.json` in name order."""
    return [p for p in (folder / "metrics.json", *sorted(folder.glob("metrics_*.json"))) if p.exists()]


def _score_tables(metrics: list[dict]) -> list[str]:
    """Strict and boundary micro scores per held-out split, then strict F1 per type, split by split."""
    lines = ["## Held-out scores", "", "```"] + [m["command"] for m in metrics if m.get("command")] + ["```", ""]
    lines += ["| split | | P | R | F1 |", "|---|---|---:|---:|---:|"]
    for m in metrics:
        for kind, match in (("entities", "strict"), ("entities", "boundary"), ("relations", "strict"),
                            ("relations", "boundary")):
            s = m[kind][match]["micro"]
            lines.append(f"| {m.get('split') or 'all'} | {kind}, {match} | {s['precision']:.3f} | {s['recall']:.3f} "
                         f"| {s['f1']:.3f} |")
    splits = [m.get("split") or "all" for m in metrics]
    lines += ["", "Strict P / R / F1 per type:", "", "| type | " + " | ".join(splits) + " |",
              "|---|" + "---:|" * len(splits)]
    for kind in ("entities", "relations"):
        types = sorted({t for m in metrics for t in m[kind]["strict"]["per_type"]})
        for t in types:
            cells = []
            for m in metrics:
                v = m[kind]["strict"]["per_type"].get(t)
                cells.append(f"{v['precision']:.2f} / {v['recall']:.2f} / {v['f1']:.2f} ({v['gold']})" if v else "")
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return lines + ["", "(in brackets: gold mentions)", ""]


def licence_text(licence: str | None) -> str:
    return LICENCE_NOTE if licence in (None, "cc-by-nc-sa-4.0") else f"Licence: {licence}."


def _positions(kind: str | None) -> str:
    """How the encoder knows word order, where it is not BERT's default."""
    if kind in (None, "absolute"):
        return ""
    return f", relative positions in attention (`{kind}`)"
