"""The araie model: one encoder, an IOB2 token head and a relation head over typed span pairs.

Weight names follow `<Encoder>ForTokenClassification` (`bert.*`, `classifier.*`) so the stock
`AutoModelForTokenClassification` loads the entity part of an exported folder; the relation head's
weights (`relation.*`) are simply unused there.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoModel, PreTrainedModel
from transformers.modeling_outputs import ModelOutput

from .configuration_araie import AraieConfig

DISTANCE_BUCKETS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128)


@dataclass
class AraieOutput(ModelOutput):
    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    relation_logits: torch.FloatTensor | None = None
    last_hidden_state: torch.FloatTensor | None = None
    ner_loss: torch.FloatTensor | None = None
    relation_loss: torch.FloatTensor | None = None


class RelationHead(nn.Module):
    """Scores ordered span pairs from their boundary tokens, entity types and distance.

    A span is its first and last subword states plus a type embedding; a pair is head, tail, their
    product and a bucketed token distance, through a two-layer MLP (PURE-style boundary pooling:
    cheap, and it needs no second encoder pass).
    """

    def __init__(self, hidden: int, n_types: int, n_labels: int, size: int, type_size: int, dropout: float):
        super().__init__()
        self.type_embedding = nn.Embedding(max(n_types, 1), type_size)
        self.distance_embedding = nn.Embedding(len(DISTANCE_BUCKETS) + 1, type_size)
        span = 2 * hidden + type_size
        self.project = nn.Linear(span, size)
        self.mlp = nn.Sequential(nn.Dropout(dropout), nn.Linear(3 * size + type_size, size), nn.GELU(),
                                 nn.Dropout(dropout), nn.Linear(size, n_labels))
        self.register_buffer("buckets", torch.tensor(DISTANCE_BUCKETS), persistent=False)

    def forward(self, hidden, span_starts, span_ends, span_types, pair_heads, pair_tails):
        """hidden (B, L, H); spans (B, S) with end exclusive; pairs (B, P) of span indices -> (B, P, labels)."""
        batch = torch.arange(hidden.size(0), device=hidden.device).unsqueeze(1)
        first = hidden[batch, span_starts]
        last = hidden[batch, (span_ends - 1).clamp(min=0)]
        spans = self.project(torch.cat([first, last, self.type_embedding(span_types)], dim=-1))
        head = spans[batch, pair_heads]
        tail = spans[batch, pair_tails]
        gap = (span_starts[batch, pair_tails] - span_starts[batch, pair_heads]).abs()
        distance = self.distance_embedding(torch.bucketize(gap, self.buckets))
        return self.mlp(torch.cat([head, tail, head * tail, distance], dim=-1))


class AraiePreTrainedModel(PreTrainedModel):
    config_class = AraieConfig
    base_model_prefix = "bert"
    supports_gradient_checkpointing = True
    _supports_sdpa = True

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=getattr(self.config, "initializer_range", 0.02))
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=getattr(self.config, "initializer_range", 0.02))


class AraieForInformationExtraction(AraiePreTrainedModel):
    """Encoder + IOB2 token classifier + relation head; one forward pass serves both heads."""

    def __init__(self, config: AraieConfig):
        super().__init__(config)
        encoder_config = config.encoder_config()
        # the wrapper's attention choice (from_pretrained sets SDPA unless told otherwise) reaches the encoder;
        # SDPA has no relative-position term, so such encoders run eager attention (BERT would fall back anyway)
        attention = getattr(config, "_attn_implementation", None) or "eager"
        if getattr(encoder_config, "position_embedding_type", "absolute") != "absolute":
            attention = "eager"
        encoder_config._attn_implementation = attention
        try:
            self.bert = AutoModel.from_config(encoder_config, add_pooling_layer=False)
        except TypeError:  # encoders without a pooler take no such argument
            self.bert = AutoModel.from_config(encoder_config)
        dropout = getattr(config, "hidden_dropout_prob", 0.1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.relation = RelationHead(config.hidden_size, len(config.entity_types), len(config.relation_labels),
                                     config.relation_hidden, config.type_embedding_size, dropout)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, span_starts=None,
                span_ends=None, span_types=None, pair_heads=None, pair_tails=None, pair_labels=None,
                return_hidden: bool = False, **kwargs) -> AraieOutput:
        kwargs = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask, **kwargs).last_hidden_state
        logits = self.classifier(self.dropout(hidden))
        loss = ner_loss = relation_loss = None
        relation_logits = None
        if labels is not None:
            ner_loss = nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), ignore_index=-100,
                                                   label_smoothing=getattr(self.config, "label_smoothing", 0.0))
            loss = self.config.ner_loss_weight * ner_loss
        if pair_heads is not None and pair_heads.numel():
            relation_logits = self.relation(hidden, span_starts, span_ends, span_types, pair_heads, pair_tails)
            if pair_labels is not None:
                relation_loss = nn.functional.cross_entropy(
                    relation_logits.view(-1, relation_logits.size(-1)), pair_labels.view(-1), ignore_index=-100)
                loss = relation_loss * self.config.relation_loss_weight + (loss if loss is not None else 0)
        return AraieOutput(loss=loss, logits=logits, relation_logits=relation_logits,
                           last_hidden_state=hidden if return_hidden else None,
                           ner_loss=ner_loss, relation_loss=relation_loss)

    @classmethod
    def from_encoder(cls, encoder: str, config: AraieConfig, **kwargs) -> AraieForInformationExtraction:
        """A fresh model whose encoder weights come from a pretrained `AutoModel` (folder or hub name)."""
        model = cls(config)
        try:
            pretrained = AutoModel.from_pretrained(encoder, add_pooling_layer=False, **kwargs)
        except TypeError:
            pretrained = AutoModel.from_pretrained(encoder, **kwargs)
        missing, unexpected = model.bert.load_state_dict(pretrained.state_dict(), strict=False)
        if missing:
            raise ValueError(f"encoder {encoder} lacks weights {missing[:5]}")
        return model
