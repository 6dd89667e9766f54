"""`araie facts`: predicted mentions merged into entities and facts, for analysts.

Reads records (predictions from any model, or gold annotations) one at a time and writes to a folder:
`entities.csv` (one row per entity), `facts.csv` and `facts.jsonl` (one row per relation instance,
with its date, casualty count, confidence and provenance), `graph.graphml`, `report.html` and its
picture alone, `graph.svg` (`araie.facts_report`). Memory holds one document plus one small record
per distinct entity and per distinct fact; relation instances go to a scratch file and are read
back once, when every entity's canonical name is known.

What merges (the README states the same rules):
- mentions whose keys agree (`araie.facts_arabic.name_key`: same type, same folded spelling, clitics
  and the article of `لل` handled), in one document and across documents;
- inside one document only, where its text supports it: a bare proclitic on a name the document
  also has without it (`وحلب` with `حلب`); an ORG that repeats the first words of exactly one ORG named
  before it (`المرصد` after `المرصد السوري لحقوق الإنسان`); a PER that repeats the last words of exactly
  one PER named before it (`الأسد` after `بشار الأسد`); a name in parentheses right after another of the same
  type (`تنظيم الدولة الإسلامية (داعش)`).
What never merges: different types; places by shared words (`حلب`, `شرق حلب`, `حلب الشرقية`); a short
form that two earlier names share (`الجيش` after `الجيش السوري` and `الجيش الحر`); different actor names
(`النظام`, `قوات النظام`, `الجيش السوري`), which no spelling rule relates. A relation whose two arguments
resolve to one entity (`قوات النظام` attacks `قوات النظام`) is a model error, not a fact, and is dropped.

Confidence: an instance scores `relation × head × tail` (missing scores count as 1); one article
supports a fact with its best instance, and articles combine by noisy-or, `1 − Π(1 − best)`,
so repeating a claim inside one article adds nothing and independent articles add up.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from araie.facts_arabic import (
    after_clitic_lam,
    bare_clitic_names,
    fold,
    name_key,
    parse_count,
    plain,
    reference_date,
    resolve_date,
    surface_name,
)
from araie.hf.windows_araie import sentence_spans
from araie.records import Document, Entity, RecordError, iter_json_lines

log = logging.getLogger(__name__)

VALUE_TYPES = frozenset({"DATE", "TIME", "QUANTITY"})
SYMMETRIC = frozenset({"ALLY_OF"})
FACT_COLUMNS = ("fact_key", "relation", "head", "head_key", "head_type", "tail", "tail_key", "tail_type",
                "date", "date_text", "date_source", "count", "count_text", "score", "confidence", "articles",
                "doc_id", "sentence", "sentence_text", "head_text", "head_start", "head_end",
                "tail_text", "tail_start", "tail_end")
ENTITY_COLUMNS = ("key", "type", "name", "aliases", "mentions", "documents", "facts")


@dataclass(slots=True)
class EntityStats:
    """One real-world entity across the corpus: its spellings and how often it is seen."""

    type: str
    names: Counter = field(default_factory=Counter)  # full names of mentions with this key
    aliases: Counter = field(default_factory=Counter)  # short forms merged into it inside a document
    mentions: int = 0
    documents: int = 0
    facts: int = 0

    def canonical(self) -> str:
        """The most frequent full name; ties go to the longer, then the first in Unicode order."""
        pool = self.names or self.aliases
        return min(pool, key=lambda n: (-pool[n], -len(n), n))

    def alias_list(self) -> list[str]:
        name = self.canonical()
        both = self.names + self.aliases
        return [n for n, _ in sorted(both.items(), key=lambda kv: (-kv[1], kv[0])) if n != name]


@dataclass(slots=True)
class FactStats:
    """One fact (head, relation, tail; for casualties also the count and date) across articles."""

    relation: str
    head: str
    tail: str
    articles: int = 0
    doubt: float = 1.0  # Π(1 − best instance score of each article)
    instances: int = 0
    first_date: str = ""
    last_date: str = ""
    count: int | None = None
    names: tuple[str, str] = ("", "")  # the names of value arguments (a QUANTITY head)
    doc_ids: list[str] = field(default_factory=list)  # the first few supporting articles

    @property
    def confidence(self) -> float:
        return 1.0 - self.doubt


@dataclass(frozen=True, slots=True)
class FactsSummary:
    """What `build_facts` read and wrote."""

    documents: int
    skipped: int
    mentions: int
    entities: int
    instances: int
    facts: int
    out: Path


@dataclass(slots=True)
class FactTable:
    """The running aggregate: distinct entities and facts (bounded by distinct names, not by input)."""

    entities: dict[str, EntityStats] = field(default_factory=dict)
    facts: dict[str, FactStats] = field(default_factory=dict)
    documents: int = 0
    skipped: int = 0
    mentions: int = 0
    instances: int = 0

    def name(self, key: str, fallback: str = "") -> str:
        stats = self.entities.get(key)
        return stats.canonical() if stats else fallback


def read_records(path: str | os.PathLike, table: FactTable | None = None) -> Iterator[Document]:
    """Stream documents from predictions; error records and unreadable lines are counted and skipped."""
    for number, obj in iter_json_lines(path):
        try:
            if isinstance(obj, RecordError):
                raise obj
            if isinstance(obj, dict) and "error" in obj and "text" not in obj:
                raise RecordError(str(obj["error"]), path, number)
            yield Document.from_json(obj, path=path, line=number)
        except RecordError as exc:
            log.warning("skipped: %s", exc)
            if table is not None:
                table.skipped += 1


def build_facts(records: Iterable[Document], out_dir: str | os.PathLike, *, symmetric: Iterable[str] = SYMMETRIC,
                report_rows: int = 1000, graph_nodes: int = 40, table: FactTable | None = None) -> FactsSummary:
    """Merge the mentions of `records` into entities and facts and write every output into `out_dir`.

    Args:
        records: documents with entities and relations (an iterator is read once, streaming).
        out_dir: folder for entities.csv, facts.csv, facts.jsonl, graph.graphml, report.html, graph.svg.
        symmetric: relation types whose head and tail are interchangeable (schema `symmetric`).
        report_rows: the report's table shows this many facts, the best supported first.
        graph_nodes: the report's picture shows this many entities, the most connected first.
        table: an aggregate to fill (`read_records` counts skipped lines into it).

    Example:
        `{"text": "قال المرصد السوري ... سيطرت قوات النظام على حي الشعار", ...}` gives the fact
        `قوات النظام —CONTROLS→ حي الشعار` with the article's date and the sentence it came from.
    """
    from araie.facts_report import write_graphml, write_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = table if table is not None else FactTable()
    symmetric = frozenset(symmetric)
    with tempfile.TemporaryFile("w+", encoding="utf-8", dir=out) as scratch:
        for doc in records:
            for row in _add_document(table, doc, symmetric):
                scratch.write(json.dumps(row, ensure_ascii=False) + "\n")
        scratch.seek(0)
        _write_instances(table, scratch, out)
    _write_entities(table, out / "entities.csv")
    write_graphml(table, out / "graph.graphml")
    write_report(table, out / "report.html", rows=report_rows, nodes=graph_nodes, svg_path=out / "graph.svg")
    return FactsSummary(table.documents, table.skipped, table.mentions, len(table.entities), table.instances,
                        len(table.facts), out)


# --- one document ---------------------------------------------------------------------------------

def resolve_mentions(doc: Document) -> dict[str, tuple[str, str, bool]]:
    """Entity id -> (key, name, merged as a short form) for each actor or place mention of `doc`.

    Example:
        `المرصد السوري لحقوق الإنسان ... وقال المرصد` gives both mentions the key
        `ORG:المرصد السوري لحقوق الانسان`; the second is a short form (alias).
    """
    ents = sorted((e for e in doc.entities if e.type not in VALUE_TYPES and doc.text[e.start:e.end] == e.text),
                  key=lambda e: (e.start, e.end))
    names = {}
    for e in ents:
        before = doc.text[max(0, e.start - 3):e.start]
        before = "ل" if after_clitic_lam(before) else ""  # all the context a name needs: a fuller cache key
        names[e.id] = (surface_name(e.text, before), surface_name(e.text, before, restore_article=False))
    solid = {name_key(e.type, names[e.id][0]) for e in ents if names[e.id][0] == names[e.id][1]}
    resolved: dict[str, tuple[str, str]] = {}
    for e in ents:
        name, bare = names[e.id]
        if name != bare and name_key(e.type, bare) in solid and name_key(e.type, name) not in solid:
            name = bare  # `للبنان` is ل + لبنان when the document names لبنان elsewhere
        for stripped in bare_clitic_names(name):
            if name_key(e.type, stripped) in solid:
                name = stripped  # `وحلب` where the document also names حلب
                break
        resolved[e.id] = (name_key(e.type, name), name)
    return _short_forms(doc.text, ents, resolved)


def _short_forms(text: str, ents: list[Entity], resolved: dict[str, tuple[str, str]]
                 ) -> dict[str, tuple[str, str, bool]]:
    """Join short forms and bracketed aliases to the full name the text introduced before them."""
    bracketed: dict[str, str] = {}
    for a, b in zip(ents, ents[1:], strict=False):
        # parentheses only: quotes also mark scare quotes (`المعارضة «المعتدلة»`), which equate nothing
        if a.type == b.type and text[a.end:b.start].strip() == "(" and text[b.end:b.end + 1] == ")":
            bracketed.setdefault(resolved[b.id][0], resolved[a.id][0])
    seen: dict[str, set[str]] = {}
    out: dict[str, tuple[str, str, bool]] = {}
    for e in ents:
        key, name = resolved[e.id]
        target = bracketed.get(key)
        if target is None and e.type in ("ORG", "PER"):
            # an organisation is shortened to its first words, a person to the last (family name)
            words = _words(key)
            n = len(words)
            cands = {k for k in seen.get(e.type, ())
                     if len(_words(k)) > n and (_words(k)[:n] if e.type == "ORG" else _words(k)[-n:]) == words}
            target = cands.pop() if len(cands) == 1 else None
        if target and target != key:
            out[e.id] = (target, name, True)
        else:
            out[e.id] = (key, name, False)
            seen.setdefault(e.type, set()).add(key)
    return out


def _words(key: str) -> list[str]:
    return key.split(":", 1)[1].split()


def document_instances(doc: Document, symmetric: frozenset[str] = SYMMETRIC,
                       mentions: dict[str, tuple[str, str, bool]] | None = None) -> Iterator[dict]:
    """One row per relation of `doc` whose arguments exist: keys, date, count, score and provenance."""
    mentions = resolve_mentions(doc) if mentions is None else mentions
    ents = {e.id: e for e in doc.entities if doc.text[e.start:e.end] == e.text}
    sentences = sentence_spans(doc.text)
    starts = [s for s, _ in sentences]
    dates = sorted((e for e in ents.values() if e.type == "DATE"), key=lambda e: e.start)
    ref = reference_date(doc.meta)
    if ref is None and dates:  # a dateline with a full date anchors `أمس` and weekdays
        first = resolve_date(dates[0].text)
        ref = dt.date.fromisoformat(first) if first and len(first) == 10 else None
    for r in doc.relations:
        head, tail = ents.get(r.head), ents.get(r.tail)
        if head is None or tail is None:
            log.warning("%s: relation %s names a missing entity; skipped", doc.id, r.id)
            continue
        i = bisect.bisect_right(starts, min(head.start, tail.start)) - 1
        s_start, s_end = sentences[i]
        date, source = _date_for(dates, s_start, s_end, (head.start + tail.start) / 2)
        h_key, h_name = _argument(head, mentions)
        t_key, t_name = _argument(tail, mentions)
        if h_key == t_key:
            log.debug("%s: relation %s links %s to itself; not a fact", doc.id, r.id, h_key)
            continue
        quantity = head if head.type == "QUANTITY" else tail if tail.type == "QUANTITY" else None
        count = parse_count(quantity.text) if quantity else None
        date_iso = resolve_date(date.text, ref) if date else None
        score = 1.0
        for part in (r, head, tail):
            score *= 1.0 if part.score is None else part.score
        yield {
            "fact_key": _fact_key(r.type, h_key, t_key, quantity is not None, count, date_iso, symmetric),
            "relation": r.type, "head_key": h_key, "head_type": head.type, "head_name": h_name,
            "tail_key": t_key, "tail_type": tail.type, "tail_name": t_name,
            "date": date_iso or "", "date_text": date.text if date else "", "date_source": source,
            "count": count, "count_text": quantity.text if quantity else "", "score": score,
            "doc_id": doc.id, "sentence": i, "sentence_text": " ".join(doc.text[s_start:s_end].split()),
            "head_text": head.text, "head_start": head.start, "head_end": head.end,
            "tail_text": tail.text, "tail_start": tail.start, "tail_end": tail.end,
        }


def _argument(e: Entity, mentions: dict[str, tuple[str, str, bool]]) -> tuple[str, str]:
    if e.id in mentions:
        key, name, _ = mentions[e.id]
        return key, name
    name = plain(e.text)
    return f"{e.type}:{fold(name)}", name


def _date_for(dates: list[Entity], s_start: int, s_end: int, at: float) -> tuple[Entity | None, str]:
    """The DATE of the sentence nearest to the relation, else the article's first DATE (its dateline)."""
    inside = [d for d in dates if s_start <= d.start < s_end]
    if inside:
        return min(inside, key=lambda d: abs(d.start - at)), "sentence"
    if dates:
        return dates[0], "article"
    return None, ""


def _fact_key(relation: str, head: str, tail: str, casualty: bool, count: int | None, date: str | None,
              symmetric: frozenset[str]) -> str:
    if relation in symmetric and tail < head:
        head, tail = tail, head
    if casualty:  # a count is one report of one event: the same number, place and day
        return f"{relation}|{head if count is None else count}|{tail}|{date or ''}"
    return f"{head}|{relation}|{tail}"


def _add_document(table: FactTable, doc: Document, symmetric: frozenset[str]) -> list[dict]:
    """Fold one document into the running aggregate; return its relation instances."""
    table.documents += 1
    mentions = resolve_mentions(doc)
    in_doc: set[str] = set()
    for key, name, alias in mentions.values():
        stats = table.entities.get(key)
        if stats is None:
            stats = table.entities[key] = EntityStats(key.split(":", 1)[0])
        (stats.aliases if alias else stats.names)[name] += 1
        stats.mentions += 1
        if key not in in_doc:
            stats.documents += 1
            in_doc.add(key)
    table.mentions += len(mentions)
    best: dict[str, dict] = {}
    rows = list(document_instances(doc, symmetric, mentions))
    for row in rows:
        table.instances += 1
        for key in (row["head_key"], row["tail_key"]):
            if key in table.entities:
                table.entities[key].facts += 1
        if row["fact_key"] not in best or row["score"] > best[row["fact_key"]]["score"]:
            best[row["fact_key"]] = row
        fact = _fact_stats(table, row, symmetric)
        fact.instances += 1
        if row["date"]:
            fact.first_date = min(fact.first_date or row["date"], row["date"])
            fact.last_date = max(fact.last_date, row["date"])
    for key, row in best.items():
        fact = table.facts[key]
        fact.articles += 1
        fact.doubt *= 1.0 - min(max(row["score"], 0.0), 1.0)
        if len(fact.doc_ids) < 3:
            fact.doc_ids.append(doc.id)
    return rows


def _fact_stats(table: FactTable, row: dict, symmetric: frozenset[str]) -> FactStats:
    fact = table.facts.get(row["fact_key"])
    if fact is None:
        head, tail = row["head_key"], row["tail_key"]
        names = (row["head_name"], row["tail_name"])
        if row["relation"] in symmetric and tail < head:
            head, tail, names = tail, head, names[::-1]
        fact = table.facts[row["fact_key"]] = FactStats(row["relation"], head, tail, count=row["count"], names=names)
    return fact


# --- writers --------------------------------------------------------------------------------------

def _write_instances(table: FactTable, scratch, out: Path) -> None:
    """facts.csv and facts.jsonl from the scratch rows, with canonical names and fact confidence."""
    with open(out / "facts.csv", "w", encoding="utf-8", newline="") as fc, \
            open(out / "facts.jsonl", "w", encoding="utf-8") as fj:
        writer = csv.DictWriter(fc, FACT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for line in scratch:
            row = json.loads(line)
            fact = table.facts[row["fact_key"]]
            row["head"] = table.name(row["head_key"], row.pop("head_name"))
            row["tail"] = table.name(row["tail_key"], row.pop("tail_name"))
            row["score"] = round(row["score"], 4)
            row["confidence"] = round(fact.confidence, 4)
            row["articles"] = fact.articles
            row = {k: row[k] for k in FACT_COLUMNS}
            writer.writerow(row)
            fj.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_entities(table: FactTable, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(ENTITY_COLUMNS)
        for key, s in sorted(table.entities.items(), key=lambda kv: (-kv[1].documents, -kv[1].mentions, kv[0])):
            writer.writerow([key, s.type, s.canonical(), " | ".join(s.alias_list()), s.mentions, s.documents, s.facts])


def top_facts(table: FactTable, n: int) -> list[FactStats]:
    """The `n` facts most articles support, then the most confident."""
    return sorted(table.facts.values(), key=lambda f: (-f.articles, -f.confidence, f.head, f.relation, f.tail))[:n]
