"""Span edges that no reader can see: format controls, bidi marks, emoji and controls.

A span such as `حلب\u200f` (a right-to-left mark after the name) or `حلب 😀` looks right on screen
and is wrong as data: two annotators, or a model and its gold, disagree by an invisible character.
Predictions are trimmed to the visible name (`trim_span`); `araie validate` reports such edges
(`edge_character`). Characters inside a span (a ZWNJ inside a word) are left alone.
"""

from __future__ import annotations

import unicodedata

# Format (bidi marks, ZWJ, BOM), controls, symbols (emoji), separators, surrogates, private use, unassigned.
_EDGE_CATEGORIES = {"Cf", "Cc", "So", "Sk", "Zs", "Zl", "Zp", "Cs", "Co", "Cn"}
# Marks that belong to an emoji, never to a letter: variation selectors and the keycap.
_EMOJI_MARKS = {*map(chr, range(0xFE00, 0xFE10)), *map(chr, range(0xE0100, 0xE01F0)), "\u20e3"}


def is_edge_junk(char: str) -> bool:
    """Whether `char` may not stand at a span edge (invisible, a symbol or emoji, or a control)."""
    return (unicodedata.category(char) in _EDGE_CATEGORIES or char in _EMOJI_MARKS
            or char in "\n\r\t")


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """`(start, end)` moved inwards past edge junk; a span of junk alone comes back empty (`start == end`).

    A combining mark is never left at the start, and a letter keeps its diacritics at the end
    (`مدنياً` stays whole).
    """
    while start < end and (is_edge_junk(text[start]) or unicodedata.combining(text[start])):
        start += 1
    while end > start and is_edge_junk(text[end - 1]):
        end -= 1
    return start, end


def edge_character(span: str) -> str | None:
    """A description of the junk character at either edge of `span` (`'ends with U+200F ...'`), or None."""
    for where, char in (("starts", span[:1]), ("ends", span[-1:])):
        if char and is_edge_junk(char) and not char.isspace():
            name = unicodedata.name(char, "unnamed character")
            return f"{where} with U+{ord(char):04X} {name}"
    return None
