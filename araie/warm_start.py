"""Where fine-tuning starts: an encoder folder, a hub name, or an exported araie model.

An exported (or shipped) araie folder is the first thing users continue from: its encoder and its
tokenizer (with the normaliser inside `tokenizer.json`) are kept as they are, and its heads are
re-used where the new label sets agree: token-head rows of the labels both schemas share, the
relation head whole when its labels, entity types and sizes match. Everything else starts fresh.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from araie.recipe import Recipe, RecipeError

log = logging.getLogger(__name__)
# `name` or `namespace/name`: what the hub accepts; a longer path can only be a local folder
_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")


def is_araie_folder(path: str | Path) -> bool:
    """Whether `path` holds an araie model (an `araie export` folder or a training checkpoint)."""
    config = Path(path) / "config.json"
    if not config.is_file():
        return False
    return "relation_labels" in json.loads(config.read_text(encoding="utf-8"))


def check_encoder(recipe: Recipe) -> None:
    """Refuse a `model.encoder` that is neither an existing folder nor a possible hub name, naming the key."""
    encoder = recipe.model.encoder
    path = Path(encoder)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise RecipeError(f"{recipe.source}: model.encoder: folder {encoder} holds no config.json (an encoder "
                              "folder from `araie pretrain`, or an exported araie model, has one)")
        return
    local = path.parts[0] in (".", "..") or path.is_absolute() or Path(path.parts[0]).is_dir()
    if local or not _HUB_NAME.fullmatch(encoder):
        raise RecipeError(
            f"{recipe.source}: model.encoder: encoder folder {encoder} not found; run `make pretrain` (it writes "
            "runs/pretrain/rel-4x256/encoder) or point model.encoder at an encoder folder, an exported araie "
            "model (e.g. `model`, the shipped one) or a hub name (aubmindlab/bert-base-arabertv02)")


def load_encoder_config(recipe: Recipe):
    """The encoder's own config, from an encoder folder, a hub name or an araie folder."""
    from transformers import AutoConfig

    from araie.hf.configuration_araie import AraieConfig

    encoder = recipe.model.encoder
    try:
        config = AraieConfig.from_pretrained(encoder).encoder_config() if is_araie_folder(encoder) else (
            AutoConfig.from_pretrained(encoder))
    except OSError as exc:  # a hub name that is not there, or the hub unreachable
        raise RecipeError(f"{recipe.source}: model.encoder {encoder!r} cannot be loaded: {exc}") from None
    # how the weights are stored (encoders/ keeps fp16) is not how they train: transformers builds a model in
    # its config's dtype, and the heads are fp32; mixed precision is `training.bf16`, not the encoder's storage
    if getattr(config, "dtype", None) is not None:  # transformers >= 4.56
        config.dtype = None
    elif getattr(config, "torch_dtype", None) is not None:
        config.torch_dtype = None
    return config


def continue_from(folder: str, config):
    """A model for `config` whose encoder, and whichever heads still fit, come from the araie model in `folder`."""
    import torch

    from araie.hf.modeling_araie import AraieForInformationExtraction

    source = AraieForInformationExtraction.from_pretrained(folder)
    model = AraieForInformationExtraction(config)
    model.bert.load_state_dict(source.bert.state_dict())
    old_row = {label: int(i) for i, label in source.config.id2label.items()}
    shared = [(int(j), old_row[label]) for j, label in config.id2label.items() if label in old_row]
    with torch.no_grad():
        for new, old in shared:
            model.classifier.weight[new] = source.classifier.weight[old]
            model.classifier.bias[new] = source.classifier.bias[old]
    same_relations = all(getattr(source.config, k) == getattr(config, k) for k in (
        "relation_labels", "entity_types", "relation_hidden", "type_embedding_size"))
    if same_relations:
        model.relation.load_state_dict(source.relation.state_dict())
    log.info("continuing from %s: encoder kept; token head: %d of %d labels kept, %s; relation head %s", folder,
             len(shared), len(config.id2label), "the rest new" if len(shared) < len(config.id2label) else "all",
             "kept" if same_relations else "new (labels, entity types or sizes differ)")
    return model
