"""Fine-tuning: records -> `datasets` windows -> `Trainer`, with seqeval and relation F1 each epoch.

The Trainer does the loop, checkpoints, resumption, mixed precision, gradient accumulation and
`accelerate launch` data parallelism; this module supplies the data, the collator and the metrics.
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import torch

from araie.features import IGNORE, window_examples
from araie.hf.configuration_araie import AraieConfig
from araie.hf.modeling_araie import AraieForInformationExtraction
from araie.recipe import Recipe, RecipeError
from araie.records import Document, read_corpus
from araie.schema import Schema, bio_labels, relation_labels
from araie.text.clitics import entity_lexicon
from araie.text.normalize import NormalizeConfig, install_normalizer
from araie.validate import check_document, load_splits
from araie.warm_start import check_encoder, continue_from, is_araie_folder, load_encoder_config

log = logging.getLogger(__name__)
TRAINING_DEFAULTS = {
    "output_dir": "runs/train/default", "num_train_epochs": 20, "learning_rate": 5e-5,
    "per_device_train_batch_size": 8, "per_device_eval_batch_size": 16, "eval_strategy": "epoch",
    "save_strategy": "epoch", "save_total_limit": 2, "load_best_model_at_end": True,
    "metric_for_best_model": "score", "greater_is_better": True, "logging_strategy": "epoch",
    "report_to": [], "seed": 13, "warmup_ratio": 0.1, "weight_decay": 0.01,
}


def load_split_documents(recipe: Recipe, schema: Schema) -> tuple[list[Document], list[Document]]:
    """Train and dev documents of the recipe; any invalid record stops training before it starts."""
    splits = load_splits(recipe.data.splits)
    docs = list(read_corpus(recipe.data.corpus))
    errors = [p for d in docs for p in check_document(d, schema) if p.severity == "error"]
    if errors:
        raise RecipeError(f"corpus has {len(errors)} error(s); first: {errors[0]} (run `araie validate`)")
    train = [d for d in docs if splits.get(d.id) == recipe.data.train_split]
    dev = [d for d in docs if splits.get(d.id) == recipe.data.dev_split]
    if not train:
        raise RecipeError(f"{recipe.source}: no documents in split {recipe.data.train_split!r} of {recipe.data.splits}")
    if recipe.data.fraction < 1:
        source = recipe.data.fraction_source
        pool = sorted((d for d in train if source is None or d.meta.get("source") == source), key=lambda d: d.id)
        if not pool:
            raise RecipeError(f"{recipe.source}: data.fraction_source {source!r}: no training document has it")
        random.Random(0).shuffle(pool)
        kept = {d.id for d in pool[:max(1, round(len(pool) * recipe.data.fraction))]}
        train = [d for d in train if d.id in kept or (source is not None and d.meta.get("source") != source)]
    return train, dev


def build_tokenizer(encoder: str, norm: NormalizeConfig | None = None):
    """The encoder's fast tokenizer with araie's normaliser; an araie folder's tokenizer already has its own."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(encoder)
    if not tokenizer.is_fast:
        raise RecipeError(f"{encoder}: araie needs a fast tokenizer (offsets), got {type(tokenizer).__name__}")
    return tokenizer if is_araie_folder(encoder) else install_normalizer(tokenizer, norm)


def build_model(recipe: Recipe, schema: Schema, lexicon: set[str] | None = None) -> AraieForInformationExtraction:
    """The model the recipe starts from: labels from `schema`, encoder (and fitting heads) from `model.encoder`."""
    m = recipe.model
    labels = bio_labels(schema)
    encoder_config = load_encoder_config(recipe)
    normalize = NormalizeConfig().to_dict()
    lexicon = set(lexicon or ())
    if is_araie_folder(m.encoder):  # its tokenizer's normaliser and its lexicon of names come along
        source = AraieConfig.from_pretrained(m.encoder)
        normalize, lexicon = source.normalize or normalize, lexicon | set(source.clitic_lexicon)
    config = AraieConfig.from_encoder(
        encoder_config, relation_labels=relation_labels(schema), schema=schema.to_dict(),
        normalize=normalize, window_length=m.max_length, overlap=m.overlap,
        relation_hidden=m.relation_hidden, type_embedding_size=m.type_embedding_size,
        ner_loss_weight=m.ner_loss_weight, relation_loss_weight=m.relation_loss_weight,
        relation_threshold=m.relation_threshold, clitic_lexicon=sorted(lexicon), id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)}, label_smoothing=m.label_smoothing)
    if m.max_length > getattr(encoder_config, "max_position_embeddings", m.max_length):
        raise RecipeError(f"{recipe.source}: model.max_length {m.max_length} exceeds the encoder's "
                          f"{encoder_config.max_position_embeddings} positions")
    if m.init == "random":
        return AraieForInformationExtraction(config)
    if is_araie_folder(m.encoder):
        return continue_from(m.encoder, config)
    return AraieForInformationExtraction.from_encoder(recipe.model.encoder, config)


def to_dataset(docs: list[Document], tokenizer, schema: Schema, recipe: Recipe, sample: bool, seed: int = 0,
               lexicon: set[str] | None = None):
    """Window rows of the documents as a `datasets.Dataset`; logs misaligned entities by name."""
    from datasets import Dataset

    problems: list = []
    rng = random.Random(seed) if sample else None
    rows = [row for d in docs for row in window_examples(
        d, tokenizer, schema, recipe.model.max_length, recipe.model.overlap,
        negatives=recipe.data.negatives if sample else None, rng=rng, problems=problems, lexicon=lexicon)]
    if problems:  # counted and named, never dropped silently; `araie debug-align` lists them all
        total = sum(len(d.entities) for d in docs)
        log.warning("%d of %d gold entities fall inside a subword and are ignored in the loss, e.g. %s",
                    len(problems), total, "; ".join(map(str, problems[:3])))
    return Dataset.from_list(rows)


class Collator:
    """Pads token rows, span lists and pair lists of a batch into tensors."""

    def __init__(self, pad_token_id: int):
        self.pad = pad_token_id

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        def pad(key: str, value: int, width: int | None = None) -> torch.Tensor:
            width = width or max(1, max(len(r[key]) for r in rows))
            return torch.tensor([r[key] + [value] * (width - len(r[key])) for r in rows])

        input_ids = pad("input_ids", self.pad)
        batch = {"input_ids": input_ids, "attention_mask": (input_ids != self.pad).long()}
        batch["attention_mask"][:, 0] = 1
        if "labels" in rows[0]:
            batch["labels"] = pad("labels", IGNORE, input_ids.size(1))
        for key in ("span_starts", "span_ends", "span_types", "pair_heads", "pair_tails"):
            batch[key] = pad(key, 1 if key == "span_ends" else 0)
        batch["pair_labels"] = pad("pair_labels", IGNORE)
        return batch


class DevScorer:
    """`compute_metrics` for the Trainer: dev F1 computed as `araie evaluate` computes it.

    The dev documents are run through the model being trained exactly as prediction runs them
    (windows, IOB2 decoding, spans back to raw character offsets) and scored strictly against gold,
    so the F1 printed each epoch is the one `araie evaluate` will give the saved checkpoint. The
    score that selects the best checkpoint follows what the dev data hold: entity F1 alone when they
    hold no relations, else the mean of entity and relation F1.
    """

    def __init__(self, docs: list[Document], tokenizer, schema: Schema, batch_size: int = 16):
        self.docs, self.tokenizer, self.schema, self.batch_size = docs, tokenizer, schema, batch_size
        self.relations = any(d.relations for d in docs)
        self.model = None  # set to the Trainer's model before training

    @property
    def selection(self) -> str:
        return "mean of dev entity and relation F1" if self.relations else \
            "dev entity F1 (the dev documents hold no relations)"

    def __call__(self, pred=None) -> dict[str, float]:
        from araie.evaluate import score
        from araie.extractor import to_document
        from araie.hf.pipeline_araie import extract_documents

        results = extract_documents(self.model, self.tokenizer, [d.text for d in self.docs], self.batch_size)
        preds = [to_document(d, r) for d, r in zip(self.docs, results, strict=True)]
        report = score(self.docs, preds, self.schema)
        metrics = {"entity_f1": report.entities_strict.micro.f1}
        if self.relations:
            metrics["relation_f1"] = report.relations_strict.micro.f1
        metrics["score"] = sum(metrics.values()) / len(metrics)
        return metrics


def train(recipe: Recipe, resume: bool = True) -> Path:
    """Fine-tune per the recipe; return the folder of the best model (with tokenizer and recipe)."""
    from transformers import EarlyStoppingCallback, TrainingArguments, set_seed

    from araie.optim import AraieTrainer

    check_encoder(recipe)
    schema = Schema.load(recipe.data.schema)
    train_docs, dev_docs = load_split_documents(recipe, schema)
    targs = {**TRAINING_DEFAULTS, **recipe.training}
    patience = targs.pop("early_stopping_patience", 5)
    if not dev_docs:
        targs.update(eval_strategy="no", load_best_model_at_end=False, metric_for_best_model=None)
    set_seed(int(targs["seed"]))
    tokenizer = build_tokenizer(recipe.model.encoder)
    lexicon = entity_lexicon(train_docs)
    model = build_model(recipe, schema, lexicon)
    train_ds = to_dataset(train_docs, tokenizer, schema, recipe, sample=True, seed=int(targs["seed"]), lexicon=lexicon)
    dev_ds = to_dataset(dev_docs, tokenizer, schema, recipe, sample=False, lexicon=lexicon) if dev_docs else None
    log.info("%d training windows from %d documents; %d dev windows", len(train_ds), len(train_docs),
             len(dev_ds) if dev_ds else 0)
    try:
        args = TrainingArguments(**targs, label_names=["labels", "pair_labels"], remove_unused_columns=False)
    except TypeError as exc:
        raise RecipeError(f"{recipe.source}: training section: {exc}") from None
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    recipe.save(out / "recipe.yaml")
    scorer = DevScorer(dev_docs, tokenizer, schema, args.per_device_eval_batch_size) if dev_docs else None
    trainer = AraieTrainer(model=model, args=args, train_dataset=train_ds.remove_columns("doc_id"),
                           eval_dataset=dev_ds.remove_columns("doc_id") if dev_ds else None,
                           data_collator=Collator(tokenizer.pad_token_id), compute_metrics=scorer,
                           callbacks=[EarlyStoppingCallback(patience)] if dev_ds and args.eval_strategy != "no" else [],
                           encoder_learning_rate=recipe.model.encoder_learning_rate,
                           layer_decay=recipe.model.layer_decay)
    if scorer is not None:
        scorer.model = trainer.model
        if args.metric_for_best_model in ("score", "eval_score"):
            log.info("best checkpoint selected on the %s, computed on words and characters as `araie evaluate` "
                     "does", scorer.selection)
    checkpoints = sorted(out.glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=str(checkpoints[-1]) if resume and checkpoints else None)
    (out / "train_log.json").write_text(json.dumps(trainer.state.log_history, indent=1), encoding="utf-8")
    for entry in trainer.state.log_history:
        if "eval_entity_f1" in entry:
            relation = f", relation F1 {entry['eval_relation_f1']:.3f}" if "eval_relation_f1" in entry else ""
            log.info("epoch %.0f: dev entity F1 %.3f%s", entry["epoch"], entry["eval_entity_f1"], relation)
    best = out / "best"
    trainer.save_model(str(best))
    tokenizer.save_pretrained(best)
    recipe.save(best / "recipe.yaml")
    return best
