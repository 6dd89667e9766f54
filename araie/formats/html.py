"""A right-to-left HTML view of records: coloured entity spans and a relation list per document."""

from __future__ import annotations

import html
from typing import IO

from araie.records import Document

COLOURS = {"PER": "#f6c6c6", "ORG": "#c6daf6", "GPE": "#c6f0d0", "LOC": "#e4f6c6", "FAC": "#f6e3c6",
           "NORP": "#e6c6f6", "EVENT": "#f6c6ea", "DATE": "#d9d9d9", "TIME": "#e9e9e9", "QUANTITY": "#fff2a8"}
HEAD = """<!DOCTYPE html>
<html lang="ar" dir="rtl">
<head>
<meta charset="utf-8">
<title>araie</title>
<style>
body { font-family: "Noto Naskh Arabic", "Amiri", "Arial", sans-serif; margin: 2em; line-height: 2.2; }
article { border-bottom: 1px solid #ccc; padding: 1em 0; }
mark { border-radius: 4px; padding: 0.1em 0.25em; unicode-bidi: isolate; }
mark sub { font-family: monospace; font-size: 0.6em; margin-inline-start: 0.3em; direction: ltr; }
.text { white-space: pre-wrap; font-size: 1.2em; }
.error { color: #a00; }
table { border-collapse: collapse; } td, th { padding: 0 0.6em; border-bottom: 1px solid #eee; }
</style>
</head>
<body>
"""


def render_document(doc: Document) -> str:
    """One `<article>`: the text with `<mark>`ed entities, then the relations as a table."""
    title = f"<h2 dir=\"ltr\">{html.escape(doc.id)}</h2>"
    if "error" in doc.meta:
        return f"<article>{title}<p class=\"error\" dir=\"ltr\">{html.escape(str(doc.meta['error']))}</p></article>\n"
    parts, pos = [], 0
    for e in sorted(doc.entities, key=lambda e: e.start):
        if e.start < pos:
            continue
        parts.append(html.escape(doc.text[pos:e.start]))
        colour = COLOURS.get(e.type, "#eeeeee")
        score = f" {e.score:.2f}" if e.score is not None else ""
        # ids and types are data too (an annotation file, an untrusted model's id2label): escape them all
        eid, etype = html.escape(e.id), html.escape(e.type)
        parts.append(f"<mark data-id=\"{eid}\" data-type=\"{etype}\" style=\"background:{colour}\" "
                     f"title=\"{eid} {etype}{score}\">{html.escape(e.text)}<sub>{etype}</sub></mark>")
        pos = e.end
    parts.append(html.escape(doc.text[pos:]))
    ents = {e.id: e for e in doc.entities}
    rows = "".join(
        f"<tr><td dir=\"ltr\">{html.escape(r.type)}</td><td><bdi>{html.escape(ents[r.head].text)}</bdi></td><td>←</td>"
        f"<td><bdi>{html.escape(ents[r.tail].text)}</bdi></td>"
        f"<td dir=\"ltr\">{'' if r.score is None else f'{r.score:.2f}'}</td></tr>"
        for r in doc.relations if r.head in ents and r.tail in ents)
    header = "<tr><th>relation</th><th>head</th><th></th><th>tail</th><th>score</th></tr>"
    table = f"<table class=\"relations\">{header}{rows}</table>"
    return f"<article>{title}<div class=\"text\">{''.join(parts)}</div>{table if rows else ''}</article>\n"


def write_html_header(out: IO[str]) -> None:
    out.write(HEAD)


def write_html_footer(out: IO[str]) -> None:
    out.write("</body>\n</html>\n")


def write_html(docs, path) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        write_html_header(fh)
        for doc in docs:
            fh.write(render_document(doc))
            n += 1
        write_html_footer(fh)
    return n


def _register() -> None:
    from araie.formats.registry import register

    register("html", writer=write_html, suffix=".html")


_register()
