"""The model card (`README.md`) of an exported folder, written from its recipe, metrics and notes."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

LICENCE_NOTE = (
    "The encoder of this model was pretrained on SaudiNewsNet (M. Alhagri, 2015; "
    "github.com/parallelfold/SaudiNewsNet), licensed CC BY-NC-SA 4.0: these weights carry the same "
    "terms (non-commercial use, share-alike, attribution)."
)


def model_card(folder: str | Path, notes: str | None = None, licence: str | None = None) -> str:
    """Markdown card: what the model does, how it was trained, its held-out scores, how to use it."""
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    recipe = yaml.safe_load((folder / "recipe.yaml").read_text(encoding="utf-8")) if (
        folder / "recipe.yaml").exists() else None
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8")) if (
        folder / "metrics.json").exists() else None
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
        lines += ["## Held-out scores", ""]
        if metrics.get("command"):
            lines += ["```", metrics["command"], "```", ""]
        lines += ["| | P | R | F1 |", "|---|---:|---:|---:|"]
        for name, key in (("entities, strict", ("entities", "strict")),
                          ("entities, boundary", ("entities", "boundary")),
                          ("relations, strict", ("relations", "strict")),
                          ("relations, boundary", ("relations", "boundary"))):
            m = metrics[key[0]][key[1]]["micro"]
            lines.append(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} |")
        lines.append("")
    if notes:
        lines += [notes.strip(), ""]
    if recipe:
        lines += ["## Recipe", "", "```yaml", yaml.safe_dump(recipe, allow_unicode=True, sort_keys=False).strip(),
                  "```", ""]
    lines += ["## Licence", "", licence_text(licence), ""]
    return "\n".join(lines)


def licence_text(licence: str | None) -> str:
    return LICENCE_NOTE if licence in (None, "cc-by-nc-sa-4.0") else f"Licence: {licence}."


def _positions(kind: str | None) -> str:
    """How the encoder knows word order, where it is not BERT's default."""
    if kind in (None, "absolute"):
        return ""
    return f", relative positions in attention (`{kind}`)"
