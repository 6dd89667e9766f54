"""Issue 16 item 3: every value in the HTML view is escaped; no injected tag survives."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from araie.cli import main
from araie.formats.html import render_document
from araie.records import Document, Entity, Relation

PAYLOAD = '"><img src=x onerror=alert(1)>'
ALLOWED = {"article", "h2", "div", "mark", "sub", "table", "tr", "th", "td", "bdi", "p"}
TEXT = "قال الجيش السوري إنه استعاد حي الشعار"


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(name for name, _ in attrs)


def tags_of(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def _doc(entity_id="T1", entity_type="ORG", relation_type="CONTROLS", doc_id="d1") -> Document:
    return Document(doc_id, TEXT, (Entity(entity_id, entity_type, 4, 16, "الجيش السوري", 0.9),
                                   Entity("T2", "LOC", 28, 37, "حي الشعار", 0.8)),
                    (Relation("R1", relation_type, entity_id, "T2", 0.7),))


@pytest.mark.parametrize("field", ["entity_id", "entity_type", "relation_type", "doc_id"])
def test_no_tag_survives_an_injection_through_any_field(field):
    parsed = tags_of(render_document(_doc(**{field: PAYLOAD})))
    assert set(parsed.tags) <= ALLOWED
    assert "onerror" not in parsed.attrs
    assert "الجيش السوري" in render_document(_doc(**{field: PAYLOAD}))


def test_convert_to_html_escapes_types_from_an_annotation_file(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(_doc(entity_type=PAYLOAD, relation_type=PAYLOAD).to_json(), ensure_ascii=False) + "\n",
                   encoding="utf-8")
    assert main(["convert", str(src), str(tmp_path / "out.html")]) == 0
    parsed = tags_of((tmp_path / "out.html").read_text(encoding="utf-8"))
    assert "img" not in parsed.tags and "onerror" not in parsed.attrs
