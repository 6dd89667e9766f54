"""`araie facts`: every merge rule, date and count resolution, confidence, outputs, memory and HTML safety."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from araie.facts import FactTable, build_facts, read_records, resolve_mentions
from araie.facts_arabic import name_key, parse_count, resolve_date, surface_name
from araie.facts_report import _SCRIPT
from araie.records import Document, Entity, Relation, read_jsonl

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


def rec(doc_id: str, text: str, spans: list[tuple], relations: tuple = (), **meta) -> Document:
    """A record from `(type, surface, nth occurrence)` spans and `(type, head, tail, score)` relations (indices)."""
    ents = []
    for i, (etype, surface, *nth) in enumerate(spans):
        start = -1
        for _ in range((nth[0] if nth else 0) + 1):
            start = text.index(surface, start + 1)
        ents.append(Entity(f"T{i + 1}", etype, start, start + len(surface), surface, 0.99))
    rels = tuple(Relation(f"R{i + 1}", r[0], f"T{r[1] + 1}", f"T{r[2] + 1}", r[3] if len(r) > 3 else 0.9)
                 for i, r in enumerate(relations))
    return Document(doc_id, text, tuple(ents), rels, meta)


def keys_of(doc: Document) -> list[str]:
    """The key of each entity of `doc`, in span order."""
    resolved = resolve_mentions(doc)
    return [resolved[e.id][0] for e in doc.entities]


def run(docs: list[Document], tmp_path: Path) -> tuple[FactTable, dict[str, dict], list[dict]]:
    table = FactTable()
    build_facts(docs, tmp_path, table=table)
    with open(tmp_path / "entities.csv", encoding="utf-8") as fh:
        entities = {row["key"]: row for row in csv.DictReader(fh)}
    with open(tmp_path / "facts.csv", encoding="utf-8") as fh:
        facts = list(csv.DictReader(fh))
    return table, entities, facts


# --- keys: what spelling variation merges ----------------------------------------------------------

@pytest.mark.parametrize(("a", "b"), [
    ("إدلب", "ادلب"), ("أدلب", "ادلب"), ("آل سعود", "ال سعود"),     # hamza and madda on alef
    ("الرقة", "الرقه"), ("مصطفى", "مصطفي"),                          # taa marbuta/haa, alef maqsura/yaa
    ("سوريا", "سورية"), ("روسيا", "روسية"),                            # the two spellings of a country
    ("حَلَب", "حلب"), ("حلـــب", "حلب"),                               # tashkeel and tatweel
    ("رامي عبد الرحمن", "رامي عبدالرحمن"),                            # عبد written apart or joined
    ("بالجيش السوري", "الجيش السوري"), ("والمعارضة", "المعارضة"),     # a proclitic glued to the article
    ("١٢ حيا", "12 حيا"),                                              # Arabic-Indic digits
])
def test_spelling_variants_share_a_key(a, b):
    assert name_key("GPE", surface_name(a)) == name_key("GPE", surface_name(b))


@pytest.mark.parametrize(("a", "b"), [
    ("النظام", "قوات النظام"), ("النظام", "الجيش السوري"), ("قوات النظام", "الجيش السوري"),
    ("حلب", "شرق حلب"), ("حلب", "حلب الشرقية"), ("الحكومة", "حكومة"),
])
def test_different_names_never_share_a_key(a, b):
    assert name_key("ORG", surface_name(a)) != name_key("ORG", surface_name(b))


def test_types_never_merge():
    assert name_key("GPE", "حلب") != name_key("LOC", "حلب")


def test_the_article_that_lam_swallowed_comes_back():
    # the guidelines span `للحكومة` as `لحكومة` (ل + الحكومة): the name is الحكومة
    doc = rec("d", "أهم مكسب للحكومة السورية. قالت الحكومة السورية",
              [("ORG", "لحكومة السورية"), ("ORG", "الحكومة السورية")])
    assert keys_of(doc) == ["ORG:الحكومه السوريه"] * 2
    assert surface_name("للحكومة") == "الحكومة"  # a span that kept the clitic
    assert surface_name("وللمعارضة") == "المعارضة"


def test_lam_before_a_name_with_its_own_lam_when_the_document_says_so():
    # `للبنان` is ل + لبنان; the document names لبنان elsewhere, and nothing called البنان
    doc = rec("d", "زار لبنان. وقدم دعما للبنان", [("GPE", "لبنان"), ("GPE", "لبنان", 1)])
    assert keys_of(doc) == ["GPE:لبنان", "GPE:لبنان"]


def test_designators_of_towns_drop():
    assert name_key("GPE", surface_name("مدينة حلب")) == name_key("GPE", "حلب")
    assert name_key("ORG", surface_name("مدينة حلب")) != name_key("ORG", "حلب")


# --- inside one document: short forms and aliases that the text supports --------------------------

def test_a_later_short_form_joins_the_full_name():
    text = "قال المرصد السوري لحقوق الإنسان إن 12 مدنيا قتلوا. وأضاف المرصد أن القصف مستمر"
    doc = rec("d", text, [("ORG", "المرصد السوري لحقوق الإنسان"), ("ORG", "المرصد", 1)])
    resolved = resolve_mentions(doc)
    assert resolved["T2"] == ("ORG:المرصد السوري لحقوق الانسان", "المرصد", True)


def test_a_short_form_alone_or_before_the_full_name_stays_apart():
    before = rec("d", "وأضاف المرصد. قال المرصد السوري لحقوق الإنسان",
                 [("ORG", "المرصد"), ("ORG", "المرصد السوري لحقوق الإنسان")])
    assert keys_of(before) == ["ORG:المرصد", "ORG:المرصد السوري لحقوق الانسان"]


def test_an_ambiguous_short_form_stays_apart():
    text = "اشتبك الجيش السوري مع الجيش الحر. وقال الجيش"
    doc = rec("d", text, [("ORG", "الجيش السوري"), ("ORG", "الجيش الحر"), ("ORG", "الجيش", 2)])
    assert keys_of(doc)[2] == "ORG:الجيش"


def test_regime_forces_and_army_stay_apart_in_one_document():
    text = "قال النظام إن قوات النظام والجيش السوري تقدمت"
    doc = rec("d", text, [("ORG", "النظام"), ("ORG", "قوات النظام"), ("ORG", "الجيش السوري")])
    assert len(set(keys_of(doc))) == 3


def test_a_person_is_shortened_to_the_family_name():
    doc = rec("d", "قال بشار الأسد. وأضاف الأسد", [("PER", "بشار الأسد"), ("PER", "الأسد", 1)])
    assert keys_of(doc) == ["PER:بشار الاسد"] * 2


def test_places_do_not_merge_by_shared_words():
    doc = rec("d", "في حلب الشرقية. وفي حلب", [("GPE", "حلب الشرقية"), ("GPE", "حلب", 1)])
    assert keys_of(doc) == ["GPE:حلب الشرقيه", "GPE:حلب"]


def test_a_name_in_parentheses_is_an_alias():
    doc = rec("d", "هاجم تنظيم الدولة الإسلامية (داعش) المدينة. وانسحب داعش",
              [("ORG", "تنظيم الدولة الإسلامية"), ("ORG", "داعش"), ("ORG", "داعش", 1)])
    assert len(set(keys_of(doc))) == 1
    scare = rec("d", "دعم المعارضة «المعتدلة»", [("ORG", "المعارضة"), ("ORG", "المعتدلة")])
    assert len(set(keys_of(scare))) == 2  # quotes equate nothing


def test_a_bare_clitic_goes_when_the_document_names_the_place_without_it():
    doc = rec("d", "قصف حلب. وحلب محاصرة", [("GPE", "حلب"), ("GPE", "وحلب")])
    assert keys_of(doc) == ["GPE:حلب", "GPE:حلب"]
    alone = rec("d", "وحلب محاصرة", [("GPE", "وحلب")])
    assert keys_of(alone) == ["GPE:وحلب"]  # وحلب alone could be a name: keep it


def test_short_forms_merge_only_inside_their_document(tmp_path):
    docs = [rec("a", "قال المرصد السوري لحقوق الإنسان. وأضاف المرصد",
                [("ORG", "المرصد السوري لحقوق الإنسان"), ("ORG", "المرصد", 1)]),
            rec("b", "قال المرصد إن", [("ORG", "المرصد")])]
    _, entities, _ = run(docs, tmp_path)
    full = entities["ORG:المرصد السوري لحقوق الانسان"]
    assert (full["mentions"], full["documents"], full["aliases"]) == ("2", "1", "المرصد")
    assert entities["ORG:المرصد"]["documents"] == "1"


def test_entities_merge_across_documents_with_canonical_name_and_aliases(tmp_path):
    docs = [rec("a", "في سوريا", [("GPE", "سوريا")]), rec("b", "في سوريا", [("GPE", "سوريا")]),
            rec("c", "في سورية", [("GPE", "سورية")]), rec("d", "مكسب للحكومة", [("ORG", "لحكومة")]),
            rec("e", "قالت الحكومة", [("ORG", "الحكومة")])]
    _, entities, _ = run(docs, tmp_path)
    syria = entities["GPE:سوريه"]
    assert (syria["name"], syria["aliases"], syria["mentions"], syria["documents"]) == ("سوريا", "سورية", "3", "3")
    assert entities["ORG:الحكومه"]["documents"] == "2"


# --- facts: confidence, symmetry, provenance --------------------------------------------------------

def control(doc_id: str, score: float, times: int = 1) -> Document:
    text = " ".join(["سيطرت قوات النظام على حي الشعار."] * times)
    spans = [s for i in range(times) for s in (("ORG", "قوات النظام", i), ("LOC", "حي الشعار", i))]
    return rec(doc_id, text, spans, [("CONTROLS", 2 * i, 2 * i + 1, score) for i in range(times)])


def test_articles_combine_by_noisy_or_and_one_article_counts_once(tmp_path):
    table, _, facts = run([control("a", 0.5), control("b", 0.5), control("c", 0.5, times=2)], tmp_path)
    (fact,) = table.facts.values()
    assert fact.articles == 3 and fact.instances == 4
    # each instance scores relation × head × tail = 0.5 × 0.99 × 0.99; article c counts once
    p = 0.5 * 0.99 * 0.99
    assert fact.confidence == pytest.approx(1 - (1 - p) ** 3, abs=1e-3)
    assert {r["confidence"] for r in facts} == {str(round(1 - (1 - p) ** 3, 4))}


def test_symmetric_relations_merge_either_way(tmp_path):
    docs = [rec("a", "تحالف حزب الله مع النظام", [("ORG", "حزب الله"), ("ORG", "النظام")], [("ALLY_OF", 0, 1)]),
            rec("b", "تحالف النظام مع حزب الله", [("ORG", "النظام"), ("ORG", "حزب الله")], [("ALLY_OF", 0, 1)])]
    table, _, _ = run(docs, tmp_path)
    assert [f.articles for f in table.facts.values()] == [2]


def test_a_relation_from_an_entity_to_itself_is_not_a_fact(tmp_path):
    doc = rec("a", "قال النظام السوري إن النظام", [("ORG", "النظام السوري"), ("ORG", "النظام", 1)],
              [("ATTACKS", 0, 1)])
    table, _, facts = run([doc], tmp_path)
    assert facts == [] and table.facts == {}


def test_provenance_points_at_the_arguments(tmp_path):
    doc = control("a", 0.9, times=2)
    _, _, facts = run([doc], tmp_path)
    assert [r["sentence"] for r in facts] == ["0", "1"]
    for r in facts:
        assert doc.text[int(r["head_start"]):int(r["head_end"])] == r["head_text"] == "قوات النظام"
        assert doc.text[int(r["tail_start"]):int(r["tail_end"])] == r["tail_text"] == "حي الشعار"
        assert r["sentence_text"] == "سيطرت قوات النظام على حي الشعار."
    lines = (tmp_path / "facts.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["head_start"] for x in lines] == [int(r["head_start"]) for r in facts]


# --- dates ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "ref", "iso"), [
    ("15 يوليو 2015", None, "2015-07-15"),
    ("15 تموز 2015", None, "2015-07-15"),
    ("١٥ تموز/يوليو ٢٠١٥", None, "2015-07-15"),
    ("الأربعاء 7 ديسمبر/كانون الأول", dt.date(2016, 12, 8), "2016-12-07"),
    ("15 تشرين الثاني/ نوفمبر", dt.date(2016, 11, 20), "2016-11-15"),
    ("28 كانون الأول", dt.date(2016, 1, 3), "2015-12-28"),       # the year before a January article
    ("يوم الثلاثاء", dt.date(2015, 7, 16), "2015-07-14"),         # the 16th was a Thursday
    ("الثلاثاء", dt.date(2015, 7, 14), "2015-07-14"),
    ("الخميس المقبل", dt.date(2015, 7, 16), "2015-07-23"),
    ("أمس", dt.date(2015, 7, 16), "2015-07-15"),
    ("اليوم (الاثنين)", dt.date(2015, 7, 21), "2015-07-20"),
    ("تموز 2015", None, "2015-07"),
    ("عام 2015", None, "2015"),
    ("يوم الثلاثاء", None, None),                                  # no article date: kept as text
    ("سبتمبر أيلول", None, None),
    ("منتصف الشهر", dt.date(2015, 7, 16), None),
])
def test_dates_resolve_to_iso_where_text_and_article_date_allow(text, ref, iso):
    assert resolve_date(text, ref) == iso


def test_a_fact_takes_its_sentence_date_else_the_articles_first_date(tmp_path):
    text = "دمشق 15 يوليو 2015\nسيطرت قوات النظام يوم الثلاثاء على حي الشعار. وقصف الجيش السوري حي الصاخور."
    doc = rec("a", text, [("DATE", "15 يوليو 2015"), ("ORG", "قوات النظام"), ("DATE", "يوم الثلاثاء"),
                          ("LOC", "حي الشعار"), ("ORG", "الجيش السوري"), ("LOC", "حي الصاخور")],
              [("CONTROLS", 1, 3), ("ATTACKS", 4, 5)], date_extracted="2015-07-16 02:00:00")
    _, _, facts = run([doc], tmp_path)
    assert [(r["date"], r["date_text"], r["date_source"]) for r in facts] == [
        ("2015-07-14", "يوم الثلاثاء", "sentence"), ("2015-07-15", "15 يوليو 2015", "article")]


def test_without_an_article_date_a_full_dateline_anchors_weekdays(tmp_path):
    text = "حلب 16 يوليو 2015\nسيطرت قوات النظام يوم الثلاثاء على حي الشعار"
    doc = rec("a", text, [("DATE", "16 يوليو 2015"), ("ORG", "قوات النظام"), ("DATE", "يوم الثلاثاء"),
                          ("LOC", "حي الشعار")], [("CONTROLS", 1, 3)])
    _, _, facts = run([doc], tmp_path)
    assert facts[0]["date"] == "2015-07-14"


# --- counts ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "count"), [
    ("12 مدنياً", 12), ("١٢ مدنيا", 12), ("ثلاثة جنود", 3), ("سبعة عناصر", 7), ("خمسة وعشرون شخصا", 25),
    ("أحد عشر جنديا", 11), ("مئة وخمسون مدنيا", 150), ("ثلاثة آلاف نازح", 3000), ("275 ألف شخص", 275000),
    ("1,200 مدني", 1200), ("أكثر من 300 مدني", 300), ("عشرات المسلحين", None), ("العشرات", None),
    ("آلاف المدنيين", None), ("مدنيين", None),
])
def test_casualty_counts_become_numbers_or_stay_text(text, count):
    assert parse_count(text) == count


def test_casualty_reports_merge_on_count_place_and_day(tmp_path):
    def report(doc_id: str, text: str) -> Document:
        return rec(doc_id, text, [("QUANTITY", text.split(" في ")[0].split("قتل ")[1]), ("GPE", "حلب"),
                                  ("DATE", "15 يوليو 2015")], [("CASUALTIES_AT", 0, 1)])
    docs = [report("a", "قتل 12 مدنياً في حلب يوم 15 يوليو 2015"), report("b", "قتل ١٢ مدنيا في حلب يوم 15 يوليو 2015"),
            report("c", "قتل عشرات المدنيين في حلب يوم 15 يوليو 2015")]
    table, _, facts = run(docs, tmp_path)
    assert [(r["count"], r["count_text"]) for r in facts] == [("12", "12 مدنياً"), ("12", "١٢ مدنيا"),
                                                              ("", "عشرات المدنيين")]
    assert sorted(f.articles for f in table.facts.values()) == [1, 2]


# --- outputs, streaming, the CLI -------------------------------------------------------------------

def test_gold_seed_articles_give_every_output_and_networkx_reads_the_graph(tmp_path):
    nx = pytest.importorskip("networkx")
    table = FactTable()
    summary = build_facts(read_jsonl(ROOT / "annotations/docs/seeds.jsonl"), tmp_path, table=table)
    assert summary.documents == 5 and summary.facts > 100
    for name in ("entities.csv", "facts.csv", "facts.jsonl", "graph.graphml", "report.html", "graph.svg"):
        assert (tmp_path / name).stat().st_size > 0
    graph = nx.read_graphml(tmp_path / "graph.graphml")
    assert graph.nodes["ORG:المرصد السوري لحقوق الانسان"]["name"] == "المرصد السوري لحقوق الإنسان"
    assert all(d["weight"] >= 1 and d["relation"] for _, _, d in graph.edges(data=True))
    counts = {int(r["count"]) for r in csv.DictReader(open(tmp_path / "facts.csv", encoding="utf-8")) if r["count"]}
    assert 324 in counts


def generated(n: int):
    """`n` small records, made one at a time (nothing holds them all): 30 actors, 200 places, 2 relations each."""
    for i in range(n):
        actor, place, count = f"كتيبة {i % 30}", f"قرية {i % 200}", f"{i % 50 + 2} مدنيا"
        text = f"هاجمت {actor} {place} وقتل {count} يوم الثلاثاء."
        yield rec(f"g{i}", text, [("ORG", actor), ("LOC", place), ("QUANTITY", count), ("DATE", "يوم الثلاثاء")],
                  [("ATTACKS", 0, 1), ("CASUALTIES_AT", 2, 1)], date_extracted="2015-07-16")


# VmHWM, not ru_maxrss: a child forked from a pytest that loaded torch keeps the parent's ru_maxrss across exec
_CHILD = """
import re, sys
from araie.facts import build_facts
from tests.test_facts import generated
n, out, hold = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "hold"
summary = build_facts(list(generated(n)) if hold else generated(n), out)
assert summary.instances == 2 * n
print(re.search(r"VmHWM:\\s*(\\d+) kB", open("/proc/self/status").read()).group(1))
"""


def peak_rss_kb(n: int, out: Path, hold: bool = False) -> int:
    """Peak resident memory of a fresh process that runs `build_facts` on `n` generated records."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(n), str(out), "hold" if hold else "stream"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from Linux /proc")
def test_memory_stays_bounded_as_the_input_grows(tmp_path):
    # Peak RSS of a fresh process (tracemalloc slowed these 20,000 records sevenfold): 20 times the
    # input costs under 8 MB more, while holding the same records in a list, as a non-streaming
    # reader would, costs several times that, so the probe can tell the two apart.
    small, large = peak_rss_kb(1_000, tmp_path / "small"), peak_rss_kb(20_000, tmp_path / "large")
    held = peak_rss_kb(20_000, tmp_path / "held", hold=True)
    assert large - small < 8 * 1024, (small, large)
    assert held - large > 2 * (large - small) + 8 * 1024, (small, large, held)


def test_cli_writes_the_folder_and_prints_the_best_supported_facts(tmp_path, capsys):
    from araie.cli import main  # here: the CLI module loads the extractor, which the memory probe must not

    preds = tmp_path / "preds.jsonl"
    lines = [json.dumps(d.to_json(), ensure_ascii=False) for d in (control("a", 0.9), control("b", 0.8))]
    preds.write_text("\n".join([*lines, '{"id": "x", "line": 3, "error": "bad"}', "not json"]) + "\n", encoding="utf-8")
    assert main(["facts", str(preds), "--out", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert out.split("\t")[:5] == ["2", "0.97", "قوات النظام", "CONTROLS", "حي الشعار"]
    assert "2 document(s) (2 skipped)" in err
    assert main(["facts", str(preds), "--out", str(tmp_path / "out")]) == 2  # refuses to overwrite
    assert main(["facts", str(preds), "--out", str(tmp_path / "out"), "--force"]) == 0


def test_read_records_counts_what_it_skips(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "a", "text": "x"}\n{"id": "b", "error": "boom"}\n{\n', encoding="utf-8")
    table = FactTable()
    assert [d.id for d in read_records(path, table)] == ["a"] and table.skipped == 2


# --- the report: escaped, self-contained, rendered ------------------------------------------------

# edge punctuation is not part of a name (`«جيش حلب»`), so the markup sits inside the names
EVIL = ["جيش<script>alert(1)</script>حلب", "جيش<img src=x onerror=alert(2)>حلب", 'جيش"><svg onload=alert(3)>حلب',
        "جيش & ' \" حلب"]
ALLOWED = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "span", "figure", "figcaption", "i",
           "svg", "defs", "marker", "path", "rect", "line", "g", "circle", "text", "div", "input", "select",
           "option", "label", "table", "thead", "tbody", "tr", "th", "td", "bdi", "script"}


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.data, self.scripts, self._in_script = [], [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        (self.scripts if self._in_script else self.data).append(data)


def evil_report(tmp_path: Path) -> Path:
    docs = []
    for i, name in enumerate(EVIL):
        text = f"هاجمت {name} مدينة حلب"
        docs.append(rec(f"d{i}<b>", text, [("ORG", name), ("GPE", "مدينة حلب")], [("ATTACKS", 0, 1)]))
    build_facts(docs, tmp_path)
    return tmp_path / "report.html"


def test_every_value_in_the_report_is_escaped(tmp_path):
    page = evil_report(tmp_path).read_text(encoding="utf-8")
    parser = _Collect()
    parser.feed(page)
    assert set(parser.tags) <= ALLOWED, set(parser.tags) - ALLOWED
    assert parser.tags.count("script") == 1 and "".join(parser.scripts) == _SCRIPT
    assert not [a for a, _ in parser.attrs if a.startswith("on")]
    assert not [v for a, v in parser.attrs if a in ("src", "href") and v]
    text = "".join(parser.data)
    for name in EVIL:
        assert name in text  # shown to the reader as text, not run
    assert "d0<b>" in text


def test_the_graphml_keeps_hostile_names_as_data(tmp_path):
    nx = pytest.importorskip("networkx")
    evil_report(tmp_path)
    graph = nx.read_graphml(tmp_path / "graph.graphml")
    assert {d["name"] for _, d in graph.nodes(data=True)} == {*EVIL, "مدينة حلب"}


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_the_report_renders_and_filters_in_a_real_headless_browser(tmp_path):
    table = FactTable()
    build_facts(read_jsonl(ROOT / "annotations/docs/seeds.jsonl"), tmp_path, table=table)
    page = (tmp_path / "report.html").as_uri()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page], capture_output=True, text=True, timeout=120).stdout
    assert 'data-ready="1"' in dom  # the filter script ran without an error
    png = tmp_path / "page.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={png}", "--window-size=1000,900", page],
                   capture_output=True, timeout=120)
    blank = tmp_path / "blank.html"
    blank.write_text('<!DOCTYPE html><html dir="rtl"><body></body></html>', encoding="utf-8")
    subprocess.run([CHROMIUM, *flags, f"--screenshot={tmp_path / 'blank.png'}", "--window-size=1000,900",
                    blank.as_uri()], capture_output=True, timeout=120)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 5 * (tmp_path / "blank.png").stat().st_size


_DOM = """
var listeners = [];
function el(v) { return {value: v, textContent: '', addEventListener: function (e, f) { listeners.push(f); }}; }
var els = {q: el('ادلب'), rel: el(''), min: el('1'), shown: el('')};
var rows = [{textContent: 'قوات النظام CONTROLS إدلب', dataset: {relation: 'CONTROLS', articles: '3'}},
            {textContent: 'داعش ATTACKS حلب', dataset: {relation: 'ATTACKS', articles: '1'}}];
var document = {getElementById: function (i) { return els[i]; }, querySelectorAll: function () { return rows; },
                body: {dataset: {}}};
function state() { return els.shown.textContent + ':' + rows.map(function (r) { return r.hidden ? 0 : 1; }).join(''); }
"""
_CHECK = """
var out = [state(), document.body.dataset.ready];
els.q.value = ''; els.min.value = '2'; listeners[0](); out.push(state());
els.min.value = '1'; els.rel.value = 'ATTACKS'; listeners[1](); out.push(state());
console.log(out.join(' '));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_filter_script_folds_spelling_and_filters_by_relation_and_articles(tmp_path):
    # a stand-in for the DOM: the script's own logic, where no browser is installed
    script = tmp_path / "filter.js"
    script.write_text(_DOM + _SCRIPT + _CHECK, encoding="utf-8")
    done = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["1:10", "1", "1:10", "1:01"], done.stderr
