"""Promote a pretraining run's encoder into the project's `encoders/` folder, small enough for git.

`araie pretrain` writes checkpoints and `<out>/encoder` under the git-ignored `runs/`, which a new
machine does not have. Promotion copies the encoder (masked-LM head included, so `araie mlm-eval`
still scores it) with its tokenizer into a committed folder, weights stored in fp16 (fine-tuning
loads them back in fp32), and writes beside them what produced it: the run's settings, steps,
subwords seen, the training loss, and a card with the corpus licence.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)
STORED_DTYPES = ("float16", "bfloat16", "float32")


def run_summary(encoder: Path) -> dict:
    """What produced `encoder` (an `araie pretrain` output folder's `encoder/`): settings, steps, losses."""
    run = encoder.parent
    summary: dict = {"source": str(encoder)}
    if (run / "pretrain.json").exists():
        summary["pretrain"] = json.loads((run / "pretrain.json").read_text(encoding="utf-8"))
    state = _trainer_state(run)
    if state:
        step = state["global_step"]
        losses = [(h["step"], h["loss"]) for h in state["log_history"] if "loss" in h]
        summary["steps"] = step
        if "pretrain" in summary:
            p = summary["pretrain"]
            summary["sequences_seen"] = step * p["batch_size"]
            summary["subwords_seen"] = step * p["batch_size"] * p["max_length"]
        summary["training_loss"] = {"first": losses[0][1], "last": losses[-1][1],
                                    "by_step": {str(s): loss for s, loss in losses[-10:]}} if losses else None
        runtime = [h["train_runtime"] for h in state["log_history"] if "train_runtime" in h]
        if runtime:
            summary["train_runtime_s"] = round(runtime[-1])
    return summary


def _trainer_state(run: Path) -> dict | None:
    """The final trainer state when the run saved it, else the state of its latest checkpoint."""
    if (run / "trainer_state.json").exists():
        return json.loads((run / "trainer_state.json").read_text(encoding="utf-8"))
    checkpoints = sorted((run / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    if checkpoints and (checkpoints[-1] / "trainer_state.json").exists():
        return json.loads((checkpoints[-1] / "trainer_state.json").read_text(encoding="utf-8"))
    return None


def promote_encoder(encoder: str | os.PathLike, dest: str | os.PathLike, *, force: bool = False,
                    dtype: str = "float16", mlm_eval: dict | None = None) -> Path:
    """Copy a pretrained encoder and its tokenizer into `dest`, weights stored as `dtype`.

    Args:
        encoder: an `araie pretrain` encoder folder (`runs/pretrain/NAME/encoder`).
        dest: the committed folder (`encoders/NAME`); replaced only with `force`.
        dtype: how the weights are stored; fine-tuning loads them in fp32 whatever this is.
        mlm_eval: an `araie mlm-eval --json` result to record in the card and `pretraining.json`.

    Returns:
        `dest`, written beside itself and moved into place only once complete.
    """
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    src, dest = Path(encoder), Path(dest)
    if not (src / "config.json").exists():
        raise FileNotFoundError(f"{src}: no encoder (config.json missing); `araie pretrain --out RUN` writes "
                                f"RUN/encoder when it finishes")
    if dest.exists() and not force:
        raise FileExistsError(f"{dest} exists; pass --force to replace it (git keeps the old one)")
    if dtype not in STORED_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(STORED_DTYPES)}, got {dtype!r}")
    from araie.pretrain import _attention

    model = AutoModelForMaskedLM.from_pretrained(src, attn_implementation=_attention(src))
    tokenizer = AutoTokenizer.from_pretrained(src)
    summary = {**run_summary(src), "parameters": sum(p.numel() for p in model.parameters()), "stored_as": dtype}
    if mlm_eval:
        summary["mlm_eval"] = mlm_eval
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.to(getattr(torch, dtype)).save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    (partial / "pretraining.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n",
                                              encoding="utf-8")
    (partial / "README.md").write_text(encoder_card(dest.name, summary), encoding="utf-8")
    from araie.export import _honour_umask

    _honour_umask(partial)  # safetensors writes weights 0600
    if dest.exists():
        shutil.rmtree(dest)
    partial.rename(dest)
    log.info("promoted %s to %s (%s)", src, dest, dtype)
    return dest


def encoder_card(name: str, summary: dict) -> str:
    """The card of a promoted encoder: what it is, how it was made, its licence."""
    p = summary.get("pretrain", {})
    lines = [f"# {name}: a compact Arabic BERT pretrained by araie", "",
             "A masked-LM encoder for fine-tuning with `araie train` (`model.encoder: encoders/" + name + "`).", ""]
    if p:
        lines += [f"- architecture: {p['layers']} layers, hidden {p['hidden']}, {p['heads']} heads, intermediate "
                  f"{p['intermediate']}, positions `{p['position']}`, vocabulary {p['vocab_size']} WordPiece",
                  f"- pretraining: whole-word masked-LM ({p['mlm_probability']:.0%}), blocks of {p['max_length']} "
                  f"subwords, batch {p['batch_size']}, learning rate {p['learning_rate']}, dropout {p['dropout']}, "
                  f"seed {p['seed']}"]
    if "steps" in summary:
        lines.append(f"- {summary['steps']:,} steps, {summary.get('subwords_seen', 0):,} subwords seen, "
                     f"{summary['parameters']:,} parameters, stored as {summary['stored_as']}")
    loss = summary.get("training_loss")
    if loss:
        lines.append(f"- training loss {loss['first']:.2f} → {loss['last']:.2f}")
    if "train_runtime_s" in summary:
        lines.append(f"- wall time of its last session {summary['train_runtime_s'] / 60:.0f} min (a resumed run "
                     "counts from its last resume)")
    score = summary.get("mlm_eval")
    if score:
        lines.append(f"- held-out masked-LM (`araie mlm-eval ENCODER --data annotations/docs/seeds.jsonl "
                     f"annotations/docs/authored.jsonl`, texts not in the corpus): loss "
                     f"{score['loss']:.3f}, top-1 {score['accuracy']:.3f}, without context {score['blind_loss']:.3f}")
    if p.get("corpus"):
        lines += ["", "```bash", f"araie pretrain --corpus {p['corpus']} --out RUN --vocab-size {p['vocab_size']} "
                  f"--layers {p['layers']} --hidden {p['hidden']} --heads {p['heads']} --intermediate "
                  f"{p['intermediate']} --position {p['position']} --dropout {p['dropout']} --steps {p['steps']}",
                  f"araie promote-encoder RUN/encoder encoders/{name} --force", "```"]
    lines += ["", "## Licence", "",
              "Pretrained on SaudiNewsNet (M. Alhagri, 2015; github.com/parallelfold/SaudiNewsNet), 30,100 Saudi "
              "newspaper articles of July–August 2015, licensed CC BY-NC-SA 4.0: these weights carry the same "
              "terms (non-commercial, share-alike, attribution). The articles' copyright stays with the newspapers.",
              ""]
    return "\n".join(lines)
