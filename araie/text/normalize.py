"""Offset-preserving normalisation (AraBERT v0.2 conventions), in two equivalent forms.

`normalize` is the reference: a string in, the normalised string and an `OffsetMap` back to raw
offsets out. It prepares pretraining text and documents the rules (it lives in
`araie/hf/text_araie.py`, which exported models ship). `install_normalizer` writes the same rules into
a fast tokenizer's own normaliser and pre-tokeniser, so every consumer of the saved tokenizer (araie,
the stock `transformers` pipeline, ONNX serving) tokenises raw text exactly as the model was trained
and gets offsets into the raw text for free. A test holds the two forms to the same tokens.
"""

from __future__ import annotations

import re

from araie.hf.text_araie import (
    _REMOVED,
    CLITIC_STACKS,
    NormalizeConfig,
    Normalized,
    OffsetMap,
    is_arabic_letter,
    normalize,
)

__all__ = ["NormalizeConfig", "Normalized", "OffsetMap", "install_normalizer", "is_arabic_letter", "normalize",
           "MARKS_PATTERN"]


def _ranges(codes: set[int]) -> str:
    codes_sorted = sorted(c for c in codes if c > 0x7F)
    parts, start, prev = [], None, None
    for c in codes_sorted:
        if start is None:
            start = prev = c
        elif c == prev + 1:
            prev = c
        else:
            parts.append((start, prev))
            start = prev = c
    if start is not None:
        parts.append((start, prev))
    return "".join(f"\\x{{{a:04X}}}" if a == b else f"\\x{{{a:04X}}}-\\x{{{b:04X}}}" for a, b in parts)


MARKS_PATTERN = f"[{_ranges(_REMOVED)}]"
_ARABIC = r"\x{0621}-\x{064A}"


def clitic_pattern(protected: tuple[str, ...]) -> str:
    """The clitic rule of `clitic_split_point` as one Oniguruma regex over a pre-token."""
    guard = f"(?!(?:{'|'.join(map(re.escape, protected))}))" if protected else ""
    return (f"^{guard}(?:[وف]?[بك]|[وف]?ل(?=ال)|[وف])(?=ال[{_ARABIC}]{{2,}}$)"
            f"|^{guard}[وف]?ل(?=ل[{_ARABIC}]{{2,}}$)")


def install_normalizer(tokenizer, config: NormalizeConfig | None = None):
    """Put araie's normalisation inside a fast tokenizer (in place) and return it.

    Works for any `PreTrainedTokenizerFast` whose model is WordPiece-like (AraBERT's included): the
    tokenizer's own normaliser and pre-tokeniser run after araie's steps.
    """
    from tokenizers import Regex, normalizers, pre_tokenizers

    config = config or NormalizeConfig()
    backend = tokenizer.backend_tokenizer
    steps = []
    if config.split_clitics:  # `لـRT`: the tatweel after a proclitic becomes the space that ends it
        # replace the tatweel alone (1:1), so the clitic keeps its own offsets
        steps += [normalizers.Replace(Regex(f"(?<=^{stack}|[^{_ARABIC}]{stack})\\x{{0640}}"), " ")
                  for stack in CLITIC_STACKS]
    if config.strip_marks:
        steps.append(normalizers.Replace(Regex(MARKS_PATTERN), ""))
    steps += [normalizers.Replace(chr(base + i), str(i)) for base in (0x0660, 0x06F0) for i in range(10)]
    if config.unfold_forms:
        steps += [normalizers.NFKC(), normalizers.Replace(Regex(MARKS_PATTERN), "")]
    if backend.normalizer is not None:
        steps.append(backend.normalizer)
    backend.normalizer = normalizers.Sequence(steps)
    pre = [backend.pre_tokenizer or pre_tokenizers.BertPreTokenizer()]
    if config.space_scripts:
        pre.append(pre_tokenizers.Split(Regex(r"[A-Za-z0-9\x{00C0}-\x{024F}]+"), "isolated"))
    if config.split_clitics:
        pre.append(pre_tokenizers.Split(Regex(clitic_pattern(config.protected)), "isolated"))
    backend.pre_tokenizer = pre_tokenizers.Sequence(pre)
    return tokenizer
