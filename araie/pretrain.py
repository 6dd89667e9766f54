"""Pretraining: a WordPiece tokenizer and a compact BERT with whole-word masked-LM on unlabeled news.

The same `araie pretrain` continues masked-LM on an existing encoder (AraBERT domain adaptation)
when `from_model` is given. The corpus is streamed and normalised exactly as fine-tuning and
serving normalise, so the encoder never sees a text form it will not meet later.
"""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from araie.text.normalize import NormalizeConfig, normalize

log = logging.getLogger(__name__)
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
FINE_TUNING_DROPOUT = 0.1  # what a saved encoder declares, whatever dropout pretrained it


@dataclass(frozen=True)
class PretrainConfig:
    """Everything that decides a pretraining run; saved as `pretrain.json` in the output folder."""

    corpus: str
    out: str
    text_fields: tuple[str, ...] = ("title", "content")
    max_documents: int | None = None
    from_model: str | None = None
    vocab_size: int = 32000
    min_frequency: int = 3
    layers: int = 4
    hidden: int = 256
    heads: int = 4
    intermediate: int = 1024
    max_length: int = 128
    batch_size: int = 64
    steps: int = 20000
    learning_rate: float = 5e-4
    warmup_ratio: float = 0.05
    mlm_probability: float = 0.15
    # dropout while pretraining only (the saved encoder declares BERT's 0.1 for fine-tuning); 0 learns
    # faster when the run sees each text a few times at most, as it does here
    dropout: float = 0.1
    # "relative_key" (Shaw et al.) adds learned relative-distance terms to attention; a small encoder
    # leaves the word-frequency plateau far sooner with it than with absolute positions alone
    position: str = "absolute"
    save_steps: int = 500
    seed: int = 13


def iter_corpus(path: str | os.PathLike, fields: tuple[str, ...] = ("title", "content"),
                limit: int | None = None) -> Iterator[str]:
    """Stream texts from a JSONL or JSONL.gz corpus (SaudiNewsNet layout), or a plain text file."""
    path = str(path)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        lines = itertools.islice(fh, limit) if limit else fh
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            if ".jsonl" not in path:
                yield line.rstrip("\n")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
            text = "\n".join(str(obj[f]) for f in fields if obj.get(f))
            if text.strip():
                yield text


def normalized_texts(config: PretrainConfig, norm: NormalizeConfig) -> Iterator[str]:
    for text in iter_corpus(config.corpus, config.text_fields, config.max_documents):
        yield normalize(text, norm).text


def train_tokenizer(texts: Iterator[str], vocab_size: int, out_dir: str | os.PathLike, min_frequency: int = 3):
    """Train a cased WordPiece tokenizer on already-normalised texts and save it as `BertTokenizerFast`."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    # Keep case (RT, Reuters) and every Arabic letter; araie's normaliser has already removed marks.
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                strip_accents=False, lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                        special_tokens=SPECIAL_TOKENS, continuing_subword_prefix="##")
    tok.train_from_iterator(texts, trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    fast = BertTokenizerFast(tokenizer_object=tok, do_lower_case=False, strip_accents=False,
                             tokenize_chinese_chars=True, model_max_length=512)
    fast.save_pretrained(out_dir)
    return fast


def masked_lm_model(config: PretrainConfig, tokenizer):
    """A fresh compact BERT for masked-LM, or the named encoder to continue."""
    from transformers import AutoModelForMaskedLM, BertConfig, BertForMaskedLM

    if config.from_model:
        return AutoModelForMaskedLM.from_pretrained(config.from_model, hidden_dropout_prob=config.dropout,
                                                    attention_probs_dropout_prob=config.dropout,
                                                    attn_implementation=_attention(config.from_model))

    class SparseMaskedLM(BertForMaskedLM):
        """BertForMaskedLM that runs the vocabulary projection on masked positions only.

        With a 32k vocabulary the projection over every position costs more than the encoder;
        only the ~15 % masked positions have a loss. Weights and names are BertForMaskedLM's.
        """

        def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, **kwargs):
            import torch
            from transformers.modeling_outputs import MaskedLMOutput

            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            if labels is None:
                return MaskedLMOutput(logits=self.cls(hidden))
            picked = labels != -100
            logits = self.cls(hidden[picked])
            loss = torch.nn.functional.cross_entropy(logits, labels[picked])
            return MaskedLMOutput(loss=loss, logits=logits)

    # save_pretrained writes the class name into config.json `architectures`: name the stock class,
    # which loads these weights as they are (the sparse projection changes no parameter)
    SparseMaskedLM.__name__ = SparseMaskedLM.__qualname__ = "BertForMaskedLM"
    bert = BertConfig(vocab_size=len(tokenizer), hidden_size=config.hidden, num_hidden_layers=config.layers,
                      num_attention_heads=config.heads, intermediate_size=config.intermediate,
                      max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id,
                      hidden_dropout_prob=config.dropout, attention_probs_dropout_prob=config.dropout,
                      position_embedding_type=config.position,
                      attn_implementation=None if config.position == "absolute" else "eager")
    bert.architectures = ["BertForMaskedLM"]
    return SparseMaskedLM(bert)


def pack_blocks(documents: list[list[int]], tokenizer, max_length: int) -> list[list[int]]:
    """Subword ids of documents, each followed by [SEP], cut into `[CLS] … [SEP]` blocks of `max_length`
    (a tail shorter than a block is dropped)."""
    flat = [i for ids in documents for i in [*ids, tokenizer.sep_token_id]]
    body = max_length - 2
    return [[tokenizer.cls_token_id, *flat[i:i + body], tokenizer.sep_token_id]
            for i in range(0, len(flat) - body + 1, body)]


def build_dataset(config: PretrainConfig, tokenizer, norm: NormalizeConfig):
    """Tokenise and pack the corpus into blocks of `max_length` (cached by `datasets`)."""
    from datasets import Dataset

    cache = Path(config.out) / "dataset"
    if cache.exists():
        return Dataset.load_from_disk(str(cache))

    def gen():
        for text in normalized_texts(config, norm):
            yield {"text": text}

    ds = Dataset.from_generator(gen, cache_dir=str(Path(config.out) / "hf_cache"))

    def tokenize(batch):
        return {"ids": tokenizer(batch["text"], add_special_tokens=False, verbose=False)["input_ids"]}

    def pack(batch):
        return {"input_ids": pack_blocks(batch["ids"], tokenizer, config.max_length)}

    ds = ds.map(tokenize, batched=True, remove_columns=["text"], num_proc=min(2, os.cpu_count() or 1))
    ds = ds.map(pack, batched=True, batch_size=200, remove_columns=["ids"])
    ds.save_to_disk(str(cache))
    return Dataset.load_from_disk(str(cache))


def pretrain(config: PretrainConfig, norm: NormalizeConfig | None = None) -> Path:
    """Run (or resume) pretraining; return the folder of the final encoder and tokenizer."""
    from transformers import AutoTokenizer, DataCollatorForWholeWordMask, Trainer, TrainingArguments, set_seed

    norm = norm or NormalizeConfig()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    _check_resume(out, config)
    (out / "pretrain.json").write_text(json.dumps({**asdict(config), "normalize": norm.to_dict()},
                                                  ensure_ascii=False, indent=1))
    set_seed(config.seed)
    tok_dir = out / "tokenizer"
    if config.from_model:
        tokenizer = AutoTokenizer.from_pretrained(config.from_model)
    elif (tok_dir / "tokenizer.json").exists():
        tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    else:
        log.info("training a %d-piece WordPiece tokenizer on %s", config.vocab_size, config.corpus)
        tokenizer = train_tokenizer(normalized_texts(config, norm), config.vocab_size, tok_dir, config.min_frequency)
    dataset = build_dataset(config, tokenizer, norm)
    log.info("%d blocks of %d subwords", len(dataset), config.max_length)
    model = masked_lm_model(config, tokenizer)
    bf16 = _bf16_ok()
    args = TrainingArguments(
        output_dir=str(out / "checkpoints"), max_steps=config.steps, per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate, warmup_ratio=config.warmup_ratio, weight_decay=0.01,
        lr_scheduler_type="linear", save_steps=config.save_steps, save_total_limit=2,
        logging_steps=min(50, max(1, config.steps // 20)),
        report_to=[], seed=config.seed, dataloader_num_workers=0, remove_unused_columns=False,
        # transformers accepts bf16 without a GPU only when told to train on the CPU
        bf16=bf16, use_cpu=bf16 and not _cuda(), disable_tqdm=False)
    collator = DataCollatorForWholeWordMask(tokenizer, mlm_probability=config.mlm_probability)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator)
    resume = any((out / "checkpoints").glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=True if resume else None)
    trainer.state.save_to_json(str(out / "trainer_state.json"))  # losses and wall time, for `promote-encoder`
    final = out / "encoder"
    model.config.hidden_dropout_prob = model.config.attention_probs_dropout_prob = FINE_TUNING_DROPOUT
    trainer.save_model(str(final))
    tokenizer.save_pretrained(final)
    return final


ARCHITECTURE = ("from_model", "vocab_size", "layers", "hidden", "heads", "intermediate", "position")


def _check_resume(out: Path, config: PretrainConfig) -> None:
    """A run that will resume from checkpoints must describe the model they hold, field by field."""
    saved = out / "pretrain.json"
    if not saved.exists() or not any((out / "checkpoints").glob("checkpoint-*")):
        return
    before = json.loads(saved.read_text(encoding="utf-8"))
    for key in ARCHITECTURE:
        if key in before and before[key] != getattr(config, key):
            raise ValueError(f"{saved}: {key} was {before[key]!r}, this run says {getattr(config, key)!r}; "
                             f"resuming needs the same model (pass --{key.replace('_', '-')} {before[key]}, "
                             f"or a new --out)")


def _attention(encoder: str | os.PathLike) -> str | None:
    """Eager attention for relative-position encoders (SDPA has no relative term); the default otherwise."""
    from transformers import AutoConfig

    absolute = getattr(AutoConfig.from_pretrained(encoder), "position_embedding_type", "absolute") == "absolute"
    return None if absolute else "eager"


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _bf16_ok() -> bool:
    """bf16 mixed precision where it is fast: a CUDA GPU that supports it, else a CPU with
    AVX512-BF16 or AMX (0.95 s per step of the compact encoder on a 2-core AMD EPYC, 1.7-1.9 s in fp32)."""
    import torch

    from araie.extractor import cpu_has_bf16

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return cpu_has_bf16()


def masked_lm_blocks(tokenizer, texts: list[str], max_length: int = 128, norm: NormalizeConfig | None = None):
    """Normalise, tokenise and pack `texts` as pretraining does: `[CLS] … [SEP]` blocks of `max_length`."""
    import torch

    norm = norm or NormalizeConfig()
    # whole texts are tokenised, then packed into blocks: no length warning, they are never fed whole
    documents = [tokenizer(normalize(t, norm).text, add_special_tokens=False, verbose=False)["input_ids"]
                 for t in texts]
    blocks = pack_blocks(documents, tokenizer, max_length)
    if not blocks:
        raise ValueError(f"the texts give {sum(len(d) + 1 for d in documents)} subwords, fewer than one block "
                         f"of {max_length}")
    return torch.tensor(blocks)


def whole_word_mask(blocks, tokenizer, probability: float = 0.15, seed: int = 0):
    """Which subwords to mask: words drawn with `probability`, all their pieces; never a special token."""
    import torch

    pieces = tokenizer.convert_ids_to_tokens(blocks.flatten().tolist())
    starts = torch.tensor([not p.startswith("##") for p in pieces]).view(blocks.shape)
    word = starts.long().cumsum(dim=1)  # the word each subword belongs to ([CLS] starts word 1)
    generator = torch.Generator().manual_seed(seed)
    drawn = torch.rand((len(blocks), blocks.shape[1] + 1), generator=generator) < probability
    return torch.gather(drawn, 1, word) & ~torch.isin(blocks, torch.tensor(tokenizer.all_special_ids))


def masked_lm_score(encoder: str | os.PathLike, texts: list[str], mask_probability: float = 0.15,
                    max_length: int = 128, seed: int = 0, norm: NormalizeConfig | None = None) -> dict:
    """Whole-word masked-LM loss and top-1 accuracy of `encoder` on texts it did not train on.

    `blind_loss` is the same encoder's loss when every other subword is masked too (it sees only
    positions): what it knows without context. `loss` below `blind_loss` is what context buys it;
    an encoder stuck at word frequencies gains almost nothing. `unigram_loss` is the loss of guessing
    each masked subword by its frequency in these same texts, a yardstick no context-free model
    trained elsewhere reaches.
    """
    import math

    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(encoder)
    model = AutoModelForMaskedLM.from_pretrained(encoder, attn_implementation=_attention(encoder)).eval()
    blocks = masked_lm_blocks(tokenizer, texts, max_length, norm)
    mask = whole_word_mask(blocks, tokenizer, mask_probability, seed)
    plain = ~torch.isin(blocks, torch.tensor(tokenizer.all_special_ids))
    masked = int(mask.sum())
    if not masked:
        raise ValueError(f"no word was masked in {len(blocks)} block(s): raise --mask-probability or give more text")
    loss, hits = _masked_lm_loss(model, blocks, mask, blocks.masked_fill(mask, tokenizer.mask_token_id))
    blind, _ = _masked_lm_loss(model, blocks, mask, blocks.masked_fill(plain, tokenizer.mask_token_id))
    freq = torch.bincount(blocks[plain], minlength=len(tokenizer)).double()
    freq /= freq.sum()
    return {"encoder": str(encoder), "blocks": len(blocks), "masked": masked, "loss": loss / masked,
            "accuracy": hits / masked, "blind_loss": blind / masked,
            "unigram_loss": -float(freq[blocks[mask]].log().mean()), "vocab_loss": math.log(len(tokenizer))}


def _masked_lm_loss(model, blocks, mask, inputs, rows_per_batch: int = 32) -> tuple[float, int]:
    """Summed cross-entropy and correct top-1 guesses at the `mask` positions of `inputs`."""
    import torch

    loss, hits = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(blocks), rows_per_batch):
            rows = slice(start, start + rows_per_batch)
            logits = model(input_ids=inputs[rows]).logits[mask[rows]].float()
            gold = blocks[rows][mask[rows]]
            loss += float(torch.nn.functional.cross_entropy(logits, gold, reduction="sum"))
            hits += int((logits.argmax(-1) == gold).sum())
    return loss, hits
