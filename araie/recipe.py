"""Training recipes: YAML with `model:`, `data:` and `training:` sections, dotted `--set` overrides.

`training:` passes straight through to `transformers.TrainingArguments` (plus
`early_stopping_patience`); `model:` and `data:` are checked here, so a misspelt key fails before
any data is read, with the key named.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml


class RecipeError(ValueError):
    """A recipe that cannot run, naming the file and key at fault."""


@dataclass
class ModelSection:
    encoder: str = "aubmindlab/bert-base-arabertv02"
    init: str = "pretrained"  # or "random": same architecture, no pretrained weights (the baseline)
    max_length: int = 256
    overlap: int = 32
    relation_hidden: int = 256
    type_embedding_size: int = 32
    ner_loss_weight: float = 1.0
    relation_loss_weight: float = 1.0
    relation_threshold: float = 0.5
    encoder_learning_rate: float | None = None  # None: training.learning_rate, as the heads
    layer_decay: float = 1.0  # each encoder layer below the top trains at this factor of the one above
    label_smoothing: float = 0.0  # of the token (entity) head's cross-entropy


@dataclass
class DataSection:
    corpus: list[str] = field(default_factory=lambda: ["annotations/docs"])
    splits: str = "annotations/splits.json"
    schema: str = "annotations/schema.json"
    train_split: str = "train"
    dev_split: str = "dev"
    negatives: int = 8  # sampled NONE pairs per gold pair (at least this many per window)
    fraction: float = 1.0  # share of the training documents used (learning curves)
    fraction_source: str | None = None  # the fraction applies to documents of this `source` only; others stay whole


@dataclass
class Recipe:
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    training: dict[str, Any] = field(default_factory=dict)
    source: str = "<recipe>"

    def to_dict(self) -> dict[str, Any]:
        return {"model": asdict(self.model), "data": asdict(self.data), "training": dict(self.training)}

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False), encoding="utf-8")


def _section(cls, data: dict[str, Any], name: str, source: str):
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise RecipeError(f"{source}: unknown key {name}.{unknown[0]} (known: {', '.join(known)})")
    out = cls()
    for key, value in data.items():
        default = getattr(out, key)
        if isinstance(default, list) and isinstance(value, str):
            value = [value]
        elif default is not None and not isinstance(value, type(default)):
            if isinstance(default, float) and isinstance(value, int):
                value = float(value)
            else:
                raise RecipeError(f"{source}: {name}.{key} must be {type(default).__name__}, got {value!r}")
        setattr(out, key, value)
    return out


def _check_optimisation(recipe: Recipe) -> None:
    m, source = recipe.model, recipe.source
    if m.encoder_learning_rate is not None:
        m.encoder_learning_rate = _number(m.encoder_learning_rate)  # YAML 1.1 reads `3e-5` as a string
        if isinstance(m.encoder_learning_rate, int) and not isinstance(m.encoder_learning_rate, bool):
            m.encoder_learning_rate = float(m.encoder_learning_rate)
        if not isinstance(m.encoder_learning_rate, float) or m.encoder_learning_rate < 0:
            raise RecipeError(f"{source}: model.encoder_learning_rate must be a number >= 0 or null, "
                              f"got {m.encoder_learning_rate!r}")
    if not 0 < m.layer_decay <= 1:
        raise RecipeError(f"{source}: model.layer_decay must be in (0, 1], got {m.layer_decay}")
    if not 0 <= m.label_smoothing < 1:
        raise RecipeError(f"{source}: model.label_smoothing must be in [0, 1), got {m.label_smoothing}")
    if recipe.training.get("label_smoothing_factor"):  # the Trainer's smoother would drop the relation loss
        raise RecipeError(f"{source}: training.label_smoothing_factor does not fit araie's two heads; "
                          "use model.label_smoothing (token head)")


def parse_value(text: str) -> Any:
    """`--set` values are YAML scalars: `3`, `0.1`, `true`, `null`, `[a, b]`, or strings."""
    if text.lower() in _YAML11_BOOLEANS:  # `eval_strategy=no` means the string, not False
        return text
    return _number(yaml.safe_load(text)) if text != "" else ""


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def _number(value: Any) -> Any:
    """YAML 1.1 reads `1e-4` (no dot) as a string; a learning rate written so is meant as a number."""
    return float(value) if isinstance(value, str) and _NUMBER.match(value) else value


_YAML11_BOOLEANS = {"no", "yes", "on", "off", "y", "n"}


def apply_overrides(data: dict[str, Any], overrides: list[str], source: str = "--set") -> dict[str, Any]:
    """Apply `a.b=c` overrides to a nested dict (copied), creating `training.*` keys as needed."""
    data = copy.deepcopy(data)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise RecipeError(f"{source}: expected SECTION.KEY=VALUE, got {item!r}")
        section, _, name = key.partition(".")
        if section not in ("model", "data", "training"):
            raise RecipeError(f"{source}: unknown section {section!r} in {item!r} (model, data, training)")
        data.setdefault(section, {})[name] = parse_value(value)
    return data


def load_recipe(path: str | os.PathLike, overrides: list[str] | None = None) -> Recipe:
    """Read a recipe file, apply overrides and check every key."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a mapping with model, data and training sections")
    unknown = sorted(set(data) - {"model", "data", "training"})
    if unknown:
        raise RecipeError(f"{path}: unknown section {unknown[0]!r} (model, data, training)")
    data = apply_overrides(data, overrides or [])
    source = str(path)
    training = dict(data.get("training") or {})
    for key, value in training.items():
        if key.endswith("_strategy") and value is False:  # YAML 1.1 reads a bare `no` as false
            training[key] = "no"
        training[key] = _number(training[key])
    data["training"] = training
    recipe = Recipe(_section(ModelSection, data.get("model") or {}, "model", source),
                    _section(DataSection, data.get("data") or {}, "data", source),
                    dict(data.get("training") or {}), source)
    if recipe.model.init not in ("pretrained", "random"):
        raise RecipeError(f"{source}: model.init must be 'pretrained' or 'random', got {recipe.model.init!r}")
    _check_optimisation(recipe)
    if not 0 < recipe.data.fraction <= 1:
        raise RecipeError(f"{source}: data.fraction must be in (0, 1], got {recipe.data.fraction}")
    if recipe.model.overlap >= recipe.model.max_length - 2:
        raise RecipeError(f"{source}: model.overlap must be smaller than model.max_length - 2")
    return recipe
