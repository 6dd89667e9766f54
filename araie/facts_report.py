"""The graph and the report of `araie facts`: GraphML for Gephi and networkx, a self-contained HTML page.

The page needs nothing but a browser: inline CSS, a few lines of script for the filters, and an SVG
picture of the actor–place graph laid out here (a small Fruchterman–Reingold spring layout, fixed
start, so the same facts always give the same picture). Every value taken from the data is escaped.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from araie.facts import VALUE_TYPES, FactStats, FactTable, top_facts
from araie.formats.html import COLOURS

RELATION_COLOURS = {"CONTROLS": "#1f5fbf", "ATTACKS": "#c0392b", "ALLY_OF": "#27ae60", "MEMBER_OF": "#8e44ad",
                    "LOCATED_IN": "#7f8c8d", "CASUALTIES_AT": "#d35400", "CASUALTIES_BY": "#6d4c41"}
_NODE_KEYS = (("name", "string"), ("type", "string"), ("mentions", "int"), ("documents", "int"))
_EDGE_KEYS = (("relation", "string"), ("weight", "int"), ("confidence", "double"), ("instances", "int"),
              ("first_date", "string"), ("last_date", "string"))


def _xml_text(value: object) -> str:
    """XML 1.0 cannot carry most control characters even escaped; drop them."""
    return xml_escape("".join(c for c in str(value) if c >= " " or c in "\t\n\r"))


def graph_facts(table: FactTable) -> list[FactStats]:
    """Facts between two entities (not counts or dates): the edges of the actor–place graph."""
    return [f for f in table.facts.values() if f.head in table.entities and f.tail in table.entities]


def write_graphml(table: FactTable, path: str | Path) -> None:
    """Entities that take part in a fact as nodes, facts as directed edges; `weight` = supporting articles."""
    edges = graph_facts(table)
    nodes = sorted({k for f in edges for k in (f.head, f.tail)})
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n')
        for where, keys in (("node", _NODE_KEYS), ("edge", _EDGE_KEYS)):
            for name, kind in keys:
                fh.write(f'<key id="{name}" for="{where}" attr.name="{name}" attr.type="{kind}"/>\n')
        fh.write('<graph id="facts" edgedefault="directed">\n')
        for key in nodes:
            s = table.entities[key]
            data = {"name": s.canonical(), "type": s.type, "mentions": s.mentions, "documents": s.documents}
            fh.write(f"<node id={quoteattr(_xml_text(key))}>{_data(data)}</node>\n")
        for i, f in enumerate(edges):
            data = {"relation": f.relation, "weight": f.articles, "confidence": round(f.confidence, 4),
                    "instances": f.instances, "first_date": f.first_date, "last_date": f.last_date}
            fh.write(f'<edge id="e{i}" source={quoteattr(_xml_text(f.head))} target={quoteattr(_xml_text(f.tail))}>'
                     f"{_data(data)}</edge>\n")
        fh.write("</graph>\n</graphml>\n")


def _data(values: dict) -> str:
    return "".join(f'<data key="{k}">{_xml_text(v)}</data>' for k, v in values.items())


# --- picture --------------------------------------------------------------------------------------

def spring_layout(nodes: list[str], edges: list[tuple[str, str, float]], iterations: int = 200
                  ) -> dict[str, tuple[float, float]]:
    """Fruchterman–Reingold positions in the unit square: linked nodes attract, all nodes repel.

    The start is a fixed sunflower spiral, so the layout is deterministic.
    """
    n = len(nodes)
    if n == 0:
        return {}
    index = {v: i for i, v in enumerate(nodes)}
    golden = math.pi * (3 - math.sqrt(5))
    pos = [[0.5 + 0.4 * math.sqrt((i + 0.5) / n) * math.cos(i * golden),
            0.5 + 0.4 * math.sqrt((i + 0.5) / n) * math.sin(i * golden)] for i in range(n)]
    k = math.sqrt(1.0 / n)
    links = [(index[a], index[b], w) for a, b, w in edges if a in index and b in index and a != b]
    for step in range(iterations):
        heat = 0.1 * (1 - step / iterations) + 0.002
        disp = [[0.0, 0.0] for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                dx, dy = pos[i][0] - pos[j][0], pos[i][1] - pos[j][1]
                d2 = max(dx * dx + dy * dy, 1e-6)
                f = k * k / d2
                disp[i][0] += dx * f
                disp[i][1] += dy * f
                disp[j][0] -= dx * f
                disp[j][1] -= dy * f
        for i, j, w in links:
            dx, dy = pos[i][0] - pos[j][0], pos[i][1] - pos[j][1]
            f = math.sqrt(dx * dx + dy * dy) * (1 + math.log1p(w)) / k
            disp[i][0] -= dx * f
            disp[i][1] -= dy * f
            disp[j][0] += dx * f
            disp[j][1] += dy * f
        for i in range(n):
            disp[i][0] += (0.5 - pos[i][0]) * k  # gravity keeps unlinked nodes on the page
            disp[i][1] += (0.5 - pos[i][1]) * k
            length = math.hypot(*disp[i]) or 1.0
            pos[i][0] += disp[i][0] / length * min(length, heat)
            pos[i][1] += disp[i][1] / length * min(length, heat)
    xs, ys = [p[0] for p in pos], [p[1] for p in pos]
    # each axis fills the square: the picture is a map of who is linked to whom, not of distances
    wx, wy = max(max(xs) - min(xs), 1e-9), max(max(ys) - min(ys), 1e-9)
    return {v: ((pos[i][0] - min(xs)) / wx, (pos[i][1] - min(ys)) / wy) for v, i in index.items()}


def graph_svg(table: FactTable, nodes: int = 40, width: int = 900, height: int = 640) -> str:
    """An inline SVG of the `nodes` best connected entities: colour by type, edge colour by relation,
    edge width by supporting articles."""
    edges = graph_facts(table)
    degree: dict[str, int] = {}
    for f in edges:
        for key in (f.head, f.tail):
            degree[key] = degree.get(key, 0) + f.articles
    keep = sorted(degree, key=lambda k: (-degree[k], k))[:nodes]
    kept = set(keep)
    shown = [f for f in edges if f.head in kept and f.tail in kept and f.head != f.tail]
    pos = spring_layout(keep, [(f.head, f.tail, f.articles) for f in shown])
    margin = 70
    points = {k: [margin + x * (width - 2 * margin), margin + y * (height - 2 * margin)] for k, (x, y) in pos.items()}
    _separate(points, {k: _radius(table, k) + 8 for k in keep}, (margin, width - margin, margin, height - margin))

    def xy(key: str) -> tuple[float, float]:
        return points[key][0], points[key][1]

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="actor–place graph" direction="rtl">',
             "<defs>" + "".join(
                 f'<marker id="arrow-{r}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
                 f'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="{c}"/></marker>'
                 for r, c in RELATION_COLOURS.items()) + "</defs>",
             f'<rect width="{width}" height="{height}" fill="#fff"/>']
    for f in sorted(shown, key=lambda f: f.articles):
        (x1, y1), (x2, y2) = xy(f.head), xy(f.tail)
        colour = RELATION_COLOURS.get(f.relation, "#999")
        r2 = _radius(table, f.tail)
        d = math.hypot(x2 - x1, y2 - y1) or 1.0
        x2, y2 = x2 - (x2 - x1) / d * r2, y2 - (y2 - y1) / d * r2
        marker = f' marker-end="url(#arrow-{f.relation})"' if f.relation in RELATION_COLOURS else ""
        title = f"{table.name(f.head)} {f.relation} {table.name(f.tail)}: {f.articles}"
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
                     f'stroke-opacity="0.7" stroke-width="{1 + 1.5 * math.log2(f.articles):.1f}"{marker}>'
                     f"<title>{html.escape(title)}</title></line>")
    for key in keep:
        x, y = xy(key)
        s = table.entities[key]
        parts.append(f'<g><circle cx="{x:.1f}" cy="{y:.1f}" r="{_radius(table, key):.1f}" '
                     f'fill="{COLOURS.get(s.type, "#eee")}" stroke="#555"><title>{html.escape(s.type)} '
                     f"{html.escape(s.canonical())}: {s.documents}</title></circle>"
                     f'<text x="{x:.1f}" y="{y - _radius(table, key) - 3:.1f}" text-anchor="middle" '
                     f'font-size="13">{html.escape(s.canonical())}</text></g>')
    parts.append("</svg>")
    return "\n".join(parts)


def _separate(points: dict[str, list[float]], room: dict[str, float], box: tuple[float, float, float, float],
              rounds: int = 60) -> None:
    """Push apart circles (with room for their labels) that the spring layout left overlapping, inside `box`."""
    keys = list(points)
    for _ in range(rounds):
        moved = False
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                (xa, ya), (xb, yb) = points[a], points[b]
                d = math.hypot(xb - xa, yb - ya) or 1e-3
                need = room[a] + room[b] - d
                if need > 0:
                    ux, uy = (xb - xa) / d, (yb - ya) / d
                    points[a][0] -= ux * need / 2
                    points[a][1] -= uy * need / 2
                    points[b][0] += ux * need / 2
                    points[b][1] += uy * need / 2
                    moved = True
        for p in points.values():
            p[0], p[1] = min(max(p[0], box[0]), box[1]), min(max(p[1], box[2]), box[3])
        if not moved:
            return


def _radius(table: FactTable, key: str) -> float:
    return min(4 + 1.5 * math.sqrt(table.entities[key].documents), 30)


# --- page -----------------------------------------------------------------------------------------

_STYLE = """
body { font-family: "Noto Naskh Arabic", "Amiri", "Arial", sans-serif; margin: 1.5em; }
table { border-collapse: collapse; width: 100%; } th, td { padding: 0.2em 0.5em; border-bottom: 1px solid #ddd;
  text-align: right; vertical-align: top; } th { background: #f4f4f4; position: sticky; top: 0; }
.ltr { direction: ltr; unicode-bidi: isolate; } .num { text-align: left; } .filters { margin: 1em 0; }
.filters input, .filters select { margin-inline-end: 1em; } .legend span { margin-inline-end: 1em; }
.swatch { display: inline-block; width: 1em; height: 1em; vertical-align: middle; border: 1px solid #555; }
"""
# Filtering folds the spelling as the keys do, so `ادلب` finds `إدلب`; no inline handlers, no remote code.
_SCRIPT = """
(function () {
  var fold = function (s) { return s.replace(/[\\u064B-\\u065F\\u0670\\u0640]/g, '').replace(/[أإآٱ]/g, 'ا')
    .replace(/ة/g, 'ه').replace(/ى/g, 'ي').toLowerCase(); };
  var q = document.getElementById('q'), rel = document.getElementById('rel'), min = document.getElementById('min');
  var rows = Array.prototype.slice.call(document.querySelectorAll('#facts tbody tr'));
  var shown = document.getElementById('shown');
  rows.forEach(function (r) { r.dataset.fold = fold(r.textContent); });
  function apply() {
    var text = fold(q.value.trim()), n = 0, least = parseInt(min.value || '1', 10);
    rows.forEach(function (r) {
      var ok = (!text || r.dataset.fold.indexOf(text) >= 0) && (!rel.value || r.dataset.relation === rel.value)
        && parseInt(r.dataset.articles, 10) >= least;
      r.hidden = !ok; if (ok) { n++; }
    });
    shown.textContent = n;
  }
  [q, rel, min].forEach(function (el) { el.addEventListener('input', apply); });
  apply();
  document.body.dataset.ready = '1';
})();
"""


def write_report(table: FactTable, path: str | Path, rows: int = 1000, nodes: int = 40,
                 svg_path: str | Path | None = None) -> None:
    """The self-contained, right-to-left report: summary, graph picture, filterable fact table.

    The picture is also written alone to `svg_path`, for slides and READMEs.
    """
    facts = top_facts(table, rows)
    svg = graph_svg(table, nodes)
    if svg_path is not None:
        Path(svg_path).write_text(svg + "\n", encoding="utf-8")
    relations = sorted({f.relation for f in table.facts.values()})
    e = html.escape
    head = ("<tr><th>الفاعل / العدد</th><th>العلاقة</th><th>الطرف الثاني</th><th>التاريخ</th><th>العدد</th>"
            "<th>مقالات</th><th>الثقة</th><th>المصادر</th></tr>")
    body = "\n".join(_row(table, f) for f in facts)
    legend = "".join(f'<span><i class="swatch" style="background:{c}"></i> {t}</span>' for t, c in COLOURS.items()
                     if t not in VALUE_TYPES)
    legend += "".join(f'<span><i class="swatch" style="background:{c}"></i> <span class="ltr">{r}</span></span>'
                      for r, c in RELATION_COLOURS.items())
    options = "".join(f'<option value="{e(r)}">{e(r)}</option>' for r in relations)
    page = f"""<!DOCTYPE html>
<html lang="ar" dir="rtl">
<head><meta charset="utf-8"><title>araie facts</title><style>{_STYLE}</style></head>
<body>
<h1>الوقائع: من قام بماذا وأين</h1>
<p class="summary">{table.documents} مقالة، {len(table.entities)} كيانا، {table.instances} علاقة،
{len(table.facts)} واقعة مدمجة (<span class="ltr">{table.documents} documents, {len(table.entities)} entities,
{table.instances} relation instances, {len(table.facts)} merged facts</span>)</p>
<h2>شبكة الفاعلين والأماكن</h2>
<figure>{svg}<figcaption class="legend">{legend}</figcaption></figure>
<h2>جدول الوقائع</h2>
<p>يعرض <span id="shown">{len(facts)}</span> من أصل {len(facts)} واقعة (الأكثر دعما أولا؛ الكل في
<span class="ltr">facts.csv</span>).</p>
<div class="filters"><input id="q" type="search" placeholder="بحث">
<select id="rel"><option value="">كل العلاقات</option>{options}</select>
<label>أقل عدد من المقالات <input id="min" type="number" min="1" value="1"></label></div>
<table id="facts"><thead>{head}</thead><tbody>
{body}
</tbody></table>
<script>{_SCRIPT}</script>
</body>
</html>
"""
    Path(path).write_text(page, encoding="utf-8")


def _row(table: FactTable, f: FactStats) -> str:
    e = html.escape
    head = table.name(f.head, f.names[0])
    tail = table.name(f.tail, f.names[1])
    dates = f.first_date if f.first_date == f.last_date else f"{f.first_date} – {f.last_date}"
    count = "" if f.count is None else str(f.count)
    return (f'<tr data-relation="{e(f.relation)}" data-articles="{f.articles}"><td><bdi>{e(head)}</bdi></td>'
            f'<td class="ltr">{e(f.relation)}</td><td><bdi>{e(tail)}</bdi></td><td class="ltr">{e(dates)}</td>'
            f'<td class="num">{count}</td><td class="num">{f.articles}</td><td class="num">{f.confidence:.2f}</td>'
            f'<td class="ltr">{e(" ".join(f.doc_ids))}</td></tr>')
