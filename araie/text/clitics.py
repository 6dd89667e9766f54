"""Proclitics in corpora that label whole words: move them out of entity spans (`araie convert --strip-clitics`).

The splitting rule itself (`clitic_split_point`, the protected words) lives in `araie/hf/text_araie.py`,
whose docstring explains it, because exported models apply it when they tokenise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace

from araie.hf.text_araie import DEFAULT_PROTECTED, clitic_split_point
from araie.records import Document, Entity

_BARE = re.compile(r"^([وف]?[بكل]|[وف])(?=[\u0621-\u064A]{3,})")



def entity_lexicon(docs: Iterable[Document]) -> set[str]:
    """First words of every entity span (marks removed), the evidence that a name exists without a clitic."""
    from araie.hf.text_araie import _REMOVED

    return {"".join(c for c in e.text.split()[0] if ord(c) not in _REMOVED)
            for d in docs for e in d.entities if e.text.split()}


def strip_entity_clitic(word: str, lexicon: set[str], protected: Iterable[str] = DEFAULT_PROTECTED) -> int:
    """How many leading characters of an entity's first word are proclitics to move out of the span.

    Article forms follow the rule of `clitic_split_point` (`بالجيش` -> 1). A bare clitic before a
    name (`بكردستان`) is moved out only when the rest is itself the first word of an entity elsewhere
    in the corpus (`كردستان`), so names that merely begin with those letters (`بغداد`, `لبنان`,
    `واشنطن`) stay whole.
    """
    cut = clitic_split_point(word, protected)
    if cut:
        return cut
    m = _BARE.match(word)
    for cut in range(m.end() if m else 0, 0, -1):  # longest stack first: وب, then و
        if len(word) - cut >= 3 and word[cut:] in lexicon:
            return cut
    return 0


def strip_clitic_spans(docs: Iterable[Document], lexicon: set[str] | None = None,
                       protected: Iterable[str] = DEFAULT_PROTECTED, counter: dict | None = None
                       ) -> Iterator[Document]:
    """Move leading proclitics out of entity spans; count changed spans in `counter["changed"]`.

    Brings corpora that label whole whitespace words (ANERcorp, Wojood) to the guidelines. Without
    a `lexicon` the documents are read into memory once to build one from their own entities.

    Example:
        `وصل إلى بكردستان ... كردستان` with both labelled GPE: the first span becomes `كردستان`.
    """
    protected = tuple(protected)
    if lexicon is None:
        docs = list(docs)
        lexicon = entity_lexicon(docs)
    for doc in docs:
        entities = []
        for e in doc.entities:
            cut = strip_entity_clitic(e.text.split()[0], lexicon, protected) if e.text.split() else 0
            if cut and cut < len(e.text):
                e = Entity(e.id, e.type, e.start + cut, e.end, e.text[cut:], e.score)
                if counter is not None:
                    counter["changed"] = counter.get("changed", 0) + 1
            entities.append(e)
        yield replace(doc, entities=tuple(entities))
