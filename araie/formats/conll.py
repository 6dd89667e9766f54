"""CoNLL / IOB2: one token per line with its tag, entities only.

araie writes, per document::

    # id = 000_demo
    # text = "قال المرصد إن 324 مدنياً قتلوا بالجيش\\nحلب"
    # meta = {"source": "authored"}          (only when the record has metadata)
    # entity_ids = ["army", "T2"]             (only when ids are not T1..Tn in text order)
    قال	O
    المرصد	B-ORG
    ...
    ب	O
    الجيش	B-ORG

and a blank line ends the document. `# text` holds the original text JSON-escaped, so newlines,
`\\r\\n` and runs of spaces survive; the reader finds each token in it after skipping whitespace,
so offsets come back exact and the token lines say nothing about spacing.

Clitics: the tokens are not bare whitespace words. A span may start or end inside a whitespace word
(`بالجيش` with the span `الجيش`, guidelines §clitics), which word-level tags cannot carry. The writer
cuts words where araie's normalisation cuts them (proclitic + article, punctuation, Arabic/Latin
runs: the same pre-tokens the model tags, `text/normalize.py`) and, for the few spans that still
start or end inside a piece (`لحلب` → `ل حلب`, glued `حلبمن`), at the span edge too. Cutting by the
normaliser first keeps the token stream independent of the labels in the common cases, so a tagger
trained on the export does not learn "a token split here means an entity". No `glued` marker is
needed: `# text` already says where the whitespace is.

Refused (FormatError): relations (unless `drop_relations=True`), scores (unless `drop_scores=True`),
overlapping entities, entities with whitespace at an edge, type names with whitespace.

The reader also takes plain ANERcorp/Wojood-style files: `token TAG` (space or tab), blank lines
between sentences, optional `-DOCSTART-` lines, BIO (IOB2) or IOB1 tags with any type names. Such a
document's text is its tokens joined by single spaces, sentences joined by `\\n`; one document per
`-DOCSTART-` (or per file without it), with ids `<file stem>_<n>` from 1. A file without
`-DOCSTART-` is one long document, which no train/dev split by document can cut: `doc_size=N`
(`araie convert --doc-size N`) starts a new document every N sentences, and a file read whole with
more than `LONG_DOCUMENT` sentences logs a warning that says so. Type renaming and dropping
(`PERS` → `PER`, `MISC` dropped) is the registry's `type_map` and `drop_types`.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from araie.formats import FormatError
from araie.formats.registry import register
from araie.records import Document, Entity
from araie.text.normalize import normalize

log = logging.getLogger(__name__)
LONG_DOCUMENT = 200  # sentences; a plain file read whole into more than this is worth a warning
_COMMENT = re.compile(r"^# ([a-z_]+) = (.*)$")
_TAG = re.compile(r"^(?:O|[BI]-\S+)$")
_WORD = re.compile(r"\S+")

# (line number, token, tag) as read; offsets come later, from the text.
_TokenLine = tuple[int, str, str]


def _pieces(doc: Document) -> list[tuple[int, int]]:
    """Token spans of `doc.text`: whitespace words cut where the normaliser and the entities cut."""
    offsets = normalize(doc.text).offsets
    # An inserted space has an empty raw span at the raw position it stands before.
    cuts = {s for s, e in zip(offsets.starts, offsets.ends, strict=True) if s == e}
    cuts.update(p for ent in doc.entities for p in (ent.start, ent.end))
    out: list[tuple[int, int]] = []
    for word in _WORD.finditer(doc.text):
        inner = sorted(c for c in cuts if word.start() < c < word.end())
        edges = [word.start(), *inner, word.end()]
        out.extend(zip(edges, edges[1:], strict=False))
    return out


def _check(doc: Document, drop_relations: bool, drop_scores: bool) -> Document:
    where = f"record {doc.id}"
    if doc.relations and not drop_relations:
        raise FormatError(f"CoNLL cannot carry relations; {len(doc.relations)} relation(s) in {where} "
                          "(pass --drop-relations, or drop_relations=True, to drop them)")
    if any(e.score is not None for e in doc.entities):
        if not drop_scores:
            raise FormatError(f"CoNLL cannot carry scores; {where} has scored entities "
                              "(pass drop_scores=True to drop them)")
        doc = replace(doc, entities=tuple(replace(e, score=None) for e in doc.entities))
    if doc.id != doc.id.strip() or len(doc.id.splitlines()) != 1:
        raise FormatError(f"{where}: an id with line breaks or edge spaces cannot go on a '# id' line")
    end = 0
    for e in sorted(doc.entities, key=lambda e: (e.start, e.end)):
        span = doc.text[e.start:e.end] if 0 <= e.start < e.end <= len(doc.text) else None
        if span != e.text:
            raise FormatError(f"{where}: entity {e.id} offsets {e.start}:{e.end} do not match its text {e.text!r}")
        if span != span.strip():
            raise FormatError(f"{where}: entity {e.id} {e.text!r} has whitespace at an edge; tokens cannot carry it")
        if not e.type or _WORD.fullmatch(e.type) is None:
            raise FormatError(f"{where}: entity {e.id} type {e.type!r} is empty or has whitespace")
        if e.start < end:
            raise FormatError(f"{where}: entity {e.id} overlaps another; IOB2 tags cannot nest")
        end = e.end
    return doc


def format_conll(doc: Document, *, drop_relations: bool = False, drop_scores: bool = False) -> str:
    """Render one document as an araie CoNLL block ending with a blank line.

    Example:
        >>> d = Document("d1", "قال بالجيش", (Entity("T1", "ORG", 5, 10, "الجيش"),))
        >>> format_conll(d).splitlines()[2:]
        ['قال\\tO', 'ب\\tO', 'الجيش\\tB-ORG', '']
    """
    doc = _check(doc, drop_relations, drop_scores)
    ents = sorted(doc.entities, key=lambda e: e.start)
    lines = [f"# id = {doc.id}", "# text = " + json.dumps(doc.text, ensure_ascii=False)]
    if doc.meta:
        lines.append("# meta = " + json.dumps(doc.meta, ensure_ascii=False))
    ids = [e.id for e in ents]
    if ids != [f"T{i}" for i in range(1, len(ids) + 1)]:
        lines.append("# entity_ids = " + json.dumps(ids, ensure_ascii=False))
    k = 0
    for start, end in _pieces(doc):
        while k < len(ents) and ents[k].end <= start:
            k += 1
        tag = "O"
        if k < len(ents) and ents[k].start <= start:
            tag = f"{'B' if start == ents[k].start else 'I'}-{ents[k].type}"
        lines.append(f"{doc.text[start:end]}\t{tag}")
    return "\n".join(lines) + "\n\n"


def write_conll(docs: Iterable[Document], path: str | os.PathLike, *, drop_relations: bool = False,
                drop_scores: bool = False) -> int:
    """Write documents as araie CoNLL (see the module docstring); return how many.

    Raises:
        FormatError: a record holds what CoNLL cannot carry; the message names record and entity.
    """
    n = 0
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for doc in docs:
            fh.write(format_conll(doc, drop_relations=drop_relations, drop_scores=drop_scores))
            n += 1
    return n


def _lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FormatError(f"{path}:{number}: not UTF-8 ({exc.reason})") from None
            if number == 1:
                line = line.lstrip("\ufeff")
            # Tokens never hold whitespace, so a trailing \r is only a Windows line end.
            yield number, line.rstrip("\r\n")


def _blocks(path: str | os.PathLike) -> Iterator[list[tuple[int, str]]]:
    """Runs of non-blank lines; a blank line ends a sentence (plain files) or a document (araie)."""
    block: list[tuple[int, str]] = []
    for number, line in _lines(path):
        if line.strip():
            block.append((number, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def _token_line(path: str | os.PathLike, number: int, line: str) -> _TokenLine:
    fields = line.split()
    if len(fields) != 2 or not _TAG.match(fields[1]):
        raise FormatError(f"{path}:{number}: malformed line {line!r}; expected 'TOKEN TAG' with TAG "
                          "O, B-TYPE or I-TYPE")
    return number, fields[0], fields[1]


def _decode(text: str, spans: list[tuple[int, int, str]]) -> list[Entity]:
    """Entities from tagged token spans; `I-X` after `O` or another type opens X (IOB1, lenient IOB2)."""
    found: list[list] = []  # [type, start, end] of each entity in text order
    open_type = None
    for start, end, tag in spans:
        kind, _, etype = tag.partition("-")
        if kind == "O":
            open_type = None
        elif kind == "B" or etype != open_type:
            found.append([etype, start, end])
            open_type = etype
        else:
            found[-1][2] = end
    return [Entity(f"T{i}", t, s, e, text[s:e]) for i, (t, s, e) in enumerate(found, start=1)]


def _read_araie(path: str | os.PathLike, block: list[tuple[int, str]]) -> Document:
    fields: dict[str, tuple[int, str]] = {}
    tokens: list[_TokenLine] = []
    for number, line in block:
        m = _COMMENT.match(line)
        if m:
            fields[m.group(1)] = (number, m.group(2))
        else:
            tokens.append(_token_line(path, number, line))
    first, doc_id = fields["id"]
    if not doc_id.strip():
        raise FormatError(f"{path}:{first}: '# id' is empty")

    def load(key: str, kind: type, default):
        if key not in fields:
            return default
        number, raw = fields[key]
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise FormatError(f"{path}:{number}: record {doc_id}: '# {key}' is not JSON ({exc.msg})") from None
        if not isinstance(value, kind):
            raise FormatError(f"{path}:{number}: record {doc_id}: '# {key}' must be a JSON {kind.__name__}")
        return value

    text = load("text", str, " ".join(t for _, t, _ in tokens))
    spans, pos = [], 0
    for number, token, tag in tokens:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if not text.startswith(token, pos):
            raise FormatError(f"{path}:{number}: record {doc_id}: token {token!r} does not match the text "
                              f"at offset {pos}")
        spans.append((pos, pos + len(token), tag))
        pos += len(token)
    if text[pos:].strip():
        raise FormatError(f"{path}:{first}: record {doc_id}: text goes on after the last token at offset {pos}")
    entities = _decode(text, spans)
    ids = load("entity_ids", list, None)
    if ids is not None:
        if len(ids) != len(entities) or not all(isinstance(i, str) for i in ids):
            raise FormatError(f"{path}:{fields['entity_ids'][0]}: record {doc_id}: '# entity_ids' lists "
                              f"{len(ids)} id(s) for {len(entities)} entities")
        entities = [replace(e, id=i) for e, i in zip(entities, ids, strict=True)]
    return Document(doc_id, text, tuple(entities), (), load("meta", dict, {}))


def _plain_doc(doc_id: str, sentences: list[list[_TokenLine]]) -> Document:
    parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    pos = 0
    for k, sentence in enumerate(sentences):
        for j, (_, token, tag) in enumerate(sentence):
            sep = "\n" if k and not j else " " if j else ""
            pos += len(sep)
            parts.append(sep + token)
            spans.append((pos, pos + len(token), tag))
            pos += len(token)
        # A blank line closes any open entity: a span never crosses a sentence.
        spans.append((pos, pos, "O"))
    text = "".join(parts)
    return Document(doc_id, text, tuple(_decode(text, spans)))


def read_conll(path: str | os.PathLike, doc_size: int | None = None) -> Iterator[Document]:
    """Stream documents from araie CoNLL or a plain ANERcorp/Wojood-style file.

    Args:
        path: the file.
        doc_size: in plain files, start a new document every `doc_size` sentences (and at each
            `-DOCSTART-`); None keeps one document per `-DOCSTART-`, or per file without them.

    Raises:
        FormatError: a malformed line, naming the file and line number.
    """
    if doc_size is not None and doc_size < 1:
        raise FormatError(f"{path}: doc_size must be at least 1 sentence, got {doc_size}")
    stem = Path(path).stem
    sentences: list[list[_TokenLine]] = []
    n_plain = 0

    def flush() -> Iterator[Document]:
        nonlocal n_plain, sentences
        if sentences:
            n_plain += 1
            if doc_size is None and len(sentences) > LONG_DOCUMENT:
                log.warning("%s: document %s_%d holds %d sentences (no -DOCSTART- line ends it); pass "
                            "--doc-size N to cut it into documents of N sentences", path, stem, n_plain,
                            len(sentences))
            yield _plain_doc(f"{stem}_{n_plain}", sentences)
            sentences = []

    for block in _blocks(path):
        if block[0][1].startswith("# id = "):
            yield from flush()
            yield _read_araie(path, block)
            continue
        sentence: list[_TokenLine] = []
        for number, line in block:
            # -DOCSTART- may carry dummy columns (`-DOCSTART- -X- O O`) and need not follow a blank line.
            if line.split()[0] == "-DOCSTART-":
                if sentence:
                    sentences.append(sentence)
                    sentence = []
                yield from flush()
            else:
                sentence.append(_token_line(path, number, line))
        if sentence:
            sentences.append(sentence)
        if doc_size is not None and len(sentences) >= doc_size:
            yield from flush()
    yield from flush()


register("conll", read_conll, write_conll, ".conll")
