"""Learning rates per parameter group: the encoder apart from the heads, and layer-wise decay.

A pretrained encoder wants a small learning rate and new heads a large one (a compact encoder
pretrained here and fine-tuned at one rate either under-trains its heads or forgets what
pretraining taught it). Layer-wise decay lowers the rate further for lower layers, which hold the
most general features: layer `i` of `L` (0 at the bottom) trains at `encoder_lr * decay**(L - 1 - i)`
and the embeddings at `encoder_lr * decay**L`; the heads train at `learning_rate`.
"""

from __future__ import annotations

import re

from transformers import Trainer

_LAYER = re.compile(r"\.layer\.(\d+)\.")


def parameter_groups(model, learning_rate: float, encoder_learning_rate: float | None, layer_decay: float,
                     weight_decay: float, decay_names: set[str]) -> list[dict]:
    """AdamW parameter groups, one per (learning rate, weight decay) pair, in a stable order."""
    encoder_lr = learning_rate if encoder_learning_rate is None else encoder_learning_rate
    n_layers = int(getattr(model.config, "num_hidden_layers", 0))
    groups: dict[tuple[float, float], list] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if not name.startswith("bert."):
            lr = learning_rate
        elif (m := _LAYER.search(name)) is not None:
            lr = encoder_lr * layer_decay ** (n_layers - 1 - int(m.group(1)))
        elif ".embeddings." in name:
            lr = encoder_lr * layer_decay ** n_layers
        else:  # anything else of the encoder (a pooler) sits on top of its last layer
            lr = encoder_lr
        decay = weight_decay if name in decay_names else 0.0
        groups.setdefault((lr, decay), []).append(param)
    return [{"params": params, "lr": lr, "weight_decay": decay} for (lr, decay), params in groups.items()]


class AraieTrainer(Trainer):
    """The stock Trainer, with the encoder's learning rate and layer-wise decay of the recipe."""

    def __init__(self, *args, encoder_learning_rate: float | None = None, layer_decay: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.encoder_learning_rate = encoder_learning_rate
        self.layer_decay = layer_decay

    def create_optimizer(self):
        if self.optimizer is None and (self.encoder_learning_rate is not None or self.layer_decay != 1.0):
            groups = parameter_groups(self.model, self.args.learning_rate, self.encoder_learning_rate,
                                      self.layer_decay, self.args.weight_decay,
                                      set(self.get_decay_parameter_names(self.model)))
            optimizer_cls, optimizer_kwargs = Trainer.get_optimizer_cls_and_kwargs(self.args, self.model)
            self.optimizer = optimizer_cls(groups, **optimizer_kwargs)
        return super().create_optimizer()
