"""Configuration of an araie model: the encoder's own fields plus both label sets and the schema.

`config.json` keeps the encoder's `model_type` (e.g. `bert`) and its `id2label` holds the IOB2 labels,
so the stock `AutoModelForTokenClassification` loads the entity head without remote code; the
araie fields ride along and `auto_map` points `trust_remote_code` users at this class.
"""

from __future__ import annotations

from transformers import AutoConfig, PretrainedConfig


class AraieConfig(PretrainedConfig):
    """Encoder fields (any `AutoConfig` model type) plus the araie fields below.

    Args:
        encoder_model_type: the encoder's `model_type`, written back as `model_type` in `config.json`.
        relation_labels: `NONE` then the relation types in schema order.
        schema: the annotation schema (`Schema.to_dict()`), used to filter candidate pairs.
        normalize: the normalisation settings the tokenizer was built with (for the record).
        window_length: subwords per window including the two special tokens (not `max_length`, which
            transformers reserves for generation); overlap: subwords shared by consecutive windows.
        relation_hidden / type_embedding_size: sizes of the relation head.
        ner_loss_weight / relation_loss_weight: weights of the two losses.
        entity_threshold / relation_threshold: default score thresholds at inference.
        relation_thresholds: `{relation type: threshold}` chosen on dev (`araie tune-thresholds --write`);
            a type not named uses `relation_threshold`. A caller's `relation_threshold` overrides both.
        clitic_lexicon: first words of the training entities; a predicted span that starts with a bare
            proclitic glued to one of them starts after the clitic (`وتركيا` -> `تركيا`).
        bio_decoding: `viterbi` (default): per window, the most probable label sequence that IOB2
            allows (no `I-X` after `O` or after another type), over the first subword of each word;
            `argmax`: each word's most probable label, a stray `I-X` opening a span.
    """

    model_type = "araie"
    keys_to_ignore_at_inference = ["last_hidden_state", "ner_loss", "relation_loss"]

    def __init__(self, encoder_model_type: str = "bert", relation_labels: list[str] | None = None,
                 schema: dict | None = None, normalize: dict | None = None, window_length: int = 256,
                 overlap: int = 32, relation_hidden: int = 256, type_embedding_size: int = 32,
                 ner_loss_weight: float = 1.0, relation_loss_weight: float = 1.0, entity_threshold: float = 0.0,
                 relation_threshold: float = 0.5, clitic_lexicon: list[str] | None = None,
                 bio_decoding: str = "viterbi", relation_thresholds: dict[str, float] | None = None, **kwargs):
        kwargs.pop("model_type", None)
        self.encoder_model_type = encoder_model_type
        self.relation_labels = list(relation_labels or ["NONE"])
        self.schema = schema or {"entity_types": [], "relation_types": []}
        self.normalize = normalize or {}
        self.window_length = window_length
        self.overlap = overlap
        self.relation_hidden = relation_hidden
        self.type_embedding_size = type_embedding_size
        self.ner_loss_weight = ner_loss_weight
        self.relation_loss_weight = relation_loss_weight
        self.entity_threshold = entity_threshold
        self.relation_threshold = relation_threshold
        self.clitic_lexicon = sorted(clitic_lexicon or [])
        if bio_decoding not in ("viterbi", "argmax"):
            raise ValueError(f"bio_decoding must be 'viterbi' or 'argmax', got {bio_decoding!r}")
        self.bio_decoding = bio_decoding
        self.relation_thresholds = _checked_thresholds(relation_thresholds, self.relation_labels)
        super().__init__(**kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> AraieConfig:
        # The file says `model_type: bert` on purpose (stock loading); skip the base class's warning.
        config_dict, kwargs = cls.get_config_dict(pretrained_model_name_or_path, **kwargs)
        return cls.from_dict(config_dict, **kwargs)

    @classmethod
    def from_encoder(cls, encoder_config: PretrainedConfig, **araie_fields) -> AraieConfig:
        # an araie config (continuing from an exported model) brings its own araie fields: drop them
        fields = {k: v for k, v in encoder_config.to_dict().items() if k not in _ARAIE_FIELDS}
        for key in ("id2label", "label2id", "_name_or_path", "transformers_version"):
            fields.pop(key, None)
        fields.update(araie_fields)
        return cls(encoder_model_type=fields.pop("model_type", encoder_config.model_type), **fields)

    def encoder_config(self) -> PretrainedConfig:
        """The encoder's own config class, built from the fields this config carries."""
        fields = {k: v for k, v in self.to_dict().items() if k not in _ARAIE_FIELDS}
        fields.pop("model_type", None)
        return AutoConfig.for_model(self.encoder_model_type, **fields)

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["model_type"] = self.encoder_model_type
        if not out.get("relation_thresholds"):  # a folder without tuned thresholds keeps today's config.json
            out.pop("relation_thresholds", None)
        return out

    @property
    def entity_types(self) -> list[str]:
        return [t["name"] if isinstance(t, dict) else t for t in self.schema.get("entity_types", [])]

    def allowed_pairs(self) -> set[tuple[str, str]]:
        """Ordered entity-type pairs some relation admits (either order for symmetric relations)."""
        out = set()
        for r in self.schema.get("relation_types", []):
            out |= {(h, t) for h in r["head"] for t in r["tail"]}
            if r.get("symmetric"):
                out |= {(t, h) for h in r["head"] for t in r["tail"]}
        return out

    def symmetric_relations(self) -> set[str]:
        return {r["name"] for r in self.schema.get("relation_types", []) if r.get("symmetric")}

    def relation_allows(self, relation: str, head_type: str, tail_type: str) -> bool:
        for r in self.schema.get("relation_types", []):
            if r["name"] == relation:
                return (head_type in r["head"] and tail_type in r["tail"]) or (
                    bool(r.get("symmetric")) and tail_type in r["head"] and head_type in r["tail"])
        return False


_ARAIE_FIELDS = {
    "encoder_model_type", "relation_labels", "schema", "normalize", "window_length", "overlap", "relation_hidden",
    "type_embedding_size", "ner_loss_weight", "relation_loss_weight", "entity_threshold", "relation_threshold",
    "clitic_lexicon", "bio_decoding", "relation_thresholds", "auto_map", "custom_pipelines", "architectures",
}


def _checked_thresholds(thresholds: dict | None, labels: list[str]) -> dict[str, float]:
    """`relation_thresholds` of config.json, refused with the key named when a type or value is wrong."""
    out = {}
    for name, value in (thresholds or {}).items():
        if name not in labels[1:]:
            raise ValueError(f"config.json: relation_thresholds.{name}: not a relation type of this model "
                             f"(known: {', '.join(labels[1:]) or 'none'})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"config.json: relation_thresholds.{name}: expected a number from 0 to 1, got {value!r}")
        out[name] = float(value)
    return out
