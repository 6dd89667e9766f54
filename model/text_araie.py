"""Offset-preserving Arabic text processing shipped inside exported models (standard library only).

This file is copied verbatim into every exported folder so that `trust_remote_code` pipelines
normalise, window and decode exactly as araie does; `araie.text` re-exports it.

The model sees normalised text; records keep raw offsets. Every normalised character carries the
raw span it came from, so any normalised span maps back to raw offsets that never cut an original
character (a letter and its diacritics, a presentation-form ligature) in half.

What changes, and why:
- tashkeel, tatweel, Quranic marks, ZWJ/ZWNJ and bidi controls are removed (AraBERT removes them,
  and annotators never place a span edge on them); a removed mark belongs to the character before it;
- presentation forms (`ﻻ`, `ﷲ`) are unfolded by NFKC, Arabic-Indic digits become ASCII digits,
  NBSP, `\\r` and other spaces become a plain space;
- a space is inserted between Arabic letters and runs of Latin letters or digits (`لـRT` -> `ل RT`)
  and around punctuation, as AraBERT's preprocessing does;
- a proclitic glued to the article is split off (`بالجيش` -> `ب الجيش`, `للجيش` -> `ل لجيش`) so a
  token, and so an entity, can start where the guidelines start the span (below).

Clitics: Arabic writes conjunctions (و ف), prepositions (ب ك ل) and their stacks (وب، فل ...) glued to the next
word. The guidelines leave them outside entity spans (`بالجيش السوري` -> `الجيش السوري`), so the
tokens the model tags must be able to start after them. Only the clitic + article forms are split by
rule, because they are unambiguous enough: `[وف]?[بكل]?ال...` and `[وف]?لل...` (ل before the article
drops the alef: `للجيش` = ل + لجيش, and the guidelines start that span at the second ل). A clitic
on a bare noun (`لحلب`, `وحلفاؤها`) is left to the subword tokenizer: splitting every initial و or ل
would break far more words (وزير، لبنان) than it frees.

Words that only look like clitic + article (`والي` governor, `بالغة` considerable, `والد` father,
`فالح` a name) are protected by prefix; the list is configurable and saved with the model.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

DEFAULT_PROTECTED: tuple[str, ...] = (
    "والي", "والد", "بالغ", "فالح", "بالون", "كالسيوم", "بالستي", "بالتيم", "والتر", "فالنسيا", "بالي", "وكال",
)
# Group 1 is the proclitic stack; what follows must keep at least two letters after the article,
# so that short words such as بال (mind) or والي are never split.
_CLITIC_ARTICLE = re.compile(r"^([وف]?[بك]|[وف]?ل(?=ال)|[وف])(ال[\u0621-\u064A]{2,})$")
_CLITIC_LAM = re.compile(r"^([وف]?ل)(ل[\u0621-\u064A]{2,})$")


def clitic_split_point(word: str, protected: Iterable[str] = DEFAULT_PROTECTED) -> int:
    """Length of the proclitic stack to split off `word`, or 0.

    Example:
        >>> clitic_split_point("بالجيش"), clitic_split_point("وللمعارضة"), clitic_split_point("والي")
        (1, 2, 0)
    """
    if any(word.startswith(p) for p in protected):
        return 0
    m = _CLITIC_ARTICLE.match(word) or _CLITIC_LAM.match(word)
    return len(m.group(1)) if m else 0


_REMOVED = set(range(0x0610, 0x061B)) | set(range(0x064B, 0x0660)) | {0x0670, 0x0640}
_REMOVED |= set(range(0x06D6, 0x06EE)) - {0x06E5, 0x06E6}
_REMOVED |= {0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x061C, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
             0x2066, 0x2067, 0x2068, 0x2069, 0xFEFF, 0x00AD}
_DIGITS = {**{0x0660 + i: str(i) for i in range(10)}, **{0x06F0 + i: str(i) for i in range(10)}}


def is_arabic_letter(ch: str) -> bool:
    return "\u0621" <= ch <= "\u064a" or "\u0671" <= ch <= "\u06d3" or "\u06fa" <= ch <= "\u06ff"


def _kind(ch: str) -> str:
    """Character class for spacing: arabic, latin (letters and digits), punct, space or other."""
    if ch.isspace():
        return "space"
    if is_arabic_letter(ch):
        return "arabic"
    if ch.isascii() and ch.isalnum() or ch.isdigit() or ("LATIN" in unicodedata.name(ch, "") and ch.isalpha()):
        return "latin"
    if unicodedata.category(ch)[0] in "PS":
        return "punct"
    return "other"


@dataclass(frozen=True, slots=True)
class NormalizeConfig:
    """Switches of the normalisation; saved in the model config so serving matches training."""

    strip_marks: bool = True
    unfold_forms: bool = True
    space_scripts: bool = True
    space_punct: bool = True
    split_clitics: bool = True
    protected: tuple[str, ...] = DEFAULT_PROTECTED

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in
                ((f, getattr(self, f)) for f in self.__slots__)}

    @classmethod
    def from_dict(cls, data: dict | None) -> NormalizeConfig:
        data = dict(data or {})
        if "protected" in data:
            data["protected"] = tuple(data["protected"])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class OffsetMap:
    """For each normalised character, the raw span `[starts[i], ends[i])` it stands for.

    Inserted spaces have an empty raw span at the position of the next raw character.
    """

    starts: list[int]
    ends: list[int]
    raw_length: int

    def to_raw(self, norm_start: int, norm_end: int) -> tuple[int, int]:
        """Raw offsets of the normalised span `[norm_start, norm_end)`."""
        if not 0 <= norm_start < norm_end <= len(self.starts):
            raise IndexError(f"normalised span {norm_start}:{norm_end} outside 0:{len(self.starts)}")
        return self.starts[norm_start], self.ends[norm_end - 1]

    def to_norm(self, raw_start: int, raw_end: int) -> tuple[int, int]:
        """Normalised offsets of the characters that lie inside the raw span `[raw_start, raw_end)`."""
        i = bisect.bisect_left(self.starts, raw_start)
        while i < len(self.starts) and self.starts[i] == self.ends[i]:
            i += 1  # an inserted space never begins a span
        j = bisect.bisect_right(self.ends, raw_end)
        while j > i and self.starts[j - 1] == self.ends[j - 1]:
            j -= 1
        return i, j


@dataclass(frozen=True, slots=True)
class Normalized:
    text: str
    offsets: OffsetMap = field(repr=False)


_UNFOLDED: dict[str, str] = {}


def _unfold(ch: str) -> str:
    """NFKC of one character without the marks it may bring (`ﱞ` -> ``), cached.

    Unicode control and format characters (Cc, Cf) are dropped as BERT's normaliser drops them.
    """
    out = _UNFOLDED.get(ch)
    if out is None:
        if unicodedata.category(ch) in ("Cc", "Cf"):
            out = ""
        else:
            out = "".join(c for c in unicodedata.normalize("NFKC", ch) if ord(c) not in _REMOVED)
        _UNFOLDED[ch] = out
    return out


def _attach(starts: list[int], ends: list[int], i: int) -> None:
    """A removed raw character `i` belongs to the character before it, and to all that it unfolded to."""
    k = len(ends) - 1
    while k >= 0 and starts[k] == starts[-1]:
        ends[k] = i + 1
        k -= 1


CLITIC_STACKS = ("وب", "وك", "ول", "فب", "فك", "فل", "ب", "ك", "ل", "و", "ف")


def _ends_with_clitic(chars: list[str]) -> bool:
    """Whether the text so far ends with a whole word that is a proclitic stack (`ل`, `وب`)."""
    for stack in CLITIC_STACKS:
        n = len(stack)
        if "".join(chars[-n:]) == stack and (len(chars) == n or not is_arabic_letter(chars[-n - 1])):
            return True
    return False


def _clean(raw: str, config: NormalizeConfig) -> tuple[list[str], list[int], list[int]]:
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(raw):
        code = ord(ch)
        if code == 0x0640 and config.split_clitics and _ends_with_clitic(chars):
            # `لـRT`, `بـقوات`: a tatweel right after a word-initial proclitic marks the clitic's end
            out = " "
        elif config.strip_marks and code in _REMOVED:
            _attach(starts, ends, i)
            continue
        elif code in _DIGITS:
            out = _DIGITS[code]
        elif ch.isspace():
            out = "\n" if ch == "\n" else " "
        elif config.unfold_forms and not ch.isascii():
            out = _unfold(ch)
        else:
            out = ch
        if not out:
            _attach(starts, ends, i)
            continue
        for c in out:
            chars.append(c)
            starts.append(i)
            ends.append(i + 1)
    return chars, starts, ends


def normalize(raw: str, config: NormalizeConfig | None = None) -> Normalized:
    """Normalise `raw` for the model and keep the map back to raw offsets.

    Example:
        >>> n = normalize("قال بالجيش لـRT")
        >>> n.text
        'قال ب الجيش ل RT'
        >>> n.offsets.to_raw(6, 11)
        (5, 10)
    """
    config = config or NormalizeConfig()
    chars, starts, ends = _clean(raw, config)
    kinds = [_kind(c) for c in chars]
    splits = _clitic_splits(chars, kinds, config) if config.split_clitics else set()
    out_c: list[str] = []
    out_s: list[int] = []
    out_e: list[int] = []
    for k, ch in enumerate(chars):
        prev = kinds[k - 1] if k else "space"
        if k in splits or (prev != "space" and kinds[k] != "space" and _needs_space(prev, kinds[k], config)):
            out_c.append(" ")
            out_s.append(starts[k])
            out_e.append(starts[k])
        out_c.append(ch)
        out_s.append(starts[k])
        out_e.append(ends[k])
    return Normalized("".join(out_c), OffsetMap(out_s, out_e, len(raw)))


def _clitic_splits(chars: list[str], kinds: list[str], config: NormalizeConfig) -> set[int]:
    """Positions inside Arabic words where a proclitic ends (a space goes before them)."""
    splits: set[int] = set()
    k = 0
    while k < len(chars):
        if kinds[k] != "arabic":
            k += 1
            continue
        end = k
        while end < len(chars) and kinds[end] == "arabic":
            end += 1
        cut = clitic_split_point("".join(chars[k:end]), config.protected)
        if cut:
            splits.add(k + cut)
        k = end
    return splits


def _needs_space(prev: str, cur: str, config: NormalizeConfig) -> bool:
    if config.space_punct and (prev == "punct") != (cur == "punct"):
        return True
    return config.space_scripts and {prev, cur} == {"arabic", "latin"}


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
