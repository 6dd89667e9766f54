"""Offset-preserving Arabic normalisation shipped inside exported models (standard library only).

This file is copied verbatim into every exported folder so that `trust_remote_code` pipelines
normalise exactly as araie does (sentences, windows and decoding are in `windows_araie.py`);
`araie.text` re-exports it.

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
