"""Sentences, windows and span decoding shipped inside exported models (standard library only).

Copied verbatim into every exported folder beside `text_araie.py` (the normaliser), so that
`trust_remote_code` pipelines window a document and decode IOB2 tags to raw-offset spans exactly as
araie does; `araie.text` re-exports it. Sentences are packed into windows of whole sentences with
overlap, each token owned by exactly one window; tags become spans at word level, a span end takes
the diacritics that follow it, and a bare proclitic glued to a known name is left outside the span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text_araie import _REMOVED, CLITIC_STACKS, is_arabic_letter

# --- sentences and windows -------------------------------------------------------------------

_SENTENCE_END = set(".!?؟…")
_CLOSERS = set("»\"')]”’")


def sentence_spans(raw: str) -> list[tuple[int, int]]:
    """Sentence spans of `raw` that together cover every character.

    A sentence ends after `.`, `!`, `?`, `؟` or `…` (with any closing quotes or brackets) when
    whitespace or the end of text follows, so `3.5`, `telegram.me` and `(وكالات).` do not split
    mid-token, and at every line break.

    Example:
        >>> sentence_spans("قال «جيش حلب». وانسحب.\\nالمصدر: RT")
        [(0, 15), (15, 23), (23, 33)]
    """
    spans: list[tuple[int, int]] = []
    start = 0
    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        end = None
        if ch == "\n":
            end = i + 1
        elif ch in _SENTENCE_END:
            j = i + 1
            while j < n and (raw[j] in _SENTENCE_END or raw[j] in _CLOSERS):
                j += 1
            if j == n or raw[j].isspace():
                end = j
        if end is not None:
            while end < n and raw[end].isspace() and raw[end] != "\n":
                end += 1  # trailing spaces belong to the sentence they follow
            if end < n and raw[end] == "\n" and ch != "\n":
                end += 1
            spans.append((start, end))
            start = i = end
            continue
        i += 1
    if start < n:
        spans.append((start, n))
    return spans


@dataclass(frozen=True, slots=True)
class Window:
    """Tokens `[start, end)` go to the model together; tokens `[own_start, own_end)` take its labels."""

    start: int
    end: int
    own_start: int
    own_end: int


def pack_windows(sentences: list[tuple[int, int]], max_tokens: int, overlap: int = 0) -> tuple[list[Window], int]:
    """Pack sentences (token ranges covering `0..n`) into windows of at most `max_tokens` tokens.

    Consecutive windows share up to `overlap` tokens of whole sentences; each shared token is owned
    by the window in which it lies further from the edge (the midpoint of the overlap). A sentence
    longer than a window is cut into window-sized pieces; the number of sentences cut is returned
    with the windows, so nothing is ever truncated silently.
    """
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")
    units: list[tuple[int, int]] = []
    cut = 0
    for s, e in sentences:
        if e - s > max_tokens:
            cut += 1
            units.extend((p, min(p + max_tokens, e)) for p in range(s, e, max_tokens))
        elif e > s:
            units.append((s, e))
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j = i
        while j < len(units) and units[j][1] - units[i][0] <= max_tokens:
            j += 1
        spans.append((units[i][0], units[j - 1][1]))
        if j == len(units):
            break
        k = j
        # step back over whole sentences while they fit in the overlap and the next window still
        # reaches the first sentence this one could not hold
        while (k - 1 > i and units[j - 1][1] - units[k - 1][0] <= overlap
               and units[j][1] - units[k - 1][0] <= max_tokens):
            k -= 1
        i = k
    windows = []
    for n, (s, e) in enumerate(spans):
        own_start = s if n == 0 else (s + spans[n - 1][1] + 1) // 2
        own_end = e if n == len(spans) - 1 else (spans[n + 1][0] + e + 1) // 2
        windows.append(Window(s, e, own_start, own_end))
    return windows, cut


# --- BIO tags to spans -----------------------------------------------------------------------

def bio_to_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """Token spans `(start, end, type)` from IOB2 tags; a stray `I-X` opens a span, as most decoders do.

    Example:
        >>> bio_to_spans(["O", "B-ORG", "I-ORG", "I-GPE", "O", "I-LOC"])
        [(1, 3, 'ORG'), (3, 4, 'GPE'), (5, 6, 'LOC')]
    """
    spans: list[tuple[int, int, str]] = []
    current: list = []
    for i, tag in enumerate(tags):
        prefix, _, etype = tag.partition("-")
        if prefix == "I" and current and current[2] == etype and current[1] == i:
            current[1] = i + 1
            continue
        if current:
            spans.append(tuple(current))
            current = []
        if prefix in ("B", "I"):
            current = [i, i + 1, etype]
    if current:
        spans.append(tuple(current))
    return spans


def extend_over_marks(raw: str, end: int) -> int:
    """Move a raw span end past diacritics and tatweel that follow it (`مدنياً`, not `مدنيا`).

    A fast tokenizer drops removed marks from its offsets when they trail a token; a span must keep
    a letter's diacritics with it, as `OffsetMap.to_raw` does.
    """
    while end < len(raw) and ord(raw[end]) in _REMOVED:
        if raw[end] == "\u0640" and _word_before(raw, end) in CLITIC_STACKS:
            break  # `لـ`: this tatweel ends a clitic and becomes a space, it is no mark of a letter
        end += 1
    return end


def _word_before(raw: str, end: int) -> str:
    start = end
    while start > 0 and is_arabic_letter(raw[start - 1]):
        start -= 1
    return raw[start:end]


def token_sentences(raw: str, offsets: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Token ranges of the sentences of `raw` (every token in exactly one range, in order)."""
    bounds = []
    tok = 0
    n = len(offsets)
    for _, sent_end in sentence_spans(raw):
        first = tok
        while tok < n and offsets[tok][0] < sent_end:
            tok += 1
        if tok > first:
            bounds.append((first, tok))
    if tok < n:
        bounds.append((tok, n))
    return bounds


_BARE_CLITIC = re.compile(r"^(?:[وف]?[بكل]|[وف])")


def bare_clitic_cut(word: str, lexicon) -> int:
    """Leading proclitic letters of `word` to leave out of an entity, judged by a lexicon of names.

    `وتركيا` -> 1 when `تركيا` is known as the first word of an entity; `وزارة` -> 0 (no `زارة`).
    A subword tokenizer often keeps a bare clitic glued to a name (`وحلفاؤها` as `وحلف` + `اؤها`), so
    the model tags the whole token and this rule moves the span start past the clitic.
    """
    m = _BARE_CLITIC.match(word)
    for cut in range(m.end() if m else 0, 0, -1):
        if len(word) - cut >= 2 and word[cut:] in lexicon:
            return cut
    return 0


def _word_at(raw: str, start: int) -> str:
    end = start
    while end < len(raw) and not raw[end].isspace() and (is_arabic_letter(raw[end]) or ord(raw[end]) in _REMOVED):
        end += 1
    return "".join(c for c in raw[start:end] if ord(c) not in _REMOVED)


def decode_entities(raw: str, offsets: list[tuple[int, int]], tags: list[str],
                    scores: list[float] | None = None, lexicon=None) -> list[dict]:
    """Entities `{type, start, end, text, score}` in raw offsets from per-token IOB2 tags.

    With a `lexicon` (names known without clitics), a span that starts a word with a bare proclitic
    starts after it (see `bare_clitic_cut`).
    """
    out = []
    for s, e, etype in bio_to_spans(tags):
        start, end = offsets[s][0], extend_over_marks(raw, offsets[e - 1][1])
        if lexicon and (start == 0 or raw[start - 1].isspace() or not is_arabic_letter(raw[start - 1])):
            cut = bare_clitic_cut(_word_at(raw, start), lexicon)
            while cut and start < end:  # skip the clitic letters and any marks they carry
                start += 1
                cut -= ord(raw[start - 1]) not in _REMOVED
            while start < end and ord(raw[start]) in _REMOVED:
                start += 1
        item = {"type": etype, "start": start, "end": end, "text": raw[start:end]}
        if scores is not None:
            item["score"] = sum(scores[s:e]) / (e - s)
        out.append(item)
    return out


def sentence_index(sentences: list[tuple[int, int]], n_tokens: int) -> list[int]:
    """For each token, the index of its sentence in `token_sentences` output."""
    out = [0] * n_tokens
    for k, (s, e) in enumerate(sentences):
        out[s:e] = [k] * (e - s)
    return out


def candidate_pairs(types: list[str], sentences: list[int], allowed: set[tuple[str, str]]) -> list[tuple[int, int]]:
    """Ordered pairs of span indices that may hold a relation: same sentence, a type pair the schema admits.

    The guidelines annotate relations inside one sentence, so pairs across sentences are never scored.
    """
    return [(h, t) for h in range(len(types)) for t in range(len(types))
            if h != t and sentences[h] == sentences[t] and (types[h], types[t]) in allowed]


def word_level(tags: list[str], word_starts: list[bool]) -> list[str]:
    """Let the first subword of each word decide its tag; the word's other subwords continue it.

    A span then never starts or ends inside a word of the pre-tokeniser (whose words already have
    their proclitics split off), so `جيش العز|ة` or `أح|رار` cannot come out of a weak model.

    Example:
        >>> word_level(["B-ORG", "O", "B-GPE", "I-LOC"], [True, False, True, False])
        ['B-ORG', 'I-ORG', 'B-GPE', 'I-GPE']
    """
    out = list(tags)
    for i in range(1, len(out)):
        if not word_starts[i]:
            prev = out[i - 1]
            out[i] = "O" if prev == "O" else "I-" + prev.split("-", 1)[1]
    return out


def word_starts_of(encoding) -> list[bool]:
    """For each token of a single-text fast-tokenizer encoding, whether it begins a pre-tokenised word."""
    word_ids = encoding.word_ids()
    return [i == 0 or w is None or w != word_ids[i - 1] for i, w in enumerate(word_ids)]
